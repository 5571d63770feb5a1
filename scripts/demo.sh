#!/usr/bin/env bash
# The main job end to end on an embedded default: a throwaway PostgreSQL, the
# project's fake retail API (a generated day of sales, with some invalid and
# duplicate records) and fake Helix, then etl migrate, etl run over the last
# 24 hours, a few reports, and etl status.  Stops everything it started.
#
#   scripts/demo.sh            (installs what it needs with apt-get first)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

bash scripts/setup.sh
echo "==> building"
cmake -S "$top" -B build-demo -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-demo -j"$(nproc)" >/dev/null
etl="$top/build-demo/etl"
fakes="$top/build-demo/test/fake"

work=$(mktemp -d /tmp/etl-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null; done
  wait 2>/dev/null || true
  bash "$top/scripts/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 200); do [[ -s "$1" ]] && { cat "$1"; return 0; }; sleep 0.05; done
  echo "demo: a fake server did not start; see $2" >&2; exit 1
}

echo "==> starting PostgreSQL (throwaway, Unix socket in $work)"
bash scripts/pg.sh start "$work/pg" >/dev/null
# shellcheck disable=SC1091
. "$work/pg/env"

# The clock: the run covers the 24 complete hours before the current hour.
now=$(date -u +%Y-%m-%dT%H:00:00Z)
start=$(date -u -d "$now - 24 hours" +%Y-%m-%dT%H:00:00Z)
rates_from=$(date -u -d "$now - 10 days" +%Y-%m-%dT00:00:00Z)

echo "==> starting the fake retail API and the fake Helix"
"$fakes/fake_source" --port 0 --port-file "$work/source.port" --token demo-token \
  --start "$start" --hours 24 --sales 3000 --invalid-ratio 0.02 --duplicate-ratio 0.02 \
  >"$work/fake_source.log" 2>&1 &
pids+=($!)
# The demo's fake Helix has no rate limit, so the demo does not wait on the
# real 5-per-second pace; production keeps ETL_HELIX_RATE at its default.
"$fakes/fake_helix" --port 0 --port-file "$work/helix.port" --api-key demo-helix-key --rate-limit 0 \
  >"$work/fake_helix.log" 2>&1 &
pids+=($!)
source_port=$(wait_port "$work/source.port" "$work/fake_source.log")
helix_port=$(wait_port "$work/helix.port" "$work/fake_helix.log")

export ETL_SOURCE_URL="http://127.0.0.1:$source_port" ETL_SOURCE_TOKEN=demo-token
export ETL_HELIX_URL="http://127.0.0.1:$helix_port" ETL_HELIX_API_KEY=demo-helix-key
export ETL_HELIX_RATE=200 ETL_HELIX_CONCURRENCY=8 ETL_HELIX_FOOTAGE_LINKS=1
export ETL_NOW="$now"
unset rates_from

echo "==> etl migrate"
"$etl" migrate -v
echo "==> etl run --start $start -v"
"$etl" run --start "$start" -v
echo "==> etl run again (nothing new: silent)"
"$etl" run
echo "==> etl status"
"$etl" status
from=$(date -u -d "$now - 1 day" +%Y-%m-%d); to=$(date -u -d "$now" +%Y-%m-%d)
echo "==> etl report top-customers --from $from --to $to"
"$etl" report top-customers --from "$from" --to "$to"
echo "==> etl report order-value --by day --from $from --to $to"
"$etl" report order-value --by day --from "$from" --to "$to"
echo "==> etl report sales-by-store --from $from --to $to --format csv"
"$etl" report sales-by-store --from "$from" --to "$to" --format csv
echo "==> etl report summary --from $from --to $to --format json"
"$etl" report summary --from "$from" --to "$to" --format json
echo "==> etl rejects --limit 5"
"$etl" rejects --limit 5
echo "==> demo finished: everything it started is being stopped"

#!/usr/bin/env bash
# bench_helix.sh [BUILD_DIR] [EVENTS]: Helix sending throughput against the
# fake with 50 ms of latency on every answer and no rate limit, at
# ETL_HELIX_CONCURRENCY 1, 4, 8 and 16.  Prints events/s for each and the
# speed-up over concurrency 1.  Needs PostgreSQL's server binaries (it
# starts a throwaway cluster with scripts/pg.sh) and a built tree (etl,
# test/test_helix, test/fake/fake_helix).
#
#   test/bench/bench_helix.sh build 400
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
events=${2:-400}
latency=${BENCH_LATENCY_MS:-50}

export ETL_BIN="$build/etl" ETL_BUILD_DIR="$build" ETL_PG_DIR="$build/pgbench"
bash "$src/scripts/pg.sh" start "$ETL_PG_DIR" >/dev/null || exit 1
trap 'bash "$src/scripts/pg.sh" stop "$ETL_PG_DIR" >/dev/null 2>&1' EXIT
. "$src/test/integration/lib.sh"
. "$src/test/integration/helix_lib.sh"
it_init bench_helix
trap 'it_cleanup; bash "$src/scripts/pg.sh" stop "$ETL_PG_DIR" >/dev/null 2>&1' EXIT
it_migrate
start_fake_helix --rate-limit 0 --latency-ms "$latency"
export ETL_HELIX_RATE=10000 ETL_HTTP_BACKOFF_MS=20

seed_reference
q "INSERT INTO transactions (transaction_id, transaction_date, store_id, pos_id, camera_id,
     currency, financial_status, total_amount, units, content_md5)
   SELECT 'B-' || lpad(i::text, 6, '0'), date_trunc('hour', now()) - interval '3 hours' + i * interval '10 ms',
          12, 34, 'cam-' || (i % 3 + 1), 'USD', 'paid', i, 1, 'x'
   FROM generate_series(1, $events) i;
   INSERT INTO line_items SELECT transaction_id, 1, 1, 1, total_amount FROM transactions;" >/dev/null
enqueue

# Each round starts from an empty fake (its reset forgets the event type
# too) and the same outbox, all pending again.  Two rates: wall clock of the
# whole `etl emit` (start-up, token and event type included), and the event
# phase alone as the fake saw it (first POST in to last answer out).
reset_round() {
  fake_post reset
  q "UPDATE helix_outbox SET state = 'pending', sent_attributes = NULL, sent_at = NULL, event_type_uid = NULL;
     DELETE FROM helix_event_types;" >/dev/null
}
printf '# %d events, %d ms latency on every answer, no rate limit (ETL_HELIX_RATE=10000)\n' "$events" "$latency"
printf '%-12s %9s %10s %12s %9s %9s\n' concurrency wall_s events/s phase_ev/s wall_x phase_x
base= wbase=
for c in 1 4 8 16; do
  reset_round
  t0=$(date +%s.%N)
  ETL_HELIX_CONCURRENCY=$c "$ETL_BIN" emit || { echo "emit failed at concurrency $c" >&2; exit 1; }
  t1=$(date +%s.%N)
  secs=$(echo "$t1 - $t0" | bc -l)
  phase=$(fake_get calls | jq '[.[] | select(.method == "POST" and .path == "/cameras/v1/video_tagging/event")] |
                              ((map(.time_ms + .duration_ms) | max) - (map(.time_ms) | min)) / 1000')
  rate=$(echo "$events / $secs" | bc -l)
  prate=$(echo "$events / $phase" | bc -l)
  [[ -z "$base" ]] && base=$prate wbase=$rate
  printf '%-12s %9.2f %10.1f %12.1f %8.1fx %8.1fx\n' "$c" "$secs" "$rate" "$prate" \
    "$(echo "$rate / $wbase" | bc -l)" "$(echo "$prate / $base" | bc -l)"
  [[ "$(fake_stat duplicates)" == 0 && "$(fake_stat creates)" == "$events" ]] ||
    echo "warning: $(fake_stat creates) creates, $(fake_stat duplicates) duplicates at concurrency $c" >&2
done

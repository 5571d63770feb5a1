#!/usr/bin/env bash
# The performance benchmarks and their targets (docs/performance.md).
#
#   scripts/bench.sh            builds in Release (build-bench/), starts a
#                               throwaway PostgreSQL like scripts/pg.sh does
#                               and the fake servers, runs every benchmark and
#                               prints a table of figures against the targets
#   scripts/bench.sh --full     the ingest ratios at N = 1,000,000 too
#
# Options and environment:
#   --full              also run the ingest comparison at BENCH_FULL_N (1M)
#   --reps N            rounds of the ingest comparison (BENCH_REPS, default 3)
#   --only LIST         some of: ingest,rss,idle,reports,helix,pace
#   --no-build          use build-bench/ as it is
#   BENCH_N             ingest N (default 100000)
#   BENCH_NAIVE_LIMIT   seconds before the naive loader is stopped (900); its
#                       figures are then bounds (at 1M it slows row by row)
#   BENCH_RSS_N         the large N of the peak-RSS run (default 1000000; 0 = skip)
#   BENCH_REPORT_SALES, BENCH_REPORT_DAYS   the report data (1000000 over 90)
#   BENCH_HELIX_EVENTS, BENCH_PACE_EVENTS   Helix events (400, 150)
#   BENCH_BUILD         the build directory (default build-bench)
#
# Everything it starts (cluster, fakes) is stopped on exit, also on ^C.
# Exit status 0 when every target holds, 1 when one is missed, 2 on error.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)

full=0 reps=${BENCH_REPS:-3} only="ingest,rss,idle,reports,helix,pace" build=1
while (($#)); do
  case "$1" in
    --full) full=1 ;;
    --reps) reps=${2:?--reps needs a number}; shift ;;
    --only) only=${2:?--only needs a list}; shift ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ",$only," == *",$1,"* ]]; }

N=${BENCH_N:-100000}
RSS_N=${BENCH_RSS_N:-1000000}
FULL_N=${BENCH_FULL_N:-1000000}
export BENCH_BUILD=${BENCH_BUILD:-$top/build-bench}
BENCH_TMP=$(mktemp -d /tmp/etl-bench.XXXXXX)
export BENCH_TMP BENCH_RESULTS=$BENCH_TMP/results
: >"$BENCH_RESULTS"
pgdir=$BENCH_BUILD/pgbench-all
t_start=$(date +%s)

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "${child:-}" ]] && kill "$child" 2>/dev/null && wait "$child" 2>/dev/null
  bash "$top/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1
  rm -rf "$BENCH_TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run SCRIPT ARGS...: one benchmark, in the background so that ^C reaches
# its own EXIT trap (it stops what it started).
run() {
  bash "$@" & child=$!
  wait "$child"; local rc=$?
  child=
  return $rc
}

ETL_SETUP_EXTRA="time bc ${ETL_SETUP_EXTRA:-}" bash scripts/setup.sh || exit 2
if ((build)); then
  echo "==> Release build in $BENCH_BUILD" >&2
  cmake -S "$top" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 2
  cmake --build "$BENCH_BUILD" -j"$(nproc)" --target etl fake_source fake_helix bench_ingest test_helix 2>&1 |
    grep -Ev '^\[ *[0-9]+%\]|^(gmake|make)\[' || true
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "bench.sh: build failed" >&2; exit 2; }
fi

# The machine, and the cluster as scripts/pg.sh starts it.
pg_settings="fsync=off synchronous_commit=off full_page_writes=off shared_buffers=256MB work_mem=64MB"
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
echo "# etl benchmarks, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
echo "# machine: $(nproc) cores (${cpu:-unknown CPU}), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
bash scripts/pg.sh start "$pgdir" >/dev/null || exit 2
# shellcheck disable=SC1091
. "$pgdir/env"
echo "# PostgreSQL: $(psql -X -A -t -c 'SHOW server_version') on a Unix socket, started by scripts/pg.sh: $pg_settings"
echo "# command: scripts/bench.sh $([[ $full == 1 ]] && echo --full) (N=$N, $reps rounds)"
echo

bench=$top/test/bench
# The idle run first: after a big load the server is still busy for a while
# (checkpoint, autovacuum), which a 30-ms run would measure instead.
if want idle; then
  run "$bench/bench_idle.sh" "${BENCH_IDLE_RUNS:-21}" || exit 2
  echo
fi
if want ingest; then
  run "$bench/bench_ingest.sh" "$N" "$reps" all || exit 2
  echo
fi
if ((full)) && want ingest; then
  run "$bench/bench_ingest.sh" "$FULL_N" "${BENCH_FULL_REPS:-1}" all || exit 2
  echo
elif want rss && ((RSS_N > 0)); then
  run "$bench/bench_ingest.sh" "$RSS_N" 1 rss || exit 2
  echo
fi
if want reports; then
  run "$bench/bench_reports.sh" "${BENCH_REPORT_RUNS:-5}" "${BENCH_REPORT_SALES:-1000000}" "${BENCH_REPORT_DAYS:-90}" || exit 2
  echo
fi
if want helix; then
  # bench_helix.sh (the Helix engineer's) starts its own cluster.
  bash "$top/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1
  run "$bench/bench_helix.sh" "$BENCH_BUILD" "${BENCH_HELIX_EVENTS:-400}" >"$BENCH_TMP/helix.out" || exit 2
  cat "$BENCH_TMP/helix.out"
  awk '$1 ~ /^[0-9]+$/ { print "helix_c" $1 "_events_s", $4; print "helix_c" $1 "_x", $6 + 0 }' \
    "$BENCH_TMP/helix.out" >>"$BENCH_RESULTS"
  bash scripts/pg.sh start "$pgdir" >/dev/null || exit 2
  . "$pgdir/env"
  echo
fi
if want pace; then
  run "$bench/bench_helix_pace.sh" "${BENCH_PACE_EVENTS:-150}" || exit 2
  echo
fi

# ---- the summary --------------------------------------------------------
get() { awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "nan" : v) }' "$BENCH_RESULTS"; }
missed=0
row() {  # row FIGURE VALUE TARGET_TEXT OK(1, 0, - for none, or a word)
  local mark=ok
  [[ "$4" == 0 ]] && { mark=MISSED; missed=1; }
  [[ "$4" == - ]] && mark=
  [[ "$4" != [01-] ]] && mark=$4
  printf '| %-56s | %16s | %-22s | %-7s |\n' "$1" "$2" "$3" "$mark"
}
is() { awk "BEGIN { exit !($1) }" && echo 1 || echo 0; }
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "nan") print "n/a"; else printf f, v }'; }

echo "## Summary ($(($(date +%s) - t_start)) s)"
echo
printf '| %-56s | %16s | %-22s | %-7s |\n' figure value target ""
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..58})" "$(printf -- '-%.0s' {1..18})" "$(printf -- '-%.0s' {1..24})" "$(printf -- '-%.0s' {1..9})"
for n in "$N" $( ((full)) && echo "$FULL_N"); do
  [[ $(get "ingest_${n}_etl_wall") == nan ]] && continue
  row "ingest N=$n: etl fetch, sales/s (line items/s)" "$(fmt "$(get "ingest_${n}_etl_sales_s")" %.0f) ($(fmt "$(get "ingest_${n}_etl_lines_s")" %.0f))" "" -
  row "ingest N=$n: (a) COPY+merge, sales/s (line items/s)" "$(fmt "$(get "ingest_${n}_copy_sales_s")" %.0f) ($(fmt "$(get "ingest_${n}_copy_lines_s")" %.0f))" "" -
  # a naive run stopped at BENCH_NAIVE_LIMIT gives bounds: "<" its rate, ">=" the ratio
  stopped=$(get "ingest_${n}_naive_stopped"); lt= ge=
  [[ $stopped == 1 ]] && lt="< " ge=">= "
  row "ingest N=$n: (b) naive, sales/s (line items/s)" "$lt$(fmt "$(get "ingest_${n}_naive_sales_s")" %.0f) ($lt$(fmt "$(get "ingest_${n}_naive_lines_s")" %.0f))" "" -
  a=$(get "ingest_${n}_ratio_a"); b=$(get "ingest_${n}_ratio_b")
  row "ingest N=$n: etl / (a), median of rounds" "$(fmt "$a" %.2fx)" ">= 0.6x" "$(is "$a >= 0.6")"
  row "ingest N=$n: etl / (b), median of rounds" "$ge$(fmt "$b" %.2fx)" ">= 5x" "$(is "$b >= 5")"
done
for n in "$N" "$RSS_N" $( ((full)) && echo "$FULL_N"); do
  v=$(get "ingest_${n}_rss_mib"); [[ $v == nan ]] && continue
  seen=" ${seen:-} "; [[ "$seen" == *" $n "* ]] && continue; seen="$seen $n"
  row "ingest N=$n: etl fetch peak RSS" "$(fmt "$v" "%.1f MiB")" "<= 64 MiB" "$(is "$v <= 64")"
done
v=$(get idle_median_ms)
[[ $v != nan ]] && row "idle etl run, median wall" "$(fmt "$v" "%.1f ms")" "<= 50 ms" "$(is "$v <= 50")"
while read -r k v; do
  label=${k#report_}; range=${label%%_*}; name=${label#*_}; name=${name%_ms}
  name=${name/order-value_/order-value --by }
  if [[ $range == full ]]; then
    row "report $name, full range" "$(fmt "$v" "%.0f ms")" "<= 200 ms or EXPLAIN" "$( [[ $(is "$v <= 200") == 1 ]] && echo 1 || echo EXPLAIN )"
  else
    row "report $name, ${range/all-time/all time} range" "$(fmt "$v" "%.0f ms")" "<= 200 ms" "$(is "$v <= 200")"
  fi
done < <(grep '^report_' "$BENCH_RESULTS")
for c in 1 4 8 16; do
  v=$(get "helix_c${c}_events_s"); [[ $v == nan ]] && continue
  row "helix, 50 ms latency, concurrency $c: events/s" "$(fmt "$v" %.1f) ($(fmt "$(get "helix_c${c}_x")" %.1fx))" "" -
done
v=$(get helix_pace_pct)
if [[ $v != nan ]]; then
  row "helix at 25 per 5 s, default rate: share of 5/s" "$(fmt "$v" "%.1f %%")" ">= 95 %" "$(is "$v >= 95")"
  z=$(get helix_pace_429)
  row "helix at 25 per 5 s, default rate: 429s" "$z" "0" "$(is "$z == 0")"
fi
echo
if ((missed)); then echo "bench.sh: a target was missed (MISSED above)"; exit 1; fi
echo "bench.sh: every target holds"

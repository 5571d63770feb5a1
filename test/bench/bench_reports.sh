#!/usr/bin/env bash
# bench_reports.sh RUNS [SALES] [DAYS]: every report of contract section 5
# over SALES (default 1M) generated sales spread evenly over DAYS (default 90)
# days, loaded by `etl backfill` (one window per day) and then vacuumed and
# analysed (the steady state autovacuum keeps).  The clock (ETL_NOW) is the
# last second of the data, so the default range, the last 7 days ending
# today, holds 7 full days (~78k sales at 1M/90 days); each report also runs
# over the full range (--from the first day --to the last).  `customer`
# covers all time (it takes no range) and is run for the busiest customer.
# Wall clock of the whole `etl report` process, after one warm-up run, RUNS
# times (3 for the full range), median.  For a
# report whose median misses 200 ms, EXPLAIN ANALYZE of its query (from
# auto_explain) is printed.  Called by scripts/bench.sh (see bench_lib.sh).
. "$(dirname "$0")/bench_lib.sh"
trap bench_cleanup EXIT

RUNS=${1:-5}; SALES=${2:-1000000}; DAYS=${3:-90}
FULL_RUNS=${BENCH_REPORT_FULL_RUNS:-3}   # the full-range reports take seconds each
TARGET_MS=${BENCH_REPORT_TARGET_MS:-200}
first=2026-08-22
last=$(date -u -d "$first + $((DAYS - 1)) days" +%F)
ETL_SOURCE_URL=$(start_fake fake_source --sales "$SALES" --start "${first}T00:00:00Z" --hours $((DAYS * 24))) || exit 1
export ETL_SOURCE_URL ETL_NOW="${last}T23:59:59Z"

bench_db bench_reports || exit 1
bench_note "reports: loading $SALES sales over $DAYS days with etl backfill"
timed "$BENCH_TMP/backfill.json" "$ETL_BIN" backfill --from "$first" --to "$last" --format json ||
  { echo "bench: etl backfill failed (see $BENCH_TMP/stderr.log)" >&2; exit 1; }
loaded=$(jq .inserted "$BENCH_TMP/backfill.json")
[[ "$loaded" == "$SALES" ]] || { echo "bench: backfill loaded $loaded of $SALES sales" >&2; exit 1; }
printf '# reports: %d sales over %d days (%s to %s) loaded by etl backfill in %.1f s (%.0f sales/s, %d windows)\n' \
  "$SALES" "$DAYS" "$first" "$last" "$TIMED_WALL" "$(calc "$SALES / $TIMED_WALL")" "$DAYS"
result backfill_sales_s "$(calc "$SALES / $TIMED_WALL")"
q "VACUUM (ANALYZE)" >/dev/null
in_default=$(q "SELECT count(*) FROM transactions WHERE transaction_date >= DATE '$last' - 6 AND transaction_date < DATE '$last' + 1")
customer=$(q "SELECT customer_id FROM transactions WHERE customer_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
printf '# default range %s to %s (--now %s): %d sales; full range %s to %s: %d sales\n' \
  "$(date -u -d "$last - 6 days" +%F)" "$last" "$ETL_NOW" "$in_default" "$first" "$last" "$SALES"

reports=("top-customers" "order-value --by day" "order-value --by week" "order-value --by month"
         "order-value --by total" "sales-by-province" "sales-by-store" "top-items" "transactions" "summary")
printf '%-24s %-8s %11s %11s %7s\n' report range median_ms max_ms target
misses=()
run_one() {  # run_one KEY RANGE_LABEL ARGS...
  local key=$1 label=$2 med max runs=$RUNS; shift 2
  [[ $label == full ]] && runs=$FULL_RUNS
  : >"$BENCH_TMP/rep.walls"
  "$ETL_BIN" report "$@" >/dev/null 2>>"$BENCH_TMP/stderr.log" || { echo "bench: etl report $* failed" >&2; exit 1; }
  for _ in $(seq 1 "$runs"); do
    timed "$BENCH_TMP/rep.out" "$ETL_BIN" report "$@" || { echo "bench: etl report $* failed" >&2; exit 1; }
    echo "$TIMED_WALL" >>"$BENCH_TMP/rep.walls"
  done
  med=$(calc "$(median <"$BENCH_TMP/rep.walls") * 1000")
  max=$(calc "$(sort -g "$BENCH_TMP/rep.walls" | tail -n 1) * 1000")
  local ok=ok
  if awk "BEGIN { exit !($med > $TARGET_MS) }"; then ok=MISS; misses+=("$label|$*"); fi
  printf '%-24s %-8s %11.1f %11.1f %7s\n' "$key" "$label" "$med" "$max" "$ok"
  result "report_${label}_$(tr ' ' '_' <<<"${key//--by /}")_ms" "$med"
}
for r in "${reports[@]}"; do
  # shellcheck disable=SC2086
  run_one "$r" default $r
done
run_one "customer" all-time customer --id "$customer"
for r in "${reports[@]}"; do
  # shellcheck disable=SC2086
  run_one "$r" full $r --from "$first" --to "$last"
done

# EXPLAIN ANALYZE of each miss, from auto_explain in the server log.
log=${PGDATA_DIR:-}/server.log
for m in "${misses[@]:-}"; do
  [[ -n "$m" ]] || continue
  label=${m%%|*}; args=${m#*|}
  printf '\n# EXPLAIN ANALYZE: etl report %s (%s range)\n' "$args" "$label"
  if [[ ! -r "$log" ]]; then echo "(no server log at $log)"; continue; fi
  pos=$(wc -c <"$log")
  # shellcheck disable=SC2086
  PGOPTIONS="-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=${BENCH_EXPLAIN_MIN_MS:-50} -c auto_explain.log_analyze=on -c auto_explain.log_buffers=on -c auto_explain.log_timing=on" \
    "$ETL_BIN" report $args >/dev/null 2>>"$BENCH_TMP/stderr.log"
  sleep 0.3
  tail -c +"$((pos + 1))" "$log" | grep -v 'Query Text:' | sed -e 's/^\t//' -e 's/^.*LOG:  duration/duration/'
done
exit 0

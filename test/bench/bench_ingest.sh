#!/usr/bin/env bash
# bench_ingest.sh N REPS [all|rss]: one hour window of N generated sales
# (fake_source --sales N --hours 1, ~2.5 line items each) loaded three ways,
# each into a fresh database, REPS times, in turn:
#   etl    `etl fetch` from the fake API (fetch, validate, stage, merge)
#   copy   (a) the limit: the same rows already flattened to CSV, one COPY
#          into the loader's staging table and the loader's own merge SQL
#          (bench_ingest copy -> etl_load_window_csv)
#   naive  (b) row-by-row prepared upserts in one transaction (bench_ingest naive)
# Times are wall clock of the whole process; ratios are taken within each
# round and their medians reported.  Mode rss: `etl fetch` only (wall and
# peak RSS), for the memory figure at large N.
# Called by scripts/bench.sh (see bench_lib.sh for what it sets up).
. "$(dirname "$0")/bench_lib.sh"
trap bench_cleanup EXIT

N=${1:?N}; REPS=${2:-3}; MODE=${3:-all}
NAIVE_LIMIT=${BENCH_NAIVE_LIMIT:-900}   # seconds; the naive loader is stopped after that
naive_dnf=0
since=2026-11-20T00:00:00Z until=2026-11-20T01:00:00Z
csv=$BENCH_TMP/sales_$N.csv

ETL_SOURCE_URL=$(start_fake fake_source --sales "$N" --start "$since" --hours 1) || exit 1
export ETL_SOURCE_URL

# ref_only DB: a fresh database holding the reference data only (a fetch of
# an hour in which the fake has no sales).
ref_only() {
  bench_db "$1" || return 1
  "$ETL_BIN" fetch --since 2026-11-19T00:00:00Z --until 2026-11-19T01:00:00Z ||
    { echo "bench: reference load failed" >&2; return 1; }
}

# field KEY LINE: the value of KEY=... in bench_ingest's output line.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

printf '# ingest: one window of %d sales, %s\n' "$N" \
  "$([[ $MODE == rss ]] && echo 'etl fetch only (peak RSS)' || echo "$REPS rounds of etl / (a) copy+merge / (b) naive")"
printf '%-6s %-6s %9s %11s %13s %10s\n' round loader wall_s sales/s line_items/s peak_rss
lines=0
for f in etl copy naive rss ra rb; do : >"$BENCH_TMP/ingest.$f"; done
for r in $(seq 1 "$REPS"); do
  bench_note "ingest N=$N round $r: etl fetch"
  bench_db bi_etl || exit 1
  timed "$BENCH_TMP/fetch.json" "$ETL_BIN" fetch --since "$since" --until "$until" --format json ||
    { echo "bench: etl fetch failed (see $BENCH_TMP/stderr.log)" >&2; exit 1; }
  w_etl=$TIMED_WALL rss=$TIMED_RSS
  ins=$(jq .inserted "$BENCH_TMP/fetch.json")
  [[ "$ins" == "$N" ]] || { echo "bench: etl fetch inserted $ins of $N sales" >&2; exit 1; }
  lines=$(q "SELECT count(*) FROM line_items")
  printf '%-6s %-6s %9.2f %11.0f %13.0f %7.1f MiB\n' "$r" etl "$w_etl" "$(calc "$N / $w_etl")" \
    "$(calc "$lines / $w_etl")" "$(calc "$rss / 1024")"
  echo "$w_etl" >>"$BENCH_TMP/ingest.etl"
  echo "$rss" >>"$BENCH_TMP/ingest.rss"
  if [[ $MODE == rss ]]; then drop_db bi_etl; continue; fi
  [[ -s "$csv" ]] || "$BENCH_INGEST" export "$csv" >/dev/null || exit 1
  drop_db bi_etl

  bench_note "ingest N=$N round $r: (a) COPY + merge"
  ref_only bi_copy || exit 1
  timed "$BENCH_TMP/copy.out" "$BENCH_INGEST" copy "$csv" "$since" "$until" ||
    { echo "bench: bench_ingest copy failed (see $BENCH_TMP/stderr.log)" >&2; exit 1; }
  w_copy=$TIMED_WALL
  [[ "$(field sales "$(cat "$BENCH_TMP/copy.out")")" == "$N" ]] || { echo "bench: copy loaded $(cat "$BENCH_TMP/copy.out")" >&2; exit 1; }
  printf '%-6s %-6s %9.2f %11.0f %13.0f\n' "$r" copy "$w_copy" "$(calc "$N / $w_copy")" "$(calc "$lines / $w_copy")"
  echo "$w_copy" >>"$BENCH_TMP/ingest.copy"
  drop_db bi_copy

  bench_note "ingest N=$N round $r: (b) naive row by row (stopped after ${NAIVE_LIMIT} s)"
  ref_only bi_naive || exit 1
  timed "$BENCH_TMP/naive.out" timeout "$NAIVE_LIMIT" "$BENCH_INGEST" naive "$csv"; rc=$?
  if ((rc == 124)); then
    # Stopped: its time is more than the limit, so etl's ratio over it is
    # at least limit / etl's time.  (Past ~300k sales in one transaction
    # the naive loader slows down row by row: every upsert of a customer
    # walks the versions its own transaction left on that row.)
    w_naive=$NAIVE_LIMIT naive_dnf=1
    printf '%-6s %-6s %9s %11s %13s   stopped after %d s\n' "$r" naive ">$NAIVE_LIMIT" "<$(calc "$N / $w_naive" | cut -d. -f1)" "-" "$NAIVE_LIMIT"
  elif ((rc != 0)); then
    echo "bench: bench_ingest naive failed (see $BENCH_TMP/stderr.log)" >&2; exit 1
  else
    w_naive=$TIMED_WALL
    [[ "$(field sales "$(cat "$BENCH_TMP/naive.out")")" == "$N" ]] || { echo "bench: naive loaded $(cat "$BENCH_TMP/naive.out")" >&2; exit 1; }
    printf '%-6s %-6s %9.2f %11.0f %13.0f\n' "$r" naive "$w_naive" "$(calc "$N / $w_naive")" "$(calc "$lines / $w_naive")"
  fi
  echo "$w_naive" >>"$BENCH_TMP/ingest.naive"
  drop_db bi_naive

  # etl's rate over the others' = their time over etl's
  ra=$(calc "$w_copy / $w_etl"); rb=$(calc "$w_naive / $w_etl")
  printf '%-6s ratios: etl/(a) %.2fx  etl/(b) %s%.2fx\n' "$r" "$ra" "$( ((rc == 124)) && echo '>= ')" "$rb"
  echo "$ra" >>"$BENCH_TMP/ingest.ra"
  echo "$rb" >>"$BENCH_TMP/ingest.rb"
done

w=$(median <"$BENCH_TMP/ingest.etl")
rss_max=$(sort -n "$BENCH_TMP/ingest.rss" | tail -n 1)
result "ingest_${N}_etl_wall" "$w"
result "ingest_${N}_etl_sales_s" "$(calc "$N / $w")"
result "ingest_${N}_etl_lines_s" "$(calc "$lines / $w")"
result "ingest_${N}_rss_mib" "$(calc "$rss_max / 1024")"
if [[ $MODE != rss ]]; then
  for k in copy naive; do
    w=$(median <"$BENCH_TMP/ingest.$k")
    result "ingest_${N}_${k}_wall" "$w"
    result "ingest_${N}_${k}_sales_s" "$(calc "$N / $w")"
    result "ingest_${N}_${k}_lines_s" "$(calc "$lines / $w")"
  done
  result "ingest_${N}_ratio_a" "$(median <"$BENCH_TMP/ingest.ra")"
  result "ingest_${N}_ratio_b" "$(median <"$BENCH_TMP/ingest.rb")"
  # a stopped naive run makes its figures bounds: the ratio "at least"
  result "ingest_${N}_naive_stopped" "$naive_dnf"
  printf '# medians: etl/(a) %.2fx, etl/(b) %.2fx\n' "$(median <"$BENCH_TMP/ingest.ra")" "$(median <"$BENCH_TMP/ingest.rb")"
fi

#!/usr/bin/env bash
# bench_idle.sh RUNS: `etl run` with nothing new to do.  A database loaded
# through `etl run` (24 windows of the fake's 1000 sales, Helix configured
# and its outbox sent), then RUNS more `etl run` at the same clock (ETL_NOW):
# the reference snapshots are fetched and found unchanged, no window is due,
# the outbox is empty.  Wall clock of the whole process, median and max.
# Called by scripts/bench.sh (see bench_lib.sh).
. "$(dirname "$0")/bench_lib.sh"
trap bench_cleanup EXIT

RUNS=${1:-21}
ETL_SOURCE_URL=$(start_fake fake_source --sales 1000 --start 2026-11-20T00:00:00Z --hours 24) || exit 1
ETL_HELIX_URL=$(start_fake fake_helix --api-key bench-key --rate-limit 0 --cameras-any --now 2026-11-21T00:30:00Z) || exit 1
export ETL_SOURCE_URL ETL_HELIX_URL ETL_HELIX_API_KEY=bench-key ETL_NOW=2026-11-21T00:30:00Z ETL_HELIX_RATE=1000
bench_db bench_idle || exit 1
bench_note "idle: loading 24 windows with etl run"
"$ETL_BIN" run --start 2026-11-20T00:00:00Z >/dev/null 2>>"$BENCH_TMP/stderr.log" ||
  { echo "bench: the first etl run failed (see $BENCH_TMP/stderr.log)" >&2; exit 1; }
[[ "$(q "SELECT next_window = '2026-11-21T00:00:00Z' FROM watermark")" == t ]] ||
  { echo "bench: the watermark did not reach 2026-11-21T00:00:00Z" >&2; exit 1; }
"$ETL_BIN" run >/dev/null 2>>"$BENCH_TMP/stderr.log"   # warm-up (not counted)
q "CHECKPOINT" >/dev/null   # the load's writes out of the way first

bench_note "idle: $RUNS runs with nothing new"
: >"$BENCH_TMP/idle.walls"
for i in $(seq 1 "$RUNS"); do
  timed "$BENCH_TMP/idle.out" "$ETL_BIN" run || { echo "bench: idle etl run $i failed" >&2; exit 1; }
  echo "$TIMED_WALL" >>"$BENCH_TMP/idle.walls"
done
[[ "$(q "SELECT count(*) FROM run_windows")" == 24 ]] || { echo "bench: an idle run loaded a window" >&2; exit 1; }
med=$(calc "$(median <"$BENCH_TMP/idle.walls") * 1000")
max=$(calc "$(sort -g "$BENCH_TMP/idle.walls" | tail -n 1) * 1000")
printf '# idle etl run: %d runs, median %.1f ms, max %.1f ms (RSS %s KiB)\n' "$RUNS" "$med" "$max" "$TIMED_RSS"
result idle_median_ms "$med"
result idle_max_ms "$max"

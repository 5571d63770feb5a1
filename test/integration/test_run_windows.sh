#!/usr/bin/env bash
# Which windows etl run, fetch and backfill load: the last complete hour on a
# fresh database, --start, a cron that missed 5 hours caught up in 5 windows
# oldest first, --max-windows, late sales re-read by --lookback, fetch and
# backfill leaving the watermark alone (partial first and last windows for
# fetch), and the output: silent on success, one line per window with -v.
. "$(dirname "$0")/lib.sh"
. "${ETL_TEST_CASES:-$ETL_SRC_DIR/test/cases}/load/sales.sh"
it_init run_windows
it_migrate
start_fake_source --sales 4800 --hours 48 --start 2026-11-20T00:00:00Z --duplicate-ratio 0.03 \
  --invalid-ratio 0.02 --late-ratio 0.05 --late-after 2026-11-20T09:30:00Z --now 2026-11-20T06:00:00Z
expect() { curl -fsS "$FAKE_SOURCE/_control/expect?since=$1&until=$2"; }
wm() { q "SELECT to_char(next_window AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM watermark"; }
in_range() { q "SELECT count(*) FROM transactions WHERE transaction_date >= '$1' AND transaction_date < '$2'"; }

# A fresh database and no --start: the last complete hour only.
exit_is "first run: 0" 0 etl run --now 2026-11-20T01:05:00Z
eq "a successful run prints nothing" "" "$(cat "$IT_TMP/out" "$IT_TMP/err")"
eq "the watermark after the first run" "2026-11-20T01:00:00Z" "$(wm)"
eq "it loaded 00:00-01:00" "$(jq .valid <<<"$(expect 2026-11-20T00:00:00Z 2026-11-20T01:00:00Z)")" "$(in_range 2026-11-20T00:00:00Z 2026-11-20T01:00:00Z)"

# Cron missed five hours: five windows, oldest first.
exit_is "catch-up run: 0" 0 etl run --now 2026-11-20T06:20:00Z -v --format json
json_counts "catch-up"
eq "catch-up: 5 windows" "5" "$(count windows)"
eq "catch-up: one -v line per window, oldest first" \
  "2026-11-20T01:00:00Z 2026-11-20T02:00:00Z 2026-11-20T03:00:00Z 2026-11-20T04:00:00Z 2026-11-20T05:00:00Z" \
  "$(grep -o 'window [^ ]* to' "$IT_TMP/err" | awk '{print $2}' | xargs)"
eq "committed oldest first" "01 02 03 04 05" \
  "$(q "SELECT string_agg(to_char(window_start AT TIME ZONE 'UTC', 'HH24'), ' ' ORDER BY committed_at, window_start) FROM run_windows WHERE run_id = (SELECT max(run_id) FROM runs)")"
eq "the watermark after the catch-up" "2026-11-20T06:00:00Z" "$(wm)"
valid=0
for h in 1 2 3 4 5; do
  valid=$((valid + $(jq .valid <<<"$(expect "$(printf '2026-11-20T%02d:00:00Z' $h)" "$(printf '2026-11-20T%02d:00:00Z' $((h + 1)))")")))
done
eq "catch-up: every valid sale of the 5 hours (late ones not yet served)" "$valid" "$(count inserted)"

# Up to date: nothing to do, still exit 0 and silent.
exit_is "nothing due: 0" 0 etl run --now 2026-11-20T06:59:59Z --format json
eq "nothing due: 0 windows" "0" "$(count windows)"
eq "nothing due: the reference data was still refreshed" "1" \
  "$(q "SELECT count(*) FROM runs WHERE run_id = (SELECT max(run_id) FROM runs) AND status = 'ok'")"

# --max-windows caps a run; --start is ignored once there is a watermark.
exit_is "--max-windows 2: 0" 0 etl run --now 2026-11-20T09:10:00Z --max-windows 2 --start 2026-11-19T00:00:00Z --format json
eq "--max-windows 2: 2 windows" "2" "$(count windows)"
eq "the watermark after --max-windows 2" "2026-11-20T08:00:00Z" "$(wm)"

# Late sales appear at the source (their dates are hours back): --lookback
# re-reads the hours before the watermark and loads them; the rest is unchanged.
late_before=$(( $(jq .valid <<<"$(expect 2026-11-20T05:00:00Z 2026-11-20T08:00:00Z)") - $(in_range 2026-11-20T05:00:00Z 2026-11-20T08:00:00Z) ))
curl -fsS -X POST --data '{"now": "2026-11-20T10:00:00Z"}' "$FAKE_SOURCE/_control/now" >/dev/null
late_after=$(( $(jq .valid <<<"$(expect 2026-11-20T05:00:00Z 2026-11-20T08:00:00Z)") - $(in_range 2026-11-20T05:00:00Z 2026-11-20T08:00:00Z) ))
check "the source now serves late sales for 05:00-08:00 ($late_after)" test "$late_after" -gt "$late_before"
exit_is "--lookback 3: 0" 0 etl run --now 2026-11-20T09:10:00Z --lookback 3 -v --format json
json_counts "lookback"
eq "--lookback 3: the 3 re-reads and the one new hour" "4" "$(count windows)"
eq "re-reads first, oldest first" \
  "2026-11-20T05:00:00Z 2026-11-20T06:00:00Z 2026-11-20T07:00:00Z 2026-11-20T08:00:00Z" \
  "$(grep -o 'window [^ ]* to' "$IT_TMP/err" | awk '{print $2}' | xargs)"
eq "the late sales of 05:00-08:00 are loaded" "$(jq .valid <<<"$(expect 2026-11-20T05:00:00Z 2026-11-20T08:00:00Z)")" \
  "$(in_range 2026-11-20T05:00:00Z 2026-11-20T08:00:00Z)"
eq "the re-reads updated nothing" "0" "$(count updated)"
eq "the watermark after the lookback run" "2026-11-20T09:00:00Z" "$(wm)"

# fetch: an explicit range, partial windows at both ends, watermark untouched.
exit_is "fetch 12:30-14:15: 0" 0 etl fetch --since 2026-11-20T12:30:00Z --until 2026-11-20T14:15:00Z --format json
json_counts "fetch"
eq "fetch: 3 windows" "3" "$(count windows)"
eq "fetch: the windows are cut on the hour" \
  "12:30-13:00 13:00-14:00 14:00-14:15" \
  "$(q "SELECT string_agg(to_char(window_start AT TIME ZONE 'UTC', 'HH24:MI') || '-' || to_char(window_end AT TIME ZONE 'UTC', 'HH24:MI'), ' ' ORDER BY window_start) FROM run_windows WHERE run_id = (SELECT max(run_id) FROM runs)")"
eq "fetch: exactly the range" "$(jq .valid <<<"$(expect 2026-11-20T12:30:00Z 2026-11-20T14:15:00Z)")" \
  "$(in_range 2026-11-20T12:30:00Z 2026-11-20T14:15:00Z)"
eq "fetch: nothing outside it" "0" "$(in_range 2026-11-20T14:15:00Z 2026-11-20T14:30:00Z)"
eq "fetch leaves the watermark alone" "2026-11-20T09:00:00Z" "$(wm)"

# backfill: whole UTC days, one window each, watermark untouched.
exit_is "backfill one day: 0" 0 etl backfill --from 2026-11-21 --to 2026-11-21 --format json
json_counts "backfill"
eq "backfill: 1 window" "1" "$(count windows)"
eq "backfill: the day's window" "2026-11-21 00:00:00+00|2026-11-22 00:00:00+00|backfill" \
  "$(q "SELECT window_start, window_end, command FROM run_windows JOIN runs USING (run_id) WHERE run_id = (SELECT max(run_id) FROM runs)")"
eq "backfill: the whole day" "$(jq .valid <<<"$(expect 2026-11-21T00:00:00Z 2026-11-22T00:00:00Z)")" \
  "$(in_range 2026-11-21T00:00:00Z 2026-11-22T00:00:00Z)"
eq "backfill leaves the watermark alone" "2026-11-20T09:00:00Z" "$(wm)"
exit_is "backfill two days again: 0" 0 etl backfill --from 2026-11-20 --to 2026-11-21 --format json
json_counts "backfill again"
eq "backfill again: 2 windows" "2" "$(count windows)"
eq "backfill again: day 2 all unchanged" "0" "$(q "SELECT inserted + updated FROM run_windows WHERE run_id = (SELECT max(run_id) FROM runs) AND window_start = '2026-11-21'")"
eq "every valid sale of the 48 hours is in" "$(jq .valid <<<"$(expect 2026-11-20T00:00:00Z 2026-11-22T00:00:00Z)")" \
  "$(q "SELECT count(*) FROM transactions")"

# Usage errors.
exit_is "fetch without --until: 64" 64 etl fetch --since 2026-11-20T00:00:00Z
exit_is "fetch with since after until: 64" 64 etl fetch --since 2026-11-20T02:00:00Z --until 2026-11-20T01:00:00Z
exit_is "fetch with a bad time: 64" 64 etl fetch --since yesterday --until 2026-11-20T01:00:00Z
exit_is "backfill with from after to: 64" 64 etl backfill --from 2026-11-22 --to 2026-11-21
exit_is "backfill with a bad date: 64" 64 etl backfill --from 2026-11-31 --to 2026-12-01
exit_is "run --max-windows 0: 64" 64 etl run --max-windows 0
exit_is "run --lookback -1: 64" 64 etl run --lookback -1
exit_is "run --start not a time: 64" 64 etl run --start soon
exit_is "run with an extra argument: 64" 64 etl run now
eq "no run was recorded for usage errors" "0" "$(q "SELECT count(*) FROM runs WHERE status <> 'ok'")"
it_done

#!/usr/bin/env bash
# --max-reject-ratio R (run, fetch, backfill): a window that would quarantine
# more than R of the records it fetched is rolled back and the command exits
# 65 with one sentence naming the window, the counts and the most frequent
# reason codes; the windows before it stay committed, the watermark stays at
# that window, nothing of it is stored (not even its quarantine rows), and
# the next run with a higher ceiling carries on from there.  Exactly R is
# allowed (compared exactly: 29 of 100 is not over 0.29), 0 allows none, 1
# any; a bad R is a usage error (64).
. "$(dirname "$0")/lib.sh"
. "${ETL_TEST_CASES:-$ETL_SRC_DIR/test/cases}/load/sales.sh"
it_init ops_reject_ratio
it_migrate
start_fake_source --data "$LOAD_REF"

wm() { q "SELECT to_char(next_window AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM watermark"; }
in_hour() { q "SELECT count(*) FROM transactions WHERE transaction_date >= '2026-11-20T$1:00:00Z' AND transaction_date < '2026-11-20T$1:00:00Z'::timestamptz + interval '1 hour'"; }
quarantined_in_hour() { q "SELECT count(*) FROM quarantine WHERE raw->>'transaction_date' LIKE '2026-11-20T$1:%'"; }

# hour_of H N BAD: N sales in hour H, of which the first BAD are invalid
# (two of every three name an unknown store, the third is off by a cent).
hour_of() {
  local h=$1 n=$2 bad=$3
  sale "T-$h-X" "2026-11-20T$h:00:00Z" | jq -c --arg h "$h" --argjson n "$n" --argjson bad "$bad" '
    . as $t | range($n) | . as $i
    | $t + {transaction_id: "T-\($h)-\($i)", transaction_date: "2026-11-20T\($h):\($i % 60 | tostring | if length < 2 then "0" + . else . end):00Z"}
    | if $i < $bad then (if $i % 3 == 2 then .total_amount = "10.01" else .store_id = 9 end) else . end' |
    paste -sd, -
}
# Hour 00: 2 of 10 rejected (20%); hour 01: 6 of 10 (60%: 4 unknown_store,
# 2 total_mismatch); hour 02: none of 10; hour 03: 29 of 100.
post_sales "$(hour_of 00 10 2),$(hour_of 01 10 6),$(hour_of 02 10 0),$(hour_of 03 100 29)"

exit_is "run over a window at 60% with --max-reject-ratio 0.5: 65" 65 \
  etl run --start 2026-11-20T00:00:00Z --now 2026-11-20T03:05:00Z --max-reject-ratio 0.5 --format json \
  --metrics-file "$IT_TMP/etl.prom"
json_counts "stopped run"
eq "the JSON counts the window committed before" "1 10 8 2" "$(jq -r '[.windows, .fetched, .loaded, .quarantined] | join(" ")' "$IT_TMP/out")"
err=$(cat "$IT_TMP/err")
eq "one sentence naming the window, the counts and the top reasons" \
  "etl: error: window 2026-11-20T01:00:00Z to 2026-11-20T02:00:00Z (rolled back): 6 of the 10 records fetched (60.0%) would be quarantined, more than --max-reject-ratio 0.5 allows; the most frequent reasons: unknown_store 4, total_mismatch 2" \
  "$(head -1 <<<"$err")"
check "and a hint saying what to do" grep -q '^etl: error: hint: nothing of this window was committed' <<<"$err"
eq "nothing else on stderr" "2" "$(wc -l <<<"$err")"
eq "the earlier window is committed: its 8 sales" "8" "$(in_hour 00)"
eq "and its 2 rejects" "2" "$(quarantined_in_hour 00)"
eq "nothing of the window over the ceiling: no sale" "0" "$(in_hour 01)"
eq "nothing of the window over the ceiling: no quarantine row" "0" "$(quarantined_in_hour 01)"
eq "nothing after it either" "0" "$(in_hour 02)"
eq "the watermark stays at that window" "2026-11-20T01:00:00Z" "$(wm)"
eq "the runs row: failed, 65, one window, the message" "failed|65|1|1" \
  "$(q "SELECT status || '|' || exit_code || '|' || windows || '|' || (message LIKE '%2026-11-20T01:00:00Z%60.0%%')::int FROM runs ORDER BY run_id DESC LIMIT 1")"
eq "the metrics say 65, with the window committed before" "65 0 1 8 2" \
  "$(awk '$1 == "etl_last_run_exit_code" || $1 == "etl_last_run_success" || $1 == "etl_last_run_windows" ||
          $1 == "etl_last_run_records{outcome=\"loaded\"}" || $1 == "etl_last_run_records{outcome=\"quarantined\"}" {print $2}' \
     "$IT_TMP/etl.prom" | xargs)"
eq "only the committed window has a run_windows row" "2026-11-20 00:00:00+00" "$(q "SELECT string_agg(window_start::text, ' ') FROM run_windows")"

# The next run, with the same ceiling, stops at the same window again.
exit_is "again with 0.5: 65" 65 etl run --now 2026-11-20T03:05:00Z --max-reject-ratio 0.5 --format json
json_counts "again"
eq "again: no window committed" "0" "$(count windows)"
check "naming the same window" grep -q 'window 2026-11-20T01:00:00Z to 2026-11-20T02:00:00Z (rolled back): 6 of the 10' "$IT_TMP/err"
eq "the watermark has not moved" "2026-11-20T01:00:00Z" "$(wm)"

# Exactly the ceiling is allowed: 6 of 10 with 0.6 loads, and the run goes on.
exit_is "6 of 10 with --max-reject-ratio 0.6: 0" 0 etl run --now 2026-11-20T03:05:00Z --max-reject-ratio 0.6 --format json
json_counts "carry on"
eq "it loads 01 and 02" "2 20 14 6" "$(jq -r '[.windows, .fetched, .loaded, .quarantined] | join(" ")' "$IT_TMP/out")"
eq "the watermark moves on" "2026-11-20T03:00:00Z" "$(wm)"
eq "hour 01 is in" "4 6" "$(in_hour 01) $(quarantined_in_hour 01)"

# Compared exactly: 29 of 100 is 0.29, not over it (0.29 * 100 is
# 28.999999999999996 in binary floating point).
exit_is "29 of 100 with 0.28: 65" 65 etl run --now 2026-11-20T04:05:00Z --max-reject-ratio 0.28 --format json
json_counts "0.28"
check "29 of the 100 (29.0%)" grep -q '29 of the 100 records fetched (29.0%) would be quarantined, more than --max-reject-ratio 0.28 allows' "$IT_TMP/err"
exit_is "29 of 100 with 0.29: 0" 0 etl run --now 2026-11-20T04:05:00Z --max-reject-ratio 0.29 --format json
json_counts "exactly 0.29"
eq "hour 03 loaded with its rejects" "71 29" "$(in_hour 03) $(quarantined_in_hour 03)"

# fetch and backfill stop the same way, leaving the watermark alone.
exit_is "fetch with 0.5 over hours 00-02: 65" 65 \
  etl fetch --since 2026-11-20T00:00:00Z --until 2026-11-20T03:00:00Z --max-reject-ratio 0.5 --format json
json_counts "fetch"
eq "fetch: the window before it committed" "1" "$(count windows)"
check "fetch: names the window" grep -q '^etl: error: window 2026-11-20T01:00:00Z to 2026-11-20T02:00:00Z (rolled back): 6 of the 10 ' "$IT_TMP/err"
exit_is "fetch with 0 allows no reject: 65 at the first window" 65 \
  etl fetch --since 2026-11-20T00:00:00Z --until 2026-11-20T03:00:00Z --max-reject-ratio 0 --format json
json_counts "fetch 0"
eq "fetch 0: no window committed" "0" "$(count windows)"
check "fetch 0: 2 of the 10 (20.0%)" grep -q 'window 2026-11-20T00:00:00Z to 2026-11-20T01:00:00Z (rolled back): 2 of the 10 records fetched (20.0%)' "$IT_TMP/err"
exit_is "fetch with 1 allows any: 0" 0 \
  etl fetch --since 2026-11-20T00:00:00Z --until 2026-11-20T03:00:00Z --max-reject-ratio 1 --format json
json_counts "fetch 1"
exit_is "backfill of the day with 0.25: 65" 65 etl backfill --from 2026-11-20 --to 2026-11-20 --max-reject-ratio 0.25 --format json
json_counts "backfill 0.25"
check "backfill: names the day, 37 of 130" \
  grep -q 'window 2026-11-20T00:00:00Z to 2026-11-21T00:00:00Z (rolled back): 37 of the 130 records fetched (28.5%) would be quarantined, more than --max-reject-ratio 0.25 allows; the most frequent reasons: unknown_store 26, total_mismatch 11' "$IT_TMP/err"
exit_is "backfill of the day with 0.3: 0" 0 etl backfill --from 2026-11-20 --to 2026-11-20 --max-reject-ratio 0.3 --format json
json_counts "backfill"
eq "fetch and backfill left the watermark alone" "2026-11-20T04:00:00Z" "$(wm)"
eq "no run stopped by the ceiling wrote anything: every sale once" "93" "$(q "SELECT count(*) FROM transactions")"
eq "and every reject once" "37" "$(q "SELECT count(*) FROM quarantine")"

# A dry run is stopped the same way (it gets as far as the commit).
exit_is "fetch --dry-run with 0.5: 65" 65 \
  etl fetch --since 2026-11-20T01:00:00Z --until 2026-11-20T02:00:00Z --max-reject-ratio 0.5 --dry-run --format json
json_counts "fetch --dry-run"
check "fetch --dry-run: the same sentence" grep -q '6 of the 10 records fetched (60.0%)' "$IT_TMP/err"

# Usage: R must be a fraction from 0 to 1.
for bad in 1.5 -0.1 abc "" 0.5x 50% 1e-1 . 0.0000000001; do
  exit_is "run --max-reject-ratio '$bad': 64" 64 etl run --max-reject-ratio "$bad"
done
check "the usage error says what R must be" grep -q 'needs a fraction from 0 to 1' "$IT_TMP/err"
exit_is "fetch --max-reject-ratio 2: 64" 64 etl fetch --since 2026-11-20T00:00:00Z --until 2026-11-20T01:00:00Z --max-reject-ratio 2
exit_is "backfill --max-reject-ratio x: 64" 64 etl backfill --from 2026-11-20 --to 2026-11-20 --max-reject-ratio x
for good in 0 1 .5 0.05 1.0 1.000000000 0.000000001; do
  exit_is "run --max-reject-ratio $good (nothing due): 0" 0 etl run --now 2026-11-20T04:05:00Z --max-reject-ratio "$good"
done
eq "every run's counts add up (the runs table)" "0" \
  "$(q "SELECT count(*) FROM runs WHERE fetched <> loaded + duplicates + quarantined OR loaded <> inserted + updated + unchanged")"
it_done

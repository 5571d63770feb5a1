#!/usr/bin/env bash
# A window is atomic: the source failing mid-window past its retries exits 69
# with nothing of that window committed (sales, lines, customers, quarantine,
# run_windows, watermark), the windows before it stay, and the next run
# loads it whole.  A reference refresh that fails stops the run before any
# window.
. "$(dirname "$0")/lib.sh"
. "${ETL_TEST_CASES:-$ETL_SRC_DIR/test/cases}/load/sales.sh"
it_init load_faults
it_migrate
start_fake_source --sales 400 --hours 2 --start 2026-11-20T00:00:00Z --invalid-ratio 0.05 --duplicate-ratio 0.05
load_fast_retries
export ETL_SOURCE_PAGE_LIMIT=20   # 10 or 11 pages per window
NOW=2026-11-20T02:30:00Z

expect() { curl -fsS "$FAKE_SOURCE/_control/expect?since=$1&until=$2"; }
w1=$(expect 2026-11-20T00:00:00Z 2026-11-20T01:00:00Z)
w2=$(expect 2026-11-20T01:00:00Z 2026-11-20T02:00:00Z)
pages1=$(( ($(jq .records <<<"$w1") + 19) / 20 ))

# Every sales request after window 1 and three pages of window 2 fails.
faults "[{\"path\": \"/v1/sales\", \"skip\": $((pages1 + 3)), \"count\": -1, \"status\": 503}]"
exit_is "a fault mid-window past the retries: 69" 69 etl run --start 2026-11-20T00:00:00Z --now $NOW --format json
check "the message names the window" grep -q 'window 2026-11-20T01:00:00Z' "$IT_TMP/err"
check "the message says it was rolled back" grep -q 'rolled back' "$IT_TMP/err"
check "the source's failure is in the message" grep -q '503' "$IT_TMP/err"
json_counts "failed run"
eq "the JSON counts the committed window only" "1" "$(count windows)"
eq "the watermark stays after window 1" "2026-11-20 01:00:00+00" "$(q "SELECT next_window FROM watermark")"
eq "nothing of window 2 was committed (sales)" "0" \
  "$(q "SELECT count(*) FROM transactions WHERE transaction_date >= '2026-11-20T01:00:00Z'")"
eq "window 1 was committed" "$(jq .valid <<<"$w1")" "$(q "SELECT count(*) FROM transactions")"
eq "the quarantine holds window 1's rejects only" "$(jq .invalid <<<"$w1")" "$(q "SELECT count(*) FROM quarantine")"
eq "no customer of window 2 exists" "0" \
  "$(q "SELECT count(*) FROM customers WHERE last_transaction_date >= '2026-11-20T01:00:00Z'")"
eq "one run_windows row" "1" "$(q "SELECT count(*) FROM run_windows")"
eq "the run is recorded as failed" "failed|69|1" "$(q "SELECT status, exit_code, windows FROM runs")"
check "the run's message is kept" test -n "$(q "SELECT message FROM runs")"
lines=$(q "SELECT count(*) FROM line_items")

faults '[]'
exit_is "the next run: 0" 0 etl run --now $NOW --format json
json_counts "next run"
eq "it loads window 2 only" "1 $(jq .valid <<<"$w2") $(jq .duplicates <<<"$w2") $(jq .invalid <<<"$w2")" \
  "$(jq -r '[.windows, .inserted, .duplicates, .quarantined] | join(" ")' "$IT_TMP/out")"
eq "the watermark moves to 02:00" "2026-11-20 02:00:00+00" "$(q "SELECT next_window FROM watermark")"
eq "every valid sale is in" "$(( $(jq .valid <<<"$w1") + $(jq .valid <<<"$w2") ))" "$(q "SELECT count(*) FROM transactions")"
check "window 2's line items are in" test "$(q "SELECT count(*) FROM line_items")" -gt "$lines"

# The reference refresh fails: no window is loaded, the watermark stays.
faults '[{"path": "/v1/items", "count": -1, "status": 500}]'
exit_is "reference refresh fails: 69" 69 etl run --now 2026-11-20T05:30:00Z
check "the message names the reference data" grep -q 'reference' "$IT_TMP/err"
eq "no window was loaded" "2026-11-20 02:00:00+00" "$(q "SELECT next_window FROM watermark")"
eq "the run is recorded as failed, no windows" "failed|69|0" \
  "$(q "SELECT status, exit_code, windows FROM runs ORDER BY run_id DESC LIMIT 1")"

# A permanent refusal (4xx) of a sales page: 69 at once, nothing committed.
faults '[{"path": "/v1/sales", "count": -1, "status": 403, "body": "{\"message\": \"token revoked\"}"}]'
exit_is "a 403 from the source: 69" 69 etl run --now 2026-11-20T03:30:00Z
check "the server's message is shown" grep -q 'token revoked' "$IT_TMP/err"
eq "the watermark stays" "2026-11-20 02:00:00+00" "$(q "SELECT next_window FROM watermark")"
faults '[]'

# Transient trouble inside the budget is invisible.
faults '[{"path": "/v1/sales", "skip": 1, "count": 2, "status": 503}]'
exit_is "two transient failures: 0" 0 etl run --now 2026-11-20T03:30:00Z --format json
json_counts "retried"
eq "the window loaded" "1" "$(count windows)"
it_done

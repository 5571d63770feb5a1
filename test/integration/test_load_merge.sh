#!/usr/bin/env bash
# The merge of one window (lib/load.c), on fixtures: duplicates collapse by
# updated_at then fetch order, a re-run of unchanged data writes nothing
# (xmin unchanged), a changed sale is updated in place with its line items,
# and customers take the fields of their latest transaction (by date, then
# transaction_id) also when an update moves which one that is.
. "$(dirname "$0")/lib.sh"
. "${ETL_TEST_CASES:-$ETL_SRC_DIR/test/cases}/load/sales.sh"
it_init load_merge
it_migrate
start_fake_source --data "$LOAD_REF"

W="--since 2026-11-20T00:00:00Z --until 2026-11-20T01:00:00Z"
A1=$(sale T-A1 2026-11-20T00:10:00Z upd=2026-11-20T00:10:05Z cust=c1 email=a@one.com first=Ann last=One mkt=true cents=1000)
A2=$(sale T-A2 2026-11-20T00:20:00Z upd=2026-11-20T00:20:05Z cust=c1 email=a@two.com first=Ann last=Two mkt=false cents=2000)
# D1: the newer version is served first; it must still win.
D1new=$(sale T-D1 2026-11-20T00:30:00Z upd=2026-11-20T00:45:00Z status=paid cents=3000 cam=$CAM)
D1old=$(sale T-D1 2026-11-20T00:30:00Z upd=2026-11-20T00:35:00Z status=pending cents=3000 cam=$CAM)
# D2: equal updated_at: the one fetched last wins.
D2a=$(sale T-D2 2026-11-20T00:31:00Z upd=2026-11-20T00:40:00Z cents=100)
D2b=$(sale T-D2 2026-11-20T00:31:00Z upd=2026-11-20T00:40:00Z cents=200)
# D3: a present updated_at beats an absent one, fetched later or not.
D3a=$(sale T-D3 2026-11-20T00:32:00Z upd=2026-11-20T00:41:00Z cents=500)
D3b=$(sale T-D3 2026-11-20T00:32:00Z cents=600)
# D4: both absent: the one fetched last.
D4a=$(sale T-D4 2026-11-20T00:33:00Z cents=700)
D4b=$(sale T-D4 2026-11-20T00:33:00Z cents=800)
Q1=$(sale T-Q1 2026-11-20T00:34:00Z store=9)
N1=$(sale T-N1 2026-11-20T00:50:00Z cam=$CAM qty=3 cents=999)
post_sales "$A1" "$A2" "$D1new" "$D2a" "$D3a" "$D4a" "$D1old" "$D2b" "$D3b" "$D4b" "$Q1" "$N1"

exit_is "first fetch: 0" 0 etl fetch $W --format json
json_counts "first fetch"
eq "the JSON has exactly the contract's keys" \
  '["duplicates","fetched","helix_failed","helix_pending","helix_sent","helix_updated","inserted","loaded","quarantined","unchanged","updated","windows"]' \
  "$(jq -c 'keys' "$IT_TMP/out")"
eq "first fetch: counts" "1 12 7 4 1 7 0 0" \
  "$(jq -r '[.windows, .fetched, .loaded, .duplicates, .quarantined, .inserted, .updated, .unchanged] | join(" ")' "$IT_TMP/out")"
eq "fetch prints nothing on stderr" "" "$(cat "$IT_TMP/err")"
eq "D1: the greatest updated_at wins although served first" "paid 30.00" \
  "$(q "SELECT financial_status || ' ' || total_amount FROM transactions WHERE transaction_id = 'T-D1'")"
eq "D2: equal updated_at: the one fetched last" "2.00" "$(q "SELECT total_amount FROM transactions WHERE transaction_id = 'T-D2'")"
eq "D3: present updated_at beats absent" "5.00" "$(q "SELECT total_amount FROM transactions WHERE transaction_id = 'T-D3'")"
eq "D4: both absent: the one fetched last" "8.00" "$(q "SELECT total_amount FROM transactions WHERE transaction_id = 'T-D4'")"
eq "line items of N1" "1 100 3 9.99" \
  "$(q "SELECT line_no || ' ' || item_id || ' ' || quantity || ' ' || unit_price FROM line_items WHERE transaction_id = 'T-N1'")"
eq "the quarantine holds T-Q1" "T-Q1 unknown_store" \
  "$(q "SELECT record_key || ' ' || array_to_string(reasons, ',') FROM quarantine")"
eq "c1 takes the fields of its latest sale (T-A2)" "a@two.com|Ann|Two|f|T-A2" \
  "$(q "SELECT email, first_name, last_name, accepts_marketing, last_transaction_id FROM customers WHERE customer_id = 'c1'")"
eq "no watermark after a fetch" "0" "$(q "SELECT count(*) FROM watermark")"
eq "one run_windows row" "2026-11-20 00:00:00+00|2026-11-20 01:00:00+00|12|7" \
  "$(q "SELECT window_start, window_end, fetched, loaded FROM run_windows")"
eq "the runs row" "fetch|ok|0|1|12|7|4|1" \
  "$(q "SELECT command, status, exit_code, windows, fetched, loaded, duplicates, quarantined FROM runs")"

snap() {
  q "SELECT string_agg(transaction_id || ':' || xmin::text, ',' ORDER BY transaction_id) FROM transactions"
  q "SELECT string_agg(transaction_id || line_no || ':' || xmin::text, ',' ORDER BY transaction_id, line_no) FROM line_items"
  q "SELECT string_agg(customer_id || ':' || xmin::text, ',' ORDER BY customer_id) FROM customers"
}
before=$(snap)
exit_is "re-run, same data: 0" 0 etl fetch $W --format json
json_counts "re-run"
eq "re-run: nothing inserted or updated" "12 7 0 0 7" \
  "$(jq -r '[.fetched, .loaded, .inserted, .updated, .unchanged] | join(" ")' "$IT_TMP/out")"
eq "re-run: no row rewritten (xmin of sales, lines, customers)" "$before" "$(snap)"
eq "re-run: the same reject is not stored twice" "1" "$(q "SELECT count(*) FROM quarantine")"

# A changed sale: updated in place, its line items replaced, the rest untouched.
old_a1_xmin=$(q "SELECT xmin FROM transactions WHERE transaction_id = 'T-A1'")
others=$(q "SELECT string_agg(transaction_id || ':' || xmin::text, ',' ORDER BY transaction_id) FROM transactions WHERE transaction_id <> 'T-A1'")
c1_xmin=$(q "SELECT xmin FROM customers WHERE customer_id = 'c1'")
A1=$(sale T-A1 2026-11-20T00:10:00Z upd=2026-11-20T00:15:00Z cust=c1 email=a@one.com first=Ann last=One mkt=true cents=1500 qty=2)
post_sales "$A1" "$A2" "$D1new" "$D2a" "$D3a" "$D4a" "$D1old" "$D2b" "$D3b" "$D4b" "$Q1" "$N1"
exit_is "a changed sale: 0" 0 etl fetch $W --format json
json_counts "changed"
eq "changed: updated 1" "0 1 6" "$(jq -r '[.inserted, .updated, .unchanged] | join(" ")' "$IT_TMP/out")"
eq "T-A1 has its new total" "30.00" "$(q "SELECT total_amount FROM transactions WHERE transaction_id = 'T-A1'")"
eq "T-A1's line item was replaced" "1 2 15.00" \
  "$(q "SELECT line_no || ' ' || quantity || ' ' || unit_price FROM line_items WHERE transaction_id = 'T-A1'")"
check "T-A1 was rewritten" test "$old_a1_xmin" != "$(q "SELECT xmin FROM transactions WHERE transaction_id = 'T-A1'")"
eq "the other sales were not" "$others" \
  "$(q "SELECT string_agg(transaction_id || ':' || xmin::text, ',' ORDER BY transaction_id) FROM transactions WHERE transaction_id <> 'T-A1'")"
eq "c1 is untouched (T-A1 is not its latest)" "$c1_xmin" "$(q "SELECT xmin FROM customers WHERE customer_id = 'c1'")"

# An update moves c1's latest sale (T-A2) before T-A1: c1 takes T-A1's fields.
A2=$(sale T-A2 2026-11-20T00:05:00Z upd=2026-11-20T00:25:00Z cust=c1 email=a@two.com first=Ann last=Two mkt=false cents=2000)
post_sales "$A1" "$A2" "$D1new" "$D2a" "$D3a" "$D4a" "$D1old" "$D2b" "$D3b" "$D4b" "$Q1" "$N1"
exit_is "T-A2 moved earlier: 0" 0 etl fetch $W --format json
json_counts "moved"
eq "moved: updated 1" "1" "$(count updated)"
eq "c1 now has T-A1's fields" "a@one.com|Ann|One|t|T-A1|2026-11-20 00:10:00+00" \
  "$(q "SELECT email, first_name, last_name, accepts_marketing, last_transaction_id, last_transaction_date FROM customers WHERE customer_id = 'c1'")"

# Equal dates: the greater transaction_id is the later one.
A0=$(sale T-A0 2026-11-20T00:10:00Z cust=c1 email=a@zero.com)
A9=$(sale T-A9 2026-11-20T00:10:00Z cust=c1 email=a@nine.com)
post_sales "$A0" "$A1" "$A2" "$A9" "$D1new" "$D2a" "$D3a" "$D4a" "$D1old" "$D2b" "$D3b" "$D4b" "$Q1" "$N1"
exit_is "two sales at T-A1's instant: 0" 0 etl fetch $W --format json
json_counts "tie"
eq "tie: inserted 2" "2" "$(count inserted)"
eq "c1 takes T-A9 (same date, greater id)" "a@nine.com|T-A9||" \
  "$(q "SELECT email, last_transaction_id, first_name, accepts_marketing FROM customers WHERE customer_id = 'c1'")"

# T-A9 moves to another customer: c1 falls back to T-A1, c2 appears.
A9=$(sale T-A9 2026-11-20T00:10:00Z cust=c2 email=b@nine.com)
post_sales "$A0" "$A1" "$A2" "$A9" "$D1new" "$D2a" "$D3a" "$D4a" "$D1old" "$D2b" "$D3b" "$D4b" "$Q1" "$N1"
exit_is "T-A9 changes customer: 0" 0 etl fetch $W --format json
json_counts "customer change"
eq "c1 falls back to T-A1" "a@one.com|T-A1" \
  "$(q "SELECT email, last_transaction_id FROM customers WHERE customer_id = 'c1'")"
eq "c2 has T-A9" "b@nine.com|T-A9" "$(q "SELECT email, last_transaction_id FROM customers WHERE customer_id = 'c2'")"

# Every customer agrees with its latest transaction, computed independently.
eq "customers = their latest transaction" "0" "$(q "
  SELECT count(*) FROM customers c JOIN LATERAL (
    SELECT * FROM transactions t WHERE t.customer_id = c.customer_id
    ORDER BY transaction_date DESC, transaction_id COLLATE \"C\" DESC LIMIT 1) t ON true
  WHERE (c.email, c.first_name, c.last_name, c.accepts_marketing, c.last_transaction_id)
        IS DISTINCT FROM (t.customer_email, t.customer_first_name, t.customer_last_name,
                          t.customer_accepts_marketing, t.transaction_id)")"
eq "every line item belongs to a sale, and units agree" "0" "$(q "
  SELECT count(*) FROM transactions t WHERE units <> (SELECT sum(quantity) FROM line_items l WHERE l.transaction_id = t.transaction_id)")"
eq "the runs table adds up" "0" "$(q "SELECT count(*) FROM runs WHERE fetched <> loaded + duplicates + quarantined OR loaded <> inserted + updated + unchanged")"
it_done

#!/usr/bin/env bash
# etl rejects: quarantined records in the contract's JSON shape (the record
# whole, with its exact numbers), filters and formats; etl rejects replay
# loads a sale once the store it named arrives, updates the reasons of those
# still failing, and never lets an old quarantined version overwrite a newer
# stored sale.
. "$(dirname "$0")/lib.sh"
. "${ETL_TEST_CASES:-$ETL_SRC_DIR/test/cases}/load/sales.sh"
it_init rejects
it_migrate
start_fake_source --data "$LOAD_REF"

R1='{"transaction_id":"T-R1","transaction_date":"2026-11-20T00:10:00Z","store_id":3,"pos_id":31,"camera_id":null,"customer":{"customer_id":"c9","email":"r@one.com"},"billing_address":{"address1":"1 Rue","province":"Île-de-France","country":"FR"},"shipping_address":null,"currency":"GBP","financial_status":"paid","total_amount":104.50,"total_discounts":0.10,"total_tax":0,"line_items":[{"item_id":100,"quantity":2,"unit_price":52.30}]}'
R2='{"transaction_id":"T-R2","transaction_date":"2026-11-20T00:20:00Z","store_id":1,"pos_id":11,"financial_status":"paid","total_amount":"10.00","line_items":[{"item_id":100,"quantity":"1","unit_price":"10.00"}]}'
R3='{"transaction_date":"2026-11-20T00:30:00Z","store_id":1,"pos_id":11,"currency":"GBP","financial_status":"paid","total_amount":"10.00","line_items":[{"item_id":100,"quantity":1,"unit_price":"10.00"}]}'
R4=$(sale T-R4 2026-11-20T00:40:00Z store=3 pos=31 | jq -c '.total_amount = "10.01"')
V1=$(sale T-V1 2026-11-20T00:50:00Z)
post_sales "$R1" "$R2" "$R3" "$R4" "$V1"
W="--since 2026-11-20T00:00:00Z --until 2026-11-20T01:00:00Z"
exit_is "fetch: 0" 0 etl fetch $W --format json
json_counts "fetch"
eq "fetch: 4 quarantined, 1 loaded" "4 1" "$(jq -r '[.quarantined, .loaded] | join(" ")' "$IT_TMP/out")"

exit_is "rejects --format json: 0" 0 etl rejects --format json
j=$IT_TMP/out
cp "$j" "$IT_TMP/rejects.json"
eq "4 records" "4" "$(jq length "$j")"
eq "each has exactly the contract's keys" '["key","quarantined_at","raw","reasons","resource"]' \
  "$(jq -c '[.[] | keys] | unique | .[]' "$j")"
eq "resource" '["sales"]' "$(jq -c '[.[].resource] | unique' "$j")"
eq "keys, oldest first; null when there is none" '["T-R1","T-R2",null,"T-R4"]' "$(jq -c '[.[].key]' "$j")"
eq "T-R1's reasons" '["unknown_pos","unknown_store"]' "$(jq -c '.[0].reasons | sort' "$j")"
check "T-R2's reasons name the missing currency and the quantity's type" \
  jq -e '.[1].reasons | index("missing_field:currency") and index("bad_type:line_items.quantity")' "$j"
check "T-R3: missing_field:transaction_id" jq -e '.[2].reasons == ["missing_field:transaction_id"]' "$j"
eq "raw is the record itself (an object, not a string)" "object" "$(jq -r '.[0].raw | type' "$j")"
eq "raw is the record as sent" "$(jq -S . <<<"$R1")" "$(jq -S '.[0].raw' "$j")"
check "raw keeps the exact numbers: 104.50" grep -Eq '"total_amount": ?104\.50[,}]' "$j"
check "raw keeps the exact numbers: 0.10" grep -Eq '"total_discounts": ?0\.10[,}]' "$j"
check "raw keeps the exact numbers: 52.30" grep -Eq '"unit_price": ?52\.30[,}]' "$j"
check "raw keeps non-ASCII text" grep -q 'Île-de-France' "$j"
check "quarantined_at is RFC 3339 in UTC" \
  jq -e 'all(.[]; .quarantined_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))' "$j"

exit_is "--resource stores: 0" 0 etl rejects list --resource stores --format json
eq "--resource stores: none" "[]" "$(jq -c . "$IT_TMP/out")"
exit_is "--limit 2: 0" 0 etl rejects --limit 2 --format json
eq "--limit 2: the 2 oldest" '["T-R1","T-R2"]' "$(jq -c '[.[].key]' "$IT_TMP/out")"
exit_is "csv: 0" 0 etl rejects --format csv
eq "csv header" "id,quarantined_at,resource,key,reasons,raw" "$(head -1 "$IT_TMP/out" | tr -d '\r')"
eq "csv: 4 rows" "5" "$(grep -c 'sales' "$IT_TMP/out" | awk '{print $1+1}')"
exit_is "table: 0" 0 etl rejects
check "table header" grep -q '^id  *quarantined_at  *resource  *key  *reasons' "$IT_TMP/out"
check "table shows the reasons" grep -q 'unknown_store' "$IT_TMP/out"
exit_is "unknown --resource: 64" 64 etl rejects --resource sale
exit_is "unknown action: 64" 64 etl rejects purge
exit_is "replay with --limit: 64" 64 etl rejects replay --limit 3

# Replay before anything changed: everything stays, nothing is written.
exit_is "replay, nothing fixed: 0" 0 etl rejects replay --format json
json_counts "replay 1"
eq "replay 1: examined 4, loaded 0, still 4" "4 0 4" "$(jq -r '[.fetched, .loaded, .quarantined] | join(" ")' "$IT_TMP/out")"
eq "the quarantine is as it was" "$(jq -c '[.[] | {key, reasons, raw}]' "$IT_TMP/rejects.json")" \
  "$(etl rejects --format json | jq -c '[.[] | {key, reasons, raw}]')"

# Store 3 and its POS arrive at the source; the next refresh brings them in.
post_ref stores "$(jq -c '. + [{"store_id": 3, "name": "Paris", "address": "1 Rue", "city": "Paris", "province": "Île-de-France", "country": "FR", "phone": null, "email": null}]' "$LOAD_REF/stores.json")"
post_ref pos "$(jq -c '. + [{"pos_id": 31, "store_id": 3, "name": "Caisse 1"}]' "$LOAD_REF/pos.json")"
exit_is "a fetch of an empty hour refreshes the reference data: 0" 0 \
  etl fetch --since 2026-11-21T00:00:00Z --until 2026-11-21T01:00:00Z
eq "store 3 is known" "1" "$(q "SELECT count(*) FROM stores WHERE store_id = 3")"
exit_is "replay after the store arrived: 0" 0 etl rejects replay --format json
json_counts "replay 2"
eq "replay 2: examined 4, inserted 1, still 3" "4 1 1 3" \
  "$(jq -r '[.fetched, .loaded, .inserted, .quarantined] | join(" ")' "$IT_TMP/out")"
eq "T-R1 is loaded with its exact amounts" "104.50|0.10|0.00|c9" \
  "$(q "SELECT total_amount, total_discounts, total_tax, customer_id FROM transactions WHERE transaction_id = 'T-R1'")"
eq "its line item" "2|52.30" "$(q "SELECT quantity, unit_price FROM line_items WHERE transaction_id = 'T-R1'")"
eq "its customer" "r@one.com|T-R1" "$(q "SELECT email, last_transaction_id FROM customers WHERE customer_id = 'c9'")"
exit_is "rejects after replay: 0" 0 etl rejects --format json
eq "T-R1 left the quarantine" '["T-R2",null,"T-R4"]' "$(jq -c '[.[].key]' "$IT_TMP/out")"
eq "T-R4's reasons are updated to what still fails" '["total_mismatch"]' "$(jq -c '.[2].reasons' "$IT_TMP/out")"
eq "the replay is recorded as a run" "rejects replay|ok|4|1|3" \
  "$(q "SELECT command, status, fetched, loaded, quarantined FROM runs ORDER BY run_id DESC LIMIT 1")"

# A sale loaded later resolves its old rejects: T-R2 arrives valid.
R2ok=$(sale T-R2 2026-11-20T00:20:00Z upd=2026-11-20T00:25:00Z)
post_sales "$R1" "$R2ok" "$R3" "$R4" "$V1"
exit_is "fetch with T-R2 fixed: 0" 0 etl fetch $W --format json
json_counts "fetch 2"
exit_is "rejects: 0" 0 etl rejects --format json
eq "T-R2's old reject is resolved; the same rejects are not stored twice" '[null,"T-R4"]' "$(jq -c '[.[].key]' "$IT_TMP/out")"

# An old version quarantined after a newer one loaded never overwrites it.
S_new=$(sale T-S1 2026-11-20T02:10:00Z upd=2026-11-20T02:30:00Z cents=3000)
S_old=$(sale T-S1 2026-11-20T02:10:00Z upd=2026-11-20T02:20:00Z cents=2000 item=102)
post_sales "$S_new"
exit_is "fetch the new version: 0" 0 etl fetch --since 2026-11-20T02:00:00Z --until 2026-11-20T03:00:00Z
post_sales "$S_old"
exit_is "fetch the old, invalid version: 0" 0 etl fetch --since 2026-11-20T02:00:00Z --until 2026-11-20T03:00:00Z --format json
eq "it is quarantined (unknown item)" "1" "$(count quarantined)"
post_ref items "$(jq -c '. + [{"item_id": 102, "sku": "CAP", "name": "Cap", "price": "20.00", "currency": "GBP", "quantity": 1}]' "$LOAD_REF/items.json")"
exit_is "refresh: 0" 0 etl fetch --since 2026-11-21T00:00:00Z --until 2026-11-21T01:00:00Z
exit_is "replay with a superseded record: 0" 0 etl rejects replay --format json
json_counts "replay 3"
eq "replay 3: T-S1 superseded (a duplicate), nothing written" "0 1 0 0" \
  "$(jq -r '[.loaded, .duplicates, .inserted, .updated] | join(" ")' "$IT_TMP/out")"
eq "the stored T-S1 is still the newer one" "30.00" "$(q "SELECT total_amount FROM transactions WHERE transaction_id = 'T-S1'")"
eq "the superseded record left the quarantine" "0" "$(q "SELECT count(*) FROM quarantine WHERE record_key = 'T-S1'")"

# A quarantine larger than one cursor batch (1000 rows): CSV and JSON are
# streamed in batches and must still be one whole, ordered document.
q "INSERT INTO quarantine (resource, record_key, reasons, raw)
   SELECT 'stores', 'S-' || i, ARRAY['bad_value:name'], jsonb_build_object('store_id', i, 'name', 'a,\"b\"')
   FROM generate_series(1, 2345) i" >/dev/null
total=$(q "SELECT count(*) FROM quarantine")
exit_is "rejects --format json over $total records: 0" 0 etl rejects --format json
eq "json: every record, once" "$total" "$(jq length "$IT_TMP/out")"
q "SELECT coalesce(record_key, 'null') FROM quarantine ORDER BY quarantine_id" >"$IT_TMP/keys.want"
jq -r '.[] | .key // "null"' "$IT_TMP/out" >"$IT_TMP/keys.got"
check "json: in quarantine order" cmp -s "$IT_TMP/keys.want" "$IT_TMP/keys.got"
eq "json: raw kept across batches" '{"name":"a,\"b\"","store_id":1500}' \
  "$(jq -c '.[] | select(.key == "S-1500") | .raw' "$IT_TMP/out")"
exit_is "rejects --format csv over $total records: 0" 0 etl rejects --format csv
eq "csv: a header and one line per record" "$((total + 1))" "$(grep -c $'\r$' "$IT_TMP/out")"
eq "csv: the last line is the last record" "S-2345" "$(tail -n 1 "$IT_TMP/out" | cut -d, -f4)"
exit_is "rejects --limit 1500 --format json: 0" 0 etl rejects --limit 1500 --format json
eq "json --limit 1500: 1500 records" "1500" "$(jq length "$IT_TMP/out")"
exit_is "the table still lists them all: 0" 0 etl rejects --resource stores
eq "table: a header and 2345 lines" "2346" "$(wc -l <"$IT_TMP/out")"
it_done

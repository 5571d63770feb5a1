#!/usr/bin/env bash
# test_refsync.sh - the reference snapshots (contract sections 1 and 3)
# against the fake retail API in fixture mode: inserts, unchanged rows not
# rewritten (xmin), updates, duplicates (last wins), soft-delete after a
# complete snapshot and restore, invalid records quarantined with their
# reasons (once, however many runs see them), and a snapshot broken mid-way
# deleting nothing.  Refreshes run through test_refsync (a driver calling
# etl_refsync_all) and, for the run-level behaviour, through `etl run`.
. "$(dirname "$0")/lib.sh"
it_init refsync
it_migrate

DRIVER="$ETL_BUILD_DIR/test/test_refsync"
export REFSYNC_TEST_DRIVER=1
[[ -x "$DRIVER" ]] || { echo "missing $DRIVER" >&2; exit 1; }

D="$IT_TMP/data"
mkdir -p "$D"
cat >"$D/stores.json" <<'EOF'
[{"store_id": 1, "name": "London Oxford St", "address": "1 Oxford St", "city": "London", "province": "Greater London", "country": "GB", "phone": null, "email": null},
 {"store_id": 2, "name": "Boise", "address": "123 Main St", "city": "Boise", "province": "Idaho", "country": "US", "phone": "208-555-0100", "email": "boise@example.com"},
 {"store_id": 3, "name": "Paris", "city": "Paris", "province": "Île-de-France", "country": "FR"}]
EOF
cat >"$D/pos.json" <<'EOF'
[{"pos_id": 10, "store_id": 1, "name": "Front"}, {"pos_id": 20, "store_id": 2, "name": "Back"}, {"pos_id": 30, "store_id": 3, "name": "Door"}]
EOF
cat >"$D/cameras.json" <<'EOF'
[{"camera_id": "cam-1", "name": "Till 1", "store_id": 1, "pos_id": 10, "model": "CD52", "status": "active"},
 {"camera_id": "cam-2", "name": "Till 2", "store_id": 2, "pos_id": 20, "model": null, "status": "inactive"},
 {"camera_id": "cam-3", "name": "Door", "store_id": 3, "pos_id": null}]
EOF
cat >"$D/items.json" <<'EOF'
[{"item_id": 100, "sku": "NK-AF1-42", "name": "Nike Air Force 1", "price": "109.99", "currency": "GBP", "quantity": 10},
 {"item_id": 101, "sku": "SOCK", "name": "Sock", "price": 2.50, "currency": "USD", "quantity": 3},
 {"item_id": 102, "sku": "CAP", "name": "Cap", "price": "15.00", "currency": "EUR"}]
EOF
cat >"$D/exchange_rates.json" <<'EOF'
[{"date": "2026-11-01", "currency": "EUR", "rate_to_usd": "1.0832"},
 {"date": "2026-11-02", "currency": "EUR", "rate_to_usd": "1.09"},
 {"date": "2026-11-01", "currency": "GBP", "rate_to_usd": "1.27"}]
EOF
echo '[]' >"$D/sales.json"
cp -r "$D" "$IT_TMP/orig"

start_fake_source --data "$D"
export ETL_HTTP_RETRIES=1 ETL_HTTP_BACKOFF_MS=1 ETL_HTTP_BACKOFF_MAX_MS=2

# setdata RESOURCE JSON: replaces a resource's records on the fake.
setdata() {
  curl -sf -X POST -H 'Content-Type: application/json' --data-binary "$2" \
    "$FAKE_SOURCE/_control/data/$1" >/dev/null || { echo "setdata $1 failed" >&2; exit 1; }
}
# setfile RESOURCE: back to the original fixture.
setfile() { setdata "$1" "@$IT_TMP/orig/$1.json"; }
faults() {
  curl -sf -X POST -H 'Content-Type: application/json' --data-binary "$1" \
    "$FAKE_SOURCE/_control/faults" >/dev/null || { echo "faults failed" >&2; exit 1; }
}
# refresh: one etl_refsync_all; its counts in $IT_TMP/rs.json, status in $rs_status.
refresh() {
  "$DRIVER" >"$IT_TMP/rs.json" 2>"$IT_TMP/rs.err"
  rs_status=$?
}
# n RESOURCE FIELD: a count of the last refresh.
n() { jq -r ".$1.$2" "$IT_TMP/rs.json"; }
# counts RESOURCE: "inserted updated restored unchanged soft_deleted duplicates quarantined".
counts() { jq -r ".$1 | \"\(.inserted) \(.updated) \(.restored) \(.unchanged) \(.soft_deleted) \(.duplicates) \(.quarantined)\"" "$IT_TMP/rs.json"; }
# xmins: every reference row's key and xmin, for "was it rewritten".
xmins() {
  q "SELECT 's' || store_id || ':' || xmin FROM stores UNION ALL SELECT 'p' || pos_id || ':' || xmin FROM pos
     UNION ALL SELECT 'c' || camera_id || ':' || xmin FROM cameras UNION ALL SELECT 'i' || item_id || ':' || xmin FROM items
     UNION ALL SELECT 'r' || currency || date || ':' || xmin FROM exchange_rates ORDER BY 1" | tr '\n' ' '
}
# fetched = quarantined + duplicates + inserted + updated + restored + unchanged, for every resource
adds_up() {
  eq "$1: every record counted once" "" "$(jq -r 'to_entries[] | select(.value | type == "object") | .value as $c
    | select($c.fetched != $c.quarantined + $c.duplicates + $c.inserted + $c.updated + $c.restored + $c.unchanged) | .key' "$IT_TMP/rs.json")"
}

# --- first load --------------------------------------------------------------
refresh
eq "first refresh exits 0" 0 "$rs_status"
eq "stores inserted" "3 0 0 0 0 0 0" "$(counts stores)"
eq "pos inserted" "3 0 0 0 0 0 0" "$(counts pos)"
eq "cameras inserted" "3 0 0 0 0 0 0" "$(counts cameras)"
eq "items inserted" "3 0 0 0 0 0 0" "$(counts items)"
eq "rates inserted" "3 0 0 0 0 0 0" "$(counts exchange_rates)"
adds_up "first refresh"
eq "stores rows" "1|London Oxford St|GB|||2|Boise|US|208-555-0100|boise@example.com|3|Paris|FR|||" \
  "$(q "SELECT store_id, name, country, phone, email FROM stores ORDER BY 1" | tr '\n' '|')"
eq "camera defaults and nulls" "cam-1|1|10|CD52|active|cam-2|2|20||inactive|cam-3|3|||active|" \
  "$(q "SELECT camera_id, store_id, pos_id, model, status FROM cameras ORDER BY 1" | tr '\n' '|')"
eq "item prices exact" "100|109.99|GBP|10|101|2.50|USD|3|102|15.00|EUR||" \
  "$(q "SELECT item_id, price::numeric(14,2), currency, quantity FROM items ORDER BY 1" | tr '\n' '|')"
eq "rates exact" "EUR|2026-11-01|1.0832|EUR|2026-11-02|1.09|GBP|2026-11-01|1.27|" \
  "$(q "SELECT currency, date, rate_to_usd FROM exchange_rates ORDER BY 1, 2" | tr '\n' '|')"
eq "nothing soft-deleted" 0 "$(q "SELECT (SELECT count(*) FROM stores WHERE deleted_at IS NOT NULL) + (SELECT count(*) FROM items WHERE deleted_at IS NOT NULL)")"

# etl_refdata_load: ids, a POS's store, the earliest rate per currency
eq "refdata resolves" "1 1 3 1 1 1 0 1 0 1" \
  "$("$DRIVER" refdata s:1 s:3 p:30 c:cam-3 i:102 r:EUR:2026-11-01 r:EUR:2026-10-31 r:GBP:2026-12-01 s:99 r:USD:1999-01-01)"

# --- unchanged: no row rewritten ---------------------------------------------
before=$(xmins)
upd_before=$(q "SELECT max(updated_at) FROM stores")
refresh
eq "unchanged refresh exits 0" 0 "$rs_status"
eq "stores unchanged" "0 0 0 3 0 0 0" "$(counts stores)"
eq "items unchanged" "0 0 0 3 0 0 0" "$(counts items)"
eq "rates unchanged" "0 0 0 3 0 0 0" "$(counts exchange_rates)"
eq "no reference row rewritten (xmin)" "$before" "$(xmins)"
eq "updated_at untouched" "$upd_before" "$(q "SELECT max(updated_at) FROM stores")"

# --- an update rewrites that row only ----------------------------------------
setdata stores "$(jq -c '(.[] | select(.store_id == 1) | .name) = "London Regent St"' "$IT_TMP/orig/stores.json")"
setdata exchange_rates "$(jq -c '(.[] | select(.currency == "GBP") | .rate_to_usd) = "1.2700"' "$IT_TMP/orig/exchange_rates.json")"
before=$(xmins)
refresh
eq "store updated" "0 1 0 2 0 0 0" "$(counts stores)"
eq "rate with equal value (1.27 = 1.2700) unchanged" "0 0 0 3 0 0 0" "$(counts exchange_rates)"
eq "new name" "London Regent St" "$(q "SELECT name FROM stores WHERE store_id = 1")"
eq "only store 1 rewritten" "s1" "$(diff <(tr ' ' '\n' <<<"$before") <(xmins | tr ' ' '\n') | sed -n 's/^> \([a-z0-9-]*\):.*/\1/p')"

# --- duplicates inside a snapshot: the one fetched last wins ------------------
setdata stores '[{"store_id": 2, "name": "Old Boise", "country": "US"},
  {"store_id": 1, "name": "London Regent St", "address": "1 Oxford St", "city": "London", "province": "Greater London", "country": "GB", "phone": null, "email": null},
  {"store_id": 3, "name": "Paris", "city": "Paris", "province": "Île-de-France", "country": "FR"},
  {"store_id": 2, "name": "New Boise", "address": "123 Main St", "city": "Boise", "province": "Idaho", "country": "US", "phone": "208-555-0100", "email": "boise@example.com"}]'
ETL_SOURCE_PAGE_LIMIT=1 refresh
eq "duplicate collapsed, last wins" "0 1 0 2 0 1 0" "$(counts stores)"
eq "last one's name" "New Boise" "$(q "SELECT name FROM stores WHERE store_id = 2")"
eq "four pages read" 4 "$(n stores fetched)"
adds_up "duplicates"

# --- soft-delete after a complete snapshot, kept for history -------------------
setfile stores
setdata stores "$(jq -c 'map(select(.store_id != 3))' "$IT_TMP/orig/stores.json")"
setdata pos "$(jq -c 'map(select(.pos_id != 30))' "$IT_TMP/orig/pos.json")"
setdata cameras "$(jq -c 'map(select(.camera_id != "cam-3"))' "$IT_TMP/orig/cameras.json")"
setdata items "$(jq -c 'map(select(.item_id != 102))' "$IT_TMP/orig/items.json")"
setdata exchange_rates "$(jq -c 'map(select(.currency != "GBP"))' "$IT_TMP/orig/exchange_rates.json")"
refresh
eq "soft-delete refresh exits 0" 0 "$rs_status"
eq "store soft-deleted" 1 "$(n stores soft_deleted)"
eq "pos soft-deleted" 1 "$(n pos soft_deleted)"
eq "camera soft-deleted" 1 "$(n cameras soft_deleted)"
eq "item soft-deleted" 1 "$(n items soft_deleted)"
eq "rates never soft-deleted" 0 "$(n exchange_rates soft_deleted)"
eq "soft-deleted rows kept, marked" "3|30|cam-3|102" \
  "$(q "SELECT (SELECT string_agg(store_id::text, ',') FROM stores WHERE deleted_at IS NOT NULL) || '|' ||
          (SELECT string_agg(pos_id::text, ',') FROM pos WHERE deleted_at IS NOT NULL) || '|' ||
          (SELECT string_agg(camera_id, ',') FROM cameras WHERE deleted_at IS NOT NULL) || '|' ||
          (SELECT string_agg(item_id::text, ',') FROM items WHERE deleted_at IS NOT NULL)")"
eq "row counts unchanged" "3 3 3 3 3" "$(q "SELECT (SELECT count(*) FROM stores) || ' ' || (SELECT count(*) FROM pos) || ' ' ||
  (SELECT count(*) FROM cameras) || ' ' || (SELECT count(*) FROM items) || ' ' || (SELECT count(*) FROM exchange_rates)")"
eq "soft-deleted still resolve" "1 3 1 1 1" "$("$DRIVER" refdata s:3 p:30 c:cam-3 i:102 r:GBP:2026-11-05)"
before=$(xmins)
refresh
eq "already soft-deleted: not again" "0 0 0 0" "$(n stores soft_deleted) $(n pos soft_deleted) $(n cameras soft_deleted) $(n items soft_deleted)"
eq "no row rewritten on the second pass" "$before" "$(xmins)"

# --- it comes back: restored (and updated) -----------------------------------
setfile stores; setfile pos; setfile cameras; setfile exchange_rates
setdata items "$(jq -c '(.[] | select(.item_id == 102) | .price) = "16.00"' "$IT_TMP/orig/items.json")"
refresh
eq "store restored" "0 0 1 2 0 0 0" "$(counts stores)"
eq "pos restored" "0 0 1 2 0 0 0" "$(counts pos)"
eq "camera restored" "0 0 1 2 0 0 0" "$(counts cameras)"
eq "item restored with its new price" "0 0 1 2 0 0 0" "$(counts items)"
eq "deleted_at cleared" 0 "$(q "SELECT (SELECT count(*) FROM stores WHERE deleted_at IS NOT NULL) + (SELECT count(*) FROM pos WHERE deleted_at IS NOT NULL)
  + (SELECT count(*) FROM cameras WHERE deleted_at IS NOT NULL) + (SELECT count(*) FROM items WHERE deleted_at IS NOT NULL)")"
eq "restored item's price" "16.00" "$(q "SELECT price::numeric(14,2) FROM items WHERE item_id = 102")"
adds_up "restore"

# --- invalid records: quarantined with reasons, the rest load ------------------
setdata stores '[{"store_id": 1, "name": "London Oxford St", "address": "1 Oxford St", "city": "London", "province": "Greater London", "country": "GB", "phone": null, "email": null},
  {"store_id": 2, "name": null, "country": "US"},
  {"store_id": 3, "name": "Paris", "city": "Paris", "province": "Île-de-France", "country": "FR"},
  {"store_id": 4},
  {"store_id": "x", "name": "Bad id"},
  {"store_id": 5, "name": "Lyon", "country": "FR"}]'
setdata pos '[{"pos_id": 10, "store_id": 1, "name": "Front"}, {"pos_id": 20, "store_id": 2, "name": "Back"}, {"pos_id": 30, "store_id": 3, "name": "Door"},
  {"pos_id": 40, "store_id": 99, "name": "Ghost"}, {"pos_id": 41, "store_id": 4, "name": "Of an invalid store"}, {"pos_id": 50, "store_id": 5, "name": "Lyon 1"}]'
setdata cameras "$(jq -c '. + [{"camera_id": "cam-9", "store_id": 1, "pos_id": 20}, {"camera_id": "cam-5", "store_id": 5, "pos_id": 50, "status": "broken"}, {"camera_id": "cam-6", "store_id": 5, "pos_id": 50}]' "$IT_TMP/orig/cameras.json")"
setdata items "$(jq -c '. + [{"item_id": 103, "sku": "D", "name": "Bad price", "price": "-1.00"}, {"item_id": 104, "name": "No sku"}, 7, {"item_id": 105, "sku": "E", "name": "Huge stock", "quantity": 3000000000}]' "$IT_TMP/orig/items.json")"
setdata exchange_rates "$(jq -c '. + [{"date": "2026-13-01", "currency": "EUR", "rate_to_usd": "1.1"}, {"date": "2026-11-03", "currency": "EUR", "rate_to_usd": "0"}, {"date": "2026-11-03", "currency": "CAD", "rate_to_usd": "0.73"}]' "$IT_TMP/orig/exchange_rates.json")"
refresh
eq "refresh with invalid records exits 0" 0 "$rs_status"
eq "stores: 3 quarantined, Lyon inserted" "1 0 0 2 0 0 3" "$(counts stores)"
eq "pos: 2 quarantined, Lyon 1 inserted (its store is new in this snapshot)" "1 0 0 3 0 0 2" "$(counts pos)"
eq "cameras: 2 quarantined, cam-6 inserted" "1 0 0 3 0 0 2" "$(counts cameras)"
eq "items: 4 quarantined" "0 1 0 2 0 0 4" "$(counts items)"
eq "rates: 2 quarantined, CAD inserted" "1 0 0 3 0 0 2" "$(counts exchange_rates)"
adds_up "invalid"
eq "quarantine rows" "cameras|cam-5|{bad_value:status}
cameras|cam-9|{unknown_pos}
exchange_rates|EUR:2026-11-03|{bad_value:rate_to_usd}
items|103|{bad_value:price}
items|104|{missing_field:sku}
items|105|{bad_value:quantity}
items||{bad_type:record}
pos|40|{unknown_store}
pos|41|{unknown_store}
stores|2|{missing_field:name}
stores|4|{missing_field:name}
stores||{bad_type:store_id}" \
  "$(q "SELECT resource, coalesce(record_key, ''), reasons FROM quarantine WHERE resource <> 'exchange_rates' OR record_key IS NOT NULL ORDER BY 1, record_key NULLS LAST, 3")"
eq "the bad rate date is quarantined too" 1 "$(q "SELECT count(*) FROM quarantine WHERE resource = 'exchange_rates' AND 'bad_value:date' = ANY (reasons)")"
eq "raw kept whole" '{"name": null, "country": "US", "store_id": 2}' "$(q "SELECT raw FROM quarantine WHERE resource = 'stores' AND record_key = '2'")"
eq "a listed but invalid store keeps its row (not updated, not soft-deleted)" "Boise|" \
  "$(q "SELECT name, deleted_at FROM stores WHERE store_id = 2" )"
eq "store 4 not created" 0 "$(q "SELECT count(*) FROM stores WHERE store_id = 4")"
eq "item 103 not created" 0 "$(q "SELECT count(*) FROM items WHERE item_id = 103")"
qn=$(q "SELECT count(*) FROM quarantine")
refresh
eq "second pass quarantines the same records again (counted)" "3 2 2 4 2" \
  "$(n stores quarantined) $(n pos quarantined) $(n cameras quarantined) $(n items quarantined) $(n exchange_rates quarantined)"
eq "but does not store them twice" "$qn" "$(q "SELECT count(*) FROM quarantine")"
setdata stores '[{"store_id": 4, "name": null, "city": "Changed"}]'
refresh
eq "a changed bad record is stored again" "$((qn + 1))" "$(q "SELECT count(*) FROM quarantine")"

# --- a snapshot broken mid-way deletes nothing ---------------------------------
setfile stores; setfile pos; setfile cameras; setfile items; setfile exchange_rates
refresh
eq "back to the fixtures" 0 "$rs_status"
setdata stores "$(jq -c 'map(select(.store_id != 3)) | (.[] | select(.store_id == 1) | .name) = "Read Before The Break"' "$IT_TMP/orig/stores.json")"
faults '[{"path": "/v1/stores", "skip": 1, "count": -1, "status": 500}]'
before=$(q "SELECT count(*) FROM stores WHERE deleted_at IS NULL")
ETL_SOURCE_PAGE_LIMIT=1 refresh
eq "broken snapshot: exit 69" 69 "$rs_status"
check "the message names the failure" grep -q "HTTP 500" "$IT_TMP/rs.err"
eq "broken snapshot: incomplete, nothing soft-deleted" "false 0" "$(n stores complete) $(n stores soft_deleted)"
eq "no store soft-deleted" "$before" "$(q "SELECT count(*) FROM stores WHERE deleted_at IS NULL")"
eq "the records read before the break are kept" "Read Before The Break" "$(q "SELECT name FROM stores WHERE store_id = 1")"
eq "later resources not attempted" "false" "$(n pos attempted)"

# broken in a later resource: the complete stores snapshot still soft-deletes
faults '[{"path": "/v1/items", "skip": 1, "count": -1, "status": 503}]'
setdata items "$(jq -c 'map(select(.item_id != 101))' "$IT_TMP/orig/items.json")"
ETL_SOURCE_PAGE_LIMIT=1 refresh
eq "broken items: exit 69" 69 "$rs_status"
eq "stores complete: store 3 soft-deleted" "true 1" "$(n stores complete) $(n stores soft_deleted)"
eq "items incomplete: item 101 kept" "" "$(q "SELECT deleted_at FROM items WHERE item_id = 101")"
faults '[]'

# --- through etl run: stops before any window, the watermark stays ----------
setfile stores; setfile items
refresh
etl run --start 2026-11-20T00:00:00Z --now 2026-11-20T02:30:00Z >/dev/null 2>"$IT_TMP/run.err"; rc=$?
if [[ $rc -eq 0 ]]; then
  wm=$(etl status --format json | jq -r .watermark)
  eq "etl run moved the watermark to the last complete hour" "2026-11-20T02:00:00Z" "$wm"
  setdata stores "$(jq -c 'map(select(.store_id != 2))' "$IT_TMP/orig/stores.json")"
  faults '[{"path": "/v1/stores", "skip": 1, "count": -1, "status": 500}]'
  windows=$(q "SELECT count(*) FROM run_windows")
  ETL_SOURCE_PAGE_LIMIT=1 exit_is "etl run with a broken reference snapshot exits 69" 69 \
    etl run --now 2026-11-20T05:30:00Z
  check "one sentence on stderr says so" grep -q "HTTP 500" "$IT_TMP/err"
  eq "the watermark did not move" "$wm" "$(etl status --format json | jq -r .watermark)"
  eq "no window loaded" "$windows" "$(q "SELECT count(*) FROM run_windows")"
  eq "store 2 not soft-deleted" "" "$(q "SELECT deleted_at FROM stores WHERE store_id = 2")"
  faults '[]'
  exit_is "the next run redoes it" 0 etl run --now 2026-11-20T05:30:00Z
  eq "then store 2 is soft-deleted" "t" "$(q "SELECT deleted_at IS NOT NULL FROM stores WHERE store_id = 2")"
  eq "and the watermark moves" "2026-11-20T05:00:00Z" "$(etl status --format json | jq -r .watermark)"
else
  fail "etl run works on the fixtures" "exit $rc: $(head -c 400 "$IT_TMP/run.err")"
fi

it_done

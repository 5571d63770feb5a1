# sales.sh - helpers for the load tests (test/integration/test_load_*.sh,
# test_run_*.sh, test_rejects.sh), sourced after lib.sh.  The fake retail API
# serves the reference fixtures of ref/ (start_fake_source --data "$LOAD_REF")
# and, per test, the sales posted with post_sales.

LOAD_CASES=${ETL_TEST_CASES:-$ETL_SRC_DIR/test/cases}/load
LOAD_REF=$LOAD_CASES/ref
CAM=6b8731d7-d991-4206-ba71-b5446fa617fc  # the one camera of ref/cameras.json

money() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }

# sale ID DATE [name=value ...]: one valid sale (contract section 1) as one
# line of JSON.  Names: upd (updated_at), store, pos, cam, cust, email, first,
# last, mkt (true or false), status, cents (unit price), qty, item, currency.
# No cust: an anonymous sale (customer null).  total_amount = qty * cents.
sale() {
  local id=$1 date=$2 kv
  local upd='' store=1 pos=11 cam='' cust='' email='' first='' last='' mkt='' status=paid cents=1000 qty=1
  local item=100 currency=GBP
  shift 2
  for kv in "$@"; do
    case ${kv%%=*} in
      upd|store|pos|cam|cust|email|first|last|mkt|status|cents|qty|item|currency)
        printf -v "${kv%%=*}" '%s' "${kv#*=}" ;;
      *) echo "sale: unknown field $kv" >&2; return 1 ;;
    esac
  done
  jq -cn --arg id "$id" --arg date "$date" --arg upd "$upd" --argjson store "$store" --argjson pos "$pos" \
    --arg cam "$cam" --arg cust "$cust" --arg email "$email" --arg first "$first" --arg last "$last" \
    --arg mkt "$mkt" --arg status "$status" --arg cur "$currency" --argjson item "$item" \
    --argjson qty "$qty" --arg price "$(money "$cents")" --arg total "$(money $((cents * qty)))" '
    def opt($k; $v): if $v == "" then {} else {($k): $v} end;
    {transaction_id: $id, transaction_date: $date} + opt("updated_at"; $upd)
    + {store_id: $store, pos_id: $pos, camera_id: (if $cam == "" then null else $cam end),
       customer: (if $cust == "" then null else
         {customer_id: $cust} + opt("email"; $email) + opt("first_name"; $first) + opt("last_name"; $last)
         + (if $mkt == "" then {} else {accepts_marketing: ($mkt == "true")} end) end),
       billing_address: null, shipping_address: null, currency: $cur, financial_status: $status,
       total_amount: $total, line_items: [{item_id: $item, quantity: $qty, unit_price: $price}]}'
}

# post_sales RECORD...: from now on the fake serves exactly these sales, in
# this order (each window gets those whose transaction_date falls in it).
# The text is sent as given (no jq on the way: jq would rewrite 104.50 as 104.5).
post_sales() {
  local IFS=,
  printf '[%s]' "$*" |
    curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @- "$FAKE_SOURCE/_control/data/sales" >/dev/null
}

# post_ref RESOURCE JSON: replaces a reference resource at the fake.
post_ref() {
  curl -fsS -X POST -H 'Content-Type: application/json' --data-binary "$2" "$FAKE_SOURCE/_control/data/$1" >/dev/null
}

# faults JSON: replaces the fake's fault rules ('[]' clears them).
faults() {
  curl -fsS -X POST -H 'Content-Type: application/json' --data-binary "$1" "$FAKE_SOURCE/_control/faults" >/dev/null
}

# Fast retries, so that a fault past the retry budget fails in milliseconds.
load_fast_retries() {
  export ETL_HTTP_RETRIES=2 ETL_HTTP_BACKOFF_MS=5 ETL_HTTP_BACKOFF_MAX_MS=20
}

# json_counts NAME: checks the two identities on $IT_TMP/out and echoes it.
json_counts() {
  json_counts_add_up "$1" "$(cat "$IT_TMP/out")"
}

# count FIELD: a field of the JSON object in $IT_TMP/out.
count() { jq -r ".$1" "$IT_TMP/out"; }

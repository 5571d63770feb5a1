#!/usr/bin/env bash
# The page merge (lib/load.c): a window's new sales are written page by page
# while the next pages are fetched, the window's merge settles what that
# could not (duplicates on later pages, sales stored before).  Whatever the
# page size, the outcome must be the one of the whole window merged at once:
# the same window is loaded with ETL_SOURCE_PAGE_LIMIT 1000 (one page) and
# 1, 2 and 3 (duplicates land on other pages; a version written early loses
# to a later one), into fresh databases, and every stored row, the outbox
# and the counts are compared; then a second window re-reads and changes
# some of them.
. "$(dirname "$0")/lib.sh"
. "${ETL_TEST_CASES:-$ETL_SRC_DIR/test/cases}/load/sales.sh"
. "$(dirname "$0")/helix_lib.sh"
it_init load_pages
start_fake_source --data "$LOAD_REF"
start_fake_helix --rate-limit 0 --cameras-any
export ETL_HELIX_RATE=1000 ETL_HTTP_BACKOFF_MS=20

W="--since 2026-11-20T00:00:00Z --until 2026-11-20T01:00:00Z"
# X: the early version (customer cx-old, who has no other sale) loses to a
# newer one two pages on, of another customer and status.
X1=$(sale T-X 2026-11-20T00:05:00Z upd=2026-11-20T00:06:00Z cust=cx-old email=x@old.com status=paid cents=100 cam=$CAM)
X2=$(sale T-X 2026-11-20T00:07:00Z upd=2026-11-20T00:09:00Z cust=cx-new email=x@new.com status=refunded cents=150 qty=2)
# Y: cy's latest sale is Y's early version (00:40); the winner moves Y to
# 00:01, so cy's latest becomes Z (00:20).
Y1=$(sale T-Y 2026-11-20T00:40:00Z upd=2026-11-20T00:41:00Z cust=cy email=y@late.com first=Late cents=200 cam=$CAM)
Z=$(sale T-Z 2026-11-20T00:20:00Z upd=2026-11-20T00:21:00Z cust=cy email=y@z.com first=Zed cents=300)
Y2=$(sale T-Y 2026-11-20T00:01:00Z upd=2026-11-20T00:50:00Z cust=cy email=y@early.com first=Early cents=200 cam=$CAM)
# V: the same content twice (a later duplicate that changes nothing).
V=$(sale T-V 2026-11-20T00:11:00Z upd=2026-11-20T00:12:00Z cust=cv cents=400)
# D1..D4 of test_load_merge: the newer first; equal updated_at; present
# beats absent; both absent.
D1new=$(sale T-D1 2026-11-20T00:30:00Z upd=2026-11-20T00:45:00Z status=paid cents=3000 cam=$CAM)
D1old=$(sale T-D1 2026-11-20T00:30:00Z upd=2026-11-20T00:35:00Z status=pending cents=3000 cam=$CAM)
D2a=$(sale T-D2 2026-11-20T00:31:00Z upd=2026-11-20T00:40:00Z cents=100 cust=cd)
D2b=$(sale T-D2 2026-11-20T00:31:00Z upd=2026-11-20T00:40:00Z cents=200 cust=cd email=d@b.com)
D3a=$(sale T-D3 2026-11-20T00:32:00Z upd=2026-11-20T00:41:00Z cents=500)
D3b=$(sale T-D3 2026-11-20T00:32:00Z cents=600)
D4a=$(sale T-D4 2026-11-20T00:33:00Z cents=700 cam=$CAM)
D4b=$(sale T-D4 2026-11-20T00:33:00Z cents=800 cam=$CAM)
Q=$(sale T-Q 2026-11-20T00:34:00Z store=9)
N1=$(sale T-N1 2026-11-20T00:50:00Z cust=cn mkt=true qty=3 cents=999 cam=$CAM)
N2=$(sale T-N2 2026-11-20T00:51:00Z cust=cn mkt=false cents=10)
FIRST=("$X1" "$Y1" "$V" "$D1new" "$D2a" "$Q" "$X2" "$Z" "$D3a" "$D4a" "$V" "$D1old" "$D2b"
       "$Y2" "$D3b" "$D4b" "$N1" "$N2")
# The second window: T-X and T-N1 change, a new T-M served twice, the rest
# re-read as they are.
X3=$(sale T-X 2026-11-20T00:07:00Z upd=2026-11-20T00:59:00Z cust=cx-new email=x@newer.com status=refunded cents=150 qty=2)
N1b=$(sale T-N1 2026-11-20T00:50:00Z upd=2026-11-20T00:58:00Z cust=cn mkt=true qty=4 cents=999 cam=$CAM)
M=$(sale T-M 2026-11-20T00:52:00Z cust=cm cents=50 cam=$CAM)
SECOND=("$X3" "$M" "$Z" "$V" "$N1b" "$D1new" "$D2b" "$D3a" "$D4b" "$N2" "$M")

# dump: every stored row that the load decides, and the outbox.
dump() {
  q "SELECT transaction_id, transaction_date, updated_at, store_id, pos_id, camera_id, customer_id,
            customer_email, customer_first_name, customer_last_name, customer_accepts_marketing,
            billing_address, shipping_address, currency, financial_status, total_amount, total_discounts,
            total_tax, units, content_md5 FROM transactions ORDER BY 1"
  q "SELECT * FROM line_items ORDER BY 1, 2"
  q "SELECT customer_id, email, first_name, last_name, accepts_marketing, last_transaction_date,
            last_transaction_id FROM customers ORDER BY 1"
  q "SELECT transaction_id, camera_id, time_ms, attributes, op FROM helix_outbox ORDER BY 1"
  q "SELECT resource, record_key, reasons FROM quarantine ORDER BY 2"
}

# load LIMIT: both windows into a fresh database at that page limit; prints
# each fetch's counts, then the dump.
load() {
  dropdb --if-exists "${it_db}_p$1" 2>/dev/null
  createdb "${it_db}_p$1" || return 1
  local url="postgresql:///${it_db}_p$1?host=$PGHOST&user=postgres"
  ETL_DATABASE_URL=$url "$ETL_BIN" migrate >/dev/null || return 1
  post_sales "${FIRST[@]}"
  ETL_DATABASE_URL=$url ETL_SOURCE_PAGE_LIMIT=$1 "$ETL_BIN" fetch $W --emit --format json |
    jq -c 'del(.helix_sent, .helix_updated, .helix_pending, .helix_failed)'
  post_sales "${SECOND[@]}"
  ETL_DATABASE_URL=$url ETL_SOURCE_PAGE_LIMIT=$1 "$ETL_BIN" fetch $W --emit --format json |
    jq -c 'del(.helix_sent, .helix_updated, .helix_pending, .helix_failed)'
  PGDATABASE="${it_db}_p$1" dump
  dropdb "${it_db}_p$1"
}

whole=$(load 1000)
eq "one page: the first window's counts" \
  '{"windows":1,"fetched":18,"loaded":10,"duplicates":7,"quarantined":1,"inserted":10,"updated":0,"unchanged":0}' \
  "$(sed -n 1p <<<"$whole")"
eq "one page: the second window's counts" \
  '{"windows":1,"fetched":11,"loaded":10,"duplicates":1,"quarantined":0,"inserted":1,"updated":2,"unchanged":7}' \
  "$(sed -n 2p <<<"$whole")"
check "one page: T-X is the later version (cx-new, refunded)" \
  grep -q '^T-X|2026-11-20 00:07:00+00|.*|cx-new|x@newer.com|.*|refunded|' <<<"$whole"
check "one page: cx-old, whose only sale lost, is no customer" test "$(grep -c '^cx-old|' <<<"$whole")" -eq 0
check "one page: cy's latest is T-Z" grep -q '^cy|y@z.com|Zed|.*|T-Z$' <<<"$whole"
for limit in 1 2 3; do
  paged=$(load "$limit")
  eq "page limit $limit: the same counts and rows as one page" "$whole" "$paged"
  [[ "$whole" == "$paged" ]] || diff <(echo "$whole") <(echo "$paged") | head -20
done
it_done

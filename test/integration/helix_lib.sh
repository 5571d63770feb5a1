# helix_lib.sh - shared by test_helix*.sh and test/bench/bench_helix.sh: sales
# seeded with SQL (the loader's part of queueing is `test_helix enqueue`,
# which calls etl_helix_enqueue inside a transaction), and checks of what
# the fake Helix holds against what the database says it should.

HELIX_TOOL="$ETL_BUILD_DIR/test/test_helix"

# seed_reference: one store and POS, three cameras, one item.
seed_reference() {
  q "INSERT INTO stores (store_id, name) VALUES (12, 'London \"Oxford\" St');
     INSERT INTO pos (pos_id, store_id, name) VALUES (34, 12, 'Front Door POS');
     INSERT INTO cameras (camera_id, store_id) VALUES ('cam-1', 12), ('cam-2', 12), ('cam-3', 12);
     INSERT INTO items (item_id, name) VALUES (1, 'Shoe');" >/dev/null
}

# seed_sales FROM TO [SECONDS_APART]: sales T-<i> for i in [FROM, TO].
# Every tenth has no camera, every seventh is pending; with the default
# spacing three sales share each second and two cameras alternate, so some
# pairs share a millisecond on one camera.  Times are recent (Helix may
# refuse events older than 30 days).
seed_sales() {
  local from=$1 to=$2 apart=${3:-3}
  q "INSERT INTO transactions (transaction_id, transaction_date, store_id, pos_id, camera_id,
       currency, financial_status, total_amount, units, content_md5)
     SELECT 'T-' || lpad(i::text, 6, '0'),
            date_trunc('hour', now()) - interval '2 hours' + (i / $apart) * interval '1 second',
            12, 34, CASE WHEN i % 10 = 0 THEN NULL ELSE 'cam-' || (i % 2 + 1) END,
            'GBP', CASE WHEN i % 7 = 0 THEN 'pending' ELSE 'paid' END,
            (i * 1.25)::numeric(14,2), 1 + i % 3, 'x'
     FROM generate_series($from, $to) i;
     INSERT INTO line_items (transaction_id, line_no, item_id, quantity, unit_price)
     SELECT transaction_id, 1, 1, units, 1.00 FROM transactions t
     WHERE NOT EXISTS (SELECT 1 FROM line_items l WHERE l.transaction_id = t.transaction_id);" >/dev/null
}

# enqueue [TID...]: the loader's part (all transactions by default).
enqueue() { "$HELIX_TOOL" enqueue "$@" >/dev/null; }

fake_get() { curl -sf "$FAKE_HELIX/_control/$1"; }
fake_post() { curl -sf -X POST "$FAKE_HELIX/_control/$1" ${2:+-d "$2"} >/dev/null; }
fake_stat() { fake_get stats | jq -r ".$1"; }

# The events the fake holds: "tid camera time_ms" lines, sorted.
fake_triples() {
  fake_get events | jq -r '.[] | "\(.attributes.transaction_id) \(.camera_id) \(.time_ms)"' | sort
}

# What should be there, from the sales themselves (not the outbox): every
# paid sale with a camera, and those in $HELIX_WERE_PAID (sent while paid,
# refunded since: their event stays, patched); times from the outbox, which
# must lie within a few ms after the sale's own.
HELIX_WERE_PAID="''"
expected_triples() {
  q "SELECT t.transaction_id || ' ' || t.camera_id || ' ' || o.time_ms
     FROM transactions t LEFT JOIN helix_outbox o USING (transaction_id)
     WHERE ((t.financial_status = 'paid' AND t.camera_id IS NOT NULL) OR t.transaction_id IN ($HELIX_WERE_PAID))
       AND (o.time_ms IS NULL OR o.time_ms - (extract(epoch FROM t.transaction_date) * 1000)::bigint BETWEEN 0 AND 10)
     ORDER BY 1" | sort
}

# check_events NAME: the fake holds exactly the expected events, none twice.
check_events() {
  local want got
  want=$(expected_triples)
  got=$(fake_triples)
  if [[ "$want" == "$got" ]]; then
    pass "$1: the events are exactly the paid sales with a camera ($(wc -l <<<"$got"))"
  else
    fail "$1: events differ from the paid sales with a camera" \
      "$(diff <(echo "$want") <(echo "$got") | head -10 | tr '\n' ' ')"
  fi
  eq "$1: no duplicate POST" 0 "$(fake_stat duplicates)"
}

# check_attributes NAME: every event's attributes are the sale's, with the
# schema's JSON types (total a number, items an integer, strings strings).
check_attributes() {
  local want got
  want=$(q "SELECT t.transaction_id || '|' || trim_scale(t.total_amount) || '|' || t.currency || '|' ||
                   s.name || '|' || p.name || '|' || t.units || '|' || t.financial_status
            FROM transactions t JOIN stores s USING (store_id) JOIN pos p USING (pos_id)
            WHERE t.transaction_id IN (SELECT transaction_id FROM helix_outbox WHERE state = 'sent')
            ORDER BY 1")
  got=$(fake_get events | jq -r '.[] | .attributes |
          select((.total|type) == "number" and (.items|type) == "number" and (.items|floor) == .items
                 and (.transaction_id|type) == "string" and (.status|type) == "string") |
          "\(.transaction_id)|\(.total)|\(.currency)|\(.store)|\(.pos)|\(.items)|\(.status)"' | sort)
  if [[ "$want" == "$got" ]]; then
    pass "$1: attributes match the sales, with the schema's types"
  else
    fail "$1: attributes differ" "$(diff <(echo "$want") <(echo "$got") | head -6 | tr '\n' ' ')"
  fi
}

# helix_fast: settings for functional tests (no pacing to speak of, short
# backoffs); the fake must be started with --rate-limit 0.
helix_fast() {
  export ETL_HELIX_RATE=1000 ETL_HELIX_CONCURRENCY=4 ETL_HTTP_BACKOFF_MS=20 ETL_HTTP_BACKOFF_MAX_MS=200
}

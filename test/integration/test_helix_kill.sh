#!/usr/bin/env bash
# Exactly once under SIGKILL: etl emit is killed 20 times at random moments
# while events go out slowly (latency on the fake), some sales change
# between kills (PATCHes in flight too), and the connection is sometimes
# dropped after the fake accepted an event; then one run to the end.  The
# fake must hold exactly the expected events, none created twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helix_lib.sh"
it_init helix_kill
it_migrate
start_fake_helix --rate-limit 0 --latency-ms 80
helix_fast
export ETL_HELIX_CONCURRENCY=3
seed_reference
seed_sales 1 400
enqueue
fake_post faults '[{"method":"POST","path":"/cameras/v1/video_tagging/event","drop_after":true,"skip":25,"count":10}]'

q "CREATE TABLE test_were_paid (transaction_id text PRIMARY KEY)" >/dev/null
RANDOM=4242  # reproducible moments
kills=0 midsend=0
for i in $(seq 1 20); do
  "$ETL_BIN" emit >"$IT_TMP/kill.$i.out" 2>"$IT_TMP/kill.$i.err" &
  pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % 600 + 50)))"
  if kill -KILL "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null
  # A row left 'inflight' means the kill came while a request was out.
  if [[ $(q "SELECT count(*) FROM helix_outbox WHERE state = 'inflight'") -gt 0 ]]; then midsend=$((midsend + 1)); fi
  if [[ $i -eq 8 || $i -eq 14 ]]; then
    # Refund some sales already sent: PATCHes, maybe in flight at a kill.
    q "INSERT INTO test_were_paid SELECT transaction_id FROM helix_outbox
       WHERE sent_attributes IS NOT NULL AND transaction_id NOT IN (SELECT transaction_id FROM test_were_paid)
       ORDER BY transaction_id LIMIT 5;
       UPDATE transactions SET financial_status = 'refunded'
       WHERE transaction_id IN (SELECT transaction_id FROM test_were_paid)" >/dev/null
    enqueue
  fi
done
check "etl was killed many times ($kills)" test "$kills" -ge 18
check "most kills came with requests in flight ($midsend)" test "$midsend" -ge 8
echo "# sent before the last run: $(q "SELECT count(*) FROM helix_outbox WHERE state = 'sent'") of $(q "SELECT count(*) FROM helix_outbox")"

HELIX_WERE_PAID="SELECT transaction_id FROM test_were_paid"
exit_is "the run after the kills: 0" 0 etl emit --format json
eq "nothing pending" 0 "$(jq .helix_pending "$IT_TMP/out")"
eq "nothing failed" 0 "$(q "SELECT count(*) FROM helix_outbox WHERE state = 'failed'")"
check_events "after 20 kills"
check_attributes "after 20 kills"
eq "no event was created twice (stats)" 0 "$(fake_stat duplicates)"
eq "no event was created twice (per event)" 0 "$(fake_get events | jq '[.[] | select(.creates > 1)] | length')"
eq "refunded sales were patched, not created again" \
  "$(q "SELECT count(*) FROM transactions WHERE financial_status = 'refunded'")" \
  "$(fake_get events | jq '[.[] | select(.attributes.status == "refunded")] | length')"
it_done

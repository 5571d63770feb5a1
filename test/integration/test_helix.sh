#!/usr/bin/env bash
# Helix end to end against the fake: the outbox SQL (test_helix db), then
# etl emit: the event type, the events of paid sales with cameras and their
# attribute types, refunds as PATCHes, footage links, permanent failures
# (400) beside successes, --retry-failed, retries of 429 and 5xx, a
# connection dropped after the fake accepted an event, token expiry, and
# the configuration errors (bad key, 403, a type with another schema).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helix_lib.sh"
it_init helix
it_migrate

# The enqueue SQL on its own database (collisions, refunds, moves, ...).
check "outbox SQL tests (test_helix db)" "$HELIX_TOOL" db

# Fresh database for the rest.
dropdb --force "$it_db" && createdb "$it_db" && it_migrate
start_fake_helix --rate-limit 0
helix_fast
seed_reference
seed_sales 1 60
enqueue

# Nothing configured: emit refuses with 78.
exit_is "emit without a key: 78" 78 env -u ETL_HELIX_API_KEY "$ETL_BIN" emit
check "the sentence names ETL_HELIX_API_KEY" grep -q ETL_HELIX_API_KEY "$IT_TMP/err"

# A wrong key: 78, nothing sent, nothing changed.
exit_is "emit with a wrong key: 78" 78 env ETL_HELIX_API_KEY=not-the-key "$ETL_BIN" emit
check "the key is not printed" bash -c "! grep -q not-the-key '$IT_TMP/err'"
eq "wrong key: nothing left pending->inflight" 0 "$(q "SELECT count(*) FROM helix_outbox WHERE state <> 'pending'")"

# An event type of that name with another schema: 78.
curl -sf -X POST "$FAKE_HELIX/token" -H 'x-api-key: test-helix-key' >"$IT_TMP/tok"
tok=$(jq -r .token "$IT_TMP/tok")
curl -sf -X POST "$FAKE_HELIX/cameras/v1/video_tagging/event_type" -H "x-verkada-auth: $tok" \
  -H 'Content-Type: application/json' -d '{"name":"Other Sales","event_schema":{"transaction_id":"string"}}' >/dev/null
exit_is "event type with another schema: 78" 78 env ETL_HELIX_EVENT_TYPE="Other Sales" "$ETL_BIN" emit
check "the sentence says the schema differs" grep -q 'different schema' "$IT_TMP/err"

# The first send: silent, everything there once, json counts.
want=$(q "SELECT count(*) FROM transactions WHERE financial_status = 'paid' AND camera_id IS NOT NULL")
exit_is "emit: 0" 0 etl emit
eq "emit is silent on success" "" "$(cat "$IT_TMP/out" "$IT_TMP/err")"
check_events "first send"
check_attributes "first send"
eq "the event type was created once" 1 "$(fake_get events | jq '[.[].event_type_uid] | unique | length')"
eq "its uid is kept" "$(fake_get events | jq -r '.[0].event_type_uid')" \
  "$(q "SELECT event_type_uid FROM helix_event_types WHERE name = 'Sales Transaction'")"
eq "every row sent" "$want" "$(q "SELECT count(*) FROM helix_outbox WHERE state = 'sent'")"

# Nothing pending: no request at all.
before=$(fake_stat requests)
exit_is "emit with nothing to send: 0" 0 etl emit --format json
eq "emit --format json" '{"helix_sent":0,"helix_updated":0,"helix_failed":0,"helix_pending":0}' "$(jq -c . "$IT_TMP/out")"
eq "nothing to send makes no request" "$before" "$(fake_stat requests)"

# Refunds and changes become PATCHes, never second events; a sale that
# becomes paid gets its first event.
HELIX_WERE_PAID="'T-000001', 'T-000002', 'T-000004'"
q "UPDATE transactions SET financial_status = 'refunded' WHERE transaction_id IN ('T-000001', 'T-000002');
   UPDATE transactions SET total_amount = 99.99 WHERE transaction_id = 'T-000003';
   UPDATE transactions SET financial_status = 'paid' WHERE transaction_id = 'T-000007';" >/dev/null
enqueue T-000001 T-000002 T-000003 T-000007
exit_is "emit after refunds: 0" 0 etl emit --format json
eq "refunds: 3 updated, 1 sent" '{"helix_sent":1,"helix_updated":3,"helix_failed":0,"helix_pending":0}' "$(jq -c . "$IT_TMP/out")"
eq "three PATCHes" 3 "$(fake_stat patches)"
eq "the refund is on the event" refunded \
  "$(fake_get events | jq -r '.[] | select(.attributes.transaction_id == "T-000001") | .attributes.status')"
eq "the new total is on the event" 99.99 \
  "$(fake_get events | jq -r '.[] | select(.attributes.transaction_id == "T-000003") | .attributes.total')"
check_events "after refunds"
eq "refunded sale still has its one event" 1 \
  "$(fake_get events | jq '[.[] | select(.attributes.transaction_id == "T-000001")] | length')"

# A permanent failure (400) is marked failed with the server's message; the
# rest still go.  --retry-failed tries it again.
seed_sales 61 80
enqueue
fake_post faults '[{"method":"POST","path":"/cameras/v1/video_tagging/event","status":400,"body":"{\"message\":\"Event is older than 30 days\"}","count":1}]'
exit_is "emit with one 400: 0" 0 etl emit --format json
eq "one failed" 1 "$(jq .helix_failed "$IT_TMP/out")"
check "the failure is reported on stderr" grep -q 'older than 30 days' "$IT_TMP/err"
eq "its message is kept" "HTTP 400: Event is older than 30 days" \
  "$(q "SELECT last_error FROM helix_outbox WHERE state = 'failed'")"
eq "the rest were sent" 0 "$(q "SELECT count(*) FROM helix_outbox WHERE state IN ('pending', 'inflight')")"
exit_is "emit leaves failed alone: 0" 0 etl emit --format json
eq "still one failed" 1 "$(q "SELECT count(*) FROM helix_outbox WHERE state = 'failed'")"
exit_is "emit --retry-failed: 0" 0 etl emit --retry-failed --format json
eq "retried: sent" '{"helix_sent":1,"helix_updated":0,"helix_failed":0,"helix_pending":0}' "$(jq -c . "$IT_TMP/out")"
check_events "after retry-failed"

# 429 (with and without Retry-After) and 5xx are retried.
seed_sales 81 100
enqueue
fake_post faults '[{"method":"POST","path":"/cameras/v1/video_tagging/event","status":429,"retry_after":"1","count":1},
                   {"method":"POST","path":"/cameras/v1/video_tagging/event","status":429,"count":2},
                   {"method":"POST","path":"/cameras/v1/video_tagging/event","status":503,"count":2},
                   {"method":"GET","path":"/cameras/v1/video_tagging/event","status":500,"count":1}]'
exit_is "emit through 429s and 5xx: 0" 0 etl emit --format json
eq "nothing left pending" 0 "$(jq .helix_pending "$IT_TMP/out")"
eq "nothing failed" 0 "$(jq .helix_failed "$IT_TMP/out")"
check_events "after 429 and 5xx"
check_attributes "after 429 and 5xx"

# The connection dropped after the fake accepted the event: the GET finds
# it, no second POST.
seed_sales 101 120
enqueue
fake_post faults '[{"method":"POST","path":"/cameras/v1/video_tagging/event","drop_after":true,"count":5},
                   {"method":"PATCH","path":"/cameras/v1/video_tagging/event","drop_after":true,"count":1}]'
q "UPDATE transactions SET financial_status = 'refunded' WHERE transaction_id = 'T-000004'" >/dev/null
enqueue T-000004
exit_is "emit with dropped connections: 0" 0 etl emit --format json
eq "drop-after-accept: nothing pending" 0 "$(jq .helix_pending "$IT_TMP/out")"
check_events "after dropped connections"
eq "the dropped PATCH landed once" refunded \
  "$(fake_get events | jq -r '.[] | select(.attributes.transaction_id == "T-000004") | .attributes.status')"

# A POST that times out while the fake is still working on it: the GET
# waits as long again, finds the event, and does not post it twice.
seed_sales 121 125
enqueue
fake_post faults '[{"method":"POST","path":"/cameras/v1/video_tagging/event","delay_ms":1500,"count":1}]'
exit_is "emit through a timeout: 0" 0 env ETL_HTTP_TIMEOUT=1 "$ETL_BIN" emit --format json
eq "timeout: nothing pending" 0 "$(jq .helix_pending "$IT_TMP/out")"
check_events "after a timeout"

# Token expiry mid-run: renewed, nothing lost.  Latency makes the send last
# long enough to expire the tokens under it.
fake_post faults '[]'
seed_sales 126 200
enqueue
fake_post faults '[{"path":"/cameras/v1/video_tagging/event","delay_ms":50,"count":-1}]'
tokens=$(fake_stat tokens_issued)
"$ETL_BIN" emit --format json >"$IT_TMP/expiry.out" 2>"$IT_TMP/expiry.err" &
pid=$!
sleep 0.3; fake_post expire-tokens; sleep 0.3; fake_post expire-tokens
wait "$pid"; rc=$?
eq "emit across token expiry: 0" 0 "$rc"
check "tokens were renewed" test "$(fake_stat tokens_issued)" -ge $((tokens + 2))
check "some requests saw 401" test "$(fake_stat unauthorized)" -ge 1
eq "token expiry: nothing pending" 0 "$(jq .helix_pending "$IT_TMP/expiry.out")"
check_events "after token expiry"
fake_post faults '[]'

# Proactive renewal (--token-ttl, a test knob) before the server's expiry.
seed_sales 201 230
enqueue
tokens=$(fake_stat tokens_issued); unauth=$(fake_stat unauthorized)
fake_post faults '[{"path":"/cameras/v1/video_tagging/event","delay_ms":200,"count":-1}]'
exit_is "emit with --token-ttl 1: 0" 0 etl emit --token-ttl 1 -v
check "renewed before expiry" test "$(fake_stat tokens_issued)" -ge $((tokens + 2))
eq "no 401 when renewing ahead" "$unauth" "$(fake_stat unauthorized)"
check_events "after proactive renewal"
fake_post faults '[]'

# 403: sending stops for the run with 78; the rest stay pending.
seed_sales 231 260
enqueue
fake_post faults '[{"method":"POST","path":"/cameras/v1/video_tagging/event","status":403,"skip":3,"count":-1}]'
exit_is "emit with a 403: 78" 78 etl emit --format json
check "the sentence says what to do" grep -qi 'permission' "$IT_TMP/err"
check "some are left pending" test "$(jq .helix_pending "$IT_TMP/out")" -gt 0
eq "none marked failed by a 403" 0 "$(q "SELECT count(*) FROM helix_outbox WHERE state = 'failed'")"
eq "no row left inflight by a 403" 0 "$(q "SELECT count(*) FROM helix_outbox WHERE state = 'inflight'")"
fake_post faults '[]'
exit_is "emit after the 403 is fixed: 0" 0 etl emit
check_events "after 403"

# Helix unreachable: 69, events stay queued.
seed_sales 261 270
enqueue
exit_is "emit with Helix down: 69" 69 env ETL_HELIX_URL=http://127.0.0.1:9 ETL_HTTP_RETRIES=1 "$ETL_BIN" emit
eq "Helix down: still pending" "$(q "SELECT count(*) FROM transactions WHERE transaction_id > 'T-000260' AND financial_status = 'paid' AND camera_id IS NOT NULL")" \
  "$(q "SELECT count(*) FROM helix_outbox WHERE state = 'pending'")"

# Footage links, when asked, for each event sent (and for none otherwise).
exit_is "emit with footage links: 0" 0 env ETL_HELIX_FOOTAGE_LINKS=1 "$ETL_BIN" emit
eq "every new event has its footage link" 0 \
  "$(q "SELECT count(*) FROM helix_outbox WHERE transaction_id > 'T-000260' AND footage_url IS NULL")"
eq "the link is the camera's at the event's second" \
  "$(q "SELECT 'https://fake.helix/footage/' || camera_id || '/' || time_ms / 1000 FROM helix_outbox WHERE transaction_id = 'T-000261'")" \
  "$(q "SELECT footage_url FROM helix_outbox WHERE transaction_id = 'T-000261'")"
eq "no footage link without the setting" 0 "$(q "SELECT count(*) FROM helix_outbox WHERE transaction_id <= 'T-000260' AND footage_url IS NOT NULL")"
check_events "at the end"
check_attributes "at the end"

# No secret in anything printed.
check "no API key in any output" bash -c "! grep -rq test-helix-key '$IT_TMP'/*.err '$IT_TMP/err' 2>/dev/null"

it_done

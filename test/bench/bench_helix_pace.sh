#!/usr/bin/env bash
# bench_helix_pace.sh EVENTS: Helix pacing at the defaults against the
# documented limit.  The fake Helix enforces 25 requests per 5-s window
# (its default, as helix.md says); etl sends EVENTS queued events with
# ETL_HELIX_RATE and ETL_HELIX_CONCURRENCY left at their defaults (5/s, 4).
# The sustained rate is the requests the fake saw (token, event type and
# events: the limit counts them all) over the time from the first request to
# the last answer (n requests, n - 1 intervals), against 5/s; and the 429s
# must be zero.
# Called by scripts/bench.sh (see bench_lib.sh).
. "$(dirname "$0")/bench_lib.sh"
trap bench_cleanup EXIT

EVENTS=${1:-150}
FAKE_HELIX=$(start_fake fake_helix --api-key bench-key) || exit 1
export ETL_HELIX_URL=$FAKE_HELIX ETL_HELIX_API_KEY=bench-key
bench_db bench_pace || exit 1
q "INSERT INTO stores (store_id, name) VALUES (12, 'London Oxford St');
   INSERT INTO pos (pos_id, store_id, name) VALUES (34, 12, 'Front Door POS');
   INSERT INTO cameras (camera_id, store_id) VALUES ('cam-1', 12), ('cam-2', 12), ('cam-3', 12);
   INSERT INTO items (item_id, name) VALUES (1, 'Shoe');
   INSERT INTO transactions (transaction_id, transaction_date, store_id, pos_id, camera_id,
     currency, financial_status, total_amount, units, content_md5)
   SELECT 'P-' || lpad(i::text, 5, '0'), date_trunc('hour', now()) - interval '1 hour' + i * interval '1 second',
          12, 34, 'cam-' || (i % 3 + 1), 'USD', 'paid', i, 1, 'x'
   FROM generate_series(1, $EVENTS) i;
   INSERT INTO line_items SELECT transaction_id, 1, 1, 1, total_amount FROM transactions;" >/dev/null
"$BENCH_BUILD/test/test_helix" enqueue >/dev/null || { echo "bench: test_helix enqueue failed" >&2; exit 1; }

bench_note "helix pacing: $EVENTS events at the default rate (about $((EVENTS / 5)) s)"
timed "$BENCH_TMP/emit.json" "$ETL_BIN" emit --format json || { echo "bench: etl emit failed (see $BENCH_TMP/stderr.log)" >&2; exit 1; }
sent=$(jq .helix_sent "$BENCH_TMP/emit.json")
stats=$(curl -sf "$FAKE_HELIX/_control/stats")
calls=$(curl -sf "$FAKE_HELIX/_control/calls")
requests=$(jq .requests <<<"$stats"); limited=$(jq .rate_limited <<<"$stats")
span=$(jq '[.[] | select(.path | startswith("/_control") | not)] |
           ((map(.time_ms + .duration_ms) | max) - (map(.time_ms) | min)) / 1000' <<<"$calls")
rate=$(calc "($requests - 1) / $span")   # n requests span n - 1 intervals
ev_rate=$(calc "$sent / $TIMED_WALL")
printf '# helix pacing: %d events sent, %d requests in %.1f s: %.2f requests/s (%.1f%% of 5/s), %d 429s; emit wall %.1f s (%.2f events/s)\n' \
  "$sent" "$requests" "$span" "$rate" "$(calc "$rate / 5 * 100")" "$limited" "$TIMED_WALL" "$ev_rate"
[[ "$sent" == "$EVENTS" ]] || { echo "bench: $sent of $EVENTS events sent" >&2; exit 1; }
result helix_pace_rate "$rate"
result helix_pace_pct "$(calc "$rate / 5 * 100")"
result helix_pace_429 "$limited"
result helix_pace_events_s "$ev_rate"

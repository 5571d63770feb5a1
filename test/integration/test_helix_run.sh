#!/usr/bin/env bash
# Helix through the loader, end to end with the fake retail API: etl run
# queues an event per paid sale with a camera in each window's commit and
# sends it after the commit; the run's JSON and etl status count them; a
# later fetch --emit of changed sales (refunds, a sale paid late) sends
# PATCHes and the late event, never a second event; fetch without --emit
# queues nothing; the transactions report shows each sale's Helix state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helix_lib.sh"
it_init helix_run
it_migrate
start_fake_source --sales 240 --start 2026-11-20T00:00:00Z --hours 3
start_fake_helix --rate-limit 0
helix_fast
export ETL_HELIX_FOOTAGE_LINKS=1

exit_is "etl run: 0" 0 etl run --start 2026-11-20T00:00:00Z --now 2026-11-20T04:00:00Z --format json
json=$(cat "$IT_TMP/out")
json_counts_add_up "run" "$json"
want=$(q "SELECT count(*) FROM transactions WHERE financial_status = 'paid' AND camera_id IS NOT NULL")
check "the source has paid sales with cameras ($want)" test "$want" -gt 50
eq "run: helix_sent is every paid sale with a camera" "$want" "$(jq .helix_sent <<<"$json")"
eq "run: helix_pending" 0 "$(jq .helix_pending <<<"$json")"
eq "run: helix_failed" 0 "$(jq .helix_failed <<<"$json")"
check_events "run"
check_attributes "run"
eq "every event has its footage link" 0 "$(q "SELECT count(*) FROM helix_outbox WHERE footage_url IS NULL")"

exit_is "etl status: 0" 0 etl status --format json
eq "status: helix_pending" 0 "$(jq .helix_pending "$IT_TMP/out")"
eq "status: helix_failed" 0 "$(jq .helix_failed "$IT_TMP/out")"

exit_is "transactions report: 0" 0 etl report transactions --from 2026-11-20 --to 2026-11-20 --limit 1000 --format json
eq "the report says sent for every event" "$want" "$(jq '[.[] | select(.helix == "sent")] | length' "$IT_TMP/out")"
eq "the report shows footage links" "$want" "$(jq '[.[] | select(.footage_url != null)] | length' "$IT_TMP/out")"
eq "sales without an event are none" \
  "$(q "SELECT count(*) FROM transactions WHERE NOT (financial_status = 'paid' AND camera_id IS NOT NULL)")" \
  "$(jq '[.[] | select(.helix == "none")] | length' "$IT_TMP/out")"

# Change sales at the source: three paid ones refunded, one pending paid.
curl -sf "$FAKE_SOURCE/v1/sales?since=2026-11-20T00:00:00Z&until=2026-11-20T03:00:00Z&limit=5000" | jq .data >"$IT_TMP/sales.json"
refund=$(q "SELECT string_agg(quote_literal(transaction_id), ',') FROM (SELECT transaction_id FROM transactions
            WHERE financial_status = 'paid' AND camera_id IS NOT NULL ORDER BY transaction_id LIMIT 3) t")
late=$(q "SELECT transaction_id FROM transactions WHERE financial_status = 'pending' AND camera_id IS NOT NULL
          ORDER BY transaction_id LIMIT 1")
check "a pending sale with a camera exists" test -n "$late"
jq --argjson r "[${refund//\'/\"}]" --arg late "$late" \
  'map(if (.transaction_id as $t | $r | index($t)) then .financial_status = "refunded"
       elif .transaction_id == $late then .financial_status = "paid" else . end)' \
  "$IT_TMP/sales.json" >"$IT_TMP/sales2.json"
curl -sf -X POST "$FAKE_SOURCE/_control/data/sales" --data-binary @"$IT_TMP/sales2.json" >/dev/null
HELIX_WERE_PAID=$refund

# Without --emit, fetch queues nothing.
patches=$(fake_stat patches)
exit_is "fetch without --emit: 0" 0 etl fetch --since 2026-11-20T00:00:00Z --until 2026-11-20T03:00:00Z --format json
eq "fetch without --emit sends nothing" "$patches" "$(fake_stat patches)"
eq "fetch without --emit queues nothing" 0 "$(q "SELECT count(*) FROM helix_outbox WHERE state <> 'sent'")"

# Reload with --emit after putting the sales back as they were at the
# source, then changed again, so that the loader sees them change.
curl -sf -X POST "$FAKE_SOURCE/_control/data/sales" --data-binary @"$IT_TMP/sales.json" >/dev/null
exit_is "fetch back: 0" 0 etl fetch --since 2026-11-20T00:00:00Z --until 2026-11-20T03:00:00Z
curl -sf -X POST "$FAKE_SOURCE/_control/data/sales" --data-binary @"$IT_TMP/sales2.json" >/dev/null
exit_is "fetch --emit: 0" 0 etl fetch --since 2026-11-20T00:00:00Z --until 2026-11-20T03:00:00Z --emit --format json
eq "fetch --emit: 3 PATCHes" 3 "$(jq .helix_updated "$IT_TMP/out")"
eq "fetch --emit: the late paid sale's first event" 1 "$(jq .helix_sent "$IT_TMP/out")"
eq "three PATCHes on the fake" $((patches + 3)) "$(fake_stat patches)"
check_events "after fetch --emit"
check_attributes "after fetch --emit"
eq "refunded events say so" 3 "$(fake_get events | jq '[.[] | select(.attributes.status == "refunded")] | length')"
it_done

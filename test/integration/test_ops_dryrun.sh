#!/usr/bin/env bash
# --dry-run (run, fetch, backfill, rejects replay): every window is loaded up
# to its commit and rolled back.  The database is unchanged (a checksum of
# every row of every table, with its xmin, before and after; the runs table
# gains only the dry run's own row, status 'dry_run'), the watermark does not
# move, the quarantine is as it was, the fake Helix receives no request at
# all (not even for a token, although the outbox has a backlog), the metrics
# file is left alone, and etl status does not count the dry run as a
# success.  The output is marked: "dry_run": true in the JSON, "dry run" on
# stderr.  What a dry run predicts is what the real run then does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helix_lib.sh"
. "${ETL_TEST_CASES:-$ETL_SRC_DIR/test/cases}/load/sales.sh"
it_init ops_dryrun
it_migrate
start_fake_source --data "$LOAD_REF"
start_fake_helix --rate-limit 0
helix_fast
load_fast_retries

wm() { q "SELECT to_char(next_window AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM watermark"; }

# Hour 00: three sales (one paid with a camera: a Helix event), one reject.
S1=$(sale T-S1 2026-11-20T00:10:00Z cam=$CAM cust=c1 email=a@one.com)
S2=$(sale T-S2 2026-11-20T00:20:00Z status=pending)
S3=$(sale T-S3 2026-11-20T00:30:00Z cust=c2 email=b@two.com cents=2500)
Q1=$(sale T-Q1 2026-11-20T00:40:00Z store=3 pos=31)
post_sales "$S1" "$S2" "$S3" "$Q1"

# The first run loads hour 00 while Helix is unreachable: its event waits in
# the outbox, a backlog that any real run would send.
exit_is "first run, Helix down: 69" 69 env ETL_HELIX_URL=http://127.0.0.1:9 ETL_HTTP_RETRIES=0 \
  "$ETL_BIN" run --start 2026-11-20T00:00:00Z --now 2026-11-20T01:05:00Z --format json
json_counts "first run"
eq "first run: hour 00 loaded" "1 4 3 1" "$(jq -r '[.windows, .fetched, .inserted, .quarantined] | join(" ")' "$IT_TMP/out")"
eq "the watermark after the first run" "2026-11-20T01:00:00Z" "$(wm)"
eq "the outbox has a backlog" "1" "$(q "SELECT count(*) FROM helix_outbox WHERE state = 'pending'")"
exit_is "a real fetch of an empty hour: 0" 0 \
  etl fetch --since 2026-11-19T00:00:00Z --until 2026-11-19T01:00:00Z --format json
json_counts "empty fetch"
q "INSERT INTO runs (command, status, exit_code, finished_at) VALUES ('run', 'ok', 0, now() - interval '1 hour')" >/dev/null

# Then the source changes: S3 updated, S2 paid with a camera, new sales in
# hours 01 and 02 (one of them a duplicate), more rejects; S1 unchanged.
S2b=$(sale T-S2 2026-11-20T00:20:00Z upd=2026-11-20T01:30:00Z cam=$CAM)
S3b=$(sale T-S3 2026-11-20T00:30:00Z upd=2026-11-20T01:31:00Z cust=c2 email=b@new.com cents=2600)
N1=$(sale T-N1 2026-11-20T01:10:00Z cam=$CAM cust=c1 email=a@later.com)
N2a=$(sale T-N2 2026-11-20T01:20:00Z upd=2026-11-20T01:20:05Z cents=100)
N2b=$(sale T-N2 2026-11-20T01:20:00Z upd=2026-11-20T01:20:09Z cents=200)
N3=$(sale T-N3 2026-11-20T02:15:00Z cust=c3)
Q2=$(sale T-Q2 2026-11-20T01:40:00Z item=999)
Q3=$(sale T-Q3 2026-11-20T02:40:00Z store=3 pos=31)
post_sales "$S1" "$S2b" "$S3b" "$Q1" "$N1" "$N2a" "$N2b" "$Q2" "$N3" "$Q3"

# checksum: every table's rows with their xmin (a row written again, even
# to the same values, gets a new one), in a stable order; runs only up to
# the newest run before the dry runs.
last_run=$(q "SELECT max(run_id) FROM runs")
checksum() {
  local t
  for t in $(q "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"); do
    if [[ $t == runs ]]; then
      echo "$t $(q "SELECT md5(coalesce(string_agg(x::text || x.xmin::text, E'\n' ORDER BY x::text), '')) FROM runs x WHERE run_id <= $last_run")"
    else
      echo "$t $(q "SELECT md5(coalesce(string_agg(x::text || x.xmin::text, E'\n' ORDER BY x::text), '')) FROM \"$t\" x")"
    fi
  done
}
before=$(checksum)
check "the checksum covers the loaded tables" grep -q '^transactions ' <<<"$before"
check "the checksum covers the quarantine and the outbox" bash -c "grep -q '^quarantine ' <<<'$before' && grep -q '^helix_outbox ' <<<'$before'"
rows_before=$(q "SELECT (SELECT count(*) FROM transactions) || ' ' || (SELECT count(*) FROM quarantine) || ' ' || (SELECT count(*) FROM helix_outbox)")
status_before=$(etl status --format json --now 2026-11-20T03:05:00Z | jq -c '{watermark, last_success_at, helix_pending, quarantined}')
newest_run() { q "SELECT command || '|' || status || '|' || exit_code FROM runs WHERE run_id = (SELECT max(run_id) FROM runs)"; }
helix_requests() { fake_get stats | jq -c '{requests, tokens_issued, creates, patches}'; }
eq "the fake Helix has had no request yet" '{"requests":0,"tokens_issued":0,"creates":0,"patches":0}' "$(helix_requests)"

# 1. etl run --dry-run: two windows due (01, 02); JSON marked as a dry run.
mkdir -p "$IT_TMP/textfile"
exit_is "run --dry-run: 0" 0 etl run --dry-run --now 2026-11-20T03:05:00Z --format json \
  --metrics-file "$IT_TMP/textfile/etl.prom"
json_counts "run --dry-run"
dry_json=$(cat "$IT_TMP/out")
eq "run --dry-run: marked in the JSON" "true" "$(jq .dry_run <<<"$dry_json")"
eq "run --dry-run: windows fetched loaded duplicates quarantined inserted updated unchanged" \
  "2 6 3 1 2 3 0 0" \
  "$(jq -r '[.windows, .fetched, .loaded, .duplicates, .quarantined, .inserted, .updated, .unchanged] | join(" ")' <<<"$dry_json")"
eq "run --dry-run: nothing sent" "0 0 0" "$(jq -r '[.helix_sent, .helix_updated, .helix_failed] | join(" ")' <<<"$dry_json")"
eq "run --dry-run: the backlog is still pending" "1" "$(jq .helix_pending <<<"$dry_json")"
eq "run --dry-run: nothing on stderr with --format json" "" "$(cat "$IT_TMP/err")"
eq "run --dry-run: the database is unchanged" "$before" "$(checksum)"
eq "run --dry-run: the watermark did not move" "2026-11-20T01:00:00Z" "$(wm)"
eq "run --dry-run: the fake Helix received nothing, not even a token request" \
  '{"requests":0,"tokens_issued":0,"creates":0,"patches":0}' "$(helix_requests)"
eq "run --dry-run: recorded as a dry run" "run|dry_run|0" "$(newest_run)"
eq "run --dry-run: the runs row has the counts it would have loaded" "2 6 3 2" \
  "$(q "SELECT windows || ' ' || fetched || ' ' || loaded || ' ' || quarantined FROM runs WHERE run_id = (SELECT max(run_id) FROM runs)")"
eq "run --dry-run: no run_windows row survives" "0" \
  "$(q "SELECT count(*) FROM run_windows WHERE run_id = (SELECT max(run_id) FROM runs)")"
eq "run --dry-run: no metrics file written" "" "$(ls "$IT_TMP/textfile")"
eq "run --dry-run: etl status does not count it as a success" "$status_before" \
  "$(etl status --format json --now 2026-11-20T03:05:00Z | jq -c '{watermark, last_success_at, helix_pending, quarantined}')"

# Without --format json: a summary on stderr, nothing on stdout; -v: the
# windows, marked.
exit_is "run --dry-run (table): 0" 0 etl run --dry-run --now 2026-11-20T03:05:00Z
eq "run --dry-run: nothing on stdout" "" "$(cat "$IT_TMP/out")"
check "run --dry-run: one summary line on stderr, marked as a dry run" \
  grep -Eq '^etl: dry run \(rolled back, nothing sent to Helix, reference data not refreshed\): 2 windows, 6 records fetched: 3 would load \(3 new, 0 changed, 0 unchanged\), 1 duplicate, 2 quarantined$' "$IT_TMP/err"
eq "run --dry-run: only that line" "1" "$(wc -l <"$IT_TMP/err")"
exit_is "run --dry-run -v: 0" 0 etl run --dry-run --now 2026-11-20T03:05:00Z -v
eq "run --dry-run -v: each window marked as rolled back" \
  "2026-11-20T01:00:00Z 2026-11-20T02:00:00Z" \
  "$(grep -o 'window [^ ]* to [^ ]* (dry run, rolled back)' "$IT_TMP/err" | awk '{print $2}' | xargs)"
check "run --dry-run -v: says the reference data was not refreshed" grep -q 'reference data is not refreshed' "$IT_TMP/err"
exit_is "run --dry-run -q: 0" 0 etl run --dry-run --now 2026-11-20T03:05:00Z -q
eq "run --dry-run -q: silent" "" "$(cat "$IT_TMP/out" "$IT_TMP/err")"
eq "three more dry runs: the database is still unchanged" "$before" "$(checksum)"

# 2. fetch --dry-run --emit, over the changed hour 00 and hour 01.
exit_is "fetch --dry-run --emit: 0" 0 etl fetch --dry-run --emit --since 2026-11-20T00:00:00Z \
  --until 2026-11-20T02:00:00Z --format json
json_counts "fetch --dry-run"
eq "fetch --dry-run: marked" "true" "$(count dry_run)"
eq "fetch --dry-run: windows fetched inserted updated unchanged quarantined" "2 8 2 2 1 2" \
  "$(jq -r '[.windows, .fetched, .inserted, .updated, .unchanged, .quarantined] | join(" ")' "$IT_TMP/out")"
eq "fetch --dry-run: unchanged database" "$before" "$(checksum)"
eq "fetch --dry-run: nothing sent to Helix" '{"requests":0,"tokens_issued":0,"creates":0,"patches":0}' "$(helix_requests)"
eq "fetch --dry-run: recorded as a dry run" "fetch|dry_run|0" "$(newest_run)"

# 3. backfill --dry-run --emit of the whole day.
exit_is "backfill --dry-run --emit: 0" 0 etl backfill --dry-run --emit --from 2026-11-20 --to 2026-11-20 --format json
json_counts "backfill --dry-run"
eq "backfill --dry-run: marked" "true" "$(count dry_run)"
eq "backfill --dry-run: windows fetched loaded quarantined" "1 10 6 3" \
  "$(jq -r '[.windows, .fetched, .loaded, .quarantined] | join(" ")' "$IT_TMP/out")"
eq "backfill --dry-run: unchanged database" "$before" "$(checksum)"
eq "backfill --dry-run: nothing sent to Helix" '{"requests":0,"tokens_issued":0,"creates":0,"patches":0}' "$(helix_requests)"
eq "backfill --dry-run: recorded as a dry run" "backfill|dry_run|0" "$(newest_run)"

# 4. rejects replay --dry-run, once store 3 (T-Q1's) is known: it would load.
q "INSERT INTO stores (store_id, name) VALUES (3, 'Paris'); INSERT INTO pos (pos_id, store_id, name) VALUES (31, 3, 'Caisse')" >/dev/null
before=$(checksum)
quarantine_before=$(etl rejects --format json | jq -c '[.[] | {key, reasons, raw}]')
exit_is "rejects replay --dry-run: 0" 0 etl rejects replay --dry-run --format json
json_counts "replay --dry-run"
eq "replay --dry-run: marked" "true" "$(count dry_run)"
eq "replay --dry-run: examined 1, would load 1" "1 1 1 0" \
  "$(jq -r '[.fetched, .loaded, .inserted, .quarantined] | join(" ")' "$IT_TMP/out")"
eq "replay --dry-run: unchanged database" "$before" "$(checksum)"
eq "replay --dry-run: the quarantine is as it was" "$quarantine_before" \
  "$(etl rejects --format json | jq -c '[.[] | {key, reasons, raw}]')"
eq "replay --dry-run: recorded as a dry run" "rejects replay|dry_run|0" "$(newest_run)"
exit_is "rejects replay --dry-run (table): 0" 0 etl rejects replay --dry-run
check "replay --dry-run: the summary says so" grep -q '^dry run, nothing changed: replaying 1 quarantined sale would load 1 ' "$IT_TMP/out"
exit_is "rejects list --dry-run: 64" 64 etl rejects list --dry-run
eq "after every dry run: rows as before" "$rows_before" \
  "$(q "SELECT (SELECT count(*) FROM transactions) || ' ' || (SELECT count(*) FROM quarantine) || ' ' || (SELECT count(*) FROM helix_outbox)")"
q "DELETE FROM pos WHERE pos_id = 31; DELETE FROM stores WHERE store_id = 3" >/dev/null

# 5. The real run does what the dry run said, and sends the backlog too.
exit_is "the real run: 0" 0 etl run --now 2026-11-20T03:05:00Z --format json
json_counts "real run"
eq "the real run's counts are the dry run's" \
  "$(jq -c 'del(.dry_run, .helix_sent, .helix_updated, .helix_failed, .helix_pending)' <<<"$dry_json")" \
  "$(jq -c 'del(.helix_sent, .helix_updated, .helix_failed, .helix_pending)' "$IT_TMP/out")"
eq "the real run is not marked" "null" "$(count dry_run)"
eq "the real run sent the backlog and the new event" "2" "$(count helix_sent)"
eq "the real run moved the watermark" "2026-11-20T03:00:00Z" "$(wm)"
eq "the real run is a success" "run|ok|0" "$(newest_run)"

# Usage.
exit_is "run --dry-run with a value: 64" 64 etl run --dry-run=yes
eq "every run's counts add up (the runs table)" "0" \
  "$(q "SELECT count(*) FROM runs WHERE fetched <> loaded + duplicates + quarantined OR loaded <> inserted + updated + unchanged")"
it_done

#!/usr/bin/env bash
# etl status: what an operator reads at a glance, on an empty database and
# on one with a watermark, runs (ok, failed, a dead 'running' one and a live
# one), a quarantine and a Helix backlog; and its JSON for machines.
. "$(dirname "$0")/lib.sh"
it_init ops_status
it_migrate

# An empty database is normal: every line says so, nothing fails.
exit_is "status on an empty database: 0" 0 etl status
check "no watermark yet" grep -q '^watermark     none' "$IT_TMP/out"
check "no success yet" grep -q '^last success  none yet' "$IT_TMP/out"
check "no quarantine" grep -q '^quarantine    none' "$IT_TMP/out"
check "no Helix backlog" grep -q '^helix         nothing waiting, none failed' "$IT_TMP/out"
check "no runs yet" grep -q '^runs          none yet' "$IT_TMP/out"
eq "nothing on stderr" "" "$(cat "$IT_TMP/err")"
exit_is "json on an empty database: 0" 0 etl status --format json
eq "empty json" '{"watermark":null,"watermark_lag_seconds":null,"last_run":null,"last_success_at":null,"helix_pending":0,"helix_inflight":0,"helix_failed":0,"helix_oldest_pending_at":null,"quarantined":0,"quarantined_by_resource":{},"recent_runs":[]}' \
  "$(jq -c . "$IT_TMP/out")"
exit_is "csv is refused: 64" 64 etl status --format csv
exit_is "an argument is refused: 64" 64 etl status now

# A database with history.
q "
INSERT INTO watermark (next_window) VALUES ('2026-11-21T03:00:00Z');
INSERT INTO runs (command, started_at, finished_at, status, exit_code, windows, fetched, loaded, duplicates,
                  quarantined, inserted, updated, unchanged, helix_sent, helix_failed, message)
VALUES ('run', now() - interval '6 hours', now() - interval '6 hours' + interval '5 seconds', 'ok', 0, 1, 10, 10, 0, 0, 10, 0, 0, 4, 0, NULL),
       ('run', now() - interval '5 hours', now() - interval '5 hours' + interval '62 seconds', 'ok', 0, 2, 120, 117, 1, 2, 100, 10, 7, 30, 1, NULL),
       ('backfill', now() - interval '4 hours', now() - interval '4 hours' + interval '1 hour 2 minutes', 'ok', 0, 3, 5000, 5000, 0, 0, 5000, 0, 0, 0, 0, NULL),
       ('run', now() - interval '3 hours', NULL, 'running', NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL),
       ('run', now() - interval '2 hours', now() - interval '2 hours' + interval '3 seconds', 'killed', NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL),
       ('run', now() - interval '1 hours', now() - interval '1 hours' + interval '2 minutes', 'failed', 69, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        'the retail API did not answer after 7 attempts; check it, then run again');
INSERT INTO quarantine (resource, record_key, reasons, raw)
VALUES ('sales', 'T-1', '{total_mismatch}', '{}'), ('sales', 'T-2', '{unknown_store}', '{}'),
       ('items', '3', '{missing_field:name}', '{}');
INSERT INTO stores (store_id, name) VALUES (1, 'Oxford St');
INSERT INTO pos (pos_id, store_id, name) VALUES (1, 1, 'Till');
INSERT INTO transactions (transaction_id, transaction_date, store_id, pos_id, currency, financial_status,
                          total_amount, units, content_md5)
SELECT 'T-' || i, '2026-11-21T01:00:00Z', 1, 1, 'GBP', 'paid', 10, 1, 'x' FROM generate_series(10, 13) i;
INSERT INTO helix_outbox (transaction_id, camera_id, event_type_uid, time_ms, attributes, state, queued_at)
VALUES ('T-10', 'cam', NULL, 1, '{}', 'pending', now() - interval '2 hours 10 minutes'),
       ('T-11', 'cam', 'uid', 2, '{}', 'inflight', now() - interval '5 minutes'),
       ('T-12', 'cam', NULL, 3, '{}', 'failed', now() - interval '9 hours'),
       ('T-13', 'cam', 'uid', 4, '{}', 'sent', now() - interval '9 hours');
" >/dev/null

exit_is "status: 0" 0 etl status --now 2026-11-21T05:05:00Z
cat "$IT_TMP/out"
check "the lag in words, and what it means" \
  grep -q '^watermark     2026-11-21T03:00:00Z, 2h 5m behind: 2 complete hours not loaded yet$' "$IT_TMP/out"
check "the last success is the newest ok run of etl run" grep -q '^last success  .* (run 2)$' "$IT_TMP/out"
check "the quarantine by resource" \
  grep -q '^quarantine    3 records: sales 2, items 1 (etl rejects lists them)$' "$IT_TMP/out"
check "the Helix backlog with its oldest" \
  grep -Eq '^helix         2 pending \(1 inflight\), 1 failed; oldest pending queued 2h 1[01]m ago \(etl emit --retry-failed\)$' "$IT_TMP/out"
check "a header for the runs" grep -Eq '^ +run +command +started +took +windows +fetched +loaded +dups +quar +helix sent/fail +status$' "$IT_TMP/out"
eq "the last five runs, newest first" "6 5 4 3 2" "$(awk '$1 ~ /^[0-9]+$/ {printf "%s ", $1}' "$IT_TMP/out" | sed 's/ $//')"
check "a failed run with its exit code" grep -Eq '^ +6 +run .* failed \(exit 69\)$' "$IT_TMP/out"
check "a 'running' row with no lock holder died" grep -Eq '^ +4 +run .* died$' "$IT_TMP/out"
check "killed stays killed" grep -Eq '^ +5 +run .* killed$' "$IT_TMP/out"
check "durations read like durations" grep -Eq '^ +3 +backfill .* 1h 02m +3 +5000 +5000 ' "$IT_TMP/out"
check "minutes and seconds" grep -Eq '^ +2 +run .* 1m 02s +2 +120 +117 +1 +2 +30/1 +ok$' "$IT_TMP/out"
check "the newest run's message when it failed" \
  grep -q '^run 6 failed: the retail API did not answer after 7 attempts; check it, then run again$' "$IT_TMP/out"

exit_is "up to date within the hour" 0 etl status --now 2026-11-21T03:30:00Z
check "30m behind is up to date" grep -q '^watermark     2026-11-21T03:00:00Z, 30m behind: up to date$' "$IT_TMP/out"
exit_is "days behind" 0 etl status --now 2026-11-24T07:00:00Z
check "3d 4h behind" grep -q '3d 4h behind: 76 complete hours not loaded yet' "$IT_TMP/out"
exit_is "a clock before the watermark" 0 etl status --now 2026-11-21T02:00:00Z
check "says the clock is behind" grep -q '1h 0m ahead of the clock' "$IT_TMP/out"
ETL_NOW=2026-11-21T05:05:00Z etl status >"$IT_TMP/out2"
check "ETL_NOW is the clock too" grep -q '2h 5m behind' "$IT_TMP/out2"

exit_is "json: 0" 0 etl status --now 2026-11-21T05:05:00Z --format json
j=$(cat "$IT_TMP/out")
eq "json watermark" '"2026-11-21T03:00:00Z"' "$(jq -c .watermark <<<"$j")"
eq "json lag" "7500" "$(jq -c .watermark_lag_seconds <<<"$j")"
eq "json last_run is the newest" "6 failed 69" "$(jq -r '.last_run | "\(.run_id) \(.status) \(.exit_code)"' <<<"$j")"
eq "json last_run has the message" "true" "$(jq '.last_run.message | test("did not answer")' <<<"$j")"
eq "json last_run duration" "120" "$(jq '.last_run.duration_seconds' <<<"$j")"
eq "json last_run counts" '[0,0,0,0]' "$(jq -c '.last_run | [.windows, .fetched, .loaded, .helix_sent]' <<<"$j")"
eq "json keeps the table's own status" "running" "$(jq -r '.recent_runs[] | select(.run_id == 4) | .status' <<<"$j")"
eq "json recent runs" "[6,5,4,3,2]" "$(jq -c '[.recent_runs[].run_id]' <<<"$j")"
eq "json last success" "true" "$(jq '.last_success_at | test("^[0-9-]{10}T[0-9:]{8}Z$")' <<<"$j")"
eq "json helix" "[2,1,1]" "$(jq -c '[.helix_pending, .helix_inflight, .helix_failed]' <<<"$j")"
eq "json oldest pending is a timestamp" "true" "$(jq '.helix_oldest_pending_at | test("Z$")' <<<"$j")"
eq "json quarantine" '3 {"items":1,"sales":2}' "$(jq -c '.quarantined, (.quarantined_by_resource | to_entries | sort_by(.key) | from_entries)' <<<"$j" | paste -sd' ')"
eq "json counts add up in a run row" "true" \
  "$(jq '[.recent_runs[] | .fetched == .loaded + .duplicates + .quarantined and .loaded == .inserted + .updated + .unchanged] | all' <<<"$j")"

# While another etl holds the lock, the newest 'running' row is live, and
# status still answers at once (it takes no lock).
q "UPDATE runs SET status = 'running', finished_at = NULL, exit_code = NULL, message = NULL WHERE run_id = 6" >/dev/null
( echo "SELECT pg_advisory_lock(6648940);"; sleep 6 ) | psql -X -q "$it_db" >/dev/null &
holder=$!
for _ in $(seq 1 50); do
  [[ $(etl_lock_rows) == 1 ]] && break
  sleep 0.1
done
start=$(date +%s%N)
exit_is "status while the lock is held: 0" 0 etl status --now 2026-11-21T05:05:00Z
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
check "it answers at once (${elapsed} ms)" test "$elapsed" -lt 2000
check "the newest running run is running" grep -Eq '^ +6 +run .* running$' "$IT_TMP/out"
check "an older running row still died" grep -Eq '^ +4 +run .* died$' "$IT_TMP/out"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
check "the lock is free again" release_etl_lock
exit_is "after the holder went" 0 etl status --now 2026-11-21T05:05:00Z
check "it died" grep -Eq '^ +6 +run .* died$' "$IT_TMP/out"
check "and status says what happens next" grep -q '^run 6 died without finishing; the next run marks it killed and carries on$' "$IT_TMP/out"
it_done

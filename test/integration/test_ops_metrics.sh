#!/usr/bin/env bash
# The Prometheus textfile: files written by lib/metrics (through the
# test_metrics helper, and by `etl run --metrics-file` or ETL_METRICS_FILE)
# pass `promtool check metrics`, keep the last success across failed runs,
# read their levels from the database, and are replaced atomically; a dry
# run leaves the file alone, and a file that cannot be written is a warning.
. "$(dirname "$0")/lib.sh"
it_init ops_metrics
it_migrate

helper="$ETL_BUILD_DIR/test/test_metrics"
[[ -x "$helper" ]] || { echo "no $helper: build the unit tests" >&2; exit 1; }

# promtool check metrics FILE: lint-clean means exit 0 and nothing printed.
have_promtool=1
if ! command -v promtool >/dev/null; then
  have_promtool=0
  echo "# promtool not found (Debian: apt-get install prometheus): the lint checks are skipped; the format checks below still run"
fi
promtool_ok() {
  local out rc
  out=$(promtool check metrics <"$1" 2>&1); rc=$?
  [[ $rc -eq 0 && -z "$out" ]] || { echo "promtool: rc $rc: $out" >&2; return 1; }
}
lint() {
  if [[ $have_promtool == 1 ]]; then check "$1: promtool check metrics" promtool_ok "$2"; fi
}
# Without promtool: every sample's metric has HELP and TYPE gauge lines.
well_formed() {
  local f=$1 name
  for name in $(grep -v '^#' "$f" | sed 's/[{ ].*//' | sort -u); do
    grep -q "^# HELP $name " "$f" && grep -q "^# TYPE $name gauge$" "$f" || { echo "no HELP/TYPE for $name" >&2; return 1; }
  done
  ! grep -v '^#' "$f" | grep -vEq '^[a-z_]+(\{[a-z]+="[a-z]+"\})? -?[0-9]+(\.[0-9]+)?$'
}
val() { awk -v k="$2" '$1 == k {print $2}' "$1"; }

if [[ $have_promtool == 1 ]]; then
  printf '# HELP etl_x_total x\n# TYPE etl_x_total gauge\netl_x_total 1\n' >"$IT_TMP/bad.prom"
  check "promtool does catch a bad file (negative control)" bash -c "! promtool check metrics <'$IT_TMP/bad.prom' >/dev/null 2>&1"
fi

# 1. Files from the library, through the helper.
m="$IT_TMP/textfile/etl.prom"
mkdir -p "$IT_TMP/textfile"
check "a successful run's file is written" "$helper" --write "$m"
lint "success" "$m"
check "success: well formed" well_formed "$m"
eq "success: exit code" "0" "$(val "$m" etl_last_run_exit_code)"
eq "success: last success is this run" "$(val "$m" etl_last_run_timestamp_seconds)" "$(val "$m" etl_last_success_timestamp_seconds)"
eq "success: records add up to loaded" "$(val "$m" 'etl_last_run_records{outcome="loaded"}')" \
  "$(grep '^etl_last_run_loaded_records' "$m" | awk '{s += $2} END {print s}')"
eq "success: mode 644 for node_exporter" "644" "$(stat -c %a "$m")"
ok_success=$(val "$m" etl_last_success_timestamp_seconds)

check "a failed run's file is written" "$helper" --write "$m" --exit 69 --no-levels
lint "failure" "$m"
check "failure: well formed" well_formed "$m"
eq "failure: exit code" "69" "$(val "$m" etl_last_run_exit_code)"
eq "failure: success 0" "0" "$(val "$m" etl_last_run_success)"
eq "failure: the last success is kept from the file it replaced" "$ok_success" "$(val "$m" etl_last_success_timestamp_seconds)"
eq "failure: unknown levels are left out" "" "$(grep -E '^etl_(watermark|helix_pending|helix_failed|quarantine)' "$m")"
eq "no temporary file left behind" "etl.prom" "$(ls "$IT_TMP/textfile")"

# Atomic replacement: a reader never sees a partial file.
( for _ in $(seq 1 150); do "$helper" --write "$m" || exit 1; done ) &
writer=$!
partial=0
while kill -0 "$writer" 2>/dev/null; do
  n=$(grep -c '^etl_' "$m" 2>/dev/null || echo 0)
  [[ $n -ge 15 ]] || partial=$((partial + 1))
done
wait "$writer"; wrc=$?
eq "150 rewrites while reading" "0" "$wrc"
eq "no reader saw a partial or missing file" "0" "$partial"
eq "still no temporary file left behind" "etl.prom" "$(ls "$IT_TMP/textfile")"

exit_is "a directory that does not exist fails" 1 "$helper" --write "$IT_TMP/nope/etl.prom"
check "naming it" grep -q "$IT_TMP/nope" "$IT_TMP/err"

# 2. Levels from the database, the way etl run reads them.
q "
INSERT INTO watermark (next_window) VALUES ('2026-11-21T03:00:00Z');
INSERT INTO runs (command, started_at, finished_at, status, exit_code)
VALUES ('run', '2026-11-21T02:05:00Z', '2026-11-21T02:06:40Z', 'ok', 0),
       ('run', '2026-11-21T03:05:00Z', '2026-11-21T03:06:00Z', 'failed', 69);
INSERT INTO quarantine (resource, record_key, reasons, raw) VALUES ('sales', 'T-1', '{total_mismatch}', '{}');
INSERT INTO stores (store_id, name) VALUES (1, 'S');
INSERT INTO pos (pos_id, store_id, name) VALUES (1, 1, 'P');
INSERT INTO transactions (transaction_id, transaction_date, store_id, pos_id, currency, financial_status, total_amount, units, content_md5)
SELECT 'T-' || i, '2026-11-21T01:00:00Z', 1, 1, 'GBP', 'paid', 10, 1, 'x' FROM generate_series(1, 4) i;
INSERT INTO helix_outbox (transaction_id, camera_id, event_type_uid, time_ms, attributes, state)
VALUES ('T-1', 'c', NULL, 1, '{}', 'pending'), ('T-2', 'c', 'u', 2, '{}', 'inflight'),
       ('T-3', 'c', NULL, 3, '{}', 'failed'), ('T-4', 'c', 'u', 4, '{}', 'sent');
" >/dev/null
rm -f "$m"
check "a failed run with levels from the database" "$helper" --write "$m" --exit 65 --db 2026-11-21T05:05:00Z
lint "levels" "$m"
check "levels: well formed" well_formed "$m"
eq "levels: watermark" "1795230000" "$(val "$m" etl_watermark_timestamp_seconds)"
eq "levels: lag against the run clock" "7500" "$(val "$m" etl_watermark_lag_seconds)"
eq "levels: pending counts inflight" "2" "$(val "$m" etl_helix_pending)"
eq "levels: failed" "1" "$(val "$m" etl_helix_failed)"
eq "levels: quarantine" "1" "$(val "$m" etl_quarantine_records)"
eq "levels: last success from the runs table" "1795226800.000" "$(val "$m" etl_last_success_timestamp_seconds)"
eq "levels: exit code" "65" "$(val "$m" etl_last_run_exit_code)"

# 3. etl run itself.
q "TRUNCATE watermark; DELETE FROM helix_outbox; DELETE FROM quarantine" >/dev/null
start_fake_source
rm -f "$m"
exit_is "etl run --metrics-file: 0" 0 etl run --now 2026-11-21T05:05:00Z --start 2026-11-20T00:00:00Z --metrics-file "$m" --format json
j=$(cat "$IT_TMP/out")
json_counts_add_up "etl run --metrics-file" "$j"
eq "silent on stderr" "" "$(cat "$IT_TMP/err")"
check "the run wrote the file" test -s "$m"
lint "etl run" "$m"
check "etl run: well formed" well_formed "$m"
eq "etl run: exit code" "0" "$(val "$m" etl_last_run_exit_code)"
eq "etl run: windows" "$(jq .windows <<<"$j")" "$(val "$m" etl_last_run_windows)"
eq "etl run: loaded" "$(jq .loaded <<<"$j")" "$(val "$m" 'etl_last_run_records{outcome="loaded"}')"
eq "etl run: inserted" "$(jq .inserted <<<"$j")" "$(val "$m" 'etl_last_run_loaded_records{change="inserted"}')"
eq "etl run: records add up to fetched" "$(jq .fetched <<<"$j")" \
  "$(grep '^etl_last_run_records' "$m" | awk '{s += $2} END {print s}')"
eq "etl run: watermark lag" "18300" "$(val "$m" etl_watermark_lag_seconds)"
now_s=$(date +%s)
check "etl run: timestamps are the real clock, not --now" \
  awk -v t="$(val "$m" etl_last_run_timestamp_seconds)" -v n="$now_s" 'BEGIN { exit !(t > n - 60 && t < n + 60) }'
success=$(val "$m" etl_last_success_timestamp_seconds)
eq "etl run: success is now" "$(val "$m" etl_last_run_timestamp_seconds)" "$success"

# A failing run (the source is gone): the exit code, the kept success.
exit_is "etl run against a dead source: 69" 69 env ETL_SOURCE_URL=http://127.0.0.1:9 ETL_HTTP_RETRIES=0 \
  ETL_METRICS_FILE="$m" "$ETL_BIN" run --now 2026-11-21T06:05:00Z
lint "etl run failed" "$m"
eq "failed run: exit code" "69" "$(val "$m" etl_last_run_exit_code)"
eq "failed run: success 0" "0" "$(val "$m" etl_last_run_success)"
eq "failed run: last success kept" "$success" "$(val "$m" etl_last_success_timestamp_seconds)"

# A dry run does not pretend to be the hourly job, named by option or variable.
before=$(md5sum <"$m")
exit_is "a dry run: 0" 0 etl run --now 2026-11-21T07:05:00Z --dry-run --metrics-file "$m"
eq "a dry run leaves the metrics file alone" "$before" "$(md5sum <"$m")"
exit_is "a dry run with ETL_METRICS_FILE: 0" 0 env ETL_METRICS_FILE="$m" "$ETL_BIN" run --now 2026-11-21T07:05:00Z --dry-run
eq "a dry run leaves the ETL_METRICS_FILE alone" "$before" "$(md5sum <"$m")"

# --metrics-file wins over ETL_METRICS_FILE.
exit_is "--metrics-file over ETL_METRICS_FILE: 0" 0 env ETL_METRICS_FILE="$IT_TMP/textfile/other.prom" \
  "$ETL_BIN" run --now 2026-11-21T07:05:00Z --metrics-file "$m" --format json
json_counts_add_up "after the dry runs" "$(cat "$IT_TMP/out")"
check "the option's file was written" bash -c "[[ '$before' != \"\$(md5sum <'$m')\" ]]"
check "not the variable's" test ! -e "$IT_TMP/textfile/other.prom"
lint "etl run, after the dry runs" "$m"
eq "the real run did the windows the dry runs left" "$(jq .windows "$IT_TMP/out")" "$(val "$m" etl_last_run_windows)"

# A metrics file that cannot be written does not undo the run: a warning.
exit_is "metrics into a missing directory: the run still succeeds" 0 \
  etl run --now 2026-11-21T07:05:00Z --metrics-file "$IT_TMP/nope/etl.prom"
check "with a warning naming the file" grep -q "$IT_TMP/nope" "$IT_TMP/err"
eq "every run's counts add up (the runs table)" "0" \
  "$(q "SELECT count(*) FROM runs WHERE fetched <> loaded + duplicates + quarantined OR loaded <> inserted + updated + unchanged")"
it_done

#!/usr/bin/env bash
# The command line: help, usage errors (64), configuration errors (78),
# migrations on a real cluster (twice: the second a no-op), the schema check,
# the lock (75), and that no output ever shows a secret.
. "$(dirname "$0")/lib.sh"
it_init cli

# Help and usage.
exit_is "etl help exits 0" 0 etl help
check "etl help lists every command" grep -q "backfill" "$IT_TMP/out"
for c in migrate run fetch backfill emit status rejects report version help; do
  exit_is "etl help $c exits 0" 0 etl help "$c"
  check "etl help $c shows usage and an example" grep -q "Example" "$IT_TMP/out"
  exit_is "etl $c --help exits 0" 0 etl "$c" --help
  check "etl $c --help prints usage" grep -q "^usage: etl $c" "$IT_TMP/out"
done
exit_is "no command: 64" 64 etl
exit_is "unknown command: 64" 64 etl frobnicate
check "unknown command names it" grep -q 'frobnicate' "$IT_TMP/err"
check "unknown command shows the usage line" grep -q '^usage:' "$IT_TMP/err"
exit_is "unknown option: 64" 64 etl status --frobnicate
check "unknown option names it" grep -q -- '--frobnicate' "$IT_TMP/err"
exit_is "unknown option before any database: 64" 64 env ETL_DATABASE_URL=postgresql:///nonexistent?host=/nonexistent "$ETL_BIN" run --bogus
for a in "order-value --by fortnight" "summary --tz Mars/Base" "summary --from 2026-11-05 --to 2026-11-01" \
         "nosuch" "customer" "summary --from 2026-13-01"; do
  # shellcheck disable=SC2086
  exit_is "report $a with no database: 64" 64 env ETL_DATABASE_URL="postgresql:///x?host=$IT_TMP/nosock" "$ETL_BIN" report $a
done
exit_is "bad --format: 64" 64 etl status --format xml
exit_is "bad --now: 64" 64 etl status --now yesterday
exit_is "version: 0" 0 etl version
check "version prints the schema version" grep -q 'schema' "$IT_TMP/out"

# Configuration errors: 78 with a sentence naming the variable.
exit_is "run without ETL_SOURCE_URL: 78" 78 etl run
check "the message names ETL_SOURCE_URL" grep -q 'ETL_SOURCE_URL' "$IT_TMP/err"
exit_is "malformed ETL_HELIX_CONCURRENCY: 78" 78 env ETL_HELIX_CONCURRENCY=many "$ETL_BIN" status
check "the message names the variable" grep -q 'ETL_HELIX_CONCURRENCY' "$IT_TMP/err"
exit_is "bad ETL_NOW: 78" 78 env ETL_NOW=soon "$ETL_BIN" status
exit_is "malformed database URL: 78" 78 env ETL_DATABASE_URL="dbname='unterminated" "$ETL_BIN" status
printf 'ETL_SOURCE_URL=http://127.0.0.1:9\nETL_NOT_A_SETTING=1\n' >"$IT_TMP/bad.conf"
exit_is "unknown key in --config file: 78" 78 etl status --config "$IT_TMP/bad.conf"
check "the message names the file and line" grep -q 'bad.conf:2' "$IT_TMP/err"
exit_is "missing --config file: 78" 78 etl status --config "$IT_TMP/nope.conf"
exit_is "database unreachable: 69" 69 env ETL_DATABASE_URL="postgresql:///x?host=$IT_TMP/nosock" "$ETL_BIN" status

# The schema check and migrations.
exit_is "status before migrate: 78" 78 etl status
check "it says to run etl migrate" grep -q 'etl migrate' "$IT_TMP/err"
exit_is "migrate: 0" 0 etl migrate
eq "migrate prints nothing on success" "" "$(cat "$IT_TMP/out" "$IT_TMP/err")"
v1=$(q "SELECT max(version) FROM etl_migrations")
applied1=$(q "SELECT string_agg(applied_at::text, ',') FROM etl_migrations")
exit_is "migrate again: 0" 0 etl migrate -v
check "the second migrate says there is nothing to do" grep -q 'nothing to do' "$IT_TMP/err"
eq "the second migrate applies nothing" "$applied1" "$(q "SELECT string_agg(applied_at::text, ',') FROM etl_migrations")"
eq "schema version matches the binary" "$v1" "$(etl version | sed -n 's/.*schema \([0-9]*\)).*/\1/p')"
for t in stores pos cameras items exchange_rates customers transactions line_items quarantine runs run_windows watermark helix_event_types helix_outbox; do
  eq "table $t exists" "t" "$(q "SELECT to_regclass('$t') IS NOT NULL")"
done
exit_is "status after migrate: 0" 0 etl status --format json
eq "status json has a null watermark" "null" "$(jq -c .watermark "$IT_TMP/out")"
eq "status json keys" '["helix_failed","helix_inflight","helix_oldest_pending_at","helix_pending","last_run","last_success_at","quarantined","quarantined_by_resource","recent_runs","watermark","watermark_lag_seconds"]' \
  "$(jq -c '[keys[]]' "$IT_TMP/out")"
q "UPDATE etl_migrations SET version = version + 1000 WHERE version = (SELECT max(version) FROM etl_migrations)" >/dev/null
exit_is "a schema newer than the binary: 78" 78 etl status
q "UPDATE etl_migrations SET version = version - 1000 WHERE version > 1000" >/dev/null
q "DELETE FROM etl_migrations WHERE version = (SELECT max(version) FROM etl_migrations)" >/dev/null
exit_is "a schema older than the binary: 78" 78 etl status
check "it says to run etl migrate" grep -q 'etl migrate' "$IT_TMP/err"

# The lock: a second invocation exits 75 at once, naming the holder.
it_db_url=$ETL_DATABASE_URL
psql -X -q "$it_db" -c "INSERT INTO runs (command, pid, host) VALUES ('run', 4242, 'cronhost')" >/dev/null
( echo "SELECT pg_advisory_lock(6648940);"; sleep 5 ) | psql -X -q "$it_db" >/dev/null &
holder=$!
for _ in $(seq 1 200); do [[ $(etl_lock_rows) == 1 ]] && break; sleep 0.05; done
start=$(date +%s%N)
exit_is "migrate while another holds the lock: 75" 75 etl migrate
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
check "it exits at once (${elapsed} ms)" test "$elapsed" -lt 2000
check "the message names the holder" grep -q 'pid 4242 on cronhost' "$IT_TMP/err"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
check "the lock is free again" release_etl_lock

# Secrets: never printed, even with -vv and in errors.
export ETL_SOURCE_TOKEN=src-token-SECRET-1 ETL_HELIX_API_KEY=helix-key-SECRET-2
export ETL_DATABASE_URL="postgresql://postgres:db-pass-SECRET-3@/$it_db?host=$PGHOST"
for args in "status -vv" "run -vv" "emit -vv" "rejects -vv" "report summary -vv" "migrate -vv" "bogus -vv"; do
  # shellcheck disable=SC2086
  etl $args >"$IT_TMP/out" 2>"$IT_TMP/err"
  check "no secret in the output of etl $args" bash -c "! grep -q SECRET '$IT_TMP/out' '$IT_TMP/err'"
done
export ETL_DATABASE_URL=$it_db_url
unset ETL_SOURCE_TOKEN ETL_HELIX_API_KEY
printf 'k3y-SECRET-4\n' >"$IT_TMP/key"; chmod 644 "$IT_TMP/key"
ETL_HELIX_API_KEY_FILE="$IT_TMP/key" etl status >/dev/null 2>"$IT_TMP/err"
check "a world-readable key file draws a warning" grep -q 'readable by group or others' "$IT_TMP/err"
check "the warning does not show the key" bash -c "! grep -q SECRET '$IT_TMP/err'"
it_done

#!/usr/bin/env bash
# Security (docs/security.md): no secret in any output; warnings for secret
# files others can read; TLS always verified; SQL never built from input
# (hostile values from the command line and from the source land as plain
# data); the cron job's least-privilege role can run but not migrate.
. "$(dirname "$0")/lib.sh"
it_init security

TOKEN=src-tok-S3CR3T-aa11
KEY=helix-key-S3CR3T-bb22
DBPASS=db-pw-S3CR3T-cc33
W0=2026-11-20T00:00:00Z
W1=2026-11-20T01:00:00Z
NOW=2026-11-20T01:30:00Z
plain_url=$ETL_DATABASE_URL
job="it_sec_job_$$"

sec_cleanup() {
  dropdb --if-exists --force "$it_db" 2>/dev/null
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS \"$job\"" 2>/dev/null
  it_cleanup
}
trap sec_cleanup EXIT

# no_secret NAME FILE...: none of the three secrets (nor a telling piece
# of one) appears in the files.
no_secret() {
  local name=$1; shift
  if grep -a -q -e "S3CR3T" -e "$TOKEN" -e "$KEY" -e "$DBPASS" "$@" 2>/dev/null; then
    fail "no secret in $name" "$(grep -a -h -o -e '.\{0,60\}S3CR3T.\{0,20\}' "$@" | head -3 | tr '\n' ' ')"
  else
    pass "no secret in $name"
  fi
}

# ---- the servers: hostile reference data and sales ------------------------
# A store, POS and camera whose names and ids are SQL, COPY's own markers
# (\N, \.) and control characters; sales whose customer fields are the
# same; one whose transaction_id is SQL (quarantined: bad_value).
fx=$IT_TMP/fixtures
mkdir -p "$fx"
cat >"$fx/stores.json" <<'EOF'
[{"store_id": 99, "name": "Robert'); DROP TABLE stores;--", "address": "tab\there\nnewline",
  "city": "back\\slash \\N", "province": "\\.", "country": "GB", "phone": null, "email": "x'@y"}]
EOF
cat >"$fx/pos.json" <<'EOF'
[{"pos_id": 9901, "store_id": 99, "name": "\\N"}]
EOF
cat >"$fx/cameras.json" <<'EOF'
[{"camera_id": "cam-'; DROP TABLE cameras;--", "name": "\"quoted\"", "store_id": 99, "pos_id": 9901, "model": null, "status": "active"}]
EOF
cat >"$fx/sales.json" <<'EOF'
[{"transaction_id": "INJ-1", "transaction_date": "2026-11-20T00:30:00Z", "store_id": 99, "pos_id": 9901,
  "camera_id": "cam-'; DROP TABLE cameras;--",
  "customer": {"customer_id": "c'); DELETE FROM customers;--", "email": "\\.",
               "first_name": "line1\nline2\ttab\\N", "last_name": "\\\\N'\""},
  "billing_address": {"address1": "1 \"Main\" St\\", "province": "Qu\u00e9bec'; --", "country": "CA"},
  "currency": "USD", "financial_status": "paid", "total_amount": "1.00",
  "line_items": [{"item_id": 100, "quantity": 1, "unit_price": "1.00"}]},
 {"transaction_id": "INJ-2'; DROP TABLE transactions;--", "transaction_date": "2026-11-20T00:31:00Z",
  "store_id": 99, "pos_id": 9901, "currency": "USD", "financial_status": "paid", "total_amount": "1.00",
  "line_items": [{"item_id": 100, "quantity": 1, "unit_price": "1.00"}]},
 {"transaction_id": "UTF8-1", "transaction_date": "2026-11-20T00:32:00Z", "store_id": 99, "pos_id": 9901,
  "customer": {"customer_id": "c-latin1", "first_name": "Jos@LATIN1@"},
  "currency": "USD", "financial_status": "paid", "total_amount": "1.00",
  "line_items": [{"item_id": 100, "quantity": 1, "unit_price": "1.00"}]}]
EOF
# A Latin-1 byte: not UTF-8, which PostgreSQL would refuse in the COPY.
sed -i 's/@LATIN1@/\xe9/' "$fx/sales.json"

start_fake_source --token "$TOKEN" --sales 40 --hours 1 --start "$W0" --invalid-ratio 0.1 --overlay "$fx"
hpf=$IT_TMP/helix.port
"$FAKE_DIR/fake_helix" --port 0 --port-file "$hpf" --api-key "$KEY" --rate-limit 0 >"$IT_TMP/fake_helix.log" 2>&1 &
it_pids+=($!)
FAKE_HELIX=http://127.0.0.1:$(wait_port_file "$hpf")
export ETL_HELIX_URL=$FAKE_HELIX ETL_HELIX_RATE=1000 ETL_HTTP_BACKOFF_MS=20 ETL_HTTP_BACKOFF_MAX_MS=100
export ETL_HELIX_EVENT_TYPE="Sales'); DROP TABLE helix_outbox;--"

# ---- 1. every subcommand with -vv, secrets in the environment -------------
export ETL_SOURCE_TOKEN=$TOKEN ETL_HELIX_API_KEY=$KEY
export ETL_DATABASE_URL="postgresql://postgres:$DBPASS@/$it_db?host=$PGHOST"
export ETL_METRICS_FILE=$IT_TMP/metrics.prom
all=$IT_TMP/all_output
: >"$all"
# run_logged NAME ARGS...: etl ARGS -vv, stdout and stderr both kept.
run_logged() {
  local name=$1; shift
  "$ETL_BIN" "$@" -vv >"$IT_TMP/out" 2>"$IT_TMP/err"
  local rc=$?
  { echo "== etl $* (exit $rc)"; cat "$IT_TMP/out" "$IT_TMP/err"; } >>"$all"
  return $rc
}
check "migrate -vv" run_logged migrate migrate
check "run -vv" run_logged run run --start "$W0" --now "$NOW"
check "fetch -vv" run_logged fetch fetch --since "$W0" --until "$W1" --emit --now "$NOW"
check "backfill -vv" run_logged backfill backfill --from 2026-11-20 --to 2026-11-20 --now "$NOW"
check "emit -vv" run_logged emit emit --retry-failed --now "$NOW"
check "status -vv" run_logged status status --format json --now "$NOW"
check "rejects -vv" run_logged rejects rejects --format json
check "rejects replay -vv" run_logged replay rejects replay --now "$NOW"
for r in top-customers "order-value --by day" sales-by-province sales-by-store top-items transactions summary; do
  # shellcheck disable=SC2086
  check "report $r -vv" run_logged report report $r --from 2026-11-19 --to 2026-11-21 --format csv
done
check "report customer -vv" run_logged report report customer --id c-1001 --format csv
check "version -vv" run_logged version version
check "help -vv" run_logged help help
for c in run emit migrate; do run_logged help help "$c"; done
# Failures print their messages and hints: make a few, with secrets set.
# (a wrong token or key is a secret too: it must not show either)
ETL_SOURCE_TOKEN=wrong-S3CR3T-token run_logged bad_token run --now "$NOW" --lookback 1
check "a refused token: an error sentence" grep -q '^etl: error: ' "$IT_TMP/err"
q "UPDATE helix_outbox SET state = 'failed' WHERE transaction_id = (SELECT max(transaction_id) FROM helix_outbox)" >/dev/null
ETL_HELIX_API_KEY=wrong-S3CR3T-key run_logged bad_key emit --retry-failed
check "a refused key: an error sentence" grep -q '^etl: error: ' "$IT_TMP/err"
run_logged emit_again emit --retry-failed
ETL_DATABASE_URL="postgresql://postgres:$DBPASS@/$it_db?host=$IT_TMP/nosock" run_logged no_db status || true
ETL_DATABASE_URL="postgresql://postgres:$DBPASS@localhost:notaport/$it_db" run_logged bad_url status || true
ETL_DATABASE_URL="host=$IT_TMP/nosock dbname=$it_db user=postgres password=$DBPASS" run_logged kv_url status || true
ETL_DATABASE_URL="postgresql:///$it_db?host=$IT_TMP/nosock&password=$DBPASS&user=postgres" run_logged query_pw status || true
run_logged bogus bogus-command || true
no_secret "the output of every subcommand at -vv (and of failures)" "$all"
no_secret "the metrics file" "$ETL_METRICS_FILE"
pg_dump --data-only -d "$plain_url" >"$IT_TMP/dump.sql"
no_secret "the database (runs.message, last_error, quarantine)" "$IT_TMP/dump.sql"
check "the token was really in use (the source saw it)" \
  bash -c "curl -sf '$FAKE_SOURCE/_control/calls' | grep -q 'Bearer $TOKEN'"
check "the key was really in use (Helix saw it)" \
  bash -c "curl -sf '$FAKE_HELIX/_control/calls' | grep -q '$KEY'"
check "events were sent" test "$(curl -sf "$FAKE_HELIX/_control/stats" | jq .events)" -gt 0
# The session tokens Helix handed out are secrets too.
curl -sf "$FAKE_HELIX/_control/calls" | jq -r '.[].headers["x-verkada-auth"] // empty' | sort -u >"$IT_TMP/helix_tokens"
check "Helix issued session tokens" test -s "$IT_TMP/helix_tokens"
check "no Helix session token in any output" bash -c "! grep -a -q -F -f '$IT_TMP/helix_tokens' '$all' '$IT_TMP/dump.sql'"

# The same with the secrets in files (mode 600) and the settings in --config.
unset ETL_SOURCE_TOKEN ETL_HELIX_API_KEY ETL_DATABASE_URL
umask 077
printf '%s\n' "$TOKEN" >"$IT_TMP/token"
printf '%s\n' "$KEY" >"$IT_TMP/key"
printf 'postgresql://postgres:%s@/%s?host=%s\n' "$DBPASS" "$it_db" "$PGHOST" >"$IT_TMP/dburl"
umask 022
cat >"$IT_TMP/etl.conf" <<EOF
ETL_SOURCE_TOKEN_FILE=$IT_TMP/token
ETL_HELIX_API_KEY_FILE=$IT_TMP/key
ETL_DATABASE_URL_FILE=$IT_TMP/dburl
EOF
: >"$all"
check "run -vv with secret files" run_logged run run --config "$IT_TMP/etl.conf" --now "$NOW" --lookback 1
check "status -vv with secret files" run_logged status status --config "$IT_TMP/etl.conf"
check "no warning for files only the owner reads" bash -c "! grep -q 'readable by group' '$all'"
no_secret "the output with secrets in files" "$all"

# ---- 2. secret files others can read ---------------------------------------
export ETL_DATABASE_URL=$plain_url
for v in ETL_SOURCE_TOKEN_FILE:token ETL_HELIX_API_KEY_FILE:key; do
  name=${v%%:*} file=$IT_TMP/${v#*:}
  chmod 644 "$file"
  env "$name=$file" "$ETL_BIN" status >/dev/null 2>"$IT_TMP/err"
  check "$name readable by others draws a warning" grep -q "$name.*readable by group or others" "$IT_TMP/err"
  no_secret "the $name warning" "$IT_TMP/err"
  chmod 640 "$file"
  env "$name=$file" "$ETL_BIN" status >/dev/null 2>"$IT_TMP/err"
  check "$name readable by the group draws a warning" grep -q 'readable by group or others' "$IT_TMP/err"
  chmod 600 "$file"
  env "$name=$file" "$ETL_BIN" status >/dev/null 2>"$IT_TMP/err"
  check "$name mode 600: no warning" bash -c "! grep -q 'readable by group' '$IT_TMP/err'"
done
chmod 644 "$IT_TMP/dburl"
env -u ETL_DATABASE_URL ETL_DATABASE_URL_FILE="$IT_TMP/dburl" "$ETL_BIN" status >/dev/null 2>"$IT_TMP/err"
check "ETL_DATABASE_URL_FILE readable by others draws a warning" grep -q 'readable by group or others' "$IT_TMP/err"
no_secret "the ETL_DATABASE_URL_FILE warning" "$IT_TMP/err"

# ---- 3. SQL only through parameters -----------------------------------------
export ETL_DATABASE_URL=$plain_url
unset ETL_HELIX_API_KEY
tables="stores pos cameras items exchange_rates customers transactions line_items quarantine runs run_windows watermark helix_event_types helix_outbox etl_migrations"
counts() { for t in $tables; do printf '%s=%s ' "$t" "$(q "SELECT count(*) FROM $t" 2>&1)"; done; }
before=$(counts)
exit_is "--store with SQL: a usage error" 64 etl report sales-by-store --store "1; DROP TABLE stores"
exit_is "--customer with quotes: no rows, no harm" 0 etl report transactions --customer "x'); DROP TABLE transactions; --" --from 2026-11-19 --to 2026-11-21 --format json
eq "--customer with quotes matches nothing" "[]" "$(jq -c . "$IT_TMP/out")"
exit_is "--province with quotes" 0 etl report sales-by-province --province "'; DROP TABLE stores; --" --from 2026-11-19 --to 2026-11-21
exit_is "--country with quotes" 0 etl report summary --country "GB' OR '1'='1" --from 2026-11-19 --to 2026-11-21 --format json
eq "--country with quotes counts nothing" 0 "$(jq '.[0].orders' "$IT_TMP/out")"
exit_is "--tz with SQL: a usage error" 64 etl report summary --tz "UTC'; DROP TABLE transactions; --"
exit_is "--from with SQL: a usage error" 64 etl report summary --from "2026-11-01'; DROP TABLE transactions; --"
etl rejects --resource "sales'; DROP TABLE quarantine; --" >"$IT_TMP/out" 2>"$IT_TMP/err"
check "--resource with SQL: refused as usage (exit $?)" grep -qi 'resource' "$IT_TMP/err"
exit_is "the customer whose id is SQL is found by it" 0 etl report customer --id "c'); DELETE FROM customers;--" --format json
eq "exactly that customer" "c'); DELETE FROM customers;--" "$(jq -r '.[0].customer_id' "$IT_TMP/out")"
eq "every table intact after hostile options" "$before" "$(counts)"

# The hostile records from the source, stored byte for byte.
md5of() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
eq "the SQL-named store is stored as its name" "$(md5of "Robert'); DROP TABLE stores;--")" \
  "$(q "SELECT md5(name) FROM stores WHERE store_id = 99")"
eq "its address keeps the tab and the newline" "$(md5of $'tab\there\nnewline')" "$(q "SELECT md5(address) FROM stores WHERE store_id = 99")"
eq "its city keeps the backslashes and \\N" "$(md5of 'back\slash \N')" "$(q "SELECT md5(city) FROM stores WHERE store_id = 99")"
eq "its province is the COPY end marker, kept" "$(md5of '\.')" "$(q "SELECT md5(province) FROM stores WHERE store_id = 99")"
eq "the POS named \\N is not NULL" "$(md5of '\N')" "$(q "SELECT md5(name) FROM pos WHERE pos_id = 9901")"
eq "the camera whose id is SQL" 1 "$(q "SELECT count(*) FROM cameras WHERE camera_id = 'cam-''; DROP TABLE cameras;--'")"
eq "the sale's customer id is SQL, stored as text" "$(md5of "c'); DELETE FROM customers;--")" \
  "$(q "SELECT md5(customer_id) FROM transactions WHERE transaction_id = 'INJ-1'")"
eq "first_name keeps newline, tab and \\N" "$(md5of $'line1\nline2\ttab\\N')" \
  "$(q "SELECT md5(customer_first_name) FROM transactions WHERE transaction_id = 'INJ-1'")"
eq "last_name keeps backslashes and quotes" "$(md5of '\\N'"'"'"')" \
  "$(q "SELECT md5(customer_last_name) FROM transactions WHERE transaction_id = 'INJ-1'")"
eq "email \\. is kept" "$(md5of '\.')" "$(q "SELECT md5(customer_email) FROM transactions WHERE transaction_id = 'INJ-1'")"
eq "the billing address keeps its quotes" "1 \"Main\" St\\|Québec'; --" \
  "$(q "SELECT (billing_address->>'address1') || '|' || billing_province FROM transactions WHERE transaction_id = 'INJ-1'")"
eq "the customer row is there" 1 "$(q "SELECT count(*) FROM customers WHERE customer_id = 'c''); DELETE FROM customers;--'")"
eq "the sale whose id is SQL is quarantined, not loaded" "bad_value:transaction_id" \
  "$(q "SELECT array_to_string(reasons, ',') FROM quarantine WHERE raw->>'transaction_id' LIKE 'INJ-2%' LIMIT 1")"
eq "its raw record keeps the id" "INJ-2'; DROP TABLE transactions;--" \
  "$(q "SELECT raw->>'transaction_id' FROM quarantine WHERE raw->>'transaction_id' LIKE 'INJ-2%' LIMIT 1")"
eq "a sale that is not UTF-8 is quarantined, the window loaded" "bad_value:customer.first_name" \
  "$(q "SELECT array_to_string(reasons, ',') FROM quarantine WHERE record_key = 'UTF8-1' LIMIT 1")"
eq "its raw record keeps the rest, the bad byte as U+FFFD" "Jos"$'\xef\xbf\xbd' \
  "$(q "SELECT raw->'customer'->>'first_name' FROM quarantine WHERE record_key = 'UTF8-1' LIMIT 1")"
eq "the event type named with SQL" "Sales'); DROP TABLE helix_outbox;--" "$(q "SELECT name FROM helix_event_types" | head -1)"
eq "Helix got the store name as it is" "Robert'); DROP TABLE stores;--" \
  "$(curl -sf "$FAKE_HELIX/_control/events" | jq -r '.[] | select(.attributes.transaction_id == "INJ-1") | .attributes.store')"
for t in $tables; do
  eq "table $t still exists" t "$(q "SELECT to_regclass('$t') IS NOT NULL")"
done

# ---- 4. TLS: always verified ----------------------------------------------
# No code turns verification off (the option set to 0, false or a variable).
if grep -rnE 'CURLOPT_(PROXY_)?SSL_VERIFY(PEER|HOST|STATUS)?[[:space:]]*,[[:space:]]*([^12[:space:]]|[12][^L)])' \
     "$ETL_SRC_DIR/lib" "$ETL_SRC_DIR/cmd" >"$IT_TMP/tls.grep"; then
  fail "no CURLOPT_SSL_VERIFYPEER/VERIFYHOST set to anything but 1/2" "$(head -3 "$IT_TMP/tls.grep")"
else
  pass "no CURLOPT_SSL_VERIFYPEER/VERIFYHOST set to anything but 1/2"
fi
check "no CURLSSLOPT_ that weakens checks" bash -c "! grep -rnE 'CURLSSLOPT_(NO_REVOKE|ALLOW_BEAST)|CURLOPT_(CAINFO|CAPATH)' '$ETL_SRC_DIR/lib' '$ETL_SRC_DIR/cmd'"
# And live: a server with a self-signed certificate is refused, for the
# source and for Helix, in the handshake.  (Were verification off, the
# handshake would pass and the error would be about the answer, an HTML
# page from s_server -www, not about the certificate.)
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$IT_TMP/tls.key" -out "$IT_TMP/tls.crt" >/dev/null 2>&1
  openssl s_server -accept 127.0.0.1:0 -cert "$IT_TMP/tls.crt" -key "$IT_TMP/tls.key" -www \
    >"$IT_TMP/tls.log" 2>&1 </dev/null &
  it_pids+=($!)
  tls_port=
  for i in $(seq 1 100); do
    tls_port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$IT_TMP/tls.log")
    [[ -n "$tls_port" ]] && break
    sleep 0.05
  done
  if [[ -n "$tls_port" ]]; then
    tls_url=https://127.0.0.1:$tls_port
    check "the test server answers when its certificate is trusted" \
      curl -sf -o /dev/null --cacert "$IT_TMP/tls.crt" "$tls_url/"
    check "and curl refuses it otherwise, like etl must" bash -c "! curl -sf -o /dev/null '$tls_url/' 2>/dev/null"
    exit_is "a source with a self-signed certificate: 69" 69 \
      env ETL_SOURCE_URL="$tls_url" ETL_HTTP_RETRIES=1 "$ETL_BIN" run --now "$NOW"
    check "the message is about the certificate" grep -Eqi 'certificate' "$IT_TMP/err"
    sed 's/^/# /' "$IT_TMP/err"
    # Helix: a sale waits in the outbox; etl emit must not send it there.
    q "UPDATE helix_outbox SET state = 'pending', sent_attributes = NULL, event_type_uid = NULL
       WHERE transaction_id = (SELECT max(transaction_id) FROM helix_outbox)" >/dev/null
    q "DELETE FROM helix_event_types" >/dev/null
    env ETL_HELIX_URL="$tls_url" ETL_HELIX_API_KEY=$KEY ETL_HTTP_RETRIES=1 "$ETL_BIN" emit >"$IT_TMP/out" 2>"$IT_TMP/err"
    rc=$?
    check "a Helix with a self-signed certificate: refused (exit $rc)" test "$rc" -ne 0
    check "the message is about the certificate" grep -Eqi 'certificate' "$IT_TMP/err"
    sed 's/^/# /' "$IT_TMP/err"
    no_secret "the TLS errors" "$IT_TMP/err"
  else
    fail "the TLS test server started" "$(head -3 "$IT_TMP/tls.log")"
  fi
else
  echo "# skip: live TLS check (needs the openssl command)"
fi

# ---- 5. least privilege: the cron job's role ---------------------------------
# Rows, not structure (docs/security.md; the README's Operations section has the full
# set-up): DML on the tables, the sequences, temporary tables for staging.
q "CREATE ROLE \"$job\" LOGIN;
   REVOKE ALL ON DATABASE \"$it_db\" FROM PUBLIC;
   GRANT CONNECT, TEMPORARY ON DATABASE \"$it_db\" TO \"$job\";
   REVOKE CREATE ON SCHEMA public FROM PUBLIC;
   GRANT USAGE ON SCHEMA public TO \"$job\";
   GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"$job\";
   GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \"$job\";" >/dev/null
job_url="postgresql:///$it_db?host=$PGHOST&user=$job"
export ETL_HELIX_API_KEY=$KEY ETL_SOURCE_TOKEN=$TOKEN
check "the job role cannot create a table" bash -c "! psql -X -q -d '$job_url' -c 'CREATE TABLE evil (x int)' 2>/dev/null"
check "nor alter one" bash -c "! psql -X -q -d '$job_url' -c 'ALTER TABLE transactions ADD COLUMN evil int' 2>/dev/null"
exit_is "etl run as the job role: 0" 0 env ETL_DATABASE_URL="$job_url" "$ETL_BIN" run --now 2026-11-20T03:30:00Z --format json
json_counts_add_up "run as the job role" "$(cat "$IT_TMP/out")"
eq "it loaded windows" 2 "$(jq .windows "$IT_TMP/out")"
exit_is "etl emit as the job role: 0" 0 env ETL_DATABASE_URL="$job_url" "$ETL_BIN" emit
exit_is "etl status as the job role: 0" 0 env ETL_DATABASE_URL="$job_url" "$ETL_BIN" status
# With nothing to do, migrate could succeed without privileges; at least it
# must fail cleanly.
env ETL_DATABASE_URL="$job_url" "$ETL_BIN" migrate >"$IT_TMP/out" 2>"$IT_TMP/err"; rc=$?
if [[ $rc -eq 0 ]]; then pass "etl migrate as the job role with nothing to do: 0"; else
  check "etl migrate as the job role with nothing to do: a clean error (exit $rc)" grep -q '^etl: error: ' "$IT_TMP/err"
  sed 's/^/# /' "$IT_TMP/err"
fi
# A migration pending: the job role must refuse it, cleanly.
latest=$(q "SELECT max(version) FROM etl_migrations")
q "CREATE TABLE test_saved_migration AS SELECT * FROM etl_migrations WHERE version = $latest;
   DELETE FROM etl_migrations WHERE version = $latest" >/dev/null
schema_before=$(q "SELECT md5(string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, column_name)) FROM information_schema.columns WHERE table_schema = 'public'")
env ETL_DATABASE_URL="$job_url" "$ETL_BIN" migrate >"$IT_TMP/out" 2>"$IT_TMP/err"; rc=$?
eq "etl migrate as the job role with a migration pending: 78 (a configuration error)" 78 "$rc"
check "with an error sentence" grep -q '^etl: error: ' "$IT_TMP/err"
check "that says it lacks the privilege" grep -Eqi 'owner|permission|privilege' "$IT_TMP/err"
sed 's/^/# /' "$IT_TMP/err"
eq "the failed migration changed nothing" "$schema_before" \
  "$(q "SELECT md5(string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, column_name)) FROM information_schema.columns WHERE table_schema = 'public'")"
eq "and recorded nothing" "" "$(q "SELECT version FROM etl_migrations WHERE version = $latest")"
exit_is "etl run as the job role on the old schema: 78" 78 env ETL_DATABASE_URL="$job_url" "$ETL_BIN" run --now 2026-11-20T03:30:00Z
check "it says to run etl migrate as the owner" grep -q 'etl migrate' "$IT_TMP/err"
q "INSERT INTO etl_migrations SELECT * FROM test_saved_migration; DROP TABLE test_saved_migration" >/dev/null

it_done

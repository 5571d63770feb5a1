#!/usr/bin/env bash
# test_source_faults.sh - the source fault matrix through `etl run`
# (contract sections 1, 3 and 7): 5xx bursts, 429 with and without
# Retry-After, responses slower than the timeout, truncated / invalid JSON,
# `data` not an array, connections dropped, 401, a host that does not
# resolve, a refused connection, a failure on a later page, sales outside
# the window.  Each case ends either with a correct load of its window or a
# clean non-zero exit, with nothing of the window committed and the
# watermark where it belongs; after a failure the next run recovers.
#
# One database; case k works on the hour window [k:00, k+1:00) of
# 2026-11-20, run with --now half an hour after its end.
. "$(dirname "$0")/lib.sh"
it_init source_faults
it_migrate

# 10 sales an hour, every one valid.
start_fake_source --sales 240 --hours 24 --start 2026-11-20T00:00:00Z --seed 7
GOOD_SOURCE=$ETL_SOURCE_URL
export ETL_HTTP_RETRIES=3 ETL_HTTP_BACKOFF_MS=10 ETL_HTTP_BACKOFF_MAX_MS=40

k=0  # the window the next run loads

hour() { printf '2026-11-20T%02d:00:00Z' "$1"; }
now_for() { printf '2026-11-20T%02d:30:00Z' "$(($1 + 1))"; }

control() {
  curl -sf -X POST -H 'Content-Type: application/json' --data-binary "$2" "$FAKE_SOURCE/_control/$1" >/dev/null ||
    { echo "control $1 failed" >&2; exit 1; }
}
faults() { control faults "$1"; }
reset_fake() { control reset '{}'; }
# requests PATH: how many requests the fake saw for PATH since the last reset.
requests() { curl -sf "$FAKE_SOURCE/_control/calls" | jq --arg p "$1" '[.[] | select(.path == $p)] | length'; }
watermark() { etl status --format json | jq -r .watermark; }
in_window() { q "SELECT count(*) FROM transactions WHERE transaction_date >= '$(hour "$1")' AND transaction_date < '$(hour $(($1 + 1)))'"; }
expect() { curl -sf "$FAKE_SOURCE/_control/expect?since=$(hour "$1")&until=$(hour $(($1 + 1)))" | jq -r ".$2"; }

# run_ok NAME [ENV=VALUE...]: etl run loads window k correctly; k moves on.
run_ok() {
  local name=$1 t0 t1; shift
  t0=$(date +%s%N)
  env "$@" "$ETL_BIN" run -v --start 2026-11-20T00:00:00Z --now "$(now_for $k)" --format json \
    >"$IT_TMP/out" 2>"$IT_TMP/err"
  rc=$?
  t1=$(date +%s%N)
  elapsed_ms=$(((t1 - t0) / 1000000))
  if [[ $rc -ne 0 ]]; then
    fail "$name: etl run exits 0" "exit $rc: $(grep -v ': info: \|: debug: ' "$IT_TMP/err" | head -c 600)"
    return
  fi
  pass "$name: etl run exits 0"
  local j; j=$(cat "$IT_TMP/out")
  eq "$name: one window" 1 "$(jq .windows <<<"$j")"
  eq "$name: fetched what the source holds" "$(expect $k records)" "$(jq .fetched <<<"$j")"
  eq "$name: loaded the valid ones" "$(expect $k valid)" "$(jq .loaded <<<"$j")"
  json_counts_add_up "$name" "$j"
  eq "$name: the window's sales are in" "$(expect $k valid)" "$(in_window $k)"
  eq "$name: the watermark moved one hour" "$(hour $((k + 1)))" "$(watermark)"
  k=$((k + 1))
}

# run_fails NAME STATUS [ENV=VALUE...]: etl run (-v, for the retry lines)
# exits STATUS with a sentence on stderr, commits nothing of window k,
# leaves the watermark.
run_fails() {
  local name=$1 want=$2 wm before t0 t1; shift 2
  wm=$(watermark)
  before=$(q "SELECT count(*) FROM transactions")
  t0=$(date +%s%N)
  env "$@" "$ETL_BIN" run -v --start 2026-11-20T00:00:00Z --now "$(now_for $k)" >"$IT_TMP/out" 2>"$IT_TMP/err"
  rc=$?
  t1=$(date +%s%N)
  elapsed_ms=$(((t1 - t0) / 1000000))
  eq "$name: exit $want" "$want" "$rc"
  check "$name: says what happened on stderr" test -s "$IT_TMP/err"
  eq "$name: nothing on stdout" "" "$(cat "$IT_TMP/out")"
  eq "$name: the watermark stays" "$wm" "$(watermark)"
  eq "$name: nothing of the window committed" "$before" "$(q "SELECT count(*) FROM transactions")"
  eq "$name: no window recorded" "$k" "$(q "SELECT count(*) FROM run_windows")"
  eq "$name: the run is recorded as failed" "failed $want" "$(q "SELECT status || ' ' || exit_code FROM runs ORDER BY run_id DESC LIMIT 1")"
}

# retries NAME RESOURCE N: stderr (-v) shows N retries of RESOURCE.
retries() { eq "$1: $3 retries" "$3" "$(grep -c "retrying $2 page" "$IT_TMP/err")"; }

# --- a clean window ------------------------------------------------------------
run_ok "baseline"

# --- 5xx burst: recovered ------------------------------------------------------
reset_fake
faults '[{"path": "/v1/sales", "count": 2, "status": 503}]'
run_ok "5xx burst"
retries "5xx burst" sales 2
eq "5xx burst: three requests for the one page" 3 "$(requests /v1/sales)"

# --- 5xx past the retry budget: 69 -------------------------------------------
reset_fake
faults '[{"path": "/v1/sales", "count": -1, "status": 500}]'
run_fails "5xx past the budget" 69
check "5xx past the budget: names the status" grep -q "HTTP 500" "$IT_TMP/err"
eq "5xx past the budget: 1 + ETL_HTTP_RETRIES requests" 4 "$(requests /v1/sales)"
reset_fake
run_ok "after the 5xx outage"

# --- 429 with Retry-After: honoured -------------------------------------------
reset_fake
faults '[{"path": "/v1/sales", "count": 1, "status": 429, "retry_after": "2"}]'
run_ok "429 Retry-After 2"
check "429 Retry-After 2: waited at least 2 s (took ${elapsed_ms} ms)" test "$elapsed_ms" -ge 2000
retries "429 Retry-After" sales 1

# --- 429 without Retry-After: the backoff ---------------------------------------
reset_fake
faults '[{"path": "/v1/sales", "count": 2, "status": 429}]'
run_ok "429 without Retry-After"
retries "429 without Retry-After" sales 2
check "429 without Retry-After: backoff only (took ${elapsed_ms} ms)" test "$elapsed_ms" -lt 1500

# --- slower than the timeout: retried -----------------------------------------
reset_fake
faults '[{"path": "/v1/sales", "count": 1, "delay_ms": 2000}]'
run_ok "slow response" ETL_HTTP_TIMEOUT=1
retries "slow response" sales 1
check "slow response: gave up after about a second (took ${elapsed_ms} ms)" test "$elapsed_ms" -lt 1900

# --- bodies that are not the envelope: transient --------------------------------
reset_fake
faults '[{"path": "/v1/sales", "count": 1, "truncate": true},
         {"path": "/v1/sales", "count": 1, "status": 200, "body": "<html>maintenance</html>"},
         {"path": "/v1/sales", "count": 1, "status": 200, "body": "{\"data\": {}, \"next_cursor\": null}"}]'
run_ok "truncated, invalid, data not an array"
retries "truncated, invalid, data not an array" sales 3
check "the reasons are logged" grep -q '"data" that is not an array' "$IT_TMP/err"

reset_fake
faults '[{"path": "/v1/sales", "count": -1, "status": 200, "body": "{\"data\": 5, \"next_cursor\": null}"}]'
run_fails "data never an array" 69
check "data never an array: says so" grep -q '"data" that is not an array' "$IT_TMP/err"
reset_fake
faults '[{"path": "/v1/sales", "count": -1, "truncate": true}]'
run_fails "always truncated" 69
check "always truncated: says so" grep -qi 'truncated' "$IT_TMP/err"
reset_fake
run_ok "after the bad bodies"

# --- connections dropped / reset ------------------------------------------------
reset_fake
faults '[{"path": "/v1/sales", "count": 1, "drop": true},
         {"path": "/v1/sales", "count": 1, "truncate": "conn"},
         {"path": "/v1/stores", "count": 1, "drop_after": true}]'
run_ok "connection dropped"
# libcurl itself resends once, at once, a request whose reused connection
# died before any byte of the answer (the "drop"); the rest are our retries
eq "connection dropped: each fault met, then the page" 3 "$(requests /v1/sales)"
check "connection dropped: retried" grep -q "retrying sales page" "$IT_TMP/err"
eq "connection dropped after the response: reference page retried" 2 "$(requests /v1/stores)"

# --- a later page fails past the budget: the window is not half-committed --------
reset_fake
faults '[{"path": "/v1/sales", "skip": 1, "count": -1, "status": 502}]'
run_fails "page 2 fails" 69 ETL_SOURCE_PAGE_LIMIT=3
eq "page 2 fails: page 1 was read" 1 "$(curl -sf "$FAKE_SOURCE/_control/calls" | jq '[.[] | select(.path == "/v1/sales" and .status == 200)] | length')"
reset_fake
run_ok "after the page 2 failure" ETL_SOURCE_PAGE_LIMIT=3

# --- 401: permanent, at once, with the server's message ---------------------------
reset_fake
faults '[{"path": "/v1/", "count": -1, "status": 401, "body": "{\"message\": \"token expired for tenant 42\"}"}]'
run_fails "401" 69
check "401: the server's message" grep -q "token expired for tenant 42" "$IT_TMP/err"
check "401: names the variable to check" grep -q "ETL_SOURCE_TOKEN" "$IT_TMP/err"
eq "401: no retry" 1 "$(curl -sf "$FAKE_SOURCE/_control/calls" | jq '[.[] | select(.path | startswith("/v1/"))] | length')"
reset_fake

# a real token check: the wrong token is refused and never printed
pf="$IT_TMP/tok.port"
"$FAKE_DIR/fake_source" --port 0 --port-file "$pf" --token right-token-123 >"$IT_TMP/tok.log" 2>&1 &
it_pids+=($!)
tok_url="http://127.0.0.1:$(wait_port_file "$pf")"
run_fails "wrong token" 69 ETL_SOURCE_URL="$tok_url" ETL_SOURCE_TOKEN=wrong-token-456
check "wrong token: the server's message" grep -q "missing or invalid bearer token" "$IT_TMP/err"
check "wrong token: the token is not printed" bash -c "! grep -q wrong-token-456 '$IT_TMP/err'"
run_fails "no token" 69 ETL_SOURCE_URL="$tok_url"

# --- 404: a wrong base URL ------------------------------------------------------------
run_fails "404" 69 ETL_SOURCE_URL="$GOOD_SOURCE/api"
check "404: points at ETL_SOURCE_URL" grep -q "ETL_SOURCE_URL" "$IT_TMP/err"

# --- a host that does not resolve, a refused connection: retried, then 69 ------------
run_fails "host does not resolve" 69 ETL_SOURCE_URL=http://etl-test-no-such-host.invalid ETL_HTTP_RETRIES=2 ETL_HTTP_BACKOFF_MS=1
check "host does not resolve: names the host" grep -q "etl-test-no-such-host.invalid" "$IT_TMP/err"
run_fails "connection refused" 69 ETL_SOURCE_URL=http://127.0.0.1:1 ETL_HTTP_RETRIES=2 ETL_HTTP_BACKOFF_MS=1
eq "connection refused: retried twice" 2 "$(grep -c "retrying stores page" "$IT_TMP/err")"

# --- TLS is always verified: a self-signed certificate is refused ------------------
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$IT_TMP/key.pem" -out "$IT_TMP/cert.pem" \
     -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1 >/dev/null 2>&1; then
  openssl s_server -accept 127.0.0.1:0 -cert "$IT_TMP/cert.pem" -key "$IT_TMP/key.pem" -www \
    >"$IT_TMP/tls.out" 2>&1 &
  it_pids+=($!)
  for _ in $(seq 1 100); do grep -q '^ACCEPT' "$IT_TMP/tls.out" && break; sleep 0.05; done
  tls_port=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$IT_TMP/tls.out")
  run_fails "self-signed certificate" 69 ETL_SOURCE_URL="https://127.0.0.1:$tls_port" ETL_HTTP_RETRIES=0
  check "self-signed certificate: says it is the certificate" grep -qi "certificate" "$IT_TMP/err"
else
  echo "# skipped the TLS case: openssl could not make a certificate"
fi

run_ok "after the outages"

# --- a server that sends sales outside the window: quarantined ---------------------
pf="$IT_TMP/oow.port"
"$FAKE_DIR/fake_source" --port 0 --port-file "$pf" --sales 240 --hours 24 --start 2026-11-20T00:00:00Z --seed 7 \
  --out-of-window 3 >"$IT_TMP/oow.log" 2>&1 &
it_pids+=($!)
oow_url="http://127.0.0.1:$(wait_port_file "$pf")"
q_before=$(q "SELECT count(*) FROM quarantine WHERE 'out_of_window' = ANY (reasons)")
FAKE_SOURCE_SAVED=$FAKE_SOURCE
FAKE_SOURCE=$oow_url
oow=$(expect $k out_of_window)
run_ok "sales outside the window" ETL_SOURCE_URL="$oow_url"
FAKE_SOURCE=$FAKE_SOURCE_SAVED
check "the fake sent some outside the window ($oow)" test "$oow" -ge 1
eq "sales outside the window: quarantined as out_of_window" "$oow" \
  "$(($(q "SELECT count(*) FROM quarantine WHERE 'out_of_window' = ANY (reasons)") - q_before))"
eq "sales outside the window: counted as quarantined" "$oow" "$(jq .quarantined "$IT_TMP/out")"

it_done

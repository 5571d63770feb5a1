#!/usr/bin/env bash
# PostgreSQL failing under etl run: a restart in the middle of a window
# (exit 69, that window rolled back, the windows before it kept, the next
# run completes), a statement timeout behind a lock held by another session
# (exit 69 with a sentence, not a hang or a crash), and a full disk (a
# tablespace on a 2 MB tmpfs; exit 69, rolled back, the next run completes).
#
# The restart needs a cluster of its own: restarting the shared one would
# break every test running beside this one.  So this test starts a private
# cluster with scripts/pg.sh (stopped at exit) and works only there.
. "$(dirname "$0")/lib.sh"
it_init db_faults

shared_pghost=$PGHOST
tiny_dir=
private_pg=$IT_TMP/pg
db_faults_cleanup() {
  if [[ -f "$private_pg/env" ]]; then bash "$ETL_SRC_DIR/scripts/pg.sh" stop "$private_pg" >/dev/null 2>&1; fi
  if [[ -n "$tiny_dir" ]]; then
    umount "$tiny_dir" 2>/dev/null
    rmdir "$tiny_dir" 2>/dev/null
  fi
  export PGHOST=$shared_pghost  # it_cleanup drops the shared cluster's database
  it_cleanup
}
trap db_faults_cleanup EXIT

bash "$ETL_SRC_DIR/scripts/pg.sh" start "$private_pg" >/dev/null || { echo "cannot start a private cluster" >&2; exit 1; }
# shellcheck disable=SC1091
. "$private_pg/env"
export PGHOST PGDATABASE=postgres

pg_bindir=$(pg_config --bindir 2>/dev/null || true)
[[ -x "$pg_bindir/pg_ctl" ]] || pg_bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# -l: pg_ctl would otherwise hand the server's output (and our stdout) to it
pg_restart() { as_pg "$pg_bindir/pg_ctl" -D "$PGDATA_DIR/data" -l "$PGDATA_DIR/server.log" -m immediate -w -t 60 restart >/dev/null; }

# use_db NAME: a fresh, migrated database on the private cluster.
use_db() {
  createdb "$1" || { echo "createdb $1 failed" >&2; exit 1; }
  export PGDATABASE=$1
  export ETL_DATABASE_URL="postgresql:///$1?host=$PGHOST&user=postgres"
  it_migrate
}

# said_why NAME: the last command ($IT_TMP/err) did not die of a signal or
# a sanitizer and said one sentence with a hint.
said_why() {
  check "$1: stderr has an error sentence" grep -q '^etl: error: ' "$IT_TMP/err"
  check "$1: and a hint" grep -q '^etl: error: hint: ' "$IT_TMP/err"
  check "$1: no crash report" bash -c "! grep -Eqi 'segmentation|sanitizer|core dumped|abort' '$IT_TMP/err'"
}

W0=2026-11-20T00:00:00Z
W1=2026-11-20T01:00:00Z
W2=2026-11-20T02:00:00Z
NOW=2026-11-20T02:30:00Z
start_fake_source --sales 200 --hours 2 --start "$W0" --invalid-ratio 0.05
export ETL_SOURCE_PAGE_LIMIT=20 ETL_HTTP_BACKOFF_MS=20 ETL_HTTP_BACKOFF_MAX_MS=200
expect() { curl -sf "$FAKE_SOURCE/_control/expect?since=$1&until=$2" | jq ".$3"; }
valid1=$(expect "$W0" "$W1" valid); invalid1=$(expect "$W0" "$W1" invalid)
valid2=$(expect "$W1" "$W2" valid); invalid2=$(expect "$W1" "$W2" invalid)

# ---- 1. a restart in the middle of the second window ----------------------
use_db restart
# Every sales page answers slowly: the first window commits after about 2 s,
# and the restart lands while the second is being read.
curl -sf -X POST "$FAKE_SOURCE/_control/faults" -d '{"path": "/v1/sales", "delay_ms": 400, "count": -1}' >/dev/null
"$ETL_BIN" run --start "$W0" --now "$NOW" >"$IT_TMP/out" 2>"$IT_TMP/err" &
pid=$!
for i in $(seq 1 200); do
  [[ "$(q "SELECT next_window FROM watermark" 2>/dev/null)" == "2026-11-20 01:00:00+00" ]] && break
  sleep 0.05
done
sleep 0.5
check "the run is still going when the first window committed" kill -0 "$pid"
pg_restart
check "PostgreSQL restarted" pg_isready -q -t 10
wait "$pid"; rc=$?
eq "a restart mid-window: exit 69" 69 "$rc"
sed 's/^/# /' "$IT_TMP/err"
said_why "restart"
check "the message names PostgreSQL" grep -q 'PostgreSQL' "$IT_TMP/err"
eq "the watermark stays at the end of the committed window" "2026-11-20 01:00:00+00" "$(q "SELECT next_window FROM watermark")"
eq "the first window's sales stayed" "$valid1" "$(q "SELECT count(*) FROM transactions WHERE transaction_date < '$W1'")"
eq "nothing of the second window was committed" 0 "$(q "SELECT count(*) FROM transactions WHERE transaction_date >= '$W1'")"
eq "only the first window's quarantine rows" "$invalid1" "$(q "SELECT count(*) FROM quarantine WHERE resource = 'sales'")"
eq "one window recorded" 1 "$(q "SELECT count(*) FROM run_windows")"
eq "no line item without its sale" 0 "$(q "SELECT count(*) FROM line_items l WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.transaction_id = l.transaction_id)")"

curl -sf -X DELETE "$FAKE_SOURCE/_control/faults" >/dev/null
exit_is "the next run completes" 0 etl run --now "$NOW" --format json
json_counts_add_up "the next run" "$(cat "$IT_TMP/out")"
eq "the next run loaded the second window" 1 "$(jq .windows "$IT_TMP/out")"
eq "the watermark reached the end" "2026-11-20 02:00:00+00" "$(q "SELECT next_window FROM watermark")"
eq "every valid sale loaded once" "$((valid1 + valid2))" "$(q "SELECT count(*) FROM transactions")"
eq "every invalid sale quarantined once" "$((invalid1 + invalid2))" "$(q "SELECT count(*) FROM quarantine WHERE resource = 'sales'")"
eq "the interrupted run is not left 'running'" 0 "$(q "SELECT count(*) FROM runs WHERE status = 'running'")"

# PostgreSQL gone for good in the middle of a window: the same, and quick.
use_db stopped
curl -sf -X POST "$FAKE_SOURCE/_control/faults" -d '{"path": "/v1/sales", "delay_ms": 300, "count": -1}' >/dev/null
"$ETL_BIN" run --start "$W0" --now "$NOW" >"$IT_TMP/out" 2>"$IT_TMP/err" &
pid=$!
sleep 0.8
as_pg "$pg_bindir/pg_ctl" -D "$PGDATA_DIR/data" -m immediate -w stop >/dev/null
start=$(date +%s)
wait "$pid"; rc=$?
eq "PostgreSQL stopped mid-window: exit 69" 69 "$rc"
sed 's/^/# /' "$IT_TMP/err"
said_why "stopped"
check "it gave up within 30 s of the stop ($(( $(date +%s) - start )) s)" test $(( $(date +%s) - start )) -le 30
as_pg "$pg_bindir/pg_ctl" -D "$PGDATA_DIR/data" -l "$PGDATA_DIR/server.log" -w -t 60 \
  -o "-c listen_addresses='' -c unix_socket_directories='$PGHOST' -c fsync=off" start >/dev/null
check "PostgreSQL is back" pg_isready -q -t 10
eq "nothing half-done after the stop" 0 "$(q "SELECT count(*) FROM transactions WHERE transaction_date >= coalesce((SELECT next_window FROM watermark), '$W0')")"
curl -sf -X DELETE "$FAKE_SOURCE/_control/faults" >/dev/null
exit_is "after the stop, the next run completes" 0 etl run --start "$W0" --now "$NOW"
eq "after the stop, every valid sale loaded" "$((valid1 + valid2))" "$(q "SELECT count(*) FROM transactions")"

# ---- 2. statement timeout ---------------------------------------------------
use_db timeout
exit_is "a malformed ETL_STATEMENT_TIMEOUT: 78" 78 env ETL_STATEMENT_TIMEOUT=soon "$ETL_BIN" status
check "the message names the variable" grep -q 'ETL_STATEMENT_TIMEOUT' "$IT_TMP/err"
# Another session holds transactions exclusively; etl waits 1 s at most.
( echo "BEGIN; LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30);" |
  psql -X -q -d timeout >/dev/null 2>&1 ) &
locker=$!
it_pids+=("$locker")
for i in $(seq 1 100); do
  [[ $(q "SELECT count(*) FROM pg_locks WHERE relation = 'transactions'::regclass AND mode = 'AccessExclusiveLock' AND granted") -gt 0 ]] && break
  sleep 0.05
done
start=$(date +%s)
exit_is "a statement behind a lock, past ETL_STATEMENT_TIMEOUT: 69" 69 \
  env ETL_STATEMENT_TIMEOUT=1s "$ETL_BIN" run --start "$W0" --now "$NOW"
check "it did not wait for the lock ($(( $(date +%s) - start )) s)" test $(( $(date +%s) - start )) -lt 20
said_why "timeout"
check "the message says the statement timed out" grep -qi 'statement timeout' "$IT_TMP/err"
check "the hint names ETL_STATEMENT_TIMEOUT" grep -q 'hint: .*ETL_STATEMENT_TIMEOUT' "$IT_TMP/err"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()" >/dev/null
kill "$locker" 2>/dev/null; wait "$locker" 2>/dev/null
eq "nothing of the timed-out window was committed" 0 "$(q "SELECT count(*) FROM transactions")"
eq "no watermark after the timed-out window" 0 "$(q "SELECT count(*) FROM watermark")"
exit_is "with the lock gone, the next run completes" 0 env ETL_STATEMENT_TIMEOUT=1min "$ETL_BIN" run --start "$W0" --now "$NOW"
eq "and loads everything" "$((valid1 + valid2))" "$(q "SELECT count(*) FROM transactions")"
# 1 ms: most statements finish in time, some may not; either way 0 or a
# clean 69, never anything else.
use_db timeout_1ms
ETL_STATEMENT_TIMEOUT=1ms "$ETL_BIN" run --start "$W0" --now "$NOW" >"$IT_TMP/out" 2>"$IT_TMP/err"; rc=$?
check "ETL_STATEMENT_TIMEOUT=1ms: exit 0 or a clean 69 (got $rc)" test "$rc" -eq 0 -o "$rc" -eq 69
if [[ $rc -eq 69 ]]; then said_why "1ms"; fi

# ---- 3. disk full -------------------------------------------------------------
# A tablespace on a 2 MB tmpfs holds transactions and line_items; a window
# of 20000 sales cannot fit.  Mounting needs root (CAP_SYS_ADMIN).
tiny_dir=$(mktemp -d /tmp/etl-tiny.XXXXXX)
chmod 755 "$tiny_dir"
if [[ $(id -u) -eq 0 ]] && mount -t tmpfs -o size=2m,mode=0700 tmpfs "$tiny_dir" 2>/dev/null; then
  chown postgres:postgres "$tiny_dir"
  use_db diskfull
  q "CREATE TABLESPACE tiny LOCATION '$tiny_dir'" >/dev/null
  q "ALTER TABLE transactions SET TABLESPACE tiny; ALTER TABLE line_items SET TABLESPACE tiny" >/dev/null
  pf=$IT_TMP/big.port
  "$FAKE_DIR/fake_source" --port 0 --port-file "$pf" --sales 20000 --hours 1 --start "$W0" >"$IT_TMP/big.log" 2>&1 &
  it_pids+=($!)
  big=http://127.0.0.1:$(wait_port_file "$pf")
  exit_is "disk full: 69" 69 env ETL_SOURCE_URL="$big" ETL_SOURCE_PAGE_LIMIT=5000 "$ETL_BIN" run --start "$W0" --now "$W1"
  said_why "disk full"
  check "the message says the disk is full" grep -Eqi 'disk is full|no space left' "$IT_TMP/err"
  eq "nothing of the full window was committed" 0 "$(q "SELECT count(*) FROM transactions")"
  eq "no watermark after the full window" 0 "$(q "SELECT count(*) FROM watermark")"
  q "ALTER TABLE transactions SET TABLESPACE pg_default; ALTER TABLE line_items SET TABLESPACE pg_default" >/dev/null
  exit_is "with room again, the next run completes" 0 env ETL_SOURCE_URL="$big" ETL_SOURCE_PAGE_LIMIT=5000 "$ETL_BIN" run --start "$W0" --now "$W1"
  eq "and loads every sale" 20000 "$(q "SELECT count(*) FROM transactions")"
  q "DROP TABLESPACE tiny" >/dev/null 2>&1 || true
else
  echo "# skip: disk full (mounting a tmpfs needs root and CAP_SYS_ADMIN)"
  rmdir "$tiny_dir"; tiny_dir=
fi

it_done

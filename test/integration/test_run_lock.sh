#!/usr/bin/env bash
# Two invocations never work at once: the second exits 75 at once and names
# the holder (a session holding the lock by hand, or a slow etl run with its
# pid and host); a run that died while holding the lock is marked 'killed'
# by the next one, which then does its work.
. "$(dirname "$0")/lib.sh"
. "${ETL_TEST_CASES:-$ETL_SRC_DIR/test/cases}/load/sales.sh"
it_init run_lock
it_migrate
start_fake_source --sales 300 --hours 3 --start 2026-11-20T00:00:00Z

# A session holds the lock: etl run, fetch, backfill and rejects replay refuse.
psql -X -q -c "SELECT pg_advisory_lock(6648940)" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
holder=$!
it_pids+=("$holder")
for _ in $(seq 1 100); do
  [[ $(etl_lock_rows) == 1 ]] && break
  sleep 0.05
done
hpid=$(q "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 6648940 AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
start=$(date +%s)
exit_is "run while the lock is held: 75" 75 etl run --now 2026-11-20T01:10:00Z
check "it exits at once" test $(( $(date +%s) - start )) -lt 5
check "the message names the holder's backend pid ($hpid)" grep -q "pid $hpid" "$IT_TMP/err"
exit_is "fetch while the lock is held: 75" 75 etl fetch --since 2026-11-20T00:00:00Z --until 2026-11-20T01:00:00Z
exit_is "backfill while the lock is held: 75" 75 etl backfill --from 2026-11-20 --to 2026-11-20
exit_is "rejects replay while the lock is held: 75" 75 etl rejects replay
exit_is "rejects list does not need the lock: 0" 0 etl rejects
eq "nothing was recorded or loaded" "0 0" "$(q "SELECT (SELECT count(*) FROM runs) || ' ' || (SELECT count(*) FROM transactions)")"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
# psql is gone but its backend sleeps on holding the lock: end it, and wait
q "SELECT pg_terminate_backend($hpid)" >/dev/null 2>&1 || true
lock_free() {
  for _ in $(seq 1 200); do
    [[ $(etl_lock_rows) == 0 ]] && return 0
    sleep 0.05
  done
  return 1
}
check "the lock is free again" lock_free

# A slow etl run holds it: the second names that run.
faults '[{"path": "/v1/sales", "count": 1, "delay_ms": 3000}]'
"$ETL_BIN" run --start 2026-11-20T00:00:00Z --now 2026-11-20T03:10:00Z --format json >"$IT_TMP/slow.out" 2>"$IT_TMP/slow.err" &
slow=$!
it_pids+=("$slow")
for _ in $(seq 1 100); do
  [[ $(q "SELECT count(*) FROM runs WHERE status = 'running'") == 1 ]] && break
  sleep 0.05
done
exit_is "a second run beside a slow one: 75" 75 etl run --now 2026-11-20T03:10:00Z
check "the message names the running etl run and its pid ($slow)" grep -q "run (pid $slow on $(hostname)" "$IT_TMP/err"
check "the message says what to do" grep -qi 'wait' "$IT_TMP/err"
wait "$slow"
eq "the slow run finished: 0" "0" "$?"
json_counts_add_up "slow run" "$(cat "$IT_TMP/slow.out")"
eq "the slow run loaded its 3 windows" "3" "$(jq .windows "$IT_TMP/slow.out")"
eq "the refused run left no row" "1" "$(q "SELECT count(*) FROM runs")"

# A run killed while it holds the lock: the lock goes with its session, and
# the next run marks its row 'killed', then works.
faults '[{"path": "/v1/sales", "count": 1, "delay_ms": 5000}]'
"$ETL_BIN" run --now 2026-11-20T05:10:00Z >/dev/null 2>&1 &
victim=$!
it_pids+=("$victim")
for _ in $(seq 1 100); do
  [[ $(q "SELECT count(*) FROM runs WHERE status = 'running'") == 1 ]] && break
  sleep 0.05
done
kill -9 "$victim"; wait "$victim" 2>/dev/null
faults '[]'
check "the server let the dead run's lock go" lock_free
exit_is "the run after a killed one: 0" 0 etl run --now 2026-11-20T05:10:00Z --format json
json_counts "after the kill"
eq "the killed run is marked killed" "killed" "$(q "SELECT status FROM runs WHERE pid = $victim")"
eq "it loaded nothing, the next run did" "0|2" \
  "$(q "SELECT (SELECT windows FROM runs WHERE pid = $victim) || '|' || (SELECT windows FROM runs ORDER BY run_id DESC LIMIT 1)")"
eq "the watermark" "2026-11-20 05:00:00+00" "$(q "SELECT next_window FROM watermark")"
it_done

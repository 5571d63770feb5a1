# lib.sh - shared by the integration tests (test/integration/test_*.sh).
#
# Each test sources this, calls it_init NAME, which creates a fresh database
# on the cluster that the CTest fixture started (scripts/pg.sh) and arranges
# that everything started is stopped and dropped at exit.  Assertions count
# passes and failures; it_done prints "N passed, N failed" and sets the exit
# status.  Run one test by hand after `ctest -R pg_start` (or scripts/pg.sh
# start build/pgtest) with ETL_BIN, ETL_BUILD_DIR, ETL_PG_DIR set as in
# test/CMakeLists.txt.

set -u
: "${ETL_BIN:?ETL_BIN must name the etl binary}"
: "${ETL_BUILD_DIR:?ETL_BUILD_DIR must name the build directory}"
: "${ETL_PG_DIR:?ETL_PG_DIR must name the test cluster directory}"
ETL_SRC_DIR=${ETL_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FAKE_DIR=${ETL_FAKE_DIR:-$ETL_BUILD_DIR/test/fake}

it_passed=0
it_failed=0
it_pids=()
it_db=
IT_TMP=

# The harness's own settings stay shell variables: etl warns about ETL_*
# variables it does not know, and must see only what a test sets.
export -n ETL_BIN ETL_BUILD_DIR ETL_PG_DIR ETL_SRC_DIR ETL_TEST_CASES ETL_FAKE_DIR 2>/dev/null
# The environment etl reads must come from the test alone.
for v in $(env | sed -n 's/^\(ETL_[A-Z_]*\)=.*/\1/p'); do
  case "$v" in ETL_BIN|ETL_BUILD_DIR|ETL_PG_DIR|ETL_SRC_DIR|ETL_TEST_CASES|ETL_FAKE_DIR) ;; *) unset "$v" ;; esac
done

it_cleanup() {
  local p
  for p in "${it_pids[@]:-}"; do
    [[ -n "$p" ]] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  if [[ -n "$it_db" ]]; then
    dropdb --if-exists --force "$it_db" 2>/dev/null || true
  fi
  [[ -n "$IT_TMP" ]] && rm -rf "$IT_TMP"
}

# it_init NAME: a fresh database named after the test, and a temp dir $IT_TMP.
it_init() {
  [[ -f "$ETL_PG_DIR/env" ]] || { echo "no test cluster at $ETL_PG_DIR (run ctest, or scripts/pg.sh start $ETL_PG_DIR)" >&2; exit 1; }
  # shellcheck disable=SC1091
  . "$ETL_PG_DIR/env"
  it_db="it_${1}_$$"
  createdb "$it_db" || { echo "createdb $it_db failed" >&2; exit 1; }
  export ETL_DATABASE_URL="postgresql:///$it_db?host=$PGHOST&user=postgres"
  export PGDATABASE="$it_db"
  IT_TMP=$(mktemp -d "/tmp/etl-it-$1.XXXXXX")
  trap it_cleanup EXIT
}

# A fresh, migrated database: it_migrate.
it_migrate() {
  "$ETL_BIN" migrate >/dev/null || { echo "etl migrate failed" >&2; exit 1; }
}

# q SQL: one query's result, unaligned, no headers.
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }

# etl ARGS: the binary under test.
etl() { "$ETL_BIN" "$@"; }

# wait_port_file FILE: wait (10 s at most) for a fake to write its port.
wait_port_file() {
  local i
  for i in $(seq 1 200); do
    [[ -s "$1" ]] && { cat "$1"; return 0; }
    sleep 0.05
  done
  echo "timed out waiting for $1" >&2
  return 1
}

# start_fake_source [ARGS]: starts the fake retail API and exports
# ETL_SOURCE_URL and FAKE_SOURCE (its base URL, for the control API).
start_fake_source() {
  local pf="$IT_TMP/source.port.$RANDOM" port
  "$FAKE_DIR/fake_source" --port 0 --port-file "$pf" "$@" >"$IT_TMP/fake_source.log" 2>&1 &
  it_pids+=($!)
  port=$(wait_port_file "$pf") || exit 1
  export FAKE_SOURCE="http://127.0.0.1:$port"
  export ETL_SOURCE_URL="$FAKE_SOURCE"
}

# start_fake_helix [ARGS]: starts the fake Helix with API key "test-helix-key"
# and exports ETL_HELIX_URL, ETL_HELIX_API_KEY and FAKE_HELIX.
start_fake_helix() {
  local pf="$IT_TMP/helix.port.$RANDOM" port
  "$FAKE_DIR/fake_helix" --port 0 --port-file "$pf" --api-key test-helix-key "$@" >"$IT_TMP/fake_helix.log" 2>&1 &
  it_pids+=($!)
  port=$(wait_port_file "$pf") || exit 1
  export FAKE_HELIX="http://127.0.0.1:$port"
  export ETL_HELIX_URL="$FAKE_HELIX"
  export ETL_HELIX_API_KEY=test-helix-key
}

# The run lock of this test's database (advisory locks are per database;
# other tests' databases on the shared cluster have their own).
etl_lock_rows() {
  q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 6648940 AND granted
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
}

# release_etl_lock: ends every other session holding this database's run
# lock (a psql holder's backend outlives a killed psql pipeline) and waits,
# 10 s at most, until the lock is free.
release_etl_lock() {
  q "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 6648940
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND pid <> pg_backend_pid()" >/dev/null 2>&1 || true
  for _ in $(seq 1 200); do
    [[ $(etl_lock_rows) == 0 ]] && return 0
    sleep 0.05
  done
  return 1
}

# Assertions.  Each prints "ok" or "not ok" with its name.
pass() { it_passed=$((it_passed + 1)); echo "ok - $1"; }
fail() { it_failed=$((it_failed + 1)); echo "not ok - $1${2:+: $2}"; }

# eq NAME EXPECTED ACTUAL
eq() {
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1" "expected [$2], got [$3]"; fi
}

# check NAME COMMAND...: passes when the command succeeds.
check() {
  local name=$1; shift
  if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}

# exit_is NAME STATUS COMMAND...: runs the command (output to $IT_TMP/out,
# $IT_TMP/err) and compares its exit status.
exit_is() {
  local name=$1 want=$2 got; shift 2
  "$@" >"$IT_TMP/out" 2>"$IT_TMP/err"; got=$?
  if [[ "$got" == "$want" ]]; then pass "$name"; else fail "$name" "exit $got, expected $want; stderr: $(head -c 600 "$IT_TMP/err")"; fi
}

# json_counts_add_up NAME JSON: fetched = loaded + duplicates + quarantined
# and loaded = inserted + updated + unchanged (every integration test checks it).
json_counts_add_up() {
  local j=$2
  eq "$1: fetched = loaded + duplicates + quarantined" \
    "$(jq '.fetched' <<<"$j")" "$(jq '.loaded + .duplicates + .quarantined' <<<"$j")"
  eq "$1: loaded = inserted + updated + unchanged" \
    "$(jq '.loaded' <<<"$j")" "$(jq '.inserted + .updated + .unchanged' <<<"$j")"
}

it_done() {
  echo "$it_passed passed, $it_failed failed"
  [[ $it_failed -eq 0 ]]
}

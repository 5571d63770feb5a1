# shellcheck shell=bash disable=SC2034
# bench_lib.sh - shared by test/bench/bench_{ingest,idle,reports,helix_pace}.sh
# (sourced).  The caller sets:
#   BENCH_BUILD    a Release build tree (etl, test/fake/*, test/bench/bench_ingest)
#   BENCH_TMP      a scratch directory (data files, logs), removed by the caller
#   BENCH_RESULTS  a file the figures are appended to, one "key value" a line
# and has a PostgreSQL cluster running (scripts/pg.sh start DIR; DIR/env
# sourced: PGHOST etc.).  Everything a bench starts is stopped by bench_cleanup
# (run from the caller's EXIT trap).

set -u
: "${BENCH_BUILD:?}" "${BENCH_TMP:?}" "${BENCH_RESULTS:?}"
ETL_BIN=$BENCH_BUILD/etl
FAKE_DIR=$BENCH_BUILD/test/fake
BENCH_INGEST=$BENCH_BUILD/test/bench/bench_ingest

# etl must see only the ETL_* settings a bench gives it.
for v in $(env | sed -n 's/^\(ETL_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

bench_pids=()
bench_dbs=()

# The fakes' pids, in a file: start_fake runs in a command substitution
# (URL=$(start_fake ...)), a subshell whose bench_pids+= the caller never
# sees ($$ is still the caller's pid there).
bench_pid_file=$BENCH_TMP/fake_pids.$$

bench_cleanup() {
  local p d
  [[ -f "$bench_pid_file" ]] && mapfile -t -O "${#bench_pids[@]}" bench_pids <"$bench_pid_file"
  for p in "${bench_pids[@]:-}"; do
    [[ -n "$p" ]] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  bench_pids=()
  rm -f "$bench_pid_file"
  for d in "${bench_dbs[@]:-}"; do
    [[ -n "$d" ]] && dropdb --if-exists --force "$d" 2>/dev/null
  done
  bench_dbs=()
}

# bench_note TEXT: a progress line on stderr.
bench_note() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# result KEY VALUE: one figure for the summary table.
result() { printf '%s %s\n' "$1" "$2" >>"$BENCH_RESULTS"; }

# median: the median of the numbers on stdin (one a line).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# calc EXPR: floating-point arithmetic.
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }

# now_s: seconds since the epoch, with nanoseconds.
now_s() { date +%s.%N; }

# wait_port_file FILE: the port a fake wrote (10 s at most).
wait_port_file() {
  local i
  for i in $(seq 1 200); do
    [[ -s "$1" ]] && { cat "$1"; return 0; }
    sleep 0.05
  done
  echo "bench: timed out waiting for $1" >&2
  return 1
}

# start_fake NAME ARGS...: starts test/fake/NAME on a free port; prints its URL.
start_fake() {
  local name=$1 pf="$BENCH_TMP/$1.port.$RANDOM" port; shift
  "$FAKE_DIR/$name" --port 0 --port-file "$pf" "$@" >>"$BENCH_TMP/$name.log" 2>&1 &
  echo "$!" >>"$bench_pid_file"
  port=$(wait_port_file "$pf") || return 1
  echo "http://127.0.0.1:$port"
}

# bench_db NAME: a fresh, migrated database; exports ETL_DATABASE_URL and
# PGDATABASE for it.
bench_db() {
  dropdb --if-exists --force "$1" 2>/dev/null
  createdb "$1" || return 1
  bench_dbs+=("$1")
  export PGDATABASE=$1
  export ETL_DATABASE_URL="postgresql:///$1?host=$PGHOST&user=postgres"
  "$ETL_BIN" migrate >/dev/null || { echo "bench: etl migrate failed on $1" >&2; return 1; }
}

# drop_db NAME
drop_db() { dropdb --if-exists --force "$1" 2>/dev/null; }

# q SQL: one query's result, unaligned, no headers (on $PGDATABASE).
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }

# timed OUTFILE CMD...: runs CMD with its stdout to OUTFILE (stderr to
# $BENCH_TMP/stderr.log) and sets TIMED_WALL (seconds) and TIMED_RSS (peak
# RSS in KiB, with GNU time; else "nan").  Returns CMD's status.
timed() {
  local out=$1 t0 t1 rc; shift
  TIMED_RSS=nan
  t0=$(now_s)
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f '%M' -o "$BENCH_TMP/time.out" "$@" >"$out" 2>>"$BENCH_TMP/stderr.log"; rc=$?
    TIMED_RSS=$(tail -n 1 "$BENCH_TMP/time.out")
  else
    "$@" >"$out" 2>>"$BENCH_TMP/stderr.log"; rc=$?
  fi
  t1=$(now_s)
  TIMED_WALL=$(calc "$t1 - $t0")
  return $rc
}

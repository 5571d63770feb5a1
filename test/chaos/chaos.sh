#!/usr/bin/env bash
# chaos.sh - the crash test: etl run is SIGKILLed at random moments, then
# runs to the end, and the database and Helix must be exactly what one
# uninterrupted run makes.
#
#   test/chaos/chaos.sh [--trials N] [--seed S] [--keep]
#
# Two twins, each with its own database, fake retail API and fake Helix
# (same generated data: the fakes are deterministic from their arguments):
#
#   twin    one `etl run` over six hour windows, nothing in its way;
#   victim  per trial a fresh database: 1-3 `etl run`s, each SIGKILLed at a
#           random moment (the source answers slowly, Helix too, so a kill
#           lands anywhere: reference refresh, fetching, COPY, merge, commit,
#           sending), plus a lost Helix answer (the fake stores the event,
#           then drops the connection) and a 503 on each side; then faults
#           off, `etl run` until it exits 0, and `etl emit` until nothing is
#           pending.
#
# After each trial the victim must equal the twin: every table's content
# without run bookkeeping (run ids, timestamps, attempt counts; see
# snapshot below), the events each fake Helix holds (camera, time,
# attributes), no event created twice, nothing pending, failed or in
# flight.  A difference prints the tables' diff and fails the trial.
#
# The kill moments spread over one uninterrupted victim run, measured
# first (the first run of a trial: all of it; later runs: the first half,
# since they have less left to do).  The summary says how many kills
# landed while windows were still to load and how many with Helix requests
# in flight.
#
# Environment (all optional): ETL_BIN (default build/etl), ETL_BUILD_DIR
# (default: the binary's directory; the fakes are in test/fake under it),
# ETL_PG_DIR (a cluster started by scripts/pg.sh; default: a private one,
# started and stopped here), CHAOS_SEED (as --seed), CHAOS_VERBOSE=1 (a
# line per run: kill moment, exit status, watermark).  Exit 0 when every
# trial passed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)

trials=10
seed=${CHAOS_SEED:-$(( $(date +%s) % 32768 ))}
keep=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --trials) trials=${2:?--trials needs a number}; shift 2 ;;
    --seed) seed=${2:?--seed needs a number}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//; /^set -u/d'; exit 0 ;;
    *) echo "usage: test/chaos/chaos.sh [--trials N] [--seed S] [--keep]" >&2; exit 64 ;;
  esac
done
[[ "$trials" =~ ^[0-9]+$ && "$trials" -ge 1 ]] || { echo "chaos.sh: --trials needs a positive number" >&2; exit 64; }

ETL_BIN=${ETL_BIN:-$top/build/etl}
ETL_BUILD_DIR=${ETL_BUILD_DIR:-$(dirname "$ETL_BIN")}
FAKE_DIR=${ETL_FAKE_DIR:-$ETL_BUILD_DIR/test/fake}
for f in "$ETL_BIN" "$FAKE_DIR/fake_source" "$FAKE_DIR/fake_helix"; do
  [[ -x "$f" ]] || { echo "chaos.sh: $f not found; build first (cmake --build build)" >&2; exit 69; }
done
for t in jq curl psql createdb dropdb; do
  command -v "$t" >/dev/null || { echo "chaos.sh: $t is needed" >&2; exit 69; }
done
# etl must see only the settings given here (it warns about ETL_* names it
# does not know): the harness's own stay shell variables.
pg_dir=${ETL_PG_DIR:-}
export -n ETL_BIN ETL_BUILD_DIR ETL_PG_DIR ETL_SRC_DIR ETL_TEST_CASES ETL_FAKE_DIR 2>/dev/null
for v in $(env | sed -n 's/^\(ETL_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

work=$(mktemp -d /tmp/etl-chaos.XXXXXX)
pids=()
own_pg=
dbs=()
cleanup() {
  local p d
  for p in "${pids[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  for d in "${dbs[@]:-}"; do [[ -n "$d" ]] && dropdb --if-exists --force "$d" 2>/dev/null; done
  [[ -n "$own_pg" ]] && bash "$top/scripts/pg.sh" stop "$work/pg" >/dev/null 2>&1
  if [[ -n "$keep" ]]; then echo "# kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z "$pg_dir" || ! -f "$pg_dir/env" ]]; then
  pg_dir=$work/pg
  own_pg=1
  bash "$top/scripts/pg.sh" start "$pg_dir" >/dev/null || { echo "chaos.sh: cannot start PostgreSQL" >&2; exit 69; }
fi
# shellcheck disable=SC1091
. "$pg_dir/env"
unset ETL_DATABASE_URL

# ---- the scenario ---------------------------------------------------------

START=2026-11-20T00:00:00Z      # six hour windows: [00:00, 06:00)
NOW=2026-11-20T06:30:00Z
SOURCE_ARGS=(--seed 7 --sales 300 --hours 6 --start "$START" --invalid-ratio 0.06
             --duplicate-ratio 0.05 --out-of-window 1)
HELIX_KEY=chaos-helix-key
RUN_ARGS=(run --start "$START" --now "$NOW")

url_of() { echo "postgresql:///$1?host=$PGHOST&user=postgres"; }

# start_fake VAR NAME BINARY ARGS...: starts a fake, keeps its pid for
# cleanup and sets VAR to its base URL.  (Not "VAR=$(start_fake ...)": a
# command substitution is a subshell, whose pids+= would be lost and the
# fake left running after the script.)
start_fake() {
  local var=$1 name=$2 bin=$3 i; shift 3
  "$FAKE_DIR/$bin" --port 0 --port-file "$work/$name.port" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for i in $(seq 1 200); do
    if [[ -s "$work/$name.port" ]]; then
      printf -v "$var" 'http://127.0.0.1:%s' "$(cat "$work/$name.port")"
      return 0
    fi
    sleep 0.05
  done
  echo "chaos.sh: $name did not start" >&2
  exit 1
}

start_fake twin_src twin_source fake_source "${SOURCE_ARGS[@]}"
start_fake twin_helix twin_helix fake_helix --api-key "$HELIX_KEY" --rate-limit 0 --now "$NOW"
start_fake victim_src victim_source fake_source "${SOURCE_ARGS[@]}"
start_fake victim_helix victim_helix fake_helix --api-key "$HELIX_KEY" --rate-limit 0 --now "$NOW" --latency-ms 25

# twin_env DB SOURCE HELIX: sets ETL_ENV to the settings of etl against one
# twin's servers, for `env "${ETL_ENV[@]}" "$ETL_BIN" ...`.  (Not a shell
# function running etl: in the background that would be a subshell, and
# SIGKILL would hit the subshell while etl ran on.)  Small pages and
# several senders make many requests, so a kill has many moments to land
# in; short backoffs keep the faults cheap.
twin_env() {
  ETL_ENV=(ETL_DATABASE_URL="$(url_of "$1")" ETL_SOURCE_URL="$2"
           ETL_HELIX_URL="$3" ETL_HELIX_API_KEY="$HELIX_KEY"
           ETL_SOURCE_PAGE_LIMIT=15 ETL_HELIX_CONCURRENCY=3 ETL_HELIX_RATE=300
           ETL_HTTP_BACKOFF_MS=20 ETL_HTTP_BACKOFF_MAX_MS=200 ETL_HTTP_TIMEOUT=20)
}

# snapshot DB FILE: every table's content that must not depend on how the
# work was cut up by kills.  Left out: run bookkeeping (runs, run_windows,
# run_id columns), wall-clock timestamps (loaded_at, updated_at, queued_at,
# sent_at, quarantined_at, created_at, deleted_at's value), attempt counts
# and the event type's uid (each fake Helix makes its own).
snapshot() {
  local db=$1 out=$2
  psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" >"$out" 2>&1 <<'SQL'
\echo == etl_migrations
SELECT version FROM etl_migrations ORDER BY 1;
\echo == stores
SELECT store_id, name, address, city, province, country, phone, email, deleted_at IS NOT NULL FROM stores ORDER BY 1;
\echo == pos
SELECT pos_id, store_id, name, deleted_at IS NOT NULL FROM pos ORDER BY 1;
\echo == cameras
SELECT camera_id, name, store_id, pos_id, model, status, deleted_at IS NOT NULL FROM cameras ORDER BY 1;
\echo == items
SELECT item_id, sku, name, price, currency, quantity, deleted_at IS NOT NULL FROM items ORDER BY 1;
\echo == exchange_rates
SELECT currency, date, rate_to_usd FROM exchange_rates ORDER BY 1, 2;
\echo == customers
SELECT customer_id, email, first_name, last_name, accepts_marketing, last_transaction_date, last_transaction_id
FROM customers ORDER BY 1;
\echo == transactions
SELECT transaction_id, transaction_date, updated_at, store_id, pos_id, camera_id, customer_id,
       customer_email, customer_first_name, customer_last_name, customer_accepts_marketing,
       billing_address, shipping_address, billing_province, billing_country, currency,
       financial_status, total_amount, total_discounts, total_tax, units, content_md5
FROM transactions ORDER BY 1;
\echo == line_items
SELECT transaction_id, line_no, item_id, quantity, unit_price FROM line_items ORDER BY 1, 2;
\echo == quarantine
SELECT resource, record_key, reasons, raw FROM quarantine ORDER BY resource, record_key, raw::text, reasons;
\echo == watermark
SELECT next_window FROM watermark;
\echo == helix_event_types
SELECT name, event_schema FROM helix_event_types ORDER BY 1;
\echo == helix_outbox
SELECT transaction_id, camera_id, event_type_uid IS NOT NULL, time_ms, base_ms, attributes, sent_attributes,
       op, state, last_error, footage_url, footage_due
FROM helix_outbox ORDER BY 1;
SQL
}

# events URL FILE: what a fake Helix holds, canonical and sorted.
events() {
  curl -sf "$1/_control/events" |
    jq -c 'map({camera_id, time_ms, attributes, flagged}) | sort_by(.camera_id, .time_ms) | .[]' >"$2"
}

# ---- the twin -------------------------------------------------------------

twin_db=chaos_twin_$$
tmpl_db=chaos_tmpl_$$
dbs+=("$twin_db" "$tmpl_db")
createdb "$tmpl_db" && env ETL_DATABASE_URL="$(url_of "$tmpl_db")" "$ETL_BIN" migrate ||
  { echo "chaos.sh: cannot make the template database" >&2; exit 1; }
createdb -T "$tmpl_db" "$twin_db" || exit 1
t0=$(date +%s%N)
twin_env "$twin_db" "$twin_src" "$twin_helix"
if ! env "${ETL_ENV[@]}" "$ETL_BIN" "${RUN_ARGS[@]}" >"$work/twin.out" 2>"$work/twin.err"; then
  echo "chaos.sh: the twin's run failed:" >&2; cat "$work/twin.err" >&2; exit 1
fi
twin_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
snapshot "$twin_db" "$work/twin.snap"
events "$twin_helix" "$work/twin.events"
n_tx=$(psql -X -A -t -d "$twin_db" -c "SELECT count(*) FROM transactions")
n_q=$(psql -X -A -t -d "$twin_db" -c "SELECT count(*) FROM quarantine")
n_ev=$(wc -l <"$work/twin.events")
echo "# twin: $n_tx transactions, $n_q quarantined, $n_ev Helix events, ${twin_ms} ms uninterrupted"
if [[ "$n_tx" -lt 200 || "$n_q" -lt 5 || "$n_ev" -lt 100 ]]; then
  echo "chaos.sh: the twin's run loaded too little to compare anything" >&2; exit 1
fi

# ---- the victim's trials --------------------------------------------------

victim_db=chaos_victim_$$
dbs+=("$victim_db")

# set_faults: slow answers everywhere, one 503 from each side, and one
# Helix create whose answer is lost after the event was stored.
set_faults() {
  curl -sf -X POST "$victim_src/_control/reset" >/dev/null
  curl -sf -X POST "$victim_helix/_control/reset" >/dev/null
  curl -sf -X POST "$victim_src/_control/faults" -d "[
     {\"path\": \"/v1/sales\", \"status\": 503, \"skip\": $((RANDOM % 12)), \"count\": 1},
     {\"path\": \"/v1/\", \"delay_ms\": 40, \"count\": -1}]" >/dev/null
  curl -sf -X POST "$victim_helix/_control/faults" -d "[
     {\"method\": \"POST\", \"path\": \"/cameras/v1/video_tagging/event\", \"drop_after\": true, \"skip\": $((RANDOM % 60)), \"count\": 1},
     {\"method\": \"POST\", \"path\": \"/cameras/v1/video_tagging/event\", \"status\": 503, \"skip\": $((RANDOM % 60)), \"count\": 1}]" >/dev/null
}

# wait_unlocked: until no session holds etl's run lock on the victim (10 s at most).
wait_unlocked() {
  local i
  for i in $(seq 1 200); do
    [[ $(psql -X -A -t -d "$victim_db" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
           AND objid = 6648940 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == 0 ]] && return 0
    sleep 0.05
  done
}

# A calibration run with the faults on: how long one uninterrupted victim
# run takes, so that kill moments spread over all of it.
dropdb --if-exists "$victim_db" 2>/dev/null
createdb -T "$tmpl_db" "$victim_db" || exit 1
RANDOM=$seed
set_faults
t0=$(date +%s%N)
twin_env "$victim_db" "$victim_src" "$victim_helix"
env "${ETL_ENV[@]}" "$ETL_BIN" "${RUN_ARGS[@]}" >/dev/null 2>"$work/calibrate.err" ||
  { echo "chaos.sh: the calibration run failed:" >&2; cat "$work/calibrate.err" >&2; exit 1; }
slow_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
window_ms=$(( slow_ms * 11 / 10 ))
echo "# victim: one run with slow servers takes ${slow_ms} ms; kills land in [0, ${window_ms}) ms; seed $seed"

RANDOM=$seed
passed=0 failed=0 kills=0 early=0 locked=0 kill_inflight=0 kill_loading=0
for trial in $(seq 1 "$trials"); do
  dropdb --if-exists --force "$victim_db" 2>/dev/null
  createdb -T "$tmpl_db" "$victim_db" || exit 1
  set_faults
  nk=$(( RANDOM % 3 + 1 ))
  moments=()
  for k in $(seq 1 "$nk"); do
    # a later run has less left to do: aim its kill at the first half
    span=$(( k == 1 ? window_ms : window_ms / 2 ))
    ms=$(( (RANDOM * 32768 + RANDOM) % span ))
    moments+=("$ms")
    # env execs etl: $! is etl's own pid
    env "${ETL_ENV[@]}" "$ETL_BIN" "${RUN_ARGS[@]}" >"$work/kill.out" 2>"$work/kill.err" &
    pid=$!
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -KILL "$pid" 2>/dev/null
    # A run that ended before the kill is a zombie that kill still
    # "succeeds" on: its exit status says what happened.
    wait "$pid" 2>/dev/null; rc=$?
    [[ -n "${CHAOS_VERBOSE:-}" ]] && echo "#   run $k: kill at $ms ms, exit $rc, watermark" \
      "$(psql -X -A -t -d "$victim_db" -c "SELECT next_window FROM watermark")"
    case $rc in
      137)
        kills=$((kills + 1))
        # The killed run's backend holds the run lock until PostgreSQL
        # notices the client is gone; the next run would only exit 75.
        wait_unlocked
        # Where the kill landed, for the summary: while windows were still
        # to load, and with Helix requests whose outcome was unknown.
        st=$(psql -X -A -t -d "$victim_db" -c "SELECT (SELECT count(*) FROM helix_outbox WHERE state = 'inflight'),
               (SELECT count(*) FROM watermark WHERE next_window >= '2026-11-20T06:00:00Z')")
        [[ ${st%%|*} -gt 0 ]] && kill_inflight=$((kill_inflight + 1))
        [[ ${st##*|} -eq 0 ]] && kill_loading=$((kill_loading + 1))
        ;;
      0) early=$((early + 1)) ;;
      75) locked=$((locked + 1)) ;;
      *) echo "# trial $trial: a run exited $rc before its kill: $(head -c 300 "$work/kill.err")" ;;
    esac
  done

  # Faults off; run to the end.  A run may find the lock still held for a
  # moment, until PostgreSQL notices the killed client's connection closed.
  curl -sf -X DELETE "$victim_src/_control/faults" >/dev/null
  curl -sf -X DELETE "$victim_helix/_control/faults" >/dev/null
  ok=
  for attempt in $(seq 1 50); do
    env "${ETL_ENV[@]}" "$ETL_BIN" "${RUN_ARGS[@]}" >"$work/final.out" 2>"$work/final.err"
    rc=$?
    [[ $rc -eq 0 ]] && { ok=1; break; }
    [[ $rc -eq 75 ]] || break
    sleep 0.2
  done
  for attempt in $(seq 1 10); do
    [[ -n "$ok" ]] || break
    pending=$(psql -X -A -t -d "$victim_db" -c "SELECT count(*) FROM helix_outbox WHERE state IN ('pending', 'inflight')")
    [[ "$pending" == 0 ]] && break
    env "${ETL_ENV[@]}" "$ETL_BIN" emit --now "$NOW" >/dev/null 2>>"$work/final.err"
  done

  why=()
  [[ -n "$ok" ]] || why+=("the final run exited $rc: $(head -c 300 "$work/final.err")")
  snapshot "$victim_db" "$work/victim.snap"
  events "$victim_helix" "$work/victim.events"
  if ! cmp -s "$work/twin.snap" "$work/victim.snap"; then
    why+=("tables differ from the twin's: $(diff "$work/twin.snap" "$work/victim.snap" | head -20)")
  fi
  if ! cmp -s "$work/twin.events" "$work/victim.events"; then
    why+=("Helix events differ from the twin's ($(wc -l <"$work/victim.events") vs $n_ev): $(diff "$work/twin.events" "$work/victim.events" | head -6)")
  fi
  dup=$(curl -sf "$victim_helix/_control/stats" | jq .duplicates)
  twice=$(curl -sf "$victim_helix/_control/events" | jq '[.[] | select(.creates > 1)] | length')
  [[ "$dup" == 0 && "$twice" == 0 ]] || why+=("events created twice: duplicates=$dup, events with creates > 1: $twice")
  left=$(psql -X -A -t -d "$victim_db" -c "SELECT count(*) FROM helix_outbox WHERE state <> 'sent'")
  [[ "$left" == 0 ]] || why+=("$left outbox rows not sent")

  if [[ ${#why[@]} -eq 0 ]]; then
    passed=$((passed + 1))
    echo "ok - trial $trial: killed at ${moments[*]} ms, then identical to the twin"
  else
    failed=$((failed + 1))
    echo "not ok - trial $trial: killed at ${moments[*]} ms (seed $seed)"
    printf '#   %s\n' "${why[@]}"
    cp "$work/victim.snap" "$work/victim.trial$trial.snap"
  fi
done

echo "# $kills kills in $trials trials: $kill_loading while windows were still to load, $kill_inflight" \
     "with Helix requests in flight; $early runs finished before their kill, $locked found the lock held"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

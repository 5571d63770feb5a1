#!/usr/bin/env bash
# crontab.example in a real cron: its job line, with the schedule made
# every minute, the user root and test paths, goes into /etc/cron.d; cron
# (the one running, or one this test starts and stops) runs it within about
# a minute, and the run is silent, exits 0 and is recorded.  Needs root and
# Debian's cron; skipped (with the reason) otherwise.  Takes about a minute.
. "$(dirname "$0")/lib.sh"

if [[ $(id -u) -ne 0 ]]; then
  echo "skipped: installing a job in /etc/cron.d needs root"; exit 0
fi
if ! command -v cron >/dev/null; then
  echo "skipped: no cron daemon (Debian: apt-get install cron)"; exit 0
fi
if [[ ! -d /etc/cron.d ]]; then
  echo "skipped: no /etc/cron.d"; exit 0
fi

it_init ops_cron
it_migrate

cronfile="/etc/cron.d/etl-ittest-$$"  # no dot: cron ignores such names
cron_pid=
pidfile_was_there=$([[ -e /var/run/crond.pid ]] && echo 1)
cron_cleanup() {
  rm -f "$cronfile"
  if [[ -n "$cron_pid" ]]; then
    kill "$cron_pid" 2>/dev/null; wait "$cron_pid" 2>/dev/null
    # Debian's cron leaves its pid file behind; leave the machine as found.
    [[ -z "$pidfile_was_there" ]] && rm -f /var/run/crond.pid
  fi
  it_cleanup
}
trap cron_cleanup EXIT

# What the job runs: the hourly run against the fake source when etl run is
# built, else etl status (which at least connects and reads).
cmd_word=status
if ! grep -q 'not implemented' "$ETL_SRC_DIR/cmd/run.c"; then
  cmd_word=run
  start_fake_source
  q "INSERT INTO watermark (next_window) VALUES ('2026-11-20T20:00:00Z')" >/dev/null
fi
{
  echo "ETL_DATABASE_URL=$ETL_DATABASE_URL"
  [[ $cmd_word == run ]] && echo "ETL_SOURCE_URL=$ETL_SOURCE_URL"
  echo "ETL_NOW=2026-11-21T00:05:00Z"
} >"$IT_TMP/etl.env"
chmod 644 "$IT_TMP/etl.env"

# The example's own lines, adapted: every minute, as root, our binary and
# settings; output kept in files instead of mailed (there is no MTA here).
line=$(grep -Ev '^\s*(#|$)|^[A-Z_]+=' "$ETL_SRC_DIR/crontab.example")
read -r _ _ _ _ _ user cmd <<<"$line"
eq "the example's command" "etl --config /etc/etl/etl.env run" "$cmd"
cmd=${cmd/#etl /$ETL_BIN }
cmd=${cmd/\/etc\/etl\/etl.env/$IT_TMP/etl.env}
cmd=${cmd% run}" $cmd_word"
{
  grep -E '^(SHELL|PATH)=' "$ETL_SRC_DIR/crontab.example"
  echo 'MAILTO=""'
  echo "* * * * * root  $cmd >$IT_TMP/cron.out 2>$IT_TMP/cron.err; echo \$? >$IT_TMP/cron.rc"
} >"$IT_TMP/crontab"
install -o root -g root -m 644 "$IT_TMP/crontab" "$cronfile"
echo "# installed $cronfile:"; sed 's/^/#   /' "$cronfile"

if pgrep -x cron >/dev/null; then
  echo "# using the cron already running"
else
  cron -f >"$IT_TMP/cron.log" 2>&1 &
  cron_pid=$!
  sleep 1
  check "cron started" kill -0 "$cron_pid"
fi

# The job runs at the start of the next minute (or the one after, when cron
# read its files just after a minute began).
for _ in $(seq 1 130); do
  [[ -s "$IT_TMP/cron.rc" ]] && break
  sleep 1
done
check "cron ran the job within 130 s" test -s "$IT_TMP/cron.rc"
eq "the job exited 0" "0" "$(cat "$IT_TMP/cron.rc" 2>/dev/null)"
eq "nothing on stderr (nothing to mail)" "" "$(cat "$IT_TMP/cron.err" 2>/dev/null)"
if [[ $cmd_word == run ]]; then
  eq "silent on success: nothing on stdout either" "" "$(cat "$IT_TMP/cron.out" 2>/dev/null)"
  eq "the run is recorded, ok, with its 4 windows" "run|ok|4" \
    "$(q "SELECT command || '|' || status || '|' || windows FROM runs ORDER BY run_id LIMIT 1")"
  eq "the watermark moved" "2026-11-21 00:00:00+00" "$(q "SELECT next_window AT TIME ZONE 'UTC' || '+00' FROM watermark")"
else
  check "the job's output is etl status" grep -q '^watermark' "$IT_TMP/cron.out"
fi
rm -f "$cronfile"
it_done

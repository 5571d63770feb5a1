#!/usr/bin/env bash
# The progress line (lib/progress): drawn on a terminal only, redrawn in
# place at most four times a second, erased at the end; nothing at all when
# stderr is a pipe or a file (cron) or when disabled (-q).  The terminal is a
# pseudo-terminal from script(1) (util-linux).  Then etl backfill and etl
# fetch themselves: days or windows and records on a terminal, nothing under
# -q or without a terminal, log lines instead under -v.
. "$(dirname "$0")/lib.sh"
it_init ops_progress

helper="$ETL_BUILD_DIR/test/test_progress"
[[ -x "$helper" ]] || { echo "no $helper: build the unit tests" >&2; exit 1; }

# Not a terminal: not one byte besides the helper's own "done".
"$helper" --demo 2>"$IT_TMP/err" >/dev/null
eq "stderr to a file: silent" "done" "$(cat "$IT_TMP/err")"
eq "stderr to a pipe: silent" "done" "$("$helper" --demo 2>&1 | cat)"

if ! command -v script >/dev/null; then
  echo "# skipped the terminal checks: script(1) not found (Debian: bsdutils)"
  it_done; exit
fi

# on_tty FILE CMD...: runs CMD with a pseudo-terminal as stdin, stdout and
# stderr, and keeps what the terminal received in FILE.
on_tty() {
  local out=$1; shift
  script -qec "$*" /dev/null </dev/null >"$out" 2>&1
}

on_tty "$IT_TMP/tty" "$helper" --demo
draws=$(tr '\r' '\n' <"$IT_TMP/tty" | grep -c '^backfill: ')
check "on a terminal it draws ($draws times)" test "$draws" -ge 2
check "at most four times a second (1.75 s: $draws drawings)" test "$draws" -le 8
check "it shows progress with the unit and a percentage" grep -q 'backfill: [0-9]/6 days ([0-9]*%), [0-9,]* records' "$IT_TMP/tty"
check "it redraws in place with a carriage return, no newline" \
  bash -c "! tr -d '\n' <'$IT_TMP/tty' | grep -q $'backfill[^\r]*\n'; ! grep -q '^backfill' '$IT_TMP/tty'"
last=$(tr -d '\n' <"$IT_TMP/tty" | sed 's/\r*$//' | awk -F'\r' '{print $NF}')
eq "the line is erased before what follows" "done" "$last"
erased=$(tr -d '\n' <"$IT_TMP/tty" | sed 's/\r*$//' | awk -F'\r' '{print $(NF-1)}')
check "erased with spaces" bash -c "[[ '$erased' =~ ^\ +$ ]]"
check "no escape sequences" bash -c "! grep -q $'\e' '$IT_TMP/tty'"
check "quick work shows nothing: no drawing in the first half second (0/6, 1/6)" \
  bash -c "! grep -Eq 'backfill: [01]/6' '$IT_TMP/tty'"

on_tty "$IT_TMP/tty" "$helper" --demo --disabled
eq "disabled (-q): nothing, even on a terminal" "done" "$(tr -d '\r\n' <"$IT_TMP/tty")"

on_tty "$IT_TMP/tty" "$helper" --burst
draws=$(tr '\r' '\n' <"$IT_TMP/tty" | grep -c '^fetch: ')
updates=$(tr -d '\r\n' <"$IT_TMP/tty" | sed 's/.*done //')
check "a tight loop of $updates updates draws only $draws times in 1.2 s" bash -c "[[ $draws -ge 1 && $draws -le 5 && $updates -gt 1000 ]]"
check "with no total: pages and records, no percentage" bash -c "grep -q 'fetch: [0-9,]* pages, [0-9,]* records' '$IT_TMP/tty' && ! grep -q '%' '$IT_TMP/tty'"


# etl backfill and fetch, against a slow source (every page of sales takes
# 0.3 s, so the work outlasts the half second before the first drawing).
it_migrate
start_fake_source --sales 4000 --start 2026-11-20T00:00:00Z --hours 96
curl -fsS -X POST --data '[{"path": "/v1/sales", "delay_ms": 300, "count": -1}]' "$FAKE_SOURCE/_control/faults" >/dev/null

check "backfill on a terminal: 0" on_tty "$IT_TMP/tty" "$ETL_BIN" backfill --from 2026-11-20 --to 2026-11-23
draws=$(tr '\r' '\n' <"$IT_TMP/tty" | grep -c '^backfill: ')
check "backfill draws its line ($draws times)" test "$draws" -ge 1
check "backfill counts days and records" grep -Eq 'backfill: [0-9]/4 days \([0-9]+%\), [0-9,]+ records' "$IT_TMP/tty"
eq "backfill: no newline: the line is redrawn in place, and a success prints nothing else" \
  "0" "$(tr -cd '\n' <"$IT_TMP/tty" | wc -c)"
last=$(sed 's/\r*$//' "$IT_TMP/tty" | awk -F'\r' '{print $NF}')
check "backfill: the line is erased with spaces at the end" bash -c "[[ '$last' =~ ^\ +$ ]]"
eq "backfill loaded the 4 days" "4000" "$(q "SELECT count(*) FROM transactions")"

check "fetch on a terminal: 0" on_tty "$IT_TMP/tty" "$ETL_BIN" fetch --since 2026-11-21T00:00:00Z --until 2026-11-21T06:00:00Z
check "fetch counts windows and records" grep -Eq 'fetch: [0-9]/6 windows \([0-9]+%\), [0-9,]+ records' "$IT_TMP/tty"

check "backfill -q on a terminal: 0" on_tty "$IT_TMP/tty" "$ETL_BIN" backfill --from 2026-11-20 --to 2026-11-22 -q
eq "-q: nothing at all, even on a terminal" "" "$(cat "$IT_TMP/tty")"
check "backfill -v on a terminal: 0" on_tty "$IT_TMP/tty" "$ETL_BIN" backfill --from 2026-11-20 --to 2026-11-22 -v
check "-v: a line per day instead" grep -q 'window 2026-11-22T00:00:00Z to 2026-11-23T00:00:00Z' "$IT_TMP/tty"
check "-v: no progress line" bash -c "! grep -q 'backfill: ' '$IT_TMP/tty'"
exit_is "backfill with stderr to a file (cron): 0" 0 etl backfill --from 2026-11-20 --to 2026-11-22
eq "not a terminal: not one byte" "" "$(cat "$IT_TMP/out" "$IT_TMP/err")"
exit_is "fetch with stderr to a file (cron): 0" 0 etl fetch --since 2026-11-21T00:00:00Z --until 2026-11-21T03:00:00Z
eq "fetch, not a terminal: not one byte" "" "$(cat "$IT_TMP/out" "$IT_TMP/err")"

eq "every run's counts add up (the runs table)" "0" \
  "$(q "SELECT count(*) FROM runs WHERE fetched <> loaded + duplicates + quarantined OR loaded <> inserted + updated + unchanged")"
# etl emit: events sent so far out of those queued, on a terminal only.
. "$(dirname "$0")/helix_lib.sh"
q "TRUNCATE transactions, line_items, customers CASCADE" >/dev/null
start_fake_helix --latency-ms 150 --rate-limit 0
seed_reference
q "INSERT INTO transactions (transaction_id, transaction_date, store_id, pos_id, camera_id,
     currency, financial_status, total_amount, units, content_md5)
   SELECT 'E-' || lpad(i::text, 3, '0'), date_trunc('hour', now()) - interval '1 hour' + i * interval '1 second',
          12, 34, 'cam-' || (i % 3 + 1), 'USD', 'paid', i, 1, 'x'
   FROM generate_series(1, 12) i;
   INSERT INTO line_items SELECT transaction_id, 1, 1, 1, total_amount FROM transactions;" >/dev/null
enqueue
check "emit on a terminal: 0" on_tty "$IT_TMP/tty" env ETL_HELIX_CONCURRENCY=1 ETL_HELIX_RATE=100 "$ETL_BIN" emit
check "emit counts events out of those queued" grep -Eq 'emit: [0-9]+/12 events \([0-9]+%\)' "$IT_TMP/tty"
last=$(tr -d '\n' <"$IT_TMP/tty" | sed 's/\r*$//' | awk -F'\r' '{print $NF}')
check "emit: the line is erased at the end" bash -c "[[ '$last' =~ ^\ *$ ]]"
eq "emit sent every event" "12" "$(q "SELECT count(*) FROM helix_outbox WHERE state = 'sent'")"
it_done

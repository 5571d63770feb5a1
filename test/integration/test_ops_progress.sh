#!/usr/bin/env bash
# The progress line (lib/progress): drawn on a terminal only, redrawn in
# place at most four times a second, erased at the end; nothing at all when
# stderr is a pipe or a file (cron) or when disabled (-q).  The terminal is a
# pseudo-terminal from script(1) (util-linux).
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

it_done

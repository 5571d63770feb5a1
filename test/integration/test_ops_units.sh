#!/usr/bin/env bash
# The scheduling files an operator installs: crontab.example (the line, its
# schedule, its comments, crontab's own syntax check) and the systemd units
# (their required keys, systemd-analyze verify, calendar and security).
# Where a tool is missing the check that needs it is skipped with a reason;
# the checks of the files' contents always run.  test_ops_cron.sh runs the
# crontab line in a real cron.
. "$(dirname "$0")/lib.sh"
it_init ops_units

src=$ETL_SRC_DIR
ct="$src/crontab.example"
svc="$src/scripts/systemd/etl.service"
tmr="$src/scripts/systemd/etl.timer"
envex="$src/scripts/systemd/etl.env.example"
for f in "$ct" "$svc" "$tmr" "$envex"; do
  check "$(basename "$f") exists" test -s "$f"
done

# --- crontab.example -------------------------------------------------------
jobs=$(grep -Ev '^\s*(#|$)|^[A-Z_]+=' "$ct")
eq "one job line" "1" "$(grep -c . <<<"$jobs")"
read -r min hour dom mon dow user cmd <<<"$jobs"
eq "minute 5" "5" "$min"
eq "every hour, day, month, weekday" "* * * *" "$hour $dom $mon $dow"
eq "runs as the etl user" "etl" "$user"
eq "the command" "etl --config /etc/etl/etl.env run" "$cmd"
check "MAILTO is set (mail on failure only)" grep -q '^MAILTO=.' "$ct"
check "PATH is set" grep -q '^PATH=.*/usr/local/bin' "$ct"
check "no -q, -v, redirection or flock on the line" bash -c "! grep -Eq -- '(^| )(-q|-v+|--quiet|--verbose)( |$)|>|flock' <<<'$jobs'"
for field in "minute" "hour" "day of month" "month" "day of week" "user the job runs as" "command"; do
  check "a comment for the field: $field" grep -q "^# [| .-]*$field" "$ct"
done
check "it explains the lock (75, no flock)" bash -c "grep -q '75' '$ct' && grep -q 'flock' '$ct'"
check "it explains the output (MAILTO, silent on success)" grep -qi 'prints nothing when a run' "$ct"
# crontab -n checks a user crontab's syntax without installing it; a user
# crontab has no user field.
if crontab -h 2>&1 | grep -q -- '-n.*dry run'; then
  sed -E 's/^(\s*[^#A-Z ][^ ]* +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+) +etl +/\1 /' "$ct" >"$IT_TMP/user.crontab"
  check "the user-crontab form has no user field" grep -Eq '^\s*5 \* \* \* \* etl --config' "$IT_TMP/user.crontab"
  exit_is "crontab -n accepts it" 0 crontab -n "$IT_TMP/user.crontab"
  printf '5 * * 13 * etl run\n' >"$IT_TMP/bad.crontab"
  exit_is "crontab -n rejects a bad one (control)" 1 crontab -n "$IT_TMP/bad.crontab"
else
  echo "# skipped crontab -n: this crontab has no dry run (Debian's cron package has)"
fi

# --- systemd units ---------------------------------------------------------
key() { grep -E "^$2=" "$1" | tail -n1 | cut -d= -f2-; }
eq "service: Type=oneshot" "oneshot" "$(key "$svc" Type)"
eq "service: a dedicated user" "etl" "$(key "$svc" User)"
eq "service: the settings file, via etl's own parser" "/usr/local/bin/etl --config /etc/etl/etl.env run" "$(key "$svc" ExecStart)"
eq "service: 75 (lock held elsewhere) is not a failure" "75" "$(key "$svc" SuccessExitStatus)"
for kv in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes ProtectHome=yes PrivateDevices=yes \
          CapabilityBoundingSet= RestrictSUIDSGID=yes "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"; do
  check "service: $kv" grep -qx "$kv" "$svc"
done
check "service: a start timeout against hangs" grep -Eq '^TimeoutStartSec=[0-9]+(min|h|s)?$' "$svc"
check "service: may write the metrics directory, nothing else" \
  bash -c "[[ \$(grep -c '^ReadWritePaths=' '$svc') == 1 ]] && grep -qx 'ReadWritePaths=-/var/lib/prometheus/node-exporter' '$svc'"
eq "timer: five past every hour" "*-*-* *:05:00" "$(key "$tmr" OnCalendar)"
eq "timer: catches up after downtime" "true" "$(key "$tmr" Persistent)"
eq "timer: starts the service" "etl.service" "$(key "$tmr" Unit)"
eq "timer: enabled with the timers" "timers.target" "$(key "$tmr" WantedBy)"

if command -v systemd-analyze >/dev/null; then
  # verify needs the binary in ExecStart and the man page in Documentation=.
  mkdir -p "$IT_TMP/units" "$IT_TMP/man/man1"
  sed "s#/usr/local/bin/etl#$ETL_BIN#" "$svc" >"$IT_TMP/units/etl.service"
  cp "$tmr" "$IT_TMP/units/etl.timer"
  cp "$src/etl.1" "$IT_TMP/man/man1/etl.1"
  MANPATH="$IT_TMP/man" systemd-analyze verify "$IT_TMP/units/etl.service" "$IT_TMP/units/etl.timer" >"$IT_TMP/out" 2>&1
  rc=$?
  eq "systemd-analyze verify: clean" "0 " "$rc $(tr '\n' ' ' <"$IT_TMP/out")"
  # Control: verify does catch a broken unit.
  sed 's/^Type=oneshot/Type=bogus/' "$IT_TMP/units/etl.service" >"$IT_TMP/units/broken.service"
  MANPATH="$IT_TMP/man" systemd-analyze verify "$IT_TMP/units/broken.service" >"$IT_TMP/out" 2>&1
  check "systemd-analyze verify catches a bad unit (control)" grep -qi 'type' "$IT_TMP/out"
  next=$(systemd-analyze calendar --iterations=3 "$(key "$tmr" OnCalendar)" 2>&1)
  eq "the calendar fires at :05:00, hourly" "3" "$(grep -Ec '(Next elapse|Iter\. #[0-9]+): .* [0-9]{2}:05:00' <<<"$next")"
  if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
    level=$(systemd-analyze security --offline=true "$IT_TMP/units/etl.service" 2>&1 | sed -n 's/.*Overall exposure level for etl.service: \([0-9.]*\).*/\1/p')
    check "systemd-analyze security: exposure $level is below 2 (OK)" awk -v l="$level" 'BEGIN { exit !(l != "" && l < 2.0) }'
  else
    echo "# skipped systemd-analyze security: no --offline in this systemd"
  fi
else
  echo "# skipped systemd-analyze verify: systemd-analyze not found (Debian: systemd)"
fi

# --- the settings file example ---------------------------------------------
# Every key in it, commented out or not, is one etl knows, and the file as
# shipped parses (the secret files it names are replaced by test files).
for k in $(sed -nE 's/^#?(ETL_[A-Z_]+)=.*/\1/p' "$envex" | sort -u); do
  check "etl.env.example: $k is a setting etl knows" grep -q "\"$k\"" "$src/lib/config.c"
done
printf 's3cret-token\n' >"$IT_TMP/secret"; chmod 600 "$IT_TMP/secret"
sed -E "s#^(ETL_[A-Z_]+_FILE)=.*#\1=$IT_TMP/secret#; s#^ETL_DATABASE_URL=.*#ETL_DATABASE_URL=$ETL_DATABASE_URL#" \
  "$envex" | sed 's/^#\(ETL_[A-Z_]*=\)/\1/' >"$IT_TMP/etl.env"
exit_is "etl reads etl.env.example, every line uncommented" 0 etl --config "$IT_TMP/etl.env" version
eq "without a warning" "" "$(cat "$IT_TMP/err")"
it_done

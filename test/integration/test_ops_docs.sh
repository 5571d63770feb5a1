#!/usr/bin/env bash
# The operator's documentation stays true to the program: the man page
# (etl.1) renders cleanly and lists every command, option, setting and exit
# status that etl has; the operations guide's alert rules pass promtool and
# name only metrics that etl writes.
. "$(dirname "$0")/lib.sh"
it_init ops_docs

src=$ETL_SRC_DIR
man1="$src/etl.1"
doc="$src/README.md"  # its Operations section
check "etl.1 exists" test -s "$man1"
check "the operations guide exists ($doc)" test -s "$doc"

# --- the man page renders ----------------------------------------------------
if command -v groff >/dev/null; then
  groff -man -Tutf8 -ww -z "$man1" >"$IT_TMP/out" 2>&1
  eq "groff renders etl.1 without a warning" "" "$(cat "$IT_TMP/out")"
  MANWIDTH=80 groff -man -Tascii -P-c -P-b -P-u "$man1" 2>/dev/null >"$IT_TMP/man.txt"
elif command -v mandoc >/dev/null; then
  check "mandoc -Tlint: no error" mandoc -Tlint -Werror "$man1"
  mandoc -Tascii "$man1" | col -b >"$IT_TMP/man.txt"
else
  echo "# skipped rendering: neither groff nor mandoc found (Debian: groff-base); checking the source instead"
  sed -e 's/\\-/-/g' -e 's/^\.[A-Z]* *//' "$man1" >"$IT_TMP/man.txt"
fi
if command -v man >/dev/null; then
  MANWIDTH=80 man -l "$man1" >"$IT_TMP/out" 2>"$IT_TMP/err"
  eq "man -l etl.1 exits 0" "0" "$?"
  check "man -l shows the NAME line" grep -Eq 'etl +- +load a retail API' "$IT_TMP/out"
fi
txt="$IT_TMP/man.txt"
for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS ENVIRONMENT METRICS FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
  check "etl.1 has the section $s" grep -q "^$s\$" "$txt"
done

# section NAME: the text of one section of the rendered page.
section() { awk -v s="$1" '/^[A-Z][A-Z ]*$/ { on = ($0 == s); next } on' "$txt"; }

# --- every command and option etl has is in it ------------------------------
cmds=$(etl help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} /^$/ && on {exit}')
check "etl help lists commands" test -n "$cmds"
for c in $cmds; do
  check "COMMANDS has $c" grep -Eq "^       $c( |$)" <(section COMMANDS)
  for o in $(etl help "$c" | sed -n '1p' | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
    case "$o" in --config|--format|--now) continue ;; esac  # common options: OPTIONS
    check "etl.1 documents $c $o" grep -q -- "$o" <(section COMMANDS)
  done
done
for o in --config --format -v -q --now --help; do
  check "OPTIONS has $o" grep -q -- "$o" <(section OPTIONS)
done

# --- every setting lib/config.c knows is in ENVIRONMENT ----------------------
keys=$(sed -n '/known_keys\[\] = {/,/NULL/p' "$src/lib/config.c" | grep -oE '"ETL_[A-Z_]+"' | tr -d '"')
check "lib/config.c has settings" test -n "$keys"
for k in $keys; do
  check "ENVIRONMENT has $k" grep -q "$k" <(section ENVIRONMENT)
  check "the guide's settings example has $k" grep -Eq "^#?$k=|^${k%_FILE}_FILE=|^#?${k%_FILE}=" "$src/scripts/systemd/etl.env.example"
done

# --- exit statuses ------------------------------------------------------------
for s in 0 64 65 69 70 74 75 78; do
  check "EXIT STATUS has $s" grep -Eq "^       $s( |\$)" <(section "EXIT STATUS")
  check "the guide's exit status table has $s" grep -Eq "^\| $s \|" "$doc"
done

# --- metrics: the ones etl writes are the ones documented -------------------
"$ETL_BUILD_DIR/test/test_metrics" --write "$IT_TMP/all.prom" || fail "test_metrics --write"
written=$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$IT_TMP/all.prom" | sort -u)
check "lib/metrics writes metrics" test -n "$written"
for mname in $written; do
  check "the guide documents $mname" grep -q "\`$mname" "$doc"
  check "etl.1 documents $mname" grep -q "$mname" <(section METRICS)
done

# --- the alert rules ----------------------------------------------------------
awk '/<!-- test: alerts.yml/ {f = 1; next} f && /^```yaml/ {on = 1; next} on && /^```/ {exit} on' "$doc" >"$IT_TMP/alerts.yml"
check "the guide has the alert rules" grep -q 'alert: EtlNoRecentSuccess' "$IT_TMP/alerts.yml"
for mname in $(grep -oE 'etl_[a-z_]+' "$IT_TMP/alerts.yml" | sort -u); do
  check "the alerts use $mname, which etl writes" grep -qx "$mname" <<<"$written"
done
if command -v promtool >/dev/null; then
  exit_is "promtool check rules accepts the alerts" 0 promtool check rules "$IT_TMP/alerts.yml"
  # The staleness alert fires when the last success is over two hours old,
  # and not before; promtool test rules evaluates it on a series.
  cat >"$IT_TMP/alerts_test.yml" <<EOF
rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # a success at 0 and at 1h, then only failures for four hours
      - series: 'etl_last_success_timestamp_seconds{instance="h"}'
        values: '0x60 3600x240'
      - series: 'etl_last_run_timestamp_seconds{instance="h"}'
        values: '0+60x300'
      - series: 'etl_watermark_timestamp_seconds{instance="h"}'
        values: '0x300'
      - series: 'etl_helix_failed{instance="h"}'
        values: '0x179 2x120'
    alert_rule_test:
      - eval_time: 2h
        alertname: EtlNoRecentSuccess
        exp_alerts: []
      - eval_time: 3h10m
        alertname: EtlNoRecentSuccess
        exp_alerts:
          - exp_labels: {severity: page, instance: h}
            exp_annotations:
              summary: "etl has not succeeded for 2h 10m 0s"
              description: "Run 'etl status' on h; the exit code is in etl_last_run_exit_code."
      - eval_time: 2h
        alertname: EtlWatermarkLag
        exp_alerts: []
      - eval_time: 3h10m
        alertname: EtlWatermarkLag
        exp_alerts:
          - exp_labels: {severity: page, instance: h}
            exp_annotations:
              summary: "etl is 3h 10m 0s behind the retail API"
      - eval_time: 3h
        alertname: EtlHelixFailed
        exp_alerts:
          - exp_labels: {severity: ticket, instance: h}
            exp_annotations:
              summary: "2 Helix events failed; see helix_outbox.last_error, fix, then etl emit --retry-failed"
EOF
  exit_is "promtool test rules: the alerts fire when they should, not before" 0 promtool test rules "$IT_TMP/alerts_test.yml"
  [[ $(tail -n1 "$IT_TMP/out") == *SUCCESS* ]] || cat "$IT_TMP/out" "$IT_TMP/err"
else
  echo "# skipped promtool check rules: promtool not found (Debian: prometheus)"
fi

# --- the guide's sections -----------------------------------------------------
for h in "Setting up a new host" "least-privilege role" "Schedule it: cron or systemd" "Metrics" "Alerts" \
         "Backfill" "replaying rejects" "When it fails: exit status" "Upgrading"; do
  check "the guide has \"$h\"" grep -q "^#.*$h" "$doc"
done
check "the guide has the roles SQL" grep -q '<!-- test: roles.sql' "$doc"
it_done

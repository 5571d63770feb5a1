#!/usr/bin/env bash
# test_reports.sh - etl report: the data-driven cases of test/cases/reports,
# the three formats against each other, and the usage errors.
#
# A case is a directory test/cases/reports/<case>/ (directories starting
# with "_" hold shared fixtures) with
#   fixture.sql   SQL run by psql on an emptied, migrated database (it may
#                 \ir a shared file)
#   cmd           the report's arguments, shell-quoted, one line, e.g.
#                 top-customers --from 2026-11-01 --to 2026-11-30
#   expected.csv  the expected `--format csv` output, hand-checked, with LF
#                 line ends (the output's CRLF are checked, then cut)
# For every case the csv output must equal expected.csv, the json output
# must hold the same rows (with counts as JSON integers and money as strings
# with 2 decimals) and the table output the same values.
#
# Run one case: REPORT_CASE=top-customers-ties ctest -R it_test_reports -V
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_init reports
it_migrate

CASES=${ETL_TEST_CASES:-$ETL_SRC_DIR/test/cases}/reports

# CSV (RFC 4180) on stdin to a JSON array of records, each an array of
# strings.  A regex takes one field and the separator after it at a time.
read -r -d '' CSV_TO_JSON <<'JQ'
def fields:
  [match("(\"(?:[^\"]|\"\")*\"|[^,\r\n\"]*)(,|\r\n|\n|\\z)"; "g")
   | {v: .captures[0].string, sep: .captures[1].string, end: (.offset + .length)}];
. as $text
| ($text | length) as $n
| reduce (fields[]) as $f ({rows: [], row: [], done: false};
    if .done then .
    else
      ($f.v | if startswith("\"") then .[1:-1] | gsub("\"\""; "\"") else . end) as $v
      | .row += [$v]
      | if $f.sep == "," then .
        else .rows += [.row] | .row = [] | .done = ($f.end >= $n)
        end
    end)
| .rows
| if length > 0 and .[-1] == [""] then .[:-1] else . end
JQ

# JSON report on stdin to the same shape: the keys of the first object,
# then every object's values as strings (null as "").
read -r -d '' JSON_TO_ROWS <<'JQ'
if length == 0 then [] else
  [.[0] | keys_unsorted] + [.[] | [.[] | if . == null then "" else tostring end]]
end
JQ

# Columns whose JSON values must be integers, and money (strings, 2 decimals).
read -r -d '' JSON_TYPES_OK <<'JQ'
all(.[]; to_entries | all(.[];
  if (.key | IN("rank", "orders", "customers", "units", "store_id", "pos_id", "item_id")) then
    (.value | type == "number" and . == floor)
  elif (.key | test("_usd$|^total_amount$")) then
    (.value | type == "string" and test("^[0-9]+\\.[0-9]{2}$"))
  else
    (.value == null or (.value | type == "string"))
  end))
JQ

# The table's lines with runs of blanks squeezed, as the rows would give them.
read -r -d '' ROWS_AS_TABLE <<'JQ'
.[] | map(select(. != "") | gsub(" +"; " ")) | join(" ")
JQ

reset_db() {
  q "TRUNCATE stores, pos, cameras, items, exchange_rates, customers, transactions, line_items, helix_outbox CASCADE" >/dev/null
}

run_case() {
  local dir=$1 name args out="$IT_TMP/case" csv_rows json_rows rc
  name=$(basename "$dir")
  reset_db
  if ! psql -X -q -v ON_ERROR_STOP=1 -f "$dir/fixture.sql" >"$out.psql" 2>&1; then
    fail "$name: fixture" "$(head -c 600 "$out.psql")"
    return
  fi
  eval "args=($(cat "$dir/cmd"))"

  # csv: CRLF record ends, then equal to expected.csv
  etl report "${args[@]}" --format csv >"$out.csv" 2>"$out.err"; rc=$?
  if [[ $rc -ne 0 ]]; then
    fail "$name: csv" "exit $rc: $(head -c 600 "$out.err")"
    return
  fi
  eq "$name: csv writes nothing on stderr" "" "$(cat "$out.err")"
  eq "$name: csv records end in CRLF" "$(wc -l <"$out.csv")" "$(grep -c $'\r$' "$out.csv")"
  if diff -u "$dir/expected.csv" <(sed 's/\r$//' "$out.csv") >"$out.diff"; then
    pass "$name: csv"
  else
    fail "$name: csv" "$(cat "$out.diff")"
  fi

  # json: the same rows, with the contract's types
  csv_rows=$(jq -R -s -c "$CSV_TO_JSON" <"$out.csv")
  if ! etl report "${args[@]}" --format json >"$out.json" 2>"$out.err"; then
    fail "$name: json" "$(head -c 600 "$out.err")"
    return
  fi
  json_rows=$(jq -c "$JSON_TO_ROWS" <"$out.json")
  if [[ $(jq 'length' <"$out.json") -eq 0 ]]; then
    eq "$name: empty json is []" "[]" "$(tr -d ' \n' <"$out.json")"
    eq "$name: json and csv agree (no rows)" "1" "$(jq 'length' <<<"$csv_rows")"
  else
    eq "$name: json and csv agree" "$csv_rows" "$json_rows"
  fi
  eq "$name: json types" "true" "$(jq "$JSON_TYPES_OK" <"$out.json")"

  # table: the same values, aligned, no trailing blanks
  if ! etl report "${args[@]}" --format table >"$out.txt" 2>"$out.err"; then
    fail "$name: table" "$(head -c 600 "$out.err")"
    return
  fi
  eq "$name: table has no trailing blanks" "0" "$(grep -c ' $' "$out.txt")"
  eq "$name: table and csv agree" "$(jq -r "$ROWS_AS_TABLE" <<<"$csv_rows")" "$(sed 's/^ *//; s/  */ /g' "$out.txt")"
}

ncases=0
for dir in "$CASES"/*/; do
  dir=${dir%/}
  case "$(basename "$dir")" in _*) continue ;; esac
  [[ -n "${REPORT_CASE:-}" && "$(basename "$dir")" != "$REPORT_CASE" ]] && continue
  run_case "$dir"
  ncases=$((ncases + 1))
done
[[ $ncases -gt 0 ]] && pass "ran $ncases report cases" || fail "no report cases found in $CASES"

# --- the table's alignment, on one known report -----------------------------
reset_db
psql -X -q -v ON_ERROR_STOP=1 -f "$CASES/_fixtures/base.sql" >/dev/null
eq "table: counts and money right-aligned, text left" \
"store_id  store_name        orders  revenue_usd
       1  London Oxford St       5       361.59
       2  Boise Downtown         3       143.00
       3  Toronto Eaton          2       140.00" \
  "$(etl report sales-by-store --from 2026-11-01 --to 2026-11-30)"
eq "table is the default format and ends rows at the last text" \
"customer_id  email              first_order  last_order  orders  revenue_usd  avg_order_usd
c-frank      frank@example.com                                0         0.00           0.00" \
  "$(etl report customer --id c-frank --format table)"

# --- usage errors: exit 64, a sentence on stderr, nothing on stdout ---------
usage_is_64() {
  local name=$1; shift
  exit_is "usage: $name" 64 etl report "$@"
  eq "usage: $name: nothing on stdout" "" "$(cat "$IT_TMP/out")"
  if grep -q '^etl: error: ..*' "$IT_TMP/err"; then pass "usage: $name: says why"; else fail "usage: $name: says why" "$(cat "$IT_TMP/err")"; fi
}
usage_is_64 "no report name"
usage_is_64 "unknown report" nosuch
usage_is_64 "two names" summary top-items
usage_is_64 "unknown option" summary --frobnicate
usage_is_64 "bad date" summary --from 2026-13-01
usage_is_64 "impossible date" summary --from 2026-02-30
usage_is_64 "not a date" summary --to yesterday
usage_is_64 "from after to" summary --from 2026-11-02 --to 2026-11-01
usage_is_64 "from after today" summary --from 2026-11-09 --now 2026-11-08T12:00:00Z
usage_is_64 "by fortnight" order-value --by fortnight
usage_is_64 "missing --by" order-value --from 2026-11-01 --to 2026-11-30
usage_is_64 "missing --id" customer
usage_is_64 "empty --id" customer --id ''
usage_is_64 "unknown zone" summary --tz Mars/Olympus_Mons
usage_is_64 "zone as a path" summary --tz ../../etc/passwd
usage_is_64 "zone file that is no zone" summary --tz zone.tab
usage_is_64 "negative limit" top-customers --limit -1
usage_is_64 "limit not a number" top-customers --limit ten
usage_is_64 "store not a number" sales-by-store --store london
usage_is_64 "--marketing elsewhere" summary --marketing
usage_is_64 "--by elsewhere" top-customers --by day
usage_is_64 "--province elsewhere" sales-by-store --province Idaho
usage_is_64 "--store elsewhere" top-items --store 1
usage_is_64 "--offset elsewhere" top-customers --offset 5
usage_is_64 "--country elsewhere" top-items --country GB
usage_is_64 "--id elsewhere" summary --id c-alice
usage_is_64 "--customer elsewhere" summary --customer c-alice
usage_is_64 "range on customer" customer --id c-alice --from 2026-11-01
usage_is_64 "option needs a value" summary --from
usage_is_64 "bad format" summary --format xml

it_done

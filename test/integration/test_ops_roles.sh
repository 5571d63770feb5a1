#!/usr/bin/env bash
# The least-privilege set-up of the operations guide, run as written: the
# SQL block of the README's Operations section creates an
# owner role, a job role and a database; the owner migrates; the job role
# runs etl status and a whole etl run (source and Helix fakes) but can
# change no structure, cannot migrate, and no one else may connect.
. "$(dirname "$0")/lib.sh"
it_init ops_roles

doc="$ETL_SRC_DIR/README.md"
awk '/<!-- test: roles.sql/ {f = 1; next} f && /^```sql/ {on = 1; next} on && /^```/ {exit} on' "$doc" >"$IT_TMP/roles.sql"
check "the guide has the roles SQL" grep -q 'GRANT CONNECT, TEMPORARY' "$IT_TMP/roles.sql"
check "it names its roles and database with psql variables" grep -q '^\\set job ' "$IT_TMP/roles.sql"

# Our own names (roles are cluster-wide), instead of the guide's \set lines.
owner="it_owner_$$" job="it_job_$$" other="it_other_$$" rdb="it_roles_$$"
sed '/^\\set /d' "$IT_TMP/roles.sql" >"$IT_TMP/roles_test.sql"
roles_cleanup() {
  dropdb --if-exists --force "$rdb" 2>/dev/null
  for r in "$owner" "$job" "$other"; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS \"$r\"" 2>/dev/null; done
  it_cleanup
}
trap roles_cleanup EXIT

as_super() { psql -X -q -v ON_ERROR_STOP=1 -v db="$rdb" -v owner="$owner" -v job="$job" -d postgres "$@"; }
exit_is "the guide's SQL runs" 0 as_super -f "$IT_TMP/roles_test.sql"
exit_is "and runs again (idempotent)" 0 as_super -f "$IT_TMP/roles_test.sql"
eq "it created the database, owned by the owner" "$owner" \
  "$(q "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$rdb'")"
psql -X -q -d postgres -c "CREATE ROLE \"$other\" LOGIN" >/dev/null

url() { echo "postgresql:///$rdb?host=$PGHOST&user=$1"; }
as() { local r=$1; shift; ETL_DATABASE_URL=$(url "$r") "$ETL_BIN" "$@"; }
sql_as() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$(url "$1")" -c "$2"; }

# The job role cannot create the schema; the owner can.
# (70 today: lib/db.c counts a refused privilege as internal; 78, bad
# configuration, would say better that the wrong role is connected.)
migrate_refused() {
  as "$job" migrate >"$IT_TMP/out" 2>"$IT_TMP/err"
  local rc=$?
  [[ $rc == 70 || $rc == 78 ]] && grep -qi 'permission denied' "$IT_TMP/err"
}
check "etl migrate as the job role fails with a permission error" migrate_refused
eq "and creates nothing" "0" "$(sql_as "$owner" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
exit_is "etl migrate as the owner" 0 as "$owner" migrate
check "etl migrate as the job role fails on a current schema too" migrate_refused
eq "the schema is untouched" "$(sql_as "$owner" "SELECT max(version) FROM etl_migrations")" \
  "$("$ETL_BIN" version | sed -n 's/.*schema \([0-9]*\)).*/\1/p')"

# The job role: rows yes, structure no.
exit_is "etl status as the job role" 0 as "$job" status
exit_is "the job role may create temporary tables" 0 sql_as "$job" "CREATE TEMP TABLE t (i int); INSERT INTO t VALUES (1)"
exit_is "it may write rows" 0 sql_as "$job" "INSERT INTO runs (command, status) VALUES ('probe', 'ok'); DELETE FROM runs WHERE command = 'probe'"
exit_is "it may not create a table" 1 sql_as "$job" "CREATE TABLE probe (i int)"
exit_is "it may not alter one" 1 sql_as "$job" "ALTER TABLE runs ADD COLUMN probe int"
exit_is "it may not drop one" 1 sql_as "$job" "DROP TABLE quarantine"
exit_is "it may not truncate one" 1 sql_as "$job" "TRUNCATE transactions CASCADE"
exit_is "another role may not connect" 2 sql_as "$other" "SELECT 1"

# A whole run as the job role, with the source and Helix.
if etl help run >/dev/null && ! grep -q 'not implemented' "$ETL_SRC_DIR/cmd/run.c"; then
  # A small source, and no rate limit: this is about privileges, not speed.
  start_fake_source --sales 200
  start_fake_helix --rate-limit 0
  export ETL_HELIX_RATE=1000 ETL_HELIX_CONCURRENCY=8
  exit_is "etl run as the job role" 0 as "$job" run --now 2026-11-21T05:05:00Z --start 2026-11-20T00:00:00Z --format json
  j=$(cat "$IT_TMP/out")
  eq "it loaded 24 windows" "24" "$(jq .windows <<<"$j")"
  check "it loaded sales" test "$(jq .loaded <<<"$j")" -gt 0
  check "it sent Helix events" test "$(jq .helix_sent <<<"$j")" -gt 0
  eq "the watermark moved" "2026-11-21 00:00:00+00" "$(sql_as "$job" "SELECT next_window AT TIME ZONE 'UTC' || '+00' FROM watermark")"
  exit_is "and again (nothing due but the reference refresh)" 0 as "$job" run --now 2026-11-21T05:05:00Z
  exit_is "etl emit as the job role" 0 as "$job" emit
  exit_is "etl rejects as the job role" 0 as "$job" rejects
  exit_is "etl report as the job role" 0 as "$job" report summary --from 2026-11-20 --to 2026-11-20
else
  echo "# skipped the etl run as the job role: etl run is not built yet"
fi
it_done

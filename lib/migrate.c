/* migrate.c - see migrate.h. */
#include "migrate.h"
#include "log.h"

#include <stdio.h>

int etl_migrate_latest(void)
{
	return etl_migrations_count ? etl_migrations[etl_migrations_count - 1].version : 0;
}

static int apply_one(etl_db *db, const struct etl_migration *m, etl_err *err)
{
	char version[16];
	const char *params[] = { version, m->name };
	PGresult *res;

	snprintf(version, sizeof(version), "%d", m->version);
	if (etl_db_begin(db, err) < 0)
		return -1;
	/* PQexec, not PQexecParams: a migration file holds many statements. */
	res = PQexec(etl_db_conn(db), m->sql);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		etl_db_fail(db, res, "applying migration", err);
		etl_err_prefix(err, "%s", m->name);
		PQclear(res);
		etl_db_rollback(db);
		return -1;
	}
	PQclear(res);
	if (etl_db_exec(db, "INSERT INTO etl_migrations (version, name) VALUES ($1, $2)", 2, params, err) < 0 ||
	    etl_db_commit(db, err) < 0) {
		etl_db_rollback(db);
		return -1;
	}
	etl_info("applied migration %s", m->name);
	return 0;
}

int etl_migrate(etl_db *db, int *applied, etl_err *err)
{
	int have;

	*applied = 0;
	if (etl_db_lock(db, err) < 0)
		return -1;
	if (etl_db_exec(db,
		"CREATE TABLE IF NOT EXISTS etl_migrations ("
		" version integer PRIMARY KEY,"
		" name text NOT NULL,"
		" applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL, err) < 0)
		return -1;
	if (etl_db_schema_version(db, &have, err) < 0)
		return -1;
	if (have > etl_migrate_latest()) {
		etl_err_set(err, ETL_ECONFIG, "the database schema is at version %d, newer than this etl's %d",
			    have, etl_migrate_latest());
		return etl_err_hint(err, "install the etl that migrated this database");
	}
	for (int i = 0; i < etl_migrations_count; i++) {
		if (etl_migrations[i].version <= have)
			continue;
		if (apply_one(db, &etl_migrations[i], err) < 0)
			return -1;
		(*applied)++;
	}
	return 0;
}

/* db.c - see db.h. */
#include "db.h"
#include "log.h"
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct etl_db {
	PGconn *conn;
};

static void notice_to_log(void *arg, const char *message)
{
	(void)arg;
	etl_debug("postgres: %.*s", (int)strcspn(message, "\n"), message);
}

int etl_db_connect(etl_db **out, const char *conninfo, const char *statement_timeout, etl_err *err)
{
	const char *keys[] = { "dbname", "fallback_application_name", "connect_timeout", NULL };
	const char *vals[] = { conninfo ? conninfo : "", "etl", "10", NULL };
	char *parse_err = NULL;
	PQconninfoOption *opts;
	etl_db *db;

	if (conninfo && *conninfo) {
		opts = PQconninfoParse(conninfo, &parse_err);
		if (!opts) {
			etl_err_set(err, ETL_ECONFIG, "ETL_DATABASE_URL is not a valid connection string: %s",
				    parse_err ? parse_err : "out of memory");
			PQfreemem(parse_err);
			return -1;
		}
		PQconninfoFree(opts);
	}
	db = calloc(1, sizeof(*db));
	if (!db)
		return etl_err_set(err, ETL_EINTERNAL, "out of memory");
	/* expand_dbname=1: "dbname" may hold a whole URI or key=value string. */
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
		const char *m = db->conn ? PQerrorMessage(db->conn) : "out of memory";
		etl_err_set(err, ETL_EUNAVAIL, "cannot connect to PostgreSQL: %.*s", (int)strcspn(m, "\n"), m);
		etl_err_hint(err, "check that the server is running and ETL_DATABASE_URL is right, then run again");
		etl_db_close(db);
		return -1;
	}
	PQsetNoticeProcessor(db->conn, notice_to_log, NULL);
	if (etl_db_exec(db, "SET TIME ZONE 'UTC'", 0, NULL, err) < 0) {
		etl_db_close(db);
		return -1;
	}
	if (statement_timeout) {
		const char *p[] = { statement_timeout };
		if (etl_db_exec(db, "SELECT set_config('statement_timeout', $1, false)", 1, p, err) < 0) {
			etl_err_set(err, ETL_ECONFIG, "ETL_STATEMENT_TIMEOUT \"%s\" is not a valid duration", statement_timeout);
			etl_db_close(db);
			return -1;
		}
	}
	*out = db;
	return 0;
}

void etl_db_close(etl_db *db)
{
	if (!db)
		return;
	/* A session's advisory lock goes with its backend, which exits after
	 * PQfinish returns, not before: an etl started right after this one
	 * could still find the lock held (exit 75).  Release it now. */
	if (db->conn && PQstatus(db->conn) == CONNECTION_OK && PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		PQclear(PQexec(db->conn, "SELECT pg_advisory_unlock_all()"));
	if (db->conn)
		PQfinish(db->conn);
	free(db);
}

PGconn *etl_db_conn(etl_db *db)
{
	return db->conn;
}

/* Whether an SQLSTATE means "try again later" rather than "a bug". */
static int sqlstate_transient(const char *st)
{
	if (!st)
		return 0;
	return !strncmp(st, "08", 2) ||      /* connection exception */
	       !strncmp(st, "53", 2) ||      /* insufficient resources: disk full, memory */
	       !strncmp(st, "57P", 3) ||     /* admin shutdown, crash shutdown */
	       !strcmp(st, "57014") ||       /* statement timeout / cancel */
	       !strcmp(st, "40001") ||       /* serialization failure */
	       !strcmp(st, "40P01") ||       /* deadlock */
	       !strcmp(st, "55P03");         /* lock not available */
}

int etl_db_fail(etl_db *db, PGresult *res, const char *what, etl_err *err)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *m = res ? PQresultErrorMessage(res) : "";
	int lost = PQstatus(db->conn) != CONNECTION_OK;

	if (!m || !*m)
		m = PQerrorMessage(db->conn);
	if (st && !strcmp(st, "42501")) {
		/* insufficient_privilege: the role, not a bug.  Typically the
		 * cron job's DML-only role running etl migrate. */
		etl_err_set(err, ETL_ECONFIG, "%s: PostgreSQL: %.*s", what, (int)strcspn(m, "\n"), m);
		etl_err_hint(err, "connect as a role with the needed privileges (etl migrate: the database owner)");
	} else if (lost || sqlstate_transient(st)) {
		etl_err_set(err, ETL_EUNAVAIL, "%s: PostgreSQL: %.*s", what, (int)strcspn(m, "\n"), m);
		if (st && !strcmp(st, "53100"))
			etl_err_hint(err, "the database server's disk is full; free space, then run again (nothing of this window was committed)");
		else if (st && !strcmp(st, "57014"))
			etl_err_hint(err, "a statement ran past ETL_STATEMENT_TIMEOUT; raise it or look for locks, then run again (nothing of this window was committed)");
		else
			etl_err_hint(err, "check the database server, then run again; nothing of the failed window was committed");
	} else {
		etl_err_set(err, ETL_EINTERNAL, "%s: PostgreSQL: %.*s%s%s%s", what, (int)strcspn(m, "\n"), m,
			    st ? " (SQLSTATE " : "", st ? st : "", st ? ")" : "");
		etl_err_hint(err, "this is a bug or a schema changed by hand; report it with the message above");
	}
	return -1;
}

PGresult *etl_db_query(etl_db *db, const char *sql, int nparams, const char *const *params, etl_err *err)
{
	PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		etl_debug("failed statement: %s", sql);
		etl_db_fail(db, res, "query", err);
		PQclear(res);
		return NULL;
	}
	return res;
}

int etl_db_exec(etl_db *db, const char *sql, int nparams, const char *const *params, etl_err *err)
{
	PGresult *res = etl_db_query(db, sql, nparams, params, err);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

int etl_db_begin(etl_db *db, etl_err *err)
{
	return etl_db_exec(db, "BEGIN", 0, NULL, err);
}

int etl_db_commit(etl_db *db, etl_err *err)
{
	PGresult *res = PQexec(db->conn, "COMMIT");
	int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;

	/* COMMIT of an aborted transaction answers ROLLBACK, not an error. */
	if (ok && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		PQclear(res);
		return etl_err_set(err, ETL_EINTERNAL, "the transaction was rolled back instead of committed");
	}
	if (!ok) {
		etl_db_fail(db, res, "commit", err);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

void etl_db_rollback(etl_db *db)
{
	PGresult *res;

	if (!db || PQstatus(db->conn) != CONNECTION_OK)
		return;
	if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
}

int etl_db_schema_version(etl_db *db, int *out, etl_err *err)
{
	/* Two statements: a query naming a missing table fails to parse. */
	PGresult *res = etl_db_query(db, "SELECT to_regclass('etl_migrations') IS NOT NULL", 0, NULL, err);
	int exists;

	if (!res)
		return -1;
	exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	*out = 0;
	if (!exists)
		return 0;
	res = etl_db_query(db, "SELECT coalesce(max(version), 0) FROM etl_migrations", 0, NULL, err);
	if (!res)
		return -1;
	*out = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int etl_db_check_schema(etl_db *db, etl_err *err)
{
	int have, want = etl_migrate_latest();

	if (etl_db_schema_version(db, &have, err) < 0)
		return -1;
	if (have < want) {
		etl_err_set(err, ETL_ECONFIG, "the database schema is at version %d but this etl needs %d", have, want);
		return etl_err_hint(err, "run etl migrate (as the database owner), then run again");
	}
	if (have > want) {
		etl_err_set(err, ETL_ECONFIG, "the database schema is at version %d, newer than this etl's %d", have, want);
		return etl_err_hint(err, "install the etl that migrated this database");
	}
	return 0;
}

int etl_db_lock(etl_db *db, etl_err *err)
{
	PGresult *res = etl_db_query(db, "SELECT pg_try_advisory_lock(" ETL_DB_LOCK_KEY ")", 0, NULL, err);
	int got;

	if (!res)
		return -1;
	got = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (got)
		return 0;

	/* Name the holder: its backend pid from pg_locks, and its own
	 * description from the runs table when it wrote one. */
	res = etl_db_query(db,
		"SELECT l.pid, a.client_addr, a.backend_start, "
		"       (SELECT format('%s (pid %s on %s, started %s)', r.command, r.pid, r.host, "
		"               to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) "
		"          FROM runs r WHERE r.status = 'running' AND to_regclass('runs') IS NOT NULL "
		"          ORDER BY r.run_id DESC LIMIT 1) "
		"FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
		"WHERE " ETL_DB_LOCK_HELD " LIMIT 1",
		0, NULL, err);
	if (res && PQntuples(res) == 1 && !PQgetisnull(res, 0, 3))
		etl_err_set(err, ETL_ELOCKED, "another etl holds the lock: %s", PQgetvalue(res, 0, 3));
	else if (res && PQntuples(res) == 1)
		etl_err_set(err, ETL_ELOCKED, "another etl holds the lock (PostgreSQL backend pid %s)", PQgetvalue(res, 0, 0));
	else
		etl_err_set(err, ETL_ELOCKED, "another etl holds the lock");
	etl_err_hint(err, "wait for it to finish; if it is hung, stop that process and run again");
	PQclear(res);
	return -1;
}

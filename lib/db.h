/*
 * db.h - the PostgreSQL connection, queries with parameters, the schema
 * version check and the run lock.
 *
 * Every value goes through parameters ($1, ...), never spliced into SQL.
 * Errors are classified for the exit status: a lost connection, an
 * unreachable server, a statement timeout or a full disk is ETL_EUNAVAIL
 * (69: try again later); anything else a query refuses is ETL_EINTERNAL.
 * The message carries PostgreSQL's own text.
 */
#ifndef ETL_DB_H
#define ETL_DB_H

#include <libpq-fe.h>

#include "error.h"

typedef struct etl_db etl_db;

/* Connects with conninfo (a libpq URI or key=value string; NULL = libpq's
 * defaults and PG* variables), application_name "etl".  A malformed conninfo
 * is ETL_ECONFIG; a server that cannot be reached is ETL_EUNAVAIL.
 * statement_timeout may be NULL.  *out is owned by the caller: etl_db_close(). */
int etl_db_connect(etl_db **out, const char *conninfo, const char *statement_timeout, etl_err *err);
void etl_db_close(etl_db *db);

/* The underlying connection (borrowed), for COPY and anything unusual. */
PGconn *etl_db_conn(etl_db *db);

/* Runs SQL with optional text parameters (NULL entries are SQL NULL) and
 * expects PGRES_COMMAND_OK or PGRES_TUPLES_OK.  etl_db_exec discards the
 * result; etl_db_query returns it (caller PQclear()s) or NULL on error. */
int etl_db_exec(etl_db *db, const char *sql, int nparams, const char *const *params, etl_err *err);
PGresult *etl_db_query(etl_db *db, const char *sql, int nparams, const char *const *params, etl_err *err);

/* Fills err from a failed result or the connection (res may be NULL) and
 * returns -1.  what names the statement for the message ("merging sales"). */
int etl_db_fail(etl_db *db, PGresult *res, const char *what, etl_err *err);

int etl_db_begin(etl_db *db, etl_err *err);
int etl_db_commit(etl_db *db, etl_err *err);
/* Rolls back, ignoring errors (used on error paths, the connection may be gone). */
void etl_db_rollback(etl_db *db);

/* The newest migration applied (0 when etl_migrations is absent). */
int etl_db_schema_version(etl_db *db, int *out, etl_err *err);

/* Refuses (ETL_ECONFIG, "run etl migrate") when the database's schema is older
 * or newer than the one this binary was built with. */
int etl_db_check_schema(etl_db *db, etl_err *err);

/* The run lock: an advisory lock, which PostgreSQL scopes to one database.
 * ETL_DB_LOCK_HELD is an SQL condition on pg_locks (aliased l) that is true
 * for the run lock of the current database, whoever holds it. */
#define ETL_DB_LOCK_KEY "6648940"
#define ETL_DB_LOCK_HELD \
	"(l.locktype = 'advisory' AND l.objid = " ETL_DB_LOCK_KEY " AND l.granted " \
	"AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))"

/* Takes the session-level advisory lock that serialises etl invocations on
 * one database.  When another session holds it, returns -1 with ETL_ELOCKED
 * and a message naming the holder (its command, pid, host and start time
 * from the runs table, else PostgreSQL's backend pid). */
int etl_db_lock(etl_db *db, etl_err *err);

#endif

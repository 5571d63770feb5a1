/*
 * migrate.h - the schema migrations, compiled into the binary from
 * schema/NNN_name.sql (see cmake/embed_schema.cmake), applied in order.
 */
#ifndef ETL_MIGRATE_H
#define ETL_MIGRATE_H

#include "db.h"

struct etl_migration {
	int version;       /* NNN of the file name */
	const char *name;  /* the file name without .sql */
	const char *sql;
};

/* Generated at build time, ordered by version. */
extern const struct etl_migration etl_migrations[];
extern const int etl_migrations_count;

/* The version this binary expects (the last migration's). */
int etl_migrate_latest(void);

/* Applies every migration newer than the database's, each in its own
 * transaction, recorded in etl_migrations; takes the run lock first so it
 * never runs beside an etl run.  *applied gets how many were applied (0 when
 * the schema was current).  Returns 0 or -1. */
int etl_migrate(etl_db *db, int *applied, etl_err *err);

#endif

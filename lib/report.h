/*
 * report.h - the canned reports of contract section 5, one parameterised
 * SQL query each.
 *
 * A report is described by a static etl_report (its name, the options it
 * takes, its columns for lib/output.h); etl_report_run() runs its query with
 * the values of an etl_report_params and hands back the result, whose
 * columns are the report's columns in order, every value as text ready to
 * print: counts as integers, money rounded half away from zero to exactly
 * two decimals, dates YYYY-MM-DD, timestamps RFC 3339 in UTC, NULL where a
 * value is absent.  No user input is ever spliced into SQL.
 *
 * Definitions (contract section 5):
 *   - a counted transaction has financial_status 'paid' and its local date
 *     (its transaction_date in the zone tz) within [from, to];
 *   - its rate is the rate_to_usd of its currency with the latest date on or
 *     before its UTC date; USD is 1 whether or not it has a row.  A counted
 *     transaction with no rate (validation keeps those out, so only a
 *     database edited by hand has one) still counts as an order, as units
 *     and for its customer, and adds nothing to revenue;
 *   - revenue is the exact numeric sum of total_amount * rate, rounded only
 *     in the final SELECT; avg_order_usd is revenue / orders rounded half
 *     away from zero (computed with exact integer division), 0.00 with no
 *     orders;
 *   - text sort keys (customer_id, country, province, transaction_id) sort
 *     by byte (COLLATE "C"), whatever the database's collation;
 *   - rankings sort by the exact revenue, before rounding;
 *   - a range [from, to] is the instants from the start of local day from
 *     to the start of local day to + 1 in the zone, worked out once per run
 *     so that the index on transaction_date serves every report.
 */
#ifndef ETL_REPORT_H
#define ETL_REPORT_H

#include <stddef.h>

#include <libpq-fe.h>

#include "db.h"
#include "error.h"
#include "output.h"
#include "timeutil.h"

/* The options a report takes, beyond --tz and --limit which all take. */
enum {
	ETL_REPORT_OPT_RANGE     = 1u << 0,  /* --from, --to */
	ETL_REPORT_OPT_MARKETING = 1u << 1,  /* top-customers */
	ETL_REPORT_OPT_BY        = 1u << 2,  /* order-value (required) */
	ETL_REPORT_OPT_PROVINCE  = 1u << 3,  /* sales-by-province */
	ETL_REPORT_OPT_STORE     = 1u << 4,  /* sales-by-store, transactions */
	ETL_REPORT_OPT_CUSTOMER  = 1u << 5,  /* transactions */
	ETL_REPORT_OPT_OFFSET    = 1u << 6,  /* transactions */
	ETL_REPORT_OPT_ID        = 1u << 7,  /* customer (required) */
	ETL_REPORT_OPT_COUNTRY   = 1u << 8,  /* summary */
};

typedef struct etl_report {
	const char *name;                 /* "top-customers" */
	unsigned options;                 /* ETL_REPORT_OPT_* it accepts */
	unsigned required;                /* of those, the ones it needs */
	long default_limit;               /* rows when --limit is not given; -1 = all */
	const etl_output_column *columns; /* the columns of the result, in order */
	size_t ncolumns;
	const char *sql;                  /* private: the query */
	const char *const *params;        /* private: the names of $1, $2, ... */
} etl_report;

/* The values of the options.  Strings are borrowed; NULL = not given. */
typedef struct etl_report_params {
	etl_date from, to;     /* inclusive local days, for reports with RANGE */
	const char *tz;        /* the zone days are cut in (validated: etl_report_today) */
	long limit;            /* < 0: the report's default */
	long offset;           /* transactions: rows to skip */
	int marketing;         /* top-customers --marketing */
	const char *by;        /* order-value: day, week, month or total */
	const char *province;  /* sales-by-province --province, matched case-insensitively */
	int has_store;         /* --store given */
	long store;
	const char *customer;  /* transactions --customer */
	const char *id;        /* customer --id */
	const char *country;   /* summary --country, matched case-insensitively */
} etl_report_params;

#define ETL_REPORT_PARAMS_INIT { 0, 0, "UTC", -1, 0, 0, NULL, NULL, 0, 0, NULL, NULL, NULL }

/* The report called name, or NULL.  Static, never freed. */
const etl_report *etl_report_find(const char *name);

/* The report names, comma-separated, for messages (static). */
const char *etl_report_names(void);

/* Whether by is one of day, week, month, total. */
int etl_report_by_valid(const char *by);

/* Checks that tz names a time zone that both this machine (etl_tz_valid)
 * and PostgreSQL know, and sets *out to the calendar date of the instant
 * now in that zone ("today").  An unknown zone is ETL_EUSAGE; a database
 * error is reported as by etl_db_query. */
int etl_report_today(etl_db *db, etl_time now, const char *tz, etl_date *out, etl_err *err);

/* Runs report r with p.  On success *out is the result (the caller
 * PQclear()s it), its columns r->columns.  Returns 0 or -1 with err set
 * (ETL_EUNAVAIL or ETL_EINTERNAL as etl_db_query classifies it).
 *
 * The report runs in a read-only REPEATABLE READ transaction of its own (one
 * snapshot for working out the range and for the report), with planner
 * settings local to that transaction (see report.c); the connection must
 * not be inside a transaction already. */
int etl_report_run(etl_db *db, const etl_report *r, const etl_report_params *p, PGresult **out, etl_err *err);

#endif

/* report.c - see report.h.  Each report is one static SQL text. */
#include "report.h"

#include <stdio.h>
#include <string.h>

/*
 * SQL building blocks.  Every report over a date range takes $1 = lo and
 * $2 = hi, the instants that begin the local days from and to + 1 in the
 * report's zone (worked out first by range_bounds()).  Constant instants,
 * rather than an expression of the zone on every row, let the planner
 * estimate the range from its statistics and read it from the index on
 * transaction_date.
 */
#define IN_RANGE(t) \
	t ".transaction_date >= $1::timestamptz AND " t ".transaction_date < $2::timestamptz "

/*
 * Reports over counted sales share these:
 *   $1, $2  lo, hi (as above)
 *   $3, $4  the first and last UTC dates of the range's sales (dates)
 *   $5      the row limit (NULL: all)
 *
 * rates: the rate of each currency on each UTC day from $3 to $4: a few
 * hundred rows, each looked up once with the primary key (currency, date).
 *
 * The counted sales are first summed per group of what the report needs,
 * currency and UTC day (COUNTED_GROUPS below: a parallel, partial
 * aggregation over the date index), and only those groups are joined with
 * their rate: revenue is sum(amount * rate) over the groups, which is
 * exactly the sum over the sales (numeric products and sums are exact, the
 * rate is the same for every sale of a group), with a multiplication per
 * group instead of per sale.  A group whose currency has no rate (NULL)
 * adds no revenue, as a sale with no rate would not.
 */
#define WITH_RATES \
	"WITH rates AS (" \
	"  SELECT c.currency, d.day, CASE WHEN c.currency = 'USD' THEN 1::numeric ELSE e.rate_to_usd END AS rate" \
	"  FROM (SELECT DISTINCT currency FROM exchange_rates UNION SELECT 'USD') AS c (currency)" \
	"  CROSS JOIN (SELECT $3::date + g.i AS day FROM generate_series(0, $4::date - $3::date) AS g (i)) AS d" \
	"  LEFT JOIN LATERAL (SELECT e.rate_to_usd FROM exchange_rates e" \
	"                     WHERE e.currency = c.currency AND e.date <= d.day" \
	"                     ORDER BY e.date DESC LIMIT 1) AS e ON true" \
	") "

/* counted: the counted sales one by one, each with its rate (the rates
 * hash-joined to them), for the reports that group by the province row:
 * they read the billing address from the heap anyway, and their groups
 * (province; customer) are few, so summing per sale is cheaper there than
 * grouping by the province row's inputs first. */
#define WITH_COUNTED \
	WITH_RATES \
	", counted AS (" \
	"  SELECT t.transaction_id, t.transaction_date, t.customer_id, t.store_id, t.total_amount, t.units," \
	"         t.billing_country, t.billing_province, r.rate" \
	"  FROM transactions t" \
	"  LEFT JOIN rates r ON r.currency = t.currency AND r.day = (t.transaction_date AT TIME ZONE 'UTC')::date" \
	"  WHERE t.financial_status = 'paid' AND " IN_RANGE("t") \
	") "

/* The UTC day of sale t, and the condition of a counted sale t. */
#define UTC_DAY(t) "(" t ".transaction_date AT TIME ZONE 'UTC')::date"
#define COUNTED(t) t ".financial_status = 'paid' AND " IN_RANGE(t)

/* The counted sales of transactions t summed per (keys, currency, UTC day):
 * keys is a select list of n expressions of t (each with its alias), where
 * an extra condition on t; each group comes out with its keys, orders (the
 * sales), amount (their total_amount), units and rate. */
#define COUNTED_GROUPS(keys, n, where) \
	"(SELECT g.*, r.rate" \
	" FROM (SELECT " keys ", t.currency, " UTC_DAY("t") " AS day, count(*) AS orders," \
	"              sum(t.total_amount) AS amount, sum(t.units) AS units" \
	"       FROM transactions t WHERE " COUNTED("t") where \
	"       GROUP BY " n ", t.currency, " UTC_DAY("t") ") AS g" \
	" LEFT JOIN rates r ON r.currency = g.currency AND r.day = g.day)"

/* The "province row" of a counted sale c: the billing address's country and
 * province, or its store's when it has no billing address or an empty
 * province.  Absent values group as '' (printed as NULL).  A sale without
 * a billing address has no billing province either (the constraint
 * transactions_billing_extracted of schema/006_report_cover.sql), so an empty or
 * absent province covers both cases, and the report reads only columns of
 * the date index (an index-only scan), not the address itself. */
#define PROVINCE_ROW \
	"LEFT JOIN stores s ON s.store_id = c.store_id " \
	"CROSS JOIN LATERAL (SELECT coalesce(c.billing_province, '') = '' AS from_store) AS u " \
	"CROSS JOIN LATERAL (SELECT" \
	"  CASE WHEN u.from_store THEN coalesce(s.country, '') ELSE coalesce(c.billing_country, '') END AS country," \
	"  CASE WHEN u.from_store THEN coalesce(s.province, '') ELSE c.billing_province END AS province) AS pr "

/* Revenue over orders, rounded half away from zero to 2 decimals, exactly:
 * floor((200 * rev + n) / (2 * n)) / 100 with div()'s exact integer
 * quotient (rev >= 0), so no rounding of an inexact quotient comes first. */
#define AVG_ORDER(rev, n) \
	"CASE WHEN (" n ") = 0 THEN 0.00 " \
	"ELSE round(div((" rev ") * 200 + (" n "), (" n ") * 2) / 100, 2) END"

/* A date as YYYY-MM-DD whatever the server's DateStyle. */
#define YMD(d) "to_char((" d ")::timestamp, 'YYYY-MM-DD')"

/* An instant as RFC 3339 in UTC, with microseconds only when not whole. */
#define RFC3339(ts) \
	"to_char(" ts " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || " \
	"CASE WHEN date_trunc('second', " ts ") = " ts " THEN '' " \
	"ELSE to_char(" ts " AT TIME ZONE 'UTC', '.US') END || 'Z'"

/* order-value: the period of local day d for --by $9 (from = $6). */
#define PERIOD_OF(d) \
	"CASE $9::text WHEN 'day' THEN " d \
	" WHEN 'week' THEN " d " - (extract(isodow FROM " d ")::int - 1)" \
	" WHEN 'month' THEN date_trunc('month', (" d ")::timestamp)::date" \
	" ELSE $6::date END"

/* ------------------------------------------------------------------------ */


static const etl_output_column top_customers_cols[] = {
	{ "rank", ETL_OUT_INT }, { "customer_id", ETL_OUT_TEXT }, { "email", ETL_OUT_TEXT },
	{ "first_name", ETL_OUT_TEXT }, { "last_name", ETL_OUT_TEXT }, { "orders", ETL_OUT_INT },
	{ "revenue_usd", ETL_OUT_MONEY },
};
static const char *const top_customers_params[] = { "lo", "hi", "rlo", "rhi", "limit", "marketing", NULL };
/* Ranks are 1, 2, 3... after the --marketing filter, ties broken by id. */
static const char top_customers_sql[] =
	WITH_RATES
	"SELECT row_number() OVER (ORDER BY top.revenue DESC, top.customer_id COLLATE \"C\"),"
	"       top.customer_id, cu.email, cu.first_name, cu.last_name, top.orders, round(top.revenue, 2) "
	"FROM (SELECT a.customer_id, a.orders, a.revenue"
	"      FROM (SELECT c.customer_id, sum(c.orders)::bigint AS orders,"
	"                   coalesce(sum(c.amount * c.rate), 0) AS revenue"
	"            FROM " COUNTED_GROUPS("t.customer_id", "1", " AND t.customer_id IS NOT NULL") " AS c"
	"            GROUP BY c.customer_id) AS a"
	"      WHERE NOT $6::boolean OR EXISTS (SELECT 1 FROM customers m"
	"                                       WHERE m.customer_id = a.customer_id AND m.accepts_marketing)"
	"      ORDER BY a.revenue DESC, a.customer_id COLLATE \"C\""
	"      LIMIT $5::bigint) AS top "
	"LEFT JOIN customers cu ON cu.customer_id = top.customer_id "
	"ORDER BY top.revenue DESC, top.customer_id COLLATE \"C\"";

static const etl_output_column order_value_cols[] = {
	{ "period", ETL_OUT_TEXT }, { "orders", ETL_OUT_INT }, { "revenue_usd", ETL_OUT_MONEY },
};
static const char *const order_value_params[] = { "lo", "hi", "rlo", "rhi", "limit", "from", "to", "tz", "by", NULL };
/* Every period that meets [from, to], from the days of the range; the
 * orders of days inside the range only (those are the counted ones). */
static const char order_value_sql[] =
	WITH_RATES
	", periods AS ("
	"  SELECT DISTINCT " PERIOD_OF("d.day") " AS k"
	"  FROM (SELECT $6::date + g.i AS day FROM generate_series(0, $7::date - $6::date) AS g (i)) AS d"
	"), days AS ("
	"  SELECT c.local_day AS day, sum(c.orders) AS orders, coalesce(sum(c.amount * c.rate), 0) AS revenue"
	"  FROM " COUNTED_GROUPS("(t.transaction_date AT TIME ZONE $8::text)::date AS local_day", "1", "") " AS c"
	"  GROUP BY c.local_day"
	"), sums AS ("
	"  SELECT " PERIOD_OF("d.day") " AS k, sum(d.orders) AS orders, sum(d.revenue) AS revenue"
	"  FROM days d GROUP BY 1"
	") "
	"SELECT CASE $9::text WHEN 'month' THEN to_char(p.k::timestamp, 'YYYY-MM')"
	"                    WHEN 'total' THEN 'total'"
	"                    ELSE " YMD("p.k") " END,"
	"       coalesce(s.orders, 0), round(coalesce(s.revenue, 0), 2) "
	"FROM periods p LEFT JOIN sums s ON s.k = p.k "
	"ORDER BY p.k LIMIT $5::bigint";

static const etl_output_column sales_by_province_cols[] = {
	{ "country", ETL_OUT_TEXT }, { "province", ETL_OUT_TEXT }, { "orders", ETL_OUT_INT },
	{ "revenue_usd", ETL_OUT_MONEY },
};
static const char *const sales_by_province_params[] = { "lo", "hi", "rlo", "rhi", "limit", "province", NULL };
static const char sales_by_province_sql[] =
	WITH_COUNTED
	"SELECT nullif(a.country, ''), nullif(a.province, ''), a.orders, round(a.revenue, 2) "
	"FROM (SELECT pr.country, pr.province, count(*) AS orders,"
	"             coalesce(sum(c.total_amount * c.rate), 0) AS revenue"
	"      FROM counted c " PROVINCE_ROW
	"      WHERE $6::text IS NULL OR lower(pr.province) = lower($6::text)"
	"      GROUP BY pr.country, pr.province) AS a "
	"ORDER BY a.revenue DESC, a.country COLLATE \"C\", a.province COLLATE \"C\" "
	"LIMIT $5::bigint";

static const etl_output_column sales_by_store_cols[] = {
	{ "store_id", ETL_OUT_INT }, { "store_name", ETL_OUT_TEXT }, { "orders", ETL_OUT_INT },
	{ "revenue_usd", ETL_OUT_MONEY },
};
static const char *const sales_by_store_params[] = { "lo", "hi", "rlo", "rhi", "limit", "store", NULL };
static const char sales_by_store_sql[] =
	WITH_RATES
	"SELECT a.store_id, s.name, a.orders, round(a.revenue, 2) "
	"FROM (SELECT c.store_id, sum(c.orders)::bigint AS orders, coalesce(sum(c.amount * c.rate), 0) AS revenue"
	"      FROM " COUNTED_GROUPS("t.store_id", "1", " AND ($6::bigint IS NULL OR t.store_id = $6::bigint)") " AS c"
	"      GROUP BY c.store_id) AS a "
	"LEFT JOIN stores s ON s.store_id = a.store_id "
	"ORDER BY a.revenue DESC, a.store_id "
	"LIMIT $5::bigint";

static const etl_output_column top_items_cols[] = {
	{ "item_id", ETL_OUT_INT }, { "sku", ETL_OUT_TEXT }, { "name", ETL_OUT_TEXT },
	{ "units", ETL_OUT_INT }, { "revenue_usd", ETL_OUT_MONEY },
};
/* The line items of the counted sales summed per (item, currency, UTC day)
 * first, like COUNTED_GROUPS (and within that per unit price, so that the
 * multiplication is per group too: sum(quantity) * unit_price is exactly
 * the sum of quantity * unit_price).  $6, $7: the least and greatest
 * transaction_id of the counted sales (id_range_sql), a condition every line
 * of theirs meets: when ids grow with time, as the source's do, it lets the
 * planner read just the range's line items in one index range scan and
 * hash them to the sales, instead of one index probe per sale; when they
 * do not, the range is wide, and the planner, which sees the two values,
 * probes as before. */
static const char *const top_items_params[] = { "lo", "hi", "rlo", "rhi", "limit", "idlo", "idhi", NULL };
static const char top_items_sql[] =
	WITH_RATES
	"SELECT a.item_id, i.sku, i.name, a.units, round(a.revenue, 2) "
	"FROM (SELECT g.item_id, sum(g.units)::bigint AS units, coalesce(sum(g.amount * r.rate), 0) AS revenue"
	"      FROM (SELECT p.item_id, p.currency, p.day, sum(p.units) AS units, sum(p.units * p.unit_price) AS amount"
	"            FROM (SELECT li.item_id, t.currency, t.day, li.unit_price, sum(li.quantity) AS units"
	"                  FROM (SELECT t.transaction_id, t.currency, " UTC_DAY("t") " AS day"
	"                        FROM transactions t WHERE " COUNTED("t") ") AS t"
	"                  JOIN line_items li ON li.transaction_id = t.transaction_id"
	"                  WHERE li.transaction_id >= $6::text AND li.transaction_id <= $7::text"
	"                  GROUP BY li.item_id, t.currency, t.day, li.unit_price) AS p"
	"            GROUP BY p.item_id, p.currency, p.day) AS g"
	"      LEFT JOIN rates r ON r.currency = g.currency AND r.day = g.day"
	"      GROUP BY g.item_id) AS a "
	"LEFT JOIN items i ON i.item_id = a.item_id "
	"ORDER BY a.units DESC, a.item_id "
	"LIMIT $5::bigint";

static const etl_output_column transactions_cols[] = {
	{ "transaction_id", ETL_OUT_TEXT }, { "transaction_date", ETL_OUT_TEXT }, { "store_id", ETL_OUT_INT },
	{ "pos_id", ETL_OUT_INT }, { "customer_id", ETL_OUT_TEXT }, { "financial_status", ETL_OUT_TEXT },
	{ "currency", ETL_OUT_TEXT }, { "total_amount", ETL_OUT_MONEY }, { "helix", ETL_OUT_TEXT },
	{ "footage_url", ETL_OUT_TEXT },
};
static const char *const transactions_params[] = { "lo", "hi", "limit", "offset", "store", "customer", NULL };
/* Every loaded transaction, any status; an in-flight Helix send shows as
 * pending (its outcome is not known yet). */
static const char transactions_sql[] =
	"SELECT t.transaction_id, " RFC3339("t.transaction_date") ", t.store_id, t.pos_id, t.customer_id,"
	"       t.financial_status, t.currency, t.total_amount::text,"
	"       CASE h.state WHEN 'inflight' THEN 'pending' ELSE coalesce(h.state, 'none') END,"
	"       h.footage_url "
	"FROM transactions t LEFT JOIN helix_outbox h ON h.transaction_id = t.transaction_id "
	"WHERE " IN_RANGE("t")
	"  AND ($5::bigint IS NULL OR t.store_id = $5::bigint)"
	"  AND ($6::text IS NULL OR t.customer_id = $6::text) "
	"ORDER BY t.transaction_date, t.transaction_id COLLATE \"C\" "
	"LIMIT $3::bigint OFFSET $4::bigint";

static const etl_output_column customer_cols[] = {
	{ "customer_id", ETL_OUT_TEXT }, { "email", ETL_OUT_TEXT }, { "first_order", ETL_OUT_TEXT },
	{ "last_order", ETL_OUT_TEXT }, { "orders", ETL_OUT_INT }, { "revenue_usd", ETL_OUT_MONEY },
	{ "avg_order_usd", ETL_OUT_MONEY },
};
static const char *const customer_params[] = { "tz", "limit", "id", NULL };
/* All time: the customer's paid transactions, first and last as local
 * dates in $1; a known customer with none gets a row of zeros, an unknown
 * one no row.  Summed per (currency, UTC day) first, each group's rate
 * looked up once (see COUNTED_GROUPS). */
static const char customer_sql[] =
	"SELECT a.customer_id, a.email, " YMD("(a.first AT TIME ZONE $1::text)::date") ","
	"       " YMD("(a.last AT TIME ZONE $1::text)::date") ", a.orders, round(a.revenue, 2),"
	"       " AVG_ORDER("a.revenue", "a.orders") " "
	"FROM (SELECT cu.customer_id, cu.email, min(g.first) AS first, max(g.last) AS last,"
	"             coalesce(sum(g.orders), 0)::bigint AS orders, coalesce(sum(g.amount * r.rate), 0) AS revenue"
	"      FROM customers cu"
	"      LEFT JOIN (SELECT t.currency, " UTC_DAY("t") " AS day, min(t.transaction_date) AS first,"
	"                        max(t.transaction_date) AS last, count(*) AS orders, sum(t.total_amount) AS amount"
	"                 FROM transactions t WHERE t.customer_id = $3::text AND t.financial_status = 'paid'"
	"                 GROUP BY t.currency, " UTC_DAY("t") ") AS g ON true"
	"      LEFT JOIN LATERAL (SELECT CASE WHEN g.currency = 'USD' THEN 1::numeric ELSE ("
	"                           SELECT e.rate_to_usd FROM exchange_rates e"
	"                           WHERE e.currency = g.currency AND e.date <= g.day"
	"                           ORDER BY e.date DESC LIMIT 1) END AS rate) AS r ON true"
	"      WHERE cu.customer_id = $3::text"
	"      GROUP BY cu.customer_id, cu.email) AS a "
	"LIMIT $2::bigint";

static const etl_output_column summary_cols[] = {
	{ "orders", ETL_OUT_INT }, { "customers", ETL_OUT_INT }, { "revenue_usd", ETL_OUT_MONEY },
	{ "avg_order_usd", ETL_OUT_MONEY }, { "units", ETL_OUT_INT },
};
static const char *const summary_params[] = { "lo", "hi", "rlo", "rhi", "limit", "country", NULL };
/* Always one row (zeros when nothing is counted).  Summed per customer
 * first: the anonymous sales are the one NULL group, which count() skips. */
static const char summary_sql[] =
	WITH_COUNTED
	", per_customer AS ("
	"  SELECT c.customer_id, count(*) AS orders, sum(c.total_amount * c.rate) AS revenue, sum(c.units) AS units"
	"  FROM counted c " PROVINCE_ROW
	"  WHERE $6::text IS NULL OR upper(pr.country) = upper($6::text)"
	"  GROUP BY c.customer_id"
	"), totals AS ("
	"  SELECT coalesce(sum(orders), 0)::bigint AS orders, count(customer_id) AS customers,"
	"         coalesce(sum(revenue), 0) AS revenue, coalesce(sum(units), 0)::bigint AS units"
	"  FROM per_customer"
	") "
	"SELECT t.orders, t.customers, round(t.revenue, 2), " AVG_ORDER("t.revenue", "t.orders") ", t.units "
	"FROM totals t LIMIT $5::bigint";

#define COLS(a) a, sizeof(a) / sizeof(a[0])

static const etl_report reports[] = {
	{ "top-customers", ETL_REPORT_OPT_RANGE | ETL_REPORT_OPT_MARKETING, 0, 5,
	  COLS(top_customers_cols), top_customers_sql, top_customers_params },
	{ "order-value", ETL_REPORT_OPT_RANGE | ETL_REPORT_OPT_BY, ETL_REPORT_OPT_BY, -1,
	  COLS(order_value_cols), order_value_sql, order_value_params },
	{ "sales-by-province", ETL_REPORT_OPT_RANGE | ETL_REPORT_OPT_PROVINCE, 0, -1,
	  COLS(sales_by_province_cols), sales_by_province_sql, sales_by_province_params },
	{ "sales-by-store", ETL_REPORT_OPT_RANGE | ETL_REPORT_OPT_STORE, 0, -1,
	  COLS(sales_by_store_cols), sales_by_store_sql, sales_by_store_params },
	{ "top-items", ETL_REPORT_OPT_RANGE, 0, 10,
	  COLS(top_items_cols), top_items_sql, top_items_params },
	{ "transactions", ETL_REPORT_OPT_RANGE | ETL_REPORT_OPT_STORE | ETL_REPORT_OPT_CUSTOMER | ETL_REPORT_OPT_OFFSET,
	  0, 100, COLS(transactions_cols), transactions_sql, transactions_params },
	{ "customer", ETL_REPORT_OPT_ID, ETL_REPORT_OPT_ID, -1,
	  COLS(customer_cols), customer_sql, customer_params },
	{ "summary", ETL_REPORT_OPT_RANGE | ETL_REPORT_OPT_COUNTRY, 0, -1,
	  COLS(summary_cols), summary_sql, summary_params },
};

#define NREPORTS (sizeof(reports) / sizeof(reports[0]))

const etl_report *etl_report_find(const char *name)
{
	for (size_t i = 0; i < NREPORTS; i++)
		if (!strcmp(reports[i].name, name))
			return &reports[i];
	return NULL;
}

const char *etl_report_names(void)
{
	return "top-customers, order-value, sales-by-province, sales-by-store, top-items, "
	       "transactions, customer, summary";
}

int etl_report_by_valid(const char *by)
{
	return by && (!strcmp(by, "day") || !strcmp(by, "week") || !strcmp(by, "month") || !strcmp(by, "total"));
}

int etl_report_today(etl_db *db, etl_time now, const char *tz, etl_date *out, etl_err *err)
{
	char ts[40];
	const char *params[] = { ts, tz };
	const char *st;
	PGresult *res = NULL;
	int ret = 0;

	if (!etl_tz_valid(tz)) {
		etl_err_set(err, ETL_EUSAGE, "unknown time zone \"%s\"", tz);
		return etl_err_hint(err, "give an IANA zone name such as UTC, Europe/London or America/New_York");
	}
	etl_time_format(now, ts, sizeof(ts));
	/* PQexecParams itself: an unknown zone (SQLSTATE 22023) is the user's
	 * mistake, not a database failure. */
	res = PQexecParams(etl_db_conn(db), "SELECT to_char($1::timestamptz AT TIME ZONE $2::text, 'YYYY-MM-DD')",
			   2, NULL, params, NULL, NULL, 0);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		if (st && !strcmp(st, "22023")) {
			etl_err_set(err, ETL_EUSAGE, "unknown time zone \"%s\" (PostgreSQL does not know it)", tz);
			ret = etl_err_hint(err, "give an IANA zone name such as UTC, Europe/London or America/New_York");
		} else {
			ret = etl_db_fail(db, res, "reading today's date", err);
		}
		goto cleanup;
	}
	if (PQntuples(res) != 1 || etl_date_parse(PQgetvalue(res, 0, 0), out) < 0) {
		/* Only a clock past the year 9999 gets here. */
		etl_err_set(err, ETL_EUSAGE, "today (%s in %s) is not a date from 0001-01-01 to 9999-12-31", ts, tz);
		ret = etl_err_hint(err, "give --from and --to, or a --now before the year 10000");
	}
cleanup:
	PQclear(res);
	return ret;
}

/*
 * The range of a report over [from, to] in zone tz, as text: lo and hi, the
 * instants (RFC 3339) that begin the local days from and to + 1, and rlo
 * and rhi, the UTC dates of the first and last sale in [lo, hi) (rlo > rhi
 * when there is none), the days the rates table needs.
 *
 * The start of day D is the first instant whose local date is D.
 * PostgreSQL reads "D 00:00" in tz correctly when midnight falls in a gap
 * (it takes the offset before the gap), but when midnight happens twice (a
 * clock set back to 00:00) it may take the second: so the first of
 * "D 00:00" minus 0, 30 min, 1 h or 2 h that is still on day D is the start.
 */
struct range {
	char lo[48], hi[48], rlo[16], rhi[16];
	char idlo[80], idhi[80];  /* the counted sales' least and greatest id (top-items) */
	int has_ids;
};

static const char range_sql[] =
	"WITH m AS ("
	"  SELECT d.n, d.day, d.day::timestamp AT TIME ZONE $3::text AS c"
	"  FROM (VALUES (1, $1::date), (2, $2::date + 1)) AS d (n, day)"
	"), b AS ("
	"  SELECT m.n, coalesce((SELECT min(m.c - x.x)"
	"                        FROM unnest(ARRAY[interval '0', interval '30 minutes', interval '1 hour',"
	"                                          interval '2 hours']) AS x (x)"
	"                        WHERE ((m.c - x.x) AT TIME ZONE $3::text)::date = m.day), m.c) AS start"
	"  FROM m"
	"), lh AS ("
	"  SELECT (SELECT start FROM b WHERE n = 1) AS lo, (SELECT start FROM b WHERE n = 2) AS hi"
	") "
	"SELECT to_char(lh.lo AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
	"       to_char(lh.hi AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
	"       coalesce(" YMD("((SELECT min(transaction_date) FROM transactions"
	"                        WHERE transaction_date >= lh.lo AND transaction_date < lh.hi) AT TIME ZONE 'UTC')::date") ","
	"                '2000-01-02'),"
	"       coalesce(" YMD("((SELECT max(transaction_date) FROM transactions"
	"                        WHERE transaction_date >= lh.lo AND transaction_date < lh.hi) AT TIME ZONE 'UTC')::date") ","
	"                '2000-01-01') "
	"FROM lh";

static int range_bounds(etl_db *db, const etl_report_params *p, struct range *out, etl_err *err)
{
	char from[16], to[16];
	const char *params[] = { from, to, p->tz ? p->tz : "UTC" };
	PGresult *res;
	int ret = 0;

	etl_date_format(p->from, from, sizeof(from));
	etl_date_format(p->to, to, sizeof(to));
	res = etl_db_query(db, range_sql, 3, params, err);
	if (!res)
		return etl_err_prefix(err, "working out the range's instants");
	if (PQntuples(res) != 1 || PQnfields(res) != 4 || PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1)) {
		ret = etl_err_set(err, ETL_EINTERNAL, "PostgreSQL gave no instants for the days %s to %s in %s",
				  from, to, params[2]);
		goto cleanup;
	}
	snprintf(out->lo, sizeof(out->lo), "%s", PQgetvalue(res, 0, 0));
	snprintf(out->hi, sizeof(out->hi), "%s", PQgetvalue(res, 0, 1));
	snprintf(out->rlo, sizeof(out->rlo), "%s", PQgetvalue(res, 0, 2));
	snprintf(out->rhi, sizeof(out->rhi), "%s", PQgetvalue(res, 0, 3));
cleanup:
	PQclear(res);
	return ret;
}

/* The least and greatest transaction_id of the counted sales of the range
 * (none: no counted sale; the report then finds none either).  From the
 * date index: OFFSET 0 keeps the planner from walking the primary key from
 * either end instead, filtering every sale outside the range. */
static const char id_range_sql[] =
	"SELECT min(s.id), max(s.id) FROM (SELECT transaction_id AS id FROM transactions"
	" WHERE transaction_date >= $1::timestamptz AND transaction_date < $2::timestamptz"
	"  AND financial_status = 'paid' OFFSET 0) AS s";

static int id_range(etl_db *db, struct range *rg, etl_err *err)
{
	const char *params[] = { rg->lo, rg->hi };
	PGresult *res = etl_db_query(db, id_range_sql, 2, params, err);

	if (!res)
		return etl_err_prefix(err, "reading the range's transaction ids");
	rg->has_ids = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) && !PQgetisnull(res, 0, 1);
	if (rg->has_ids) {
		snprintf(rg->idlo, sizeof(rg->idlo), "%s", PQgetvalue(res, 0, 0));
		snprintf(rg->idhi, sizeof(rg->idhi), "%s", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return 0;
}

/* Whether report r takes parameter name. */
static int takes(const etl_report *r, const char *name)
{
	for (int i = 0; r->params[i]; i++)
		if (!strcmp(r->params[i], name))
			return 1;
	return 0;
}

/* The text of parameter name for p (written into buf when it is a number
 * or date), or NULL for SQL NULL.  rg is the range (for range reports). */
static const char *param_value(const etl_report *r, const etl_report_params *p, const char *name,
			       const struct range *rg, char *buf, size_t n)
{
	if (!strcmp(name, "lo"))
		return rg->lo;
	if (!strcmp(name, "hi"))
		return rg->hi;
	if (!strcmp(name, "rlo"))
		return rg->rlo;
	if (!strcmp(name, "rhi"))
		return rg->rhi;
	if (!strcmp(name, "idlo"))
		return rg->has_ids ? rg->idlo : NULL;
	if (!strcmp(name, "idhi"))
		return rg->has_ids ? rg->idhi : NULL;
	if (!strcmp(name, "from")) {
		etl_date_format(p->from, buf, n);
		return buf;
	}
	if (!strcmp(name, "to")) {
		etl_date_format(p->to, buf, n);
		return buf;
	}
	if (!strcmp(name, "tz"))
		return p->tz ? p->tz : "UTC";
	if (!strcmp(name, "limit")) {
		long limit = p->limit >= 0 ? p->limit : r->default_limit;
		if (limit < 0)
			return NULL;  /* LIMIT NULL: every row */
		snprintf(buf, n, "%ld", limit);
		return buf;
	}
	if (!strcmp(name, "offset")) {
		snprintf(buf, n, "%ld", p->offset > 0 ? p->offset : 0);
		return buf;
	}
	if (!strcmp(name, "marketing"))
		return p->marketing ? "true" : "false";
	if (!strcmp(name, "by"))
		return p->by ? p->by : "day";
	if (!strcmp(name, "province"))
		return p->province;
	if (!strcmp(name, "store")) {
		if (!p->has_store)
			return NULL;
		snprintf(buf, n, "%ld", p->store);
		return buf;
	}
	if (!strcmp(name, "customer"))
		return p->customer;
	if (!strcmp(name, "id"))
		return p->id;
	if (!strcmp(name, "country"))
		return p->country;
	return NULL;
}

#define MAX_PARAMS 12

/* Planner settings for this transaction only:
 *   - JIT compiles for longer than these queries run;
 *   - a merge join would sort every sale to meet the small rates table,
 *     which the planner cannot size (a derived table has no statistics) and
 *     so prices the hash join far too high;
 *   - aggregates over many customers want more than the default 4MB of
 *     work_mem (64MB unless the server allows more);
 *   - a report reads recent, cached data: random_page_cost 1.1 (unless the
 *     server says less) lets it reach line items through their index
 *     instead of reading them all. */
static const char settings_sql[] =
	"SELECT set_config('jit', 'off', true), set_config('enable_mergejoin', 'off', true),"
	"       set_config('work_mem', CASE WHEN pg_size_bytes(current_setting('work_mem')) < 64 * 1024 * 1024"
	"                              THEN '64MB' ELSE current_setting('work_mem') END, true),"
	"       set_config('random_page_cost', least(current_setting('random_page_cost')::float8, 1.1)::text, true)";

int etl_report_run(etl_db *db, const etl_report *r, const etl_report_params *p, PGresult **out, etl_err *err)
{
	char bufs[MAX_PARAMS][32];
	const char *values[MAX_PARAMS];
	struct range rg;
	PGresult *res = NULL;
	int n = 0, ret = 0;

	*out = NULL;
	memset(&rg, 0, sizeof(rg));
	/* One snapshot for the range and the report. */
	if (etl_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, err) < 0)
		return -1;
	if (etl_db_exec(db, settings_sql, 0, NULL, err) < 0) {
		ret = -1;
		goto cleanup;
	}
	if ((r->options & ETL_REPORT_OPT_RANGE) && range_bounds(db, p, &rg, err) < 0) {
		ret = -1;
		goto cleanup;
	}
	if (takes(r, "idlo") && id_range(db, &rg, err) < 0) {
		ret = -1;
		goto cleanup;
	}
	for (; r->params[n]; n++) {
		if (n == MAX_PARAMS) {
			ret = etl_err_set(err, ETL_EINTERNAL, "report %s has too many parameters", r->name);
			goto cleanup;
		}
		values[n] = param_value(r, p, r->params[n], &rg, bufs[n], sizeof(bufs[n]));
	}
	res = etl_db_query(db, r->sql, n, values, err);
	if (!res) {
		ret = etl_err_prefix(err, "report %s", r->name);
		goto cleanup;
	}
	if (etl_db_commit(db, err) < 0) {
		ret = -1;
		goto cleanup;
	}
	*out = res;
	res = NULL;
cleanup:
	if (ret < 0)
		etl_db_rollback(db);
	PQclear(res);
	return ret;
}

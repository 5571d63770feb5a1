/*
 * test_helix.c - the Helix pacer (always) and the outbox's enqueue SQL (on
 * a database, when asked).
 *
 *   test_helix               pacer tests; no database needed
 *   test_helix db            also the enqueue tests, on the migrated, empty
 *                            database named by ETL_DATABASE_URL (the
 *                            integration test test_helix_outbox.sh runs it)
 *   test_helix enqueue [T..] fills window_changed with the given
 *                            transaction_ids (default: every transaction)
 *                            and runs etl_helix_enqueue in one transaction:
 *                            the loader's part, for tests that seed sales
 *                            with SQL
 */
#include "unit.h"

#include "db.h"
#include "helix.h"
#include "helix_pace.h"
#include "log.h"

/* ---- pacer ---------------------------------------------------------------- */

/* The fake's limiter (test/fake/fake_helix.c): fixed 5-s windows, each
 * starting at the first request after the previous one ended. */
struct limiter {
	double win_start;
	int count, refused;
};

static void limiter_hit(struct limiter *l, double t)
{
	if (l->count == 0 || t - l->win_start >= 5000) {
		l->win_start = t;
		l->count = 0;
	}
	if (l->count >= 25)
		l->refused++;
	else
		l->count++;
}

/* Sends n requests as fast as the pacer allows, each arriving at the
 * server jitter_ms late on every other request; returns the span. */
static double pace_run(double rate, int n, double jitter_ms, struct limiter *l)
{
	etl_helix_pace p;
	double t = 1000, first = -1, last = 0;
	int sent = 0;

	etl_helix_pace_init(&p, rate, t);
	while (sent < n) {
		if (etl_helix_pace_take(&p, t)) {
			double arrive = t + ((sent % 2) ? 0 : jitter_ms);

			limiter_hit(l, arrive);
			if (first < 0)
				first = t;
			last = t;
			sent++;
			continue;
		}
		t += etl_helix_pace_wait(&p, t) + 0.3;  /* a loop turn is late by a bit */
	}
	return last - first;
}

static void test_pace(void)
{
	struct limiter l = { 0, 0, 0 };
	etl_helix_pace p;
	double span;

	/* 200 requests at 5/s: no 429 from the fake's limiter, ~40 s. */
	span = pace_run(5, 200, 20, &l);
	CHECK_INT(0, l.refused);
	CHECK(span >= 199 * 200.0 && span <= 199 * 200.0 * 1.05);

	/* The first 5 s never carry more than 25, even with no jitter. */
	memset(&l, 0, sizeof(l));
	pace_run(5, 26, 0, &l);
	CHECK_INT(0, l.refused);

	/* The rate is honoured at high rates too (a benchmark's 1000/s). */
	memset(&l, 0, sizeof(l));
	span = pace_run(1000, 2000, 0, &l);
	CHECK(span >= 1900 && span <= 2200);

	/* The first request goes at once, the second waits a period. */
	etl_helix_pace_init(&p, 5, 0);
	CHECK(etl_helix_pace_take(&p, 0));
	CHECK(!etl_helix_pace_take(&p, 100));
	CHECK(etl_helix_pace_wait(&p, 100) > 100);
	CHECK(etl_helix_pace_take(&p, 205));

	/* A 429's block holds everything back, then resumes one by one. */
	etl_helix_pace_block(&p, 5000);
	CHECK(!etl_helix_pace_take(&p, 4999));
	CHECK(etl_helix_pace_wait(&p, 4000) >= 1000);
	CHECK(etl_helix_pace_take(&p, 5000));
	CHECK(!etl_helix_pace_take(&p, 5001));
}

/* ---- enqueue on a database ----------------------------------------------- */

static etl_db *db;

static void sql(const char *s)
{
	etl_err err = ETL_ERR_INIT;

	if (etl_db_exec(db, s, 0, NULL, &err) < 0) {
		fprintf(stderr, "SQL failed: %s\n  %s\n", err.msg, s);
		unit_failed++;
	}
}

/* One value of a one-row query, copied into a static buffer ("" for NULL,
 * "(none)" when no row). */
static const char *val(const char *s)
{
	static char buf[4096];
	etl_err err = ETL_ERR_INIT;
	PGresult *res = etl_db_query(db, s, 0, NULL, &err);

	if (!res) {
		fprintf(stderr, "SQL failed: %s\n  %s\n", err.msg, s);
		unit_failed++;
		return "(error)";
	}
	if (PQntuples(res) == 0)
		snprintf(buf, sizeof(buf), "(none)");
	else
		snprintf(buf, sizeof(buf), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return buf;
}

/* Runs the loader's part: window_changed = tids (a SQL list), enqueue,
 * commit.  Returns enqueue's result. */
static int enqueue(const char *tids)
{
	etl_err err = ETL_ERR_INIT;
	char s[2048];
	int n;

	sql("BEGIN");
	sql("CREATE TEMP TABLE window_changed (transaction_id text PRIMARY KEY, inserted boolean) ON COMMIT DROP");
	snprintf(s, sizeof(s), "INSERT INTO window_changed SELECT transaction_id, false FROM transactions "
		 "WHERE transaction_id IN (%s)", tids);
	sql(s);
	n = etl_helix_enqueue(db, 0, &err);
	if (n < 0) {
		fprintf(stderr, "enqueue failed: %s\n", err.msg);
		unit_failed++;
		etl_db_rollback(db);
		return -1;
	}
	sql("COMMIT");
	return n;
}

/* A sale: id, time, camera (SQL literal or NULL), status, total, quantity. */
static void sale(const char *tid, const char *when, const char *camera, const char *status,
		 const char *total, int qty)
{
	char s[2048];

	snprintf(s, sizeof(s),
		 "INSERT INTO transactions (transaction_id, transaction_date, store_id, pos_id, camera_id,"
		 " currency, financial_status, total_amount, units, content_md5)"
		 " VALUES ('%s', '%s', 12, 34, %s, 'GBP', '%s', %s, %d, 'x')"
		 " ON CONFLICT (transaction_id) DO UPDATE SET transaction_date = EXCLUDED.transaction_date,"
		 " camera_id = EXCLUDED.camera_id, financial_status = EXCLUDED.financial_status,"
		 " total_amount = EXCLUDED.total_amount, units = EXCLUDED.units",
		 tid, when, camera, status, total, qty);
	sql(s);
	snprintf(s, sizeof(s), "DELETE FROM line_items WHERE transaction_id = '%s'", tid);
	sql(s);
	snprintf(s, sizeof(s), "INSERT INTO line_items VALUES ('%s', 1, 123, %d, 1.00)", tid, qty);
	sql(s);
}

static const char *slot(const char *tid)
{
	char s[256];

	snprintf(s, sizeof(s), "SELECT time_ms - 1763716527000 FROM helix_outbox WHERE transaction_id = '%s'", tid);
	return val(s);
}

static const char *col(const char *tid, const char *c)
{
	char s[256];

	snprintf(s, sizeof(s), "SELECT %s FROM helix_outbox WHERE transaction_id = '%s'", c, tid);
	return val(s);
}

/* Pretends the sender delivered tid's event as it stands. */
static void delivered(const char *tid)
{
	char s[256];

	snprintf(s, sizeof(s), "UPDATE helix_outbox SET state = 'sent', sent_attributes = attributes,"
		 " event_type_uid = 'uid-1' WHERE transaction_id = '%s'", tid);
	sql(s);
}

static void test_enqueue(void)
{
	/* 2025-11-21T09:15:27Z = 1763716527000 ms */
	sql("INSERT INTO stores (store_id, name) VALUES (12, 'London Oxford St')");
	sql("INSERT INTO pos (pos_id, store_id, name) VALUES (34, 12, 'Front Door POS')");
	sql("INSERT INTO cameras (camera_id, store_id) VALUES ('cam-a', 12), ('cam-b', 12), ('cam-c', 12)");
	sql("INSERT INTO items (item_id, name) VALUES (123, 'Shoe')");

	sale("T-2", "2025-11-21T09:15:27Z", "'cam-a'", "paid", "104.50", 3);
	sale("T-1", "2025-11-21T09:15:27Z", "'cam-a'", "paid", "10.00", 1);
	sale("T-3", "2025-11-21T09:15:28Z", "'cam-a'", "pending", "5.00", 1);
	sale("T-4", "2025-11-21T09:15:29Z", "NULL", "paid", "5.00", 1);
	sale("T-5", "2025-11-21T09:15:27.5Z", "'cam-b'", "paid", "100.00", 2);
	CHECK_INT(3, enqueue("'T-1', 'T-2', 'T-3', 'T-4', 'T-5'"));

	/* Two sales in one millisecond: the later transaction_id moves on. */
	CHECK_STR("0", slot("T-1"));
	CHECK_STR("1", slot("T-2"));
	CHECK_STR("500", slot("T-5"));
	CHECK_STR("(none)", slot("T-3"));  /* not paid */
	CHECK_STR("(none)", slot("T-4"));  /* no camera */
	CHECK_STR("pending", col("T-1", "state"));
	CHECK_STR("create", col("T-1", "op"));

	/* The attributes, with the schema's JSON types. */
	CHECK_STR("{\"pos\": \"Front Door POS\", \"items\": 3, \"store\": \"London Oxford St\", \"total\": 104.5, "
		  "\"status\": \"paid\", \"currency\": \"GBP\", \"transaction_id\": \"T-2\"}",
		  col("T-2", "attributes::text"));
	CHECK_STR("100.0", col("T-5", "attributes->>'total'"));
	CHECK_STR("number", col("T-5", "jsonb_typeof(attributes->'total')"));
	CHECK_STR("number", col("T-5", "jsonb_typeof(attributes->'items')"));

	/* Enqueueing the same sales again changes nothing. */
	CHECK_INT(0, enqueue("'T-1', 'T-2', 'T-3', 'T-4', 'T-5'"));

	/* A new sale on a taken millisecond yields to the rows already
	 * queued, whatever its transaction_id. */
	sale("T-0", "2025-11-21T09:15:27Z", "'cam-a'", "paid", "1.00", 1);
	CHECK_INT(1, enqueue("'T-0'"));
	CHECK_STR("2", slot("T-0"));

	/* Greedy in (time, transaction_id) order within one window. */
	sale("G-a", "2025-11-21T09:15:27Z", "'cam-c'", "paid", "1.00", 1);
	sale("G-b", "2025-11-21T09:15:27Z", "'cam-c'", "paid", "1.00", 1);
	sale("G-c", "2025-11-21T09:15:27.001Z", "'cam-c'", "paid", "1.00", 1);
	sale("G-d", "2025-11-21T09:15:27.010Z", "'cam-c'", "paid", "1.00", 1);
	CHECK_INT(4, enqueue("'G-a', 'G-b', 'G-c', 'G-d'"));
	CHECK_STR("0", slot("G-a"));
	CHECK_STR("1", slot("G-b"));
	CHECK_STR("2", slot("G-c"));
	CHECK_STR("10", slot("G-d"));
	/* ... and against rows already queued (the one-by-one path). */
	sale("G-e", "2025-11-21T09:15:27.001Z", "'cam-c'", "paid", "1.00", 1);
	sale("G-f", "2025-11-21T09:15:27.001Z", "'cam-c'", "paid", "1.00", 1);
	sale("G-g", "2025-11-21T09:15:27.004Z", "'cam-c'", "paid", "1.00", 1);
	CHECK_INT(3, enqueue("'G-e', 'G-f', 'G-g'"));
	CHECK_STR("3", slot("G-e"));
	CHECK_STR("4", slot("G-f"));
	CHECK_STR("5", slot("G-g"));
	CHECK_STR("0", val("SELECT count(*) FROM (SELECT camera_id, time_ms FROM helix_outbox "
			   "GROUP BY 1, 2 HAVING count(*) > 1) d"));

	/* A sent sale refunded: an update (a PATCH), never a second event. */
	delivered("T-1");
	sale("T-1", "2025-11-21T09:15:27Z", "'cam-a'", "refunded", "10.00", 1);
	CHECK_INT(1, enqueue("'T-1'"));
	CHECK_STR("update", col("T-1", "op"));
	CHECK_STR("pending", col("T-1", "state"));
	CHECK_STR("refunded", col("T-1", "attributes->>'status'"));
	CHECK_STR("0", slot("T-1"));
	/* ... and back to paid before it went out: nothing to send. */
	sale("T-1", "2025-11-21T09:15:27Z", "'cam-a'", "paid", "10.00", 1);
	CHECK_INT(1, enqueue("'T-1'"));
	CHECK_STR("sent", col("T-1", "state"));

	/* A sent sale that moves (date, camera) keeps its triple. */
	sale("T-1", "2025-11-21T10:00:00Z", "'cam-b'", "paid", "11.00", 1);
	CHECK_INT(1, enqueue("'T-1'"));
	CHECK_STR("0", slot("T-1"));
	CHECK_STR("cam-a", col("T-1", "camera_id"));
	CHECK_STR("update", col("T-1", "op"));

	/* A sale never sent that is no longer paid: its row goes. */
	sale("T-5", "2025-11-21T09:15:27.5Z", "'cam-b'", "refunded", "100.00", 2);
	CHECK_INT(1, enqueue("'T-5'"));
	CHECK_STR("(none)", slot("T-5"));
	/* A sale that becomes paid later gets its first event then. */
	sale("T-3", "2025-11-21T09:15:28Z", "'cam-a'", "paid", "5.00", 1);
	CHECK_INT(1, enqueue("'T-3'"));
	CHECK_STR("1000", slot("T-3"));
	CHECK_STR("create", col("T-3", "op"));

	/* A sale never sent whose date moved goes to its new slot. */
	sale("T-2", "2025-11-21T09:15:30Z", "'cam-a'", "paid", "104.50", 3);
	CHECK_INT(2, enqueue("'T-2'"));  /* dropped, then queued again */
	CHECK_STR("3000", slot("T-2"));

	/* An inflight create (outcome unknown) whose sale is refunded keeps
	 * its triple and state: the GET decides. */
	sql("UPDATE helix_outbox SET state = 'inflight', event_type_uid = 'uid-1' WHERE transaction_id = 'T-0'");
	sale("T-0", "2025-11-21T09:15:27Z", "'cam-a'", "refunded", "1.00", 1);
	CHECK_INT(1, enqueue("'T-0'"));
	CHECK_STR("inflight", col("T-0", "state"));
	CHECK_STR("refunded", col("T-0", "attributes->>'status'"));
	CHECK_STR("2", slot("T-0"));

	/* Strings are cut to 200 characters. */
	sql("UPDATE stores SET name = repeat('x', 250)");
	CHECK_INT(1, enqueue("'G-a'"));
	CHECK_STR("200", col("G-a", "length(attributes->>'store')"));

	/* Outside a transaction it refuses. */
	{
		etl_err err = ETL_ERR_INIT;

		CHECK_INT(-1, etl_helix_enqueue(db, 0, &err));
		CHECK_INT(ETL_EINTERNAL, err.code);
	}
}

/* `test_helix enqueue [TID...]` */
static int enqueue_cmd(int argc, char **argv)
{
	char list[65536] = "SELECT transaction_id FROM transactions";
	int n;

	if (argc > 2) {
		size_t o = 0;

		for (int i = 2; i < argc && o + 80 < sizeof(list); i++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s'%s'", i > 2 ? "," : "", argv[i]);
	}
	n = enqueue(list);
	if (n < 0)
		return 1;
	printf("%d\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *url = getenv("ETL_DATABASE_URL");
	etl_err err = ETL_ERR_INIT;
	int ret;

	if (argc > 1 && (!url || etl_db_connect(&db, url, NULL, &err) < 0)) {
		fprintf(stderr, "test_helix %s: needs a database in ETL_DATABASE_URL (%s)\n", argv[1], err.msg);
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "enqueue")) {
		ret = enqueue_cmd(argc, argv);
		etl_db_close(db);
		etl_log_release();
		return ret;
	}
	test_pace();
	if (argc > 1 && !strcmp(argv[1], "db"))
		test_enqueue();
	etl_db_close(db);
	etl_log_release();
	return unit_done();
}

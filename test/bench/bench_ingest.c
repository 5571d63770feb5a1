/*
 * bench_ingest.c - the two loaders `etl fetch` is measured against
 * (test/bench/bench_ingest.sh, scripts/bench.sh).
 *
 *   bench_ingest export FILE
 *       writes the sales of the database ETL_DATABASE_URL (loaded by
 *       `etl fetch`) as CSV rows in the loader's staging layout
 *      : the same rows, already validated and
 *       flattened, line items as three arrays per sale.
 *   bench_ingest copy FILE SINCE UNTIL
 *       (a) the limit: the rows of FILE loaded with one COPY into the
 *       loader's staging table and merged by the loader's own SQL
 *       (etl_load_window_csv: same merge, same window bookkeeping, one
 *       transaction), into a database that holds the reference data only.
 *   bench_ingest naive FILE
 *       (b) a naive loader: the same rows, row by row, with prepared
 *       statements doing what the merge does, one round trip each, all in
 *       one transaction: upsert the customer (latest sale wins), upsert the
 *       sale (written only when its md5 differs), delete the line items
 *       beyond the sale's count, upsert each line item.
 *
 * Each prints one line "sales=N lines=M seconds=S" (S: from connecting to
 * the commit) on stdout.  Exit 0, or 1 with a message on stderr.
 */
#include "db.h"
#include "load.h"
#include "runlog.h"
#include "timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_ingest: %s: %s\n", what, msg);
	return 1;
}

/* ---- export ------------------------------------------------------------- */

/* The staging layout: seq, the sale's columns, the line items as arrays.
 * seq follows the order the source serves (date, then id). */
static const char export_sql[] =
	"COPY (SELECT row_number() OVER (ORDER BY t.transaction_date, t.transaction_id COLLATE \"C\"),"
	"  t.transaction_id, t.transaction_date, t.updated_at, t.store_id, t.pos_id, t.camera_id,"
	"  t.customer_id, t.customer_email, t.customer_first_name, t.customer_last_name,"
	"  t.customer_accepts_marketing, t.billing_address::text, t.shipping_address::text,"
	"  t.billing_province, t.billing_country, t.currency, t.financial_status, t.total_amount,"
	"  t.total_discounts, t.total_tax, t.units, t.content_md5, l.ids, l.qty, l.prices"
	" FROM transactions t JOIN (SELECT transaction_id, array_agg(item_id ORDER BY line_no) AS ids,"
	"   array_agg(quantity ORDER BY line_no) AS qty, array_agg(unit_price ORDER BY line_no) AS prices"
	"   FROM line_items GROUP BY transaction_id) l USING (transaction_id)"
	" ORDER BY 1) TO STDOUT (FORMAT csv)";

static int cmd_export(etl_db *db, const char *file)
{
	PGconn *conn = etl_db_conn(db);
	PGresult *res = PQexec(conn, export_sql);
	FILE *f = NULL;
	char *row;
	int n, ret = 1;

	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		ret = die("export", PQerrorMessage(conn));
		goto cleanup;
	}
	if (!(f = fopen(file, "w"))) {
		ret = die(file, "cannot write");
		goto cleanup;
	}
	while ((n = PQgetCopyData(conn, &row, 0)) > 0) {
		fwrite(row, 1, (size_t)n, f);
		PQfreemem(row);
	}
	PQclear(res);
	res = PQgetResult(conn);
	if (n != -1 || PQresultStatus(res) != PGRES_COMMAND_OK) {
		ret = die("export", PQerrorMessage(conn));
		goto cleanup;
	}
	printf("rows=%s\n", PQcmdTuples(res));
	ret = 0;
cleanup:
	PQclear(res);
	if (f && fclose(f) != 0 && ret == 0)
		ret = die(file, "cannot write");
	return ret;
}

/* ---- copy: the limit ---------------------------------------------------- */

static int cmd_copy(etl_db *db, const char *file, const char *since, const char *until, double t0)
{
	etl_config cfg;
	etl_err err = ETL_ERR_INIT;
	etl_loader *l = NULL;
	etl_window win;
	etl_run_counts c;
	int64_t run_id = 0, lines = 0;
	FILE *f = fopen(file, "r");
	int ret = 1;

	memset(&cfg, 0, sizeof(cfg));
	if (!f)
		return die(file, "cannot read");
	if (etl_time_parse(since, NULL, &win.since) < 0 || etl_time_parse(until, NULL, &win.until) < 0) {
		fclose(f);
		return die("copy", "SINCE and UNTIL must be RFC 3339 instants");
	}
	if (etl_db_exec(db, "SET temp_buffers = '128MB'", 0, NULL, &err) < 0 ||
	    etl_runlog_start(db, "bench-copy", &run_id, &err) < 0 ||
	    etl_loader_open(&l, db, &cfg, NULL, NULL, run_id, 0, &err) < 0 ||
	    etl_load_window_csv(l, &win, f, &c, &err) < 0) {
		die("copy", err.msg);
		goto cleanup;
	}
	{
		PGresult *res = etl_db_query(db, "SELECT count(*) FROM line_items", 0, NULL, &err);

		if (!res) {
			die("copy", err.msg);
			goto cleanup;
		}
		lines = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	printf("sales=%" PRId64 " lines=%" PRId64 " seconds=%.3f\n", c.inserted, lines, now_s() - t0);
	ret = 0;
cleanup:
	etl_loader_close(l);
	if (run_id > 0)
		etl_runlog_finish(db, run_id, NULL, ret, NULL, &c, &err);
	fclose(f);
	return ret;
}

/* ---- naive: row by row -------------------------------------------------- */

/* One CSV record's fields (PostgreSQL's CSV: an unquoted empty field is
 * NULL, a quoted one is the empty string). */
#define MAXF 32
struct record {
	char *f[MAXF];
	int n;
	char *buf;
	size_t cap;
};

/* Reads one record into r; 1, 0 at the end, -1 on a malformed file. */
static int read_record(FILE *in, struct record *r)
{
	size_t len = 0;
	int c, quoted = 0, inq = 0, any = 0;
	size_t start = 0;
	size_t offs[MAXF];
	int isnull[MAXF];

	r->n = 0;
	for (;;) {
		c = getc(in);
		if (c == EOF && !any)
			return 0;
		any = 1;
		if (len + 2 > r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 4096;
			char *p = realloc(r->buf, cap);

			if (!p)
				return -1;
			r->buf = p;
			r->cap = cap;
		}
		if (inq) {
			if (c == EOF)
				return -1;
			if (c == '"') {
				int d = getc(in);

				if (d == '"') {
					r->buf[len++] = '"';
					continue;
				}
				ungetc(d, in);
				inq = 0;
				continue;
			}
			r->buf[len++] = (char)c;
			continue;
		}
		if (c == '"') {
			inq = quoted = 1;
			continue;
		}
		if (c == ',' || c == '\n' || c == EOF) {
			if (r->n == MAXF)
				return -1;
			r->buf[len++] = '\0';
			offs[r->n] = start;
			isnull[r->n] = !quoted && len - 1 == start;
			r->n++;
			start = len;
			quoted = 0;
			if (c != ',')
				break;
			continue;
		}
		r->buf[len++] = (char)c;
	}
	for (int i = 0; i < r->n; i++)
		r->f[i] = isnull[i] ? NULL : r->buf + offs[i];
	return 1;
}

/* Splits an array literal {a,b,c} (numbers only) in place. */
static int split_array(char *s, char **out, int max)
{
	int n = 0;

	if (!s || *s != '{')
		return -1;
	s++;
	while (*s && *s != '}') {
		if (n == max)
			return -1;
		out[n++] = s;
		s += strcspn(s, ",}");
		if (*s == ',')
			*s++ = '\0';
	}
	*s = '\0';
	return n;
}

static const char naive_customer_sql[] =
	"INSERT INTO customers AS cu (customer_id, email, first_name, last_name, accepts_marketing,"
	"  last_transaction_date, last_transaction_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
	" ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email, first_name = excluded.first_name,"
	"  last_name = excluded.last_name, accepts_marketing = excluded.accepts_marketing,"
	"  last_transaction_date = excluded.last_transaction_date,"
	"  last_transaction_id = excluded.last_transaction_id, updated_at = now()"
	" WHERE excluded.last_transaction_date > cu.last_transaction_date"
	"  OR (excluded.last_transaction_date = cu.last_transaction_date"
	"      AND excluded.last_transaction_id COLLATE \"C\" > cu.last_transaction_id COLLATE \"C\")";

static const char naive_transaction_sql[] =
	"INSERT INTO transactions AS t (transaction_id, transaction_date, updated_at, store_id, pos_id,"
	"  camera_id, customer_id, customer_email, customer_first_name, customer_last_name,"
	"  customer_accepts_marketing, billing_address, shipping_address, billing_province,"
	"  billing_country, currency, financial_status, total_amount, total_discounts, total_tax, units,"
	"  content_md5, run_id)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,"
	"  $20, $21, $22, $23)"
	" ON CONFLICT (transaction_id) DO UPDATE SET transaction_date = excluded.transaction_date,"
	"  updated_at = excluded.updated_at, store_id = excluded.store_id, pos_id = excluded.pos_id,"
	"  camera_id = excluded.camera_id, customer_id = excluded.customer_id,"
	"  customer_email = excluded.customer_email, customer_first_name = excluded.customer_first_name,"
	"  customer_last_name = excluded.customer_last_name,"
	"  customer_accepts_marketing = excluded.customer_accepts_marketing,"
	"  billing_address = excluded.billing_address, shipping_address = excluded.shipping_address,"
	"  billing_province = excluded.billing_province, billing_country = excluded.billing_country,"
	"  currency = excluded.currency, financial_status = excluded.financial_status,"
	"  total_amount = excluded.total_amount, total_discounts = excluded.total_discounts,"
	"  total_tax = excluded.total_tax, units = excluded.units, content_md5 = excluded.content_md5,"
	"  run_id = excluded.run_id, loaded_at = now()"
	" WHERE t.content_md5 IS DISTINCT FROM excluded.content_md5";

static const char naive_lines_trim_sql[] =
	"DELETE FROM line_items WHERE transaction_id = $1 AND line_no > $2::integer";

static const char naive_line_sql[] =
	"INSERT INTO line_items (transaction_id, line_no, item_id, quantity, unit_price)"
	" VALUES ($1, $2, $3, $4, $5)"
	" ON CONFLICT (transaction_id, line_no) DO UPDATE SET item_id = excluded.item_id,"
	"  quantity = excluded.quantity, unit_price = excluded.unit_price";

static int exec_ok(PGconn *conn, PGresult *res, const char *what)
{
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		die(what, PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

static int cmd_naive(etl_db *db, const char *file, double t0)
{
	PGconn *conn = etl_db_conn(db);
	struct record r = { { 0 }, 0, NULL, 0 };
	FILE *in = fopen(file, "r");
	PGresult *res;
	char run[24], lineno[12];
	int64_t sales = 0, lines = 0;
	int rc, ret = 1;

	if (!in)
		return die(file, "cannot read");
	res = PQexec(conn, "INSERT INTO runs (command, status) VALUES ('bench-naive', 'running') RETURNING run_id");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		die("naive", PQerrorMessage(conn));
		PQclear(res);
		goto cleanup;
	}
	snprintf(run, sizeof(run), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!exec_ok(conn, PQprepare(conn, "c", naive_customer_sql, 0, NULL), "prepare") ||
	    !exec_ok(conn, PQprepare(conn, "t", naive_transaction_sql, 0, NULL), "prepare") ||
	    !exec_ok(conn, PQprepare(conn, "l", naive_line_sql, 0, NULL), "prepare") ||
	    !exec_ok(conn, PQprepare(conn, "d", naive_lines_trim_sql, 0, NULL), "prepare") ||
	    !exec_ok(conn, PQexec(conn, "BEGIN"), "begin"))
		goto cleanup;
	while ((rc = read_record(in, &r)) == 1) {
		/* 0 seq, 1 id, 2 date, 3 updated_at, 4 store, 5 pos, 6 camera, 7 customer,
		 * 8 email, 9 first, 10 last, 11 marketing, 12 billing, 13 shipping,
		 * 14 province, 15 country, 16 currency, 17 status, 18 total,
		 * 19 discounts, 20 tax, 21 units, 22 md5, 23 ids, 24 qty, 25 prices */
		const char *tp[23];
		char *ids[64], *qty[64], *price[64];
		int nl;

		if (r.n != 26) {
			die(file, "a row without the 26 fields of the staging layout");
			goto cleanup;
		}
		if (r.f[7]) {
			const char *cp[] = { r.f[7], r.f[8], r.f[9], r.f[10], r.f[11], r.f[2], r.f[1] };

			if (!exec_ok(conn, PQexecPrepared(conn, "c", 7, cp, NULL, NULL, 0), "customer"))
				goto cleanup;
		}
		for (int i = 0; i < 22; i++)
			tp[i] = r.f[i + 1];
		tp[22] = run;
		if (!exec_ok(conn, PQexecPrepared(conn, "t", 23, tp, NULL, NULL, 0), "transaction"))
			goto cleanup;
		nl = split_array(r.f[23], ids, 64);
		if (nl < 0 || split_array(r.f[24], qty, 64) != nl || split_array(r.f[25], price, 64) != nl) {
			die(file, "line item arrays that do not match");
			goto cleanup;
		}
		snprintf(lineno, sizeof(lineno), "%d", nl);
		{
			const char *dp[] = { r.f[1], lineno };

			if (!exec_ok(conn, PQexecPrepared(conn, "d", 2, dp, NULL, NULL, 0), "line items"))
				goto cleanup;
		}
		for (int i = 0; i < nl; i++) {
			const char *lp[] = { r.f[1], lineno, ids[i], qty[i], price[i] };

			snprintf(lineno, sizeof(lineno), "%d", i + 1);
			if (!exec_ok(conn, PQexecPrepared(conn, "l", 5, lp, NULL, NULL, 0), "line item"))
				goto cleanup;
		}
		sales++;
		lines += nl;
	}
	if (rc < 0) {
		die(file, "malformed CSV");
		goto cleanup;
	}
	if (!exec_ok(conn, PQexec(conn, "COMMIT"), "commit"))
		goto cleanup;
	printf("sales=%" PRId64 " lines=%" PRId64 " seconds=%.3f\n", sales, lines, now_s() - t0);
	ret = 0;
cleanup:
	free(r.buf);
	fclose(in);
	return ret;
}

int main(int argc, char **argv)
{
	etl_err err = ETL_ERR_INIT;
	etl_db *db = NULL;
	double t0 = now_s();
	int ret;

	if (argc < 3 || (strcmp(argv[1], "export") && strcmp(argv[1], "naive") &&
			 (strcmp(argv[1], "copy") || argc != 5))) {
		fprintf(stderr, "usage: bench_ingest export FILE | copy FILE SINCE UNTIL | naive FILE\n"
				"  (the database: ETL_DATABASE_URL)\n");
		return 64;
	}
	if (etl_db_connect(&db, getenv("ETL_DATABASE_URL"), NULL, &err) < 0)
		return die("connect", err.msg);
	if (!strcmp(argv[1], "export"))
		ret = cmd_export(db, argv[2]);
	else if (!strcmp(argv[1], "copy"))
		ret = cmd_copy(db, argv[2], argv[3], argv[4], t0);
	else
		ret = cmd_naive(db, argv[2], t0);
	etl_db_close(db);
	return ret;
}

/* copybuf.c - see copybuf.h. */
#include "copybuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Grows geometrically so a page of rows costs a handful of reallocs, then
 * the memory is reused for every later page. */
static int reserve(etl_copybuf *b, size_t extra)
{
	size_t need = b->len + extra, cap;
	char *p;

	if (b->oom)
		return -1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 65536;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

static void separator(etl_copybuf *b)
{
	if (b->col++ > 0 && reserve(b, 1) == 0)
		b->data[b->len++] = '\t';
}

void etl_copybuf_strn(etl_copybuf *b, const char *s, size_t n)
{
	separator(b);
	/* Worst case every byte is escaped into two. */
	if (reserve(b, 2 * n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		char c = s[i], e = 0;
		switch (c) {
		case '\\': e = '\\'; break;
		case '\t': e = 't'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		default: break;
		}
		if (e) {
			b->data[b->len++] = '\\';
			b->data[b->len++] = e;
		} else {
			b->data[b->len++] = c;
		}
	}
}

void etl_copybuf_str(etl_copybuf *b, const char *s)
{
	if (!s)
		etl_copybuf_null(b);
	else
		etl_copybuf_strn(b, s, strlen(s));
}

void etl_copybuf_raw(etl_copybuf *b, const char *s)
{
	size_t n = strlen(s);

	separator(b);
	if (reserve(b, n) < 0)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

void etl_copybuf_int(etl_copybuf *b, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	etl_copybuf_raw(b, buf);
}

void etl_copybuf_null(etl_copybuf *b)
{
	etl_copybuf_raw(b, "\\N");
}

void etl_copybuf_end_row(etl_copybuf *b)
{
	if (reserve(b, 1) == 0)
		b->data[b->len++] = '\n';
	b->col = 0;
	b->rows++;
}

void etl_copybuf_reset(etl_copybuf *b)
{
	b->len = 0;
	b->col = 0;
	b->rows = 0;
	b->oom = 0;
}

void etl_copybuf_release(etl_copybuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int etl_copybuf_start(etl_copybuf *b, etl_db *db, const char *copy_sql, const char *what, etl_err *err)
{
	PGresult *res;

	if (b->oom) {
		etl_copybuf_reset(b);
		return etl_err_set(err, ETL_EINTERNAL, "out of memory building COPY data");
	}
	if (b->rows == 0)
		return 0;
	res = PQexec(etl_db_conn(db), copy_sql);
	if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
		etl_db_fail(db, res, what, err);
		PQclear(res);
		etl_copybuf_reset(b);
		return -1;
	}
	PQclear(res);
	return 1;
}

int etl_copybuf_send(etl_copybuf *b, etl_db *db, const char *copy_sql, etl_err *err)
{
	PGconn *conn = etl_db_conn(db);
	PGresult *res;
	int ret = -1, started = etl_copybuf_start(b, db, copy_sql, "starting COPY", err);

	if (started <= 0)
		return started;
	if (PQputCopyData(conn, b->data, (int)b->len) != 1 || PQputCopyEnd(conn, NULL) != 1) {
		etl_db_fail(db, NULL, "sending COPY data", err);
		/* Drain whatever result the server has, to leave the connection usable. */
		while ((res = PQgetResult(conn)) != NULL)
			PQclear(res);
		goto cleanup;
	}
	res = PQgetResult(conn);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		etl_db_fail(db, res, "COPY", err);
		PQclear(res);
		while ((res = PQgetResult(conn)) != NULL)
			PQclear(res);
		goto cleanup;
	}
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	ret = 0;
cleanup:
	etl_copybuf_reset(b);
	return ret;
}

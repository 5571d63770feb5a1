/* quarantine.c - see quarantine.h. */
#include "quarantine.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

void etl_quarantine_init(etl_quarantine *q, etl_db *db, int64_t run_id)
{
	memset(q, 0, sizeof(*q));
	q->db = db;
	q->run_id = run_id;
}

/* A text[] literal: {"a","b"} with quotes and backslashes escaped. */
static char *reasons_array(const etl_reasons *r)
{
	size_t n = 3;
	char *out, *p;

	for (int i = 0; i < r->n; i++)
		n += 2 * strlen(r->codes[i]) + 3;
	out = malloc(n);
	if (!out)
		return NULL;
	p = out;
	*p++ = '{';
	for (int i = 0; i < r->n; i++) {
		if (i)
			*p++ = ',';
		*p++ = '"';
		for (const char *c = r->codes[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}

int etl_quarantine_add(etl_quarantine *q, const char *resource, const char *key,
		       const etl_reasons *reasons, const cJSON *record, etl_err *err)
{
	char *raw = etl_json_print(record);
	char *arr = reasons_array(reasons);

	if (!raw || !arr) {
		free(raw);
		free(arr);
		return etl_err_set(err, ETL_EINTERNAL, "out of memory quarantining a record");
	}
	if (q->run_id)
		etl_copybuf_int(&q->buf, q->run_id);
	else
		etl_copybuf_null(&q->buf);
	etl_copybuf_str(&q->buf, resource);
	etl_copybuf_str(&q->buf, key);
	etl_copybuf_str(&q->buf, arr);
	etl_copybuf_str(&q->buf, raw);
	etl_copybuf_end_row(&q->buf);
	free(raw);
	free(arr);
	q->added++;
	return 0;
}

int etl_quarantine_flush(etl_quarantine *q, etl_err *err)
{
	return etl_copybuf_send(&q->buf, q->db,
		"COPY quarantine (run_id, resource, record_key, reasons, raw) FROM STDIN", err);
}

void etl_quarantine_release(etl_quarantine *q)
{
	etl_copybuf_release(&q->buf);
}

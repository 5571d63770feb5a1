/*
 * copybuf.h - rows in PostgreSQL's COPY text format, sent in one COPY.
 *
 * The loader builds one buffer per page and sends it with one COPY into a
 * staging table: no row-by-row round trips.  Values are escaped for the text
 * format (backslash, tab, newline, carriage return); NULL is \N.
 */
#ifndef ETL_COPYBUF_H
#define ETL_COPYBUF_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

typedef struct etl_copybuf {
	char *data;
	size_t len, cap;
	int col;      /* fields written in the current row */
	int64_t rows; /* complete rows in the buffer */
	int oom;      /* an append failed; the buffer must not be sent */
} etl_copybuf;

#define ETL_COPYBUF_INIT { NULL, 0, 0, 0, 0, 0 }

/* Appends one field: a string (NULL = SQL NULL), n bytes of one, an integer,
 * or a field already in COPY text form (raw: no escaping).  Failures (out of
 * memory) are sticky: they set oom, and etl_copybuf_send then refuses. */
void etl_copybuf_str(etl_copybuf *b, const char *s);
void etl_copybuf_strn(etl_copybuf *b, const char *s, size_t n);
void etl_copybuf_int(etl_copybuf *b, int64_t v);
void etl_copybuf_null(etl_copybuf *b);
void etl_copybuf_raw(etl_copybuf *b, const char *s);
/* Ends the current row. */
void etl_copybuf_end_row(etl_copybuf *b);

/* The first half of a send, for a caller that sends the data itself (the
 * loader sends without blocking, to fetch meanwhile): refuses a buffer whose
 * append failed, does nothing for an empty one, else runs copy_sql and
 * expects the server to wait for data (what names it in an error).  Returns
 * 1 when the server waits for b->data, 0 when there was nothing to send,
 * -1 on error; on 0 and -1 the buffer is emptied. */
int etl_copybuf_start(etl_copybuf *b, etl_db *db, const char *copy_sql, const char *what, etl_err *err);

/* Runs copy_sql ("COPY t (a, b) FROM STDIN") and sends the buffer's rows;
 * empties the buffer (keeping its memory) on success and on failure.
 * A buffer with no rows sends nothing.  Returns 0 or -1. */
int etl_copybuf_send(etl_copybuf *b, etl_db *db, const char *copy_sql, etl_err *err);

/* Empties the buffer, keeping its memory. */
void etl_copybuf_reset(etl_copybuf *b);
void etl_copybuf_release(etl_copybuf *b);

#endif

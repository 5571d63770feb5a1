/*
 * strbuf.h - a growable, NUL-terminated byte string.
 *
 * Ownership: the caller owns the etl_strbuf (usually on its stack or in a
 * struct) and releases its memory with etl_strbuf_release; start from
 * ETL_STRBUF_INIT, or from etl_strbuf_init to set a cap.
 *
 * Errors are sticky, as in curl's dynbuf: an append that fails (out of
 * memory, or growing past the cap) sets oom or too_big and every later
 * append does nothing, so a caller appends freely and checks once, with
 * etl_strbuf_failed, before it uses the text.  etl_strbuf_reset empties the
 * buffer, keeps its memory and clears the errors.
 */
#ifndef ETL_STRBUF_H
#define ETL_STRBUF_H

#include <stddef.h>
#include <string.h>

typedef struct etl_strbuf {
	char *p;        /* the text, NUL-terminated once anything was appended */
	size_t len;     /* bytes in p, without the NUL */
	size_t cap;     /* bytes allocated */
	size_t max;     /* the longest len allowed; 0: no cap */
	int oom;        /* an allocation failed */
	int too_big;    /* an append would have passed max */
} etl_strbuf;

#define ETL_STRBUF_INIT { NULL, 0, 0, 0, 0, 0 }

/* An empty buffer that refuses to hold more than max bytes (0: no cap). */
void etl_strbuf_init(etl_strbuf *b, size_t max);

/* The slow path of etl_strbuf_add: grows the buffer, or fails. */
void etl_strbuf_grow_add(etl_strbuf *b, const void *s, size_t n);

/* Appends n bytes of s (which may hold NULs). */
static inline void etl_strbuf_add(etl_strbuf *b, const void *s, size_t n)
{
	if (b->len + n < b->cap && !b->oom && !b->too_big && (!b->max || b->len + n <= b->max)) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
		b->p[b->len] = '\0';
		return;
	}
	etl_strbuf_grow_add(b, s, n);
}

/* Appends the C string s. */
static inline void etl_strbuf_adds(etl_strbuf *b, const char *s)
{
	etl_strbuf_add(b, s, strlen(s));
}

/* Appends s as a JSON string literal, quotes included: ", \ and control
 * characters escaped, everything else (UTF-8 included) as it is. */
void etl_strbuf_add_json_str(etl_strbuf *b, const char *s);

/* Whether an append failed since the last reset. */
static inline int etl_strbuf_failed(const etl_strbuf *b)
{
	return b->oom || b->too_big;
}

/* Empties the buffer (keeping its memory and cap) and clears the errors. */
void etl_strbuf_reset(etl_strbuf *b);

/* Frees the memory; the buffer is empty and usable again, cap kept. */
void etl_strbuf_release(etl_strbuf *b);

#endif

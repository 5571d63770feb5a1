/* strbuf.c - see strbuf.h. */
#include "strbuf.h"

#include <stdint.h>
#include <stdlib.h>

void etl_strbuf_init(etl_strbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void etl_strbuf_grow_add(etl_strbuf *b, const void *s, size_t n)
{
	size_t want, cap;
	char *p;

	if (b->oom || b->too_big)
		return;
	if (n > SIZE_MAX / 2 - b->len || (b->max && b->len + n > b->max)) {
		b->too_big = 1;
		return;
	}
	want = b->len + n + 1;
	if (want > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < want)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void etl_strbuf_add_json_str(etl_strbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	etl_strbuf_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char two[2] = { '\\', (char)c };

			etl_strbuf_add(b, two, 2);
		} else if (c < 0x20) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			etl_strbuf_add(b, esc, 6);
		} else {
			etl_strbuf_add(b, s, 1);
		}
	}
	etl_strbuf_add(b, "\"", 1);
}

void etl_strbuf_reset(etl_strbuf *b)
{
	b->len = 0;
	b->oom = b->too_big = 0;
	if (b->p)
		b->p[0] = '\0';
}

void etl_strbuf_release(etl_strbuf *b)
{
	size_t max = b->max;

	free(b->p);
	memset(b, 0, sizeof(*b));
	b->max = max;
}

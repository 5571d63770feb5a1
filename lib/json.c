/* json.c - see json.h.
 *
 * Parsing is cJSON's, then one lexer pass over the same text picks out the
 * literal of every number token in document order, and a depth-first walk of
 * the tree (cJSON keeps children in document order) hands the k-th literal
 * to the k-th number item.  cJSON 1.7's cJSON_Delete frees valuestring of
 * every item that is not a reference, whatever its type, so the literals
 * need no bookkeeping of ours.
 *
 * cJSON is more lenient with numbers than JSON ("01", "1.", "-01.5e3"); the
 * lexer holds every literal to the RFC 8259 grammar, so what we accept is
 * what PostgreSQL's json type and every other consumer accept too.
 */
#include "json.h"
#include "strbuf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing ---------------------------------------------------------- */

typedef struct lexer {
	const char *p, *end;
} lexer;

static int is_number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Skips a string whose opening quote is at p; returns the byte after the
 * closing quote.  A quote is escaped when an odd run of backslashes precedes
 * it; memchr keeps long strings cheap. */
static const char *skip_string(const char *p, const char *end)
{
	p++;
	for (;;) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		const char *b;

		if (!q)
			return end;
		for (b = q; b > p && b[-1] == '\\'; b--)
			;
		if ((q - b) % 2 == 0)
			return q + 1;
		p = q + 1;
	}
}

/* Finds the next number token; *len gets its length.  NULL when none is left. */
static const char *next_number(lexer *lx, size_t *len)
{
	const char *p = lx->p;

	while (p < lx->end) {
		char c = *p;

		if (c == '"') {
			p = skip_string(p, lx->end);
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			const char *start = p;

			while (p < lx->end && is_number_char(*p))
				p++;
			lx->p = p;
			*len = (size_t)(p - start);
			return start;
		} else {
			p++;
		}
	}
	lx->p = p;
	return NULL;
}

static size_t digits_at(const char *p, const char *end)
{
	size_t n = 0;

	while (p + n < end && p[n] >= '0' && p[n] <= '9')
		n++;
	return n;
}

/* Whether s[0..len) is exactly the RFC 8259 number grammar:
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int strict_number(const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	size_t n;

	if (p < end && *p == '-')
		p++;
	n = digits_at(p, end);
	if (n == 0 || (n > 1 && *p == '0'))
		return 0;
	p += n;
	if (p < end && *p == '.') {
		n = digits_at(++p, end);
		if (n == 0)
			return 0;
		p += n;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		n = digits_at(p, end);
		if (n == 0)
			return 0;
		p += n;
	}
	return p == end;
}

/* Literal copies are allocated at least this big.  Measured with glibc on a
 * page of 1000 sales: 5-byte copies share a size class with cJSON's short
 * keys and strings and made malloc/free churn (parse 3.0 ms a page against
 * 1.7 ms for cJSON alone); 32-byte blocks bring it to 2.2 ms. */
#define LITERAL_MIN_ALLOC 32

/* Gives every number item under item (and its siblings) its literal.
 * Returns 0, or -1 with *bad at the offending literal (or NULL on OOM). */
static int attach_literals(cJSON *item, lexer *lx, const char **bad)
{
	for (; item; item = item->next) {
		if (cJSON_IsNumber(item)) {
			size_t len;
			const char *lit = next_number(lx, &len);
			char *copy;

			*bad = lit ? lit : lx->end;
			if (!lit || !strict_number(lit, len))
				return -1;
			copy = malloc(len < LITERAL_MIN_ALLOC ? LITERAL_MIN_ALLOC : len + 1);
			if (!copy) {
				*bad = NULL;
				return -1;
			}
			memcpy(copy, lit, len);
			copy[len] = '\0';
			item->valuestring = copy;
		} else if (item->child && attach_literals(item->child, lx, bad) < 0) {
			return -1;
		}
	}
	return 0;
}

static int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

cJSON *etl_json_parse(const char *text, size_t len, size_t *error_offset)
{
	const char *end = NULL, *bad = NULL, *rest;
	cJSON *root;
	lexer lx = { text, text + len };
	size_t ignored, tail_len;

	if (!error_offset)
		error_offset = &ignored;
	*error_offset = 0;
	if (!text || len == 0)
		return NULL;
	/* require_null_terminated is not used: with a length it fails on text
	 * that simply ends at len.  The tail is checked below instead. */
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		const char *ep = cJSON_GetErrorPtr();

		*error_offset = ep && ep >= text && ep <= text + len ? (size_t)(ep - text) : 0;
		return NULL;
	}
	for (rest = end; rest < text + len && is_json_space(*rest); rest++)
		;
	if (rest != text + len) {
		*error_offset = (size_t)(rest - text);
		goto fail;
	}
	if (attach_literals(root, &lx, &bad) < 0) {
		*error_offset = bad ? (size_t)(bad - text) : 0;
		goto fail;
	}
	/* Every token found a number item; a leftover would mean we disagree
	 * with cJSON about the text, so refuse it rather than guess. */
	if (next_number(&lx, &tail_len)) {
		*error_offset = (size_t)(lx.p - text);
		goto fail;
	}
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

const char *etl_json_number_text(const cJSON *item)
{
	return cJSON_IsNumber(item) ? item->valuestring : NULL;
}

/* ---- UTF-8 (see json.h) ------------------------------------------------ */

size_t etl_utf8_seq(const unsigned char *p, size_t *bad)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t n, i;

	*bad = 1;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;	/* a continuation byte, C0, C1 or F5..FF */
	/* the second byte's range narrows for E0, ED, F0 and F4 */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	for (i = 1; i < n; i++) {
		if (p[i] < lo || p[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	return n;
}

int etl_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, bad;

	while (*p) {
		if (*p < 0x80)
			p++;
		else if ((n = etl_utf8_seq(p, &bad)) > 0)
			p += n;
		else
			return 0;
	}
	return 1;
}

/* ---- printing --------------------------------------------------------- */

static int needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

/* Writes s as a JSON string: quotes, backslashes and control characters
 * escaped, everything else copied in runs.  cJSON copies string bytes as
 * they come, so s may hold invalid UTF-8; PostgreSQL refuses that in text
 * and jsonb, and one such record would fail its whole window's COPY.  Each
 * ill-formed sequence is printed as U+FFFD (its UTF-8 bytes, not the
 * escape, so that printing the parse of the output gives the output). */
static void put_quoted(etl_strbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	etl_strbuf_add(b, "\"", 1);
	while (*p) {
		const unsigned char *run = p;
		char esc[7] = "\\u00";
		size_t n, bad;

		while (*p && !needs_escape(*p)) {
			if (*p < 0x80) {
				p++;
			} else if ((n = etl_utf8_seq(p, &bad)) > 0) {
				p += n;
			} else {
				etl_strbuf_add(b, (const char *)run, (size_t)(p - run));
				etl_strbuf_add(b, "\xef\xbf\xbd", 3);
				p += bad;
				run = p;
			}
		}
		etl_strbuf_add(b, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		switch (*p) {
		case '"': etl_strbuf_add(b, "\\\"", 2); break;
		case '\\': etl_strbuf_add(b, "\\\\", 2); break;
		case '\b': etl_strbuf_add(b, "\\b", 2); break;
		case '\f': etl_strbuf_add(b, "\\f", 2); break;
		case '\n': etl_strbuf_add(b, "\\n", 2); break;
		case '\r': etl_strbuf_add(b, "\\r", 2); break;
		case '\t': etl_strbuf_add(b, "\\t", 2); break;
		default:
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			etl_strbuf_add(b, esc, 6);
		}
		p++;
	}
	etl_strbuf_add(b, "\"", 1);
}

/* A number item made by cJSON_CreateNumber has no literal: print its double
 * the way cJSON does (shortest of 15 or 17 digits that reads back).  Money
 * never takes this path: it always comes from parsed text. */
static void put_double(etl_strbuf *b, double d)
{
	char buf[64];

	if (!isfinite(d)) {
		etl_strbuf_adds(b, "null");
		return;
	}
	snprintf(buf, sizeof(buf), "%1.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, sizeof(buf), "%1.17g", d);
	etl_strbuf_adds(b, buf);
}

static void put_value(etl_strbuf *b, const cJSON *item);

static void put_children(etl_strbuf *b, const cJSON *child, int with_keys)
{
	for (; child && !b->oom; child = child->next) {
		if (with_keys) {
			put_quoted(b, child->string);
			etl_strbuf_add(b, ":", 1);
		}
		put_value(b, child);
		if (child->next)
			etl_strbuf_add(b, ",", 1);
	}
}

static void put_value(etl_strbuf *b, const cJSON *item)
{
	switch (item->type & 0xff) {
	case cJSON_False: etl_strbuf_adds(b, "false"); break;
	case cJSON_True: etl_strbuf_adds(b, "true"); break;
	case cJSON_Number:
		if (item->valuestring)
			etl_strbuf_adds(b, item->valuestring);
		else
			put_double(b, item->valuedouble);
		break;
	case cJSON_String: put_quoted(b, item->valuestring); break;
	case cJSON_Raw: etl_strbuf_adds(b, item->valuestring ? item->valuestring : "null"); break;
	case cJSON_Array:
		etl_strbuf_add(b, "[", 1);
		put_children(b, item->child, 0);
		etl_strbuf_add(b, "]", 1);
		break;
	case cJSON_Object:
		etl_strbuf_add(b, "{", 1);
		put_children(b, item->child, 1);
		etl_strbuf_add(b, "}", 1);
		break;
	default: etl_strbuf_adds(b, "null"); break;	/* cJSON_NULL, cJSON_Invalid */
	}
}

char *etl_json_print(const cJSON *item)
{
	etl_strbuf b = ETL_STRBUF_INIT;

	if (!item)
		return NULL;
	put_value(&b, item);
	if (etl_strbuf_failed(&b) || !b.p) {
		etl_strbuf_release(&b);
		return NULL;
	}
	return b.p;  /* the caller frees it */
}

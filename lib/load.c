/* load.c - see load.h. */
#include "load.h"
#include "copybuf.h"
#include "helix.h"
#include "json.h"
#include "log.h"
#include "quarantine.h"
#include "refsync.h"
#include "strbuf.h"
#include "timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- numbers and instants as text, without printf ---------------------- */

/* A page of sales formats millions of numbers: printf's generality shows
 * up in profiles, these do not.  Each writes at most 24 bytes, NUL
 * included, and returns the length. */
static size_t fmt_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0, k = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		out[k++] = tmp[--n];
	out[k] = '\0';
	return k;
}

static size_t fmt_i64(char *out, int64_t v)
{
	if (v < 0) {
		out[0] = '-';
		return 1 + fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
	}
	return fmt_u64(out, (uint64_t)v);
}

/* Cents as a decimal with two places: 10450 -> "104.50". */
static size_t fmt_cents(char *out, int64_t cents)
{
	uint64_t a = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
	size_t n = 0;

	if (cents < 0)
		out[n++] = '-';
	n += fmt_u64(out + n, a / 100);
	out[n++] = '.';
	out[n++] = (char)('0' + a % 100 / 10);
	out[n++] = (char)('0' + a % 10);
	out[n] = '\0';
	return n;
}

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

/* An instant as PostgreSQL timestamptz input in UTC,
 * "2026-11-21 09:15:27.123456+00" (the fraction only when not 0); out of
 * at least 40 bytes. */
static void fmt_time(char *out, etl_time t)
{
	etl_date days = etl_time_utc_date(t);
	int64_t rem = t - (int64_t)days * ETL_USEC_PER_DAY;
	int64_t secs = rem / ETL_USEC_PER_SEC, frac = rem % ETL_USEC_PER_SEC;
	int y, m, d;
	char *p = out;

	etl_date_to_ymd(days, &y, &m, &d);
	if (y < 1 || y > 9999) {  /* validation never lets one through; stay exact anyway */
		etl_time_format(t, out, 40);
		return;
	}
	put2(p, y / 100);
	put2(p + 2, y % 100);
	p[4] = '-';
	put2(p + 5, m);
	p[7] = '-';
	put2(p + 8, d);
	p[10] = ' ';
	put2(p + 11, (int)(secs / 3600));
	p[13] = ':';
	put2(p + 14, (int)(secs / 60 % 60));
	p[16] = ':';
	put2(p + 17, (int)(secs % 60));
	p += 19;
	if (frac) {
		*p++ = '.';
		for (int64_t div = 100000; div > 0; div /= 10)
			*p++ = (char)('0' + frac / div % 10);
	}
	memcpy(p, "+00", 4);
}

/* ---- MD5 (RFC 1321) --------------------------------------------------- */

/* The md5 of a sale's canonical text is computed here rather than in SQL,
 * so that an unchanged sale costs the database one comparison. */
#define MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD5_G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))
#define MD5_STEP(f, a, b, c, d, x, t, s) \
	do { \
		(a) += f((b), (c), (d)) + (x) + (uint32_t)(t); \
		(a) = ((a) << (s)) | ((a) >> (32 - (s))); \
		(a) += (b); \
	} while (0)

static void md5_block(uint32_t h[4], const unsigned char *p)
{
	uint32_t x[16], a = h[0], b = h[1], c = h[2], d = h[3];

	for (int i = 0; i < 16; i++)
		x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
		       (uint32_t)p[4 * i + 3] << 24;
	MD5_STEP(MD5_F, a, b, c, d, x[0], 0xd76aa478, 7);
	MD5_STEP(MD5_F, d, a, b, c, x[1], 0xe8c7b756, 12);
	MD5_STEP(MD5_F, c, d, a, b, x[2], 0x242070db, 17);
	MD5_STEP(MD5_F, b, c, d, a, x[3], 0xc1bdceee, 22);
	MD5_STEP(MD5_F, a, b, c, d, x[4], 0xf57c0faf, 7);
	MD5_STEP(MD5_F, d, a, b, c, x[5], 0x4787c62a, 12);
	MD5_STEP(MD5_F, c, d, a, b, x[6], 0xa8304613, 17);
	MD5_STEP(MD5_F, b, c, d, a, x[7], 0xfd469501, 22);
	MD5_STEP(MD5_F, a, b, c, d, x[8], 0x698098d8, 7);
	MD5_STEP(MD5_F, d, a, b, c, x[9], 0x8b44f7af, 12);
	MD5_STEP(MD5_F, c, d, a, b, x[10], 0xffff5bb1, 17);
	MD5_STEP(MD5_F, b, c, d, a, x[11], 0x895cd7be, 22);
	MD5_STEP(MD5_F, a, b, c, d, x[12], 0x6b901122, 7);
	MD5_STEP(MD5_F, d, a, b, c, x[13], 0xfd987193, 12);
	MD5_STEP(MD5_F, c, d, a, b, x[14], 0xa679438e, 17);
	MD5_STEP(MD5_F, b, c, d, a, x[15], 0x49b40821, 22);
	MD5_STEP(MD5_G, a, b, c, d, x[1], 0xf61e2562, 5);
	MD5_STEP(MD5_G, d, a, b, c, x[6], 0xc040b340, 9);
	MD5_STEP(MD5_G, c, d, a, b, x[11], 0x265e5a51, 14);
	MD5_STEP(MD5_G, b, c, d, a, x[0], 0xe9b6c7aa, 20);
	MD5_STEP(MD5_G, a, b, c, d, x[5], 0xd62f105d, 5);
	MD5_STEP(MD5_G, d, a, b, c, x[10], 0x02441453, 9);
	MD5_STEP(MD5_G, c, d, a, b, x[15], 0xd8a1e681, 14);
	MD5_STEP(MD5_G, b, c, d, a, x[4], 0xe7d3fbc8, 20);
	MD5_STEP(MD5_G, a, b, c, d, x[9], 0x21e1cde6, 5);
	MD5_STEP(MD5_G, d, a, b, c, x[14], 0xc33707d6, 9);
	MD5_STEP(MD5_G, c, d, a, b, x[3], 0xf4d50d87, 14);
	MD5_STEP(MD5_G, b, c, d, a, x[8], 0x455a14ed, 20);
	MD5_STEP(MD5_G, a, b, c, d, x[13], 0xa9e3e905, 5);
	MD5_STEP(MD5_G, d, a, b, c, x[2], 0xfcefa3f8, 9);
	MD5_STEP(MD5_G, c, d, a, b, x[7], 0x676f02d9, 14);
	MD5_STEP(MD5_G, b, c, d, a, x[12], 0x8d2a4c8a, 20);
	MD5_STEP(MD5_H, a, b, c, d, x[5], 0xfffa3942, 4);
	MD5_STEP(MD5_H, d, a, b, c, x[8], 0x8771f681, 11);
	MD5_STEP(MD5_H, c, d, a, b, x[11], 0x6d9d6122, 16);
	MD5_STEP(MD5_H, b, c, d, a, x[14], 0xfde5380c, 23);
	MD5_STEP(MD5_H, a, b, c, d, x[1], 0xa4beea44, 4);
	MD5_STEP(MD5_H, d, a, b, c, x[4], 0x4bdecfa9, 11);
	MD5_STEP(MD5_H, c, d, a, b, x[7], 0xf6bb4b60, 16);
	MD5_STEP(MD5_H, b, c, d, a, x[10], 0xbebfbc70, 23);
	MD5_STEP(MD5_H, a, b, c, d, x[13], 0x289b7ec6, 4);
	MD5_STEP(MD5_H, d, a, b, c, x[0], 0xeaa127fa, 11);
	MD5_STEP(MD5_H, c, d, a, b, x[3], 0xd4ef3085, 16);
	MD5_STEP(MD5_H, b, c, d, a, x[6], 0x04881d05, 23);
	MD5_STEP(MD5_H, a, b, c, d, x[9], 0xd9d4d039, 4);
	MD5_STEP(MD5_H, d, a, b, c, x[12], 0xe6db99e5, 11);
	MD5_STEP(MD5_H, c, d, a, b, x[15], 0x1fa27cf8, 16);
	MD5_STEP(MD5_H, b, c, d, a, x[2], 0xc4ac5665, 23);
	MD5_STEP(MD5_I, a, b, c, d, x[0], 0xf4292244, 6);
	MD5_STEP(MD5_I, d, a, b, c, x[7], 0x432aff97, 10);
	MD5_STEP(MD5_I, c, d, a, b, x[14], 0xab9423a7, 15);
	MD5_STEP(MD5_I, b, c, d, a, x[5], 0xfc93a039, 21);
	MD5_STEP(MD5_I, a, b, c, d, x[12], 0x655b59c3, 6);
	MD5_STEP(MD5_I, d, a, b, c, x[3], 0x8f0ccc92, 10);
	MD5_STEP(MD5_I, c, d, a, b, x[10], 0xffeff47d, 15);
	MD5_STEP(MD5_I, b, c, d, a, x[1], 0x85845dd1, 21);
	MD5_STEP(MD5_I, a, b, c, d, x[8], 0x6fa87e4f, 6);
	MD5_STEP(MD5_I, d, a, b, c, x[15], 0xfe2ce6e0, 10);
	MD5_STEP(MD5_I, c, d, a, b, x[6], 0xa3014314, 15);
	MD5_STEP(MD5_I, b, c, d, a, x[13], 0x4e0811a1, 21);
	MD5_STEP(MD5_I, a, b, c, d, x[4], 0xf7537e82, 6);
	MD5_STEP(MD5_I, d, a, b, c, x[11], 0xbd3af235, 10);
	MD5_STEP(MD5_I, c, d, a, b, x[2], 0x2ad7d2bb, 15);
	MD5_STEP(MD5_I, b, c, d, a, x[9], 0xeb86d391, 21);
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

/* Writes the hex md5 of n bytes of s into out (33 bytes). */
static void md5_hex(const char *s, size_t n, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	uint32_t h[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };
	const unsigned char *p = (const unsigned char *)s;
	unsigned char block[64];
	size_t rest = n % 64, off = 0;
	uint64_t bits = (uint64_t)n * 8;

	for (; off + 64 <= n; off += 64)
		md5_block(h, p + off);
	memset(block, 0, sizeof(block));
	memcpy(block, p + off, rest);
	block[rest] = 0x80;
	if (rest >= 56) {
		md5_block(h, block);
		memset(block, 0, sizeof(block));
	}
	for (int i = 0; i < 8; i++)
		block[56 + i] = (unsigned char)(bits >> (8 * i));
	md5_block(h, block);
	for (int i = 0; i < 16; i++) {
		unsigned char byte = (unsigned char)(h[i / 4] >> (8 * (i % 4)));

		out[2 * i] = hex[byte >> 4];
		out[2 * i + 1] = hex[byte & 15];
	}
	out[32] = '\0';
}

/* ---- the canonical text of a sale -------------------------------------- */

/* Every scalar is written with its length or a type letter in front
 * ("5:hello", "i42;"), NULL as "~", so no two different sales can have the
 * same text. */
static void canon_str(etl_strbuf *b, const char *s)
{
	char num[24];
	size_t n;

	if (!s) {
		etl_strbuf_add(b, "~", 1);
		return;
	}
	n = strlen(s);
	etl_strbuf_add(b, num, fmt_u64(num, n));
	etl_strbuf_add(b, ":", 1);
	etl_strbuf_add(b, s, n);
}

static void canon_int(etl_strbuf *b, int64_t v)
{
	char num[24];

	etl_strbuf_add(b, "i", 1);
	etl_strbuf_add(b, num, fmt_i64(num, v));
	etl_strbuf_add(b, ";", 1);
}

static void canon_json_string(etl_strbuf *b, const char *s)
{
	const char *run = s;

	etl_strbuf_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		etl_strbuf_add(b, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			etl_strbuf_add(b, esc, 2);
		} else {
			static const char hex[] = "0123456789abcdef";

			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			etl_strbuf_add(b, esc, 6);
		}
	}
	etl_strbuf_add(b, run, (size_t)(s - run));
	etl_strbuf_add(b, "\"", 1);
}

static void canon_json(etl_strbuf *b, const cJSON *v, int depth);

/* Members in byte order of their keys; for a key given twice the later one
 * sorts last.  Insertion sort: address objects have a handful of keys. */
static void sort_members(const cJSON **m, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		const cJSON *x = m[i];
		size_t j = i;

		while (j > 0 && strcmp(m[j - 1]->string, x->string) > 0) {
			m[j] = m[j - 1];
			j--;
		}
		m[j] = x;
	}
}

/* An object with its members sorted by key and a repeated key kept once
 * (the last, as jsonb keeps it): neither the key order the source happens
 * to use nor a trip through jsonb (rejects replay) changes the md5. */
static void canon_object(etl_strbuf *b, const cJSON *v, int depth)
{
	const cJSON *small[32], **m = small, *c;
	size_t n = 0, k = 0, out = 0;

	cJSON_ArrayForEach(c, v)
		n++;
	if (n > sizeof(small) / sizeof(small[0]) && !(m = malloc(n * sizeof(*m)))) {
		b->oom = 1;
		return;
	}
	cJSON_ArrayForEach(c, v)
		m[k++] = c;
	sort_members(m, n);
	etl_strbuf_add(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && strcmp(m[i]->string, m[i + 1]->string) == 0)
			continue;
		if (out++)
			etl_strbuf_add(b, ",", 1);
		canon_json_string(b, m[i]->string);
		etl_strbuf_add(b, ":", 1);
		canon_json(b, m[i], depth + 1);
	}
	etl_strbuf_add(b, "}", 1);
	if (m != small)
		free(m);
}

/* Canonical JSON: valid JSON (it is also what the jsonb columns get),
 * numbers as their literal text, strings escaped one way only. */
static void canon_json(etl_strbuf *b, const cJSON *v, int depth)
{
	const cJSON *c;
	const char *lit;
	char num[40];
	int first = 1;

	if (depth > 64) {  /* cJSON bounds nesting too; this only guards the stack */
		etl_strbuf_adds(b, "null");
		return;
	}
	if (cJSON_IsObject(v)) {
		canon_object(b, v, depth);
	} else if (cJSON_IsArray(v)) {
		etl_strbuf_add(b, "[", 1);
		cJSON_ArrayForEach(c, v) {
			if (!first)
				etl_strbuf_add(b, ",", 1);
			first = 0;
			canon_json(b, c, depth + 1);
		}
		etl_strbuf_add(b, "]", 1);
	} else if (cJSON_IsString(v)) {
		canon_json_string(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		lit = etl_json_number_text(v);
		if (!lit) {
			snprintf(num, sizeof(num), "%.17g", v->valuedouble);
			lit = num;
		}
		etl_strbuf_adds(b, lit);
	} else {
		etl_strbuf_adds(b, cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false" : "null");
	}
}

/* Where in the canonical text an address's JSON lies (len 0: none). */
struct span {
	size_t off, len;
};

static void canon_address(etl_strbuf *b, const cJSON *addr, struct span *sp)
{
	sp->off = b->len;
	if (addr)
		canon_json(b, addr, 0);
	sp->len = b->len - sp->off;
	etl_strbuf_add(b, "|", 1);
}

/* The canonical text of everything a sale stores: the transactions row's
 * columns and the line items.  "v1" names the format: changing it makes
 * every sale look changed once.  The addresses' canonical JSON is also the
 * text staged for the jsonb columns (*bill, *ship). */
static void canon_sale(etl_strbuf *b, const etl_sale *s, struct span *bill, struct span *ship)
{
	etl_strbuf_reset(b);
	etl_strbuf_adds(b, "v1|");
	canon_str(b, s->transaction_id);
	canon_int(b, s->transaction_date);
	if (s->has_updated_at)
		canon_int(b, s->updated_at);
	else
		canon_str(b, NULL);
	canon_int(b, s->store_id);
	canon_int(b, s->pos_id);
	canon_str(b, s->camera_id);
	canon_str(b, s->customer_id);
	canon_str(b, s->email);
	canon_str(b, s->first_name);
	canon_str(b, s->last_name);
	canon_int(b, s->accepts_marketing);
	canon_address(b, s->billing_address, bill);
	canon_address(b, s->shipping_address, ship);
	canon_str(b, s->billing_province);
	canon_str(b, s->billing_country);
	canon_str(b, s->currency);
	canon_str(b, s->financial_status);
	canon_int(b, s->total_amount_cents);
	canon_int(b, s->total_discounts_cents);
	canon_int(b, s->total_tax_cents);
	canon_int(b, s->units);
	canon_int(b, s->nlines);
	for (int i = 0; i < s->nlines; i++) {
		canon_int(b, s->lines[i].item_id);
		canon_int(b, s->lines[i].quantity);
		canon_int(b, s->lines[i].unit_price_cents);
	}
}

/* ---- timing, for -vv --------------------------------------------------- */

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- SQL --------------------------------------------------------------- */

/* The temp tables: created once per connection, emptied by every commit or
 * rollback.  load_stage_sales holds the window's sales, each with its line
 * items as three arrays (one staged row per sale: the lines are expanded
 * only for the sales that get written); after the collapse of duplicates it
 * holds the winners only.  window_changed (named by helix.h) lists the sales
 * inserted or updated; load_recompute the customers whose stored latest sale
 * changed; load_replay_failed the new reasons of records replay left in the
 * quarantine.  The page merge (below) keeps load_early (the sales it wrote,
 * by seq), load_held (ids it left to the window's merge) and
 * load_early_customers (the customers it created). */
static const char create_sql[] =
	"CREATE TEMP TABLE IF NOT EXISTS load_stage_sales ("
	" seq bigint NOT NULL, transaction_id text NOT NULL, transaction_date timestamptz NOT NULL,"
	" updated_at timestamptz, store_id bigint NOT NULL, pos_id bigint NOT NULL, camera_id text,"
	" customer_id text, customer_email text, customer_first_name text, customer_last_name text,"
	" customer_accepts_marketing boolean, billing_address jsonb, shipping_address jsonb,"
	" billing_province text, billing_country text, currency text NOT NULL,"
	" financial_status text NOT NULL, total_amount numeric NOT NULL, total_discounts numeric NOT NULL,"
	" total_tax numeric NOT NULL, units integer NOT NULL, content_md5 text NOT NULL,"
	" line_item_ids bigint[] NOT NULL, line_quantities integer[] NOT NULL,"
	" line_unit_prices numeric[] NOT NULL"
	") ON COMMIT DELETE ROWS;"
	"CREATE INDEX IF NOT EXISTS load_stage_sales_seq ON load_stage_sales (seq);"
	"CREATE TEMP TABLE IF NOT EXISTS load_early (transaction_id text NOT NULL, seq bigint NOT NULL)"
	" ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS load_held (transaction_id text PRIMARY KEY) ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS load_early_customers (customer_id text NOT NULL) ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS window_changed ("
	" transaction_id text PRIMARY KEY, inserted boolean NOT NULL"
	") ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS load_recompute (customer_id text PRIMARY KEY) ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS load_replay_failed ("
	" quarantine_id bigint PRIMARY KEY, reasons text[] NOT NULL"
	") ON COMMIT DELETE ROWS";

#define SALE_COLUMNS \
	"transaction_id, transaction_date, updated_at, store_id, pos_id, camera_id, customer_id," \
	" customer_email, customer_first_name, customer_last_name, customer_accepts_marketing," \
	" billing_address, shipping_address, billing_province, billing_country, currency," \
	" financial_status, total_amount, total_discounts, total_tax, units, content_md5"

static const char copy_sales_sql[] =
	"COPY load_stage_sales (seq, " SALE_COLUMNS ", line_item_ids, line_quantities, line_unit_prices)"
	" FROM STDIN";
static const char copy_failed_sql[] = "COPY load_replay_failed (quarantine_id, reasons) FROM STDIN";

/* 1. Duplicates collapse: per transaction_id the greatest updated_at wins
 * (present beats absent), then the greatest seq (fetched last).  Only ids
 * staged more than once are ranked; the losers are deleted in place. */
static const char collapse_sql[] =
	"WITH d AS (SELECT transaction_id FROM load_stage_sales GROUP BY transaction_id HAVING count(*) > 1),"
	" r AS (SELECT s.seq, row_number() OVER (PARTITION BY s.transaction_id"
	"        ORDER BY s.updated_at DESC NULLS LAST, s.seq DESC) AS rank"
	"       FROM load_stage_sales s JOIN d ON d.transaction_id = s.transaction_id)"
	" DELETE FROM load_stage_sales s USING r WHERE s.seq = r.seq AND r.rank > 1";

/* Replay only: a quarantined record older than the stored sale loses. */
static const char superseded_sql[] =
	"DELETE FROM load_stage_sales w USING transactions t"
	" WHERE t.transaction_id = w.transaction_id AND t.updated_at IS NOT NULL"
	" AND (w.updated_at IS NULL OR t.updated_at > w.updated_at)";

/* 2. What is new or changed, judged by the md5 before anything is written.
 * A sale the page merge wrote whose version survived the collapse is
 * already right and left out; one whose version lost to a duplicate fetched
 * later (a fix-up) compares like any stored sale: an update of the row the
 * page merge wrote, counted apart (the third count) because for the window
 * it is an insert. */
static const char changed_sql[] =
	"WITH c AS (INSERT INTO window_changed (transaction_id, inserted)"
	"  SELECT w.transaction_id, t.transaction_id IS NULL"
	"  FROM load_stage_sales w LEFT JOIN load_early e ON e.seq = w.seq"
	"  LEFT JOIN transactions t ON t.transaction_id = w.transaction_id"
	"  WHERE e.seq IS NULL AND (t.transaction_id IS NULL OR t.content_md5 <> w.content_md5)"
	"  RETURNING transaction_id, inserted)"
	" SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),"
	"  count(*) FILTER (WHERE NOT inserted AND EXISTS (SELECT 1 FROM load_early x"
	"                                                  WHERE x.transaction_id = c.transaction_id))"
	" FROM c";

/* 3a. Customers whose stored latest sale this window changes (read before
 * the merge rewrites it): recomputed from transactions afterwards, because
 * the change may move that sale earlier or to another customer. */
static const char recompute_sql[] =
	"INSERT INTO load_recompute (customer_id)"
	" SELECT DISTINCT cu.customer_id FROM window_changed c"
	" JOIN transactions t ON t.transaction_id = c.transaction_id"
	" JOIN customers cu ON cu.customer_id = t.customer_id AND cu.last_transaction_id = t.transaction_id"
	" WHERE NOT c.inserted";

/* 3b. Customers first (transactions reference them): each takes the fields
 * of its latest changed sale of the window when that one is later (by
 * transaction_date, then transaction_id in byte order) than the one it
 * holds. */
#define CUSTOMERS_HEAD \
	"INSERT INTO customers AS cu (customer_id, email, first_name, last_name, accepts_marketing," \
	"  last_transaction_date, last_transaction_id)" \
	" SELECT DISTINCT ON (w.customer_id) w.customer_id, w.customer_email, w.customer_first_name," \
	"  w.customer_last_name, w.customer_accepts_marketing, w.transaction_date, w.transaction_id"
#define CUSTOMERS_TAIL \
	" WHERE w.customer_id IS NOT NULL" \
	" ORDER BY w.customer_id, w.transaction_date DESC, w.transaction_id COLLATE \"C\" DESC" \
	" ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email," \
	"  first_name = excluded.first_name, last_name = excluded.last_name," \
	"  accepts_marketing = excluded.accepts_marketing," \
	"  last_transaction_date = excluded.last_transaction_date," \
	"  last_transaction_id = excluded.last_transaction_id, updated_at = now()" \
	" WHERE excluded.last_transaction_date > cu.last_transaction_date" \
	"  OR (excluded.last_transaction_date = cu.last_transaction_date" \
	"      AND excluded.last_transaction_id COLLATE \"C\" > cu.last_transaction_id COLLATE \"C\")"
static const char customers_sql[] =
	CUSTOMERS_HEAD
	" FROM load_stage_sales w JOIN window_changed c ON c.transaction_id = w.transaction_id"
	CUSTOMERS_TAIL;
/* 4. The upsert: only rows whose md5 differs are written.  xmax = 0 tells
 * an insert from an update (an updated row version carries the updater's
 * xid); the counts are checked against window_changed. */
#define STAGED_SALE \
	" w.transaction_id, w.transaction_date, w.updated_at, w.store_id, w.pos_id, w.camera_id," \
	" w.customer_id, w.customer_email, w.customer_first_name, w.customer_last_name," \
	" w.customer_accepts_marketing, w.billing_address, w.shipping_address," \
	" w.billing_province, w.billing_country, w.currency, w.financial_status, w.total_amount," \
	" w.total_discounts, w.total_tax, w.units, w.content_md5"
static const char transactions_sql[] =
	"WITH m AS (INSERT INTO transactions AS t (" SALE_COLUMNS ", run_id)"
	"  SELECT" STAGED_SALE ", $1::bigint"
	"  FROM window_changed c JOIN load_stage_sales w ON w.transaction_id = c.transaction_id"
	"  ON CONFLICT (transaction_id) DO UPDATE SET transaction_date = excluded.transaction_date,"
	"   updated_at = excluded.updated_at, store_id = excluded.store_id, pos_id = excluded.pos_id,"
	"   camera_id = excluded.camera_id, customer_id = excluded.customer_id,"
	"   customer_email = excluded.customer_email, customer_first_name = excluded.customer_first_name,"
	"   customer_last_name = excluded.customer_last_name,"
	"   customer_accepts_marketing = excluded.customer_accepts_marketing,"
	"   billing_address = excluded.billing_address, shipping_address = excluded.shipping_address,"
	"   billing_province = excluded.billing_province, billing_country = excluded.billing_country,"
	"   currency = excluded.currency, financial_status = excluded.financial_status,"
	"   total_amount = excluded.total_amount, total_discounts = excluded.total_discounts,"
	"   total_tax = excluded.total_tax, units = excluded.units, content_md5 = excluded.content_md5,"
	"   run_id = excluded.run_id, loaded_at = now()"
	"  WHERE t.content_md5 IS DISTINCT FROM excluded.content_md5"
	"  RETURNING (t.xmax = 0) AS inserted)"
	" SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM m";

/* 3c. After the merge: the customers of 3a take their latest sale's fields
 * again, written only when they differ. */
static const char recompute_apply_sql[] =
	"UPDATE customers cu SET email = x.customer_email, first_name = x.customer_first_name,"
	"  last_name = x.customer_last_name, accepts_marketing = x.customer_accepts_marketing,"
	"  last_transaction_date = x.transaction_date, last_transaction_id = x.transaction_id,"
	"  updated_at = now()"
	" FROM (SELECT DISTINCT ON (t.customer_id) t.customer_id, t.customer_email,"
	"   t.customer_first_name, t.customer_last_name, t.customer_accepts_marketing,"
	"   t.transaction_date, t.transaction_id"
	"  FROM load_recompute r JOIN transactions t ON t.customer_id = r.customer_id"
	"  ORDER BY t.customer_id, t.transaction_date DESC, t.transaction_id COLLATE \"C\" DESC) x"
	" WHERE cu.customer_id = x.customer_id"
	"  AND (cu.email, cu.first_name, cu.last_name, cu.accepts_marketing, cu.last_transaction_date,"
	"       cu.last_transaction_id) IS DISTINCT FROM (x.customer_email, x.customer_first_name,"
	"       x.customer_last_name, x.customer_accepts_marketing, x.transaction_date, x.transaction_id)";

/* 4b. Line items of the changed sales: replaced as a whole. */
static const char lines_delete_sql[] =
	"DELETE FROM line_items li USING window_changed c"
	" WHERE li.transaction_id = c.transaction_id AND NOT c.inserted";
#define LINES_HEAD \
	"INSERT INTO line_items (transaction_id, line_no, item_id, quantity, unit_price)" \
	" SELECT w.transaction_id, u.line_no, u.item_id, u.quantity, u.unit_price"
#define LINES_TAIL \
	" CROSS JOIN LATERAL unnest(w.line_item_ids, w.line_quantities, w.line_unit_prices)" \
	"  WITH ORDINALITY AS u(item_id, quantity, unit_price, line_no)"
static const char lines_insert_sql[] =
	LINES_HEAD " FROM window_changed c JOIN load_stage_sales w ON w.transaction_id = c.transaction_id"
	LINES_TAIL;

/* 3b, 4 and 4b when every staged sale is new (the usual hourly window):
 * straight from the staging table, without the join with window_changed,
 * and plain INSERTs: a sale that exists after all is a unique violation
 * that rolls the window back, never a silent overwrite. */
static const char customers_new_sql[] = CUSTOMERS_HEAD " FROM load_stage_sales w" CUSTOMERS_TAIL;
static const char transactions_new_sql[] =
	"INSERT INTO transactions (" SALE_COLUMNS ", run_id) SELECT" STAGED_SALE ", $1::bigint"
	" FROM load_stage_sales w";
static const char lines_new_sql[] = LINES_HEAD " FROM load_stage_sales w" LINES_TAIL;

/* The page merge: the sales of one chunk of pages (seq in ($1, $2]) that
 * are new to the database and to the window so far (not stored, not staged
 * twice) are written at once, customers, transactions and line items, by
 * one statement that the server runs while etl fetches the next pages (the
 * foreign keys are checked at its end, when every part is in).  Ids staged
 * twice within the chunk are held back for the window's merge (load_held),
 * and so are ids seen again in a later chunk (they are stored by then).
 * load_early records what was written: the window's merge leaves those
 * sales alone unless a later duplicate wins the collapse, and counts them
 * as inserted.  test_load_pages.sh checks that any page size gives the
 * outcome of one page. */
static const char page_merge_sql[] =
	"WITH d AS MATERIALIZED (SELECT s.transaction_id FROM load_stage_sales s"
	"  WHERE s.seq > $1::bigint AND s.seq <= $2::bigint GROUP BY s.transaction_id HAVING count(*) > 1),"
	" held AS (INSERT INTO load_held (transaction_id) SELECT transaction_id FROM d ON CONFLICT DO NOTHING),"
	" w AS MATERIALIZED (SELECT s.* FROM load_stage_sales s WHERE s.seq > $1::bigint AND s.seq <= $2::bigint"
	"  AND NOT EXISTS (SELECT 1 FROM d WHERE d.transaction_id = s.transaction_id)"
	"  AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.transaction_id = s.transaction_id)"
	"  AND NOT EXISTS (SELECT 1 FROM load_held h WHERE h.transaction_id = s.transaction_id)),"
	" cu AS (" CUSTOMERS_HEAD " FROM w" CUSTOMERS_TAIL " RETURNING cu.customer_id, cu.xmax = 0 AS created),"
	" ec AS (INSERT INTO load_early_customers (customer_id) SELECT customer_id FROM cu WHERE created),"
	" tx AS (INSERT INTO transactions (" SALE_COLUMNS ", run_id) SELECT" STAGED_SALE ", $3::bigint FROM w),"
	" li AS (" LINES_HEAD " FROM w" LINES_TAIL ")"
	" INSERT INTO load_early (transaction_id, seq) SELECT transaction_id, seq FROM w";

/* After the window's merge, when the page merge wrote sales: helix.h wants
 * every sale written in window_changed (inserted: it did not exist before
 * the window); and a customer the page merge created for a version that
 * then lost the collapse, and that no stored sale names, is removed again
 * (the window as a whole never created it). */
static const char early_changed_sql[] =
	"WITH f AS (UPDATE window_changed c SET inserted = true FROM load_early e"
	"  WHERE e.transaction_id = c.transaction_id)"
	" INSERT INTO window_changed (transaction_id, inserted)"
	" SELECT e.transaction_id, true FROM load_early e"
	" WHERE NOT EXISTS (SELECT 1 FROM window_changed c WHERE c.transaction_id = e.transaction_id)";
static const char early_customers_sql[] =
	"DELETE FROM customers cu USING load_early_customers ec WHERE cu.customer_id = ec.customer_id"
	" AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.customer_id = cu.customer_id)";

/* 5. The quarantine: a record identical to an older quarantined one is not
 * kept twice (a re-read window would otherwise add the same rows every
 * time); and a sale that loaded resolves its older rejects. */
static const char quarantine_dedupe_sql[] =
	"DELETE FROM quarantine q WHERE q.quarantine_id > $1 AND q.resource = 'sales'"
	" AND EXISTS (SELECT 1 FROM quarantine o WHERE o.resource = q.resource"
	"  AND (o.record_key = q.record_key OR (o.record_key IS NULL AND q.record_key IS NULL))"
	"  AND o.raw = q.raw AND o.quarantine_id < q.quarantine_id)";
static const char quarantine_resolved_sql[] =
	"DELETE FROM quarantine q USING load_stage_sales w"
	" WHERE q.resource = 'sales' AND q.record_key = w.transaction_id AND q.quarantine_id <= $1";

/* 7. The window's record, and the watermark (which never moves back: a
 * --lookback re-read ends before it). */
static const char run_window_sql[] =
	"INSERT INTO run_windows (run_id, window_start, window_end, fetched, loaded, duplicates,"
	"  quarantined, inserted, updated, unchanged)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
static const char watermark_sql[] =
	"INSERT INTO watermark (singleton, next_window) VALUES (true, $1)"
	" ON CONFLICT (singleton) DO UPDATE"
	" SET next_window = excluded.next_window, updated_at = now()"
	" WHERE excluded.next_window > watermark.next_window";

/* Replay: everything staged leaves the quarantine (loaded, collapsed or
 * superseded), that is every sales record read ($1: the last id read)
 * that did not fail again; those that did get their new reasons. */
static const char replay_remove_sql[] =
	"DELETE FROM quarantine q WHERE q.resource = 'sales' AND q.quarantine_id <= $1"
	" AND NOT EXISTS (SELECT 1 FROM load_replay_failed f WHERE f.quarantine_id = q.quarantine_id)";
static const char replay_reasons_sql[] =
	"UPDATE quarantine q SET reasons = f.reasons FROM load_replay_failed f"
	" WHERE q.quarantine_id = f.quarantine_id AND q.reasons IS DISTINCT FROM f.reasons";

/* ---- the loader -------------------------------------------------------- */

struct etl_loader {
	etl_db *db;
	const etl_config *cfg;
	etl_source *src;
	const etl_refdata *ref;
	int64_t run_id;
	unsigned flags;
	int helix;               /* queue and send Helix events */
	int helix_stopped;       /* a send failed: no more sending this run */
	int backlog_known;       /* backlog is the outbox's level since the last change */
	int64_t backlog;
	etl_err helix_err;
	etl_copybuf sales, failed;
	int copy_pending;        /* a page's COPY or merge may still run on the server */
	int merge_pending;       /* ... and it is a page merge (its count goes to early) */
	etl_quarantine q;
	etl_reasons reasons;
	int tables;              /* the temp tables exist (begin_window) */
	etl_strbuf canon, text, arr_ids, arr_qty, arr_price;
	/* the window being loaded */
	const etl_window *win;
	int64_t seq, fetched, staged, quarantined;
	int64_t merged_seq;      /* the page merge has seen the staged rows up to this seq */
	int64_t early;           /* sales the page merge wrote (load_early) */
	int64_t q_before;        /* the greatest quarantine_id before the window */
	double ms_records, ms_copy; /* time validating and staging, for -vv */
	int64_t max_reject_ppb;  /* etl_loader_set_max_reject; -1 = no limit */
	void (*page_fn)(void *arg, int64_t fetched);  /* etl_loader_set_page_hook */
	void *page_arg;
};

/* Several statements in one round trip: PQexec, not the extended protocol
 * that etl_db_exec uses. */
static int create_tables(etl_db *db, etl_err *err)
{
	PGresult *res = PQexec(etl_db_conn(db), create_sql);
	int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		etl_db_fail(db, res, "creating the staging tables", err);
	PQclear(res);
	return ok ? 0 : -1;
}

int etl_loader_open(etl_loader **out, etl_db *db, const etl_config *cfg, etl_source *src,
		    const etl_refdata *ref, int64_t run_id, unsigned flags, etl_err *err)
{
	etl_loader *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return etl_err_set(err, ETL_EINTERNAL, "out of memory");
	l->db = db;
	l->cfg = cfg;
	l->src = src;
	l->ref = ref;
	l->run_id = run_id;
	l->flags = flags;
	l->helix = (flags & ETL_LOAD_HELIX) && etl_config_helix_on(cfg);
	l->max_reject_ppb = -1;
	etl_quarantine_init(&l->q, db, run_id);
	*out = l;
	return 0;
}

/* Opens a window's transaction; the temp tables are created before the
 * first one (in autocommit, so that a rolled-back window keeps them): a run
 * with no window due, the hourly idle case, never pays for their DDL. */
static int begin_window(etl_loader *l, etl_err *err)
{
	if (!l->tables) {
		if (create_tables(l->db, err) < 0)
			return -1;
		l->tables = 1;
	}
	return etl_db_begin(l->db, err);
}

void etl_loader_close(etl_loader *l)
{
	if (!l)
		return;
	etl_copybuf_release(&l->sales);
	etl_copybuf_release(&l->failed);
	etl_quarantine_release(&l->q);
	etl_reasons_release(&l->reasons);
	etl_strbuf_release(&l->canon);
	etl_strbuf_release(&l->text);
	etl_strbuf_release(&l->arr_ids);
	etl_strbuf_release(&l->arr_qty);
	etl_strbuf_release(&l->arr_price);
	free(l);
}

/* ---- staging ----------------------------------------------------------- */

static void copy_i64(etl_copybuf *b, int64_t v)
{
	char num[24];

	fmt_i64(num, v);
	etl_copybuf_raw(b, num);
}

static void copy_cents(etl_copybuf *b, int64_t cents)
{
	char num[32];

	fmt_cents(num, cents);
	etl_copybuf_raw(b, num);
}

static void copy_time(etl_copybuf *b, etl_time t)
{
	char ts[40];

	fmt_time(ts, t);
	etl_copybuf_raw(b, ts);
}

static void copy_span(etl_copybuf *b, const etl_strbuf *canon, const struct span *sp)
{
	if (sp->len == 0)
		etl_copybuf_null(b);
	else
		etl_copybuf_strn(b, canon->p + sp->off, sp->len);
}

/* The line items as three array literals: {101,102} {1,2} {50.00,9.99}. */
static void copy_lines(etl_loader *l, const etl_sale *s)
{
	etl_strbuf *ids = &l->arr_ids, *qty = &l->arr_qty, *price = &l->arr_price;
	char num[32];

	etl_strbuf_reset(ids);
	etl_strbuf_reset(qty);
	etl_strbuf_reset(price);
	for (int i = 0; i < s->nlines; i++) {
		const char *sep = i ? "," : "{";

		etl_strbuf_add(ids, sep, 1);
		etl_strbuf_add(ids, num, fmt_i64(num, s->lines[i].item_id));
		etl_strbuf_add(qty, sep, 1);
		etl_strbuf_add(qty, num, fmt_i64(num, s->lines[i].quantity));
		etl_strbuf_add(price, sep, 1);
		etl_strbuf_add(price, num, fmt_cents(num, s->lines[i].unit_price_cents));
	}
	etl_strbuf_add(ids, s->nlines ? "}" : "{}", s->nlines ? 1 : 2);
	etl_strbuf_add(qty, s->nlines ? "}" : "{}", s->nlines ? 1 : 2);
	etl_strbuf_add(price, s->nlines ? "}" : "{}", s->nlines ? 1 : 2);
	if (ids->oom || qty->oom || price->oom) {
		l->sales.oom = 1;
		return;
	}
	etl_copybuf_raw(&l->sales, ids->p);
	etl_copybuf_raw(&l->sales, qty->p);
	etl_copybuf_raw(&l->sales, price->p);
}

/* Appends one valid sale to the COPY buffer with fetch number seq. */
static int stage_sale(etl_loader *l, const etl_sale *s, int64_t seq)
{
	etl_copybuf *b = &l->sales;
	struct span bill, ship;
	char md5[33];

	canon_sale(&l->canon, s, &bill, &ship);
	if (l->canon.oom)
		return -1;
	md5_hex(l->canon.p, l->canon.len, md5);
	copy_i64(b, seq);
	etl_copybuf_str(b, s->transaction_id);
	copy_time(b, s->transaction_date);
	if (s->has_updated_at)
		copy_time(b, s->updated_at);
	else
		etl_copybuf_null(b);
	copy_i64(b, s->store_id);
	copy_i64(b, s->pos_id);
	etl_copybuf_str(b, s->camera_id);
	etl_copybuf_str(b, s->customer_id);
	etl_copybuf_str(b, s->email);
	etl_copybuf_str(b, s->first_name);
	etl_copybuf_str(b, s->last_name);
	if (s->accepts_marketing < 0)
		etl_copybuf_null(b);
	else
		etl_copybuf_raw(b, s->accepts_marketing ? "t" : "f");
	copy_span(b, &l->canon, &bill);
	copy_span(b, &l->canon, &ship);
	etl_copybuf_str(b, s->billing_province);
	etl_copybuf_str(b, s->billing_country);
	etl_copybuf_str(b, s->currency);
	etl_copybuf_str(b, s->financial_status);
	copy_cents(b, s->total_amount_cents);
	copy_cents(b, s->total_discounts_cents);
	copy_cents(b, s->total_tax_cents);
	copy_i64(b, s->units);
	etl_copybuf_raw(b, md5);
	copy_lines(l, s);
	etl_copybuf_end_row(b);
	return b->oom ? -1 : 0;
}

/* Validates one record: stages it (0), or quarantines it (1).  -1 on error. */
static int take_record(etl_loader *l, const cJSON *rec, const etl_window *win, int64_t seq, etl_err *err)
{
	etl_sale sale;
	char keybuf[128];
	const char *key;
	int v = etl_validate_sale(rec, l->ref, win, l->cfg->source_tz, &sale, &l->reasons);

	if (v < 0)
		return etl_err_set(err, ETL_EINTERNAL, "out of memory validating a sale");
	if (v == 0) {
		int rc = stage_sale(l, &sale, seq);

		etl_sale_release(&sale);
		if (rc < 0)
			return etl_err_set(err, ETL_EINTERNAL, "out of memory staging a sale");
		l->staged++;
		return 0;
	}
	/* the quarantine needs a reason; a validator that says invalid gives
	 * one, this only guards the table's check */
	if (l->reasons.n == 0 && etl_reasons_add(&l->reasons, "bad_type:record") < 0)
		return etl_err_set(err, ETL_EINTERNAL, "out of memory validating a sale");
	key = etl_record_key("sales", rec, keybuf, sizeof(keybuf));
	if (etl_quarantine_add(&l->q, "sales", key, &l->reasons, rec, err) < 0)
		return -1;
	l->quarantined++;
	return 1;
}

/* ---- one COPY per page, and its merge overlapped with the next page ----- */

/*
 * A window's pages are staged with one COPY each, and each page's new
 * sales are written by one statement (page_merge_sql) that is sent without
 * waiting: the server writes the page, foreign-key checks and all, while
 * the client fetches and validates the next one (two cores at work instead
 * of one waiting for the other).  The result is collected before the
 * connection is used for anything else (copy_wait).  What the page merge
 * cannot decide alone (duplicates, sales stored before) is left to the
 * window's merge after the last page, which sees the whole window.
 */
static int copy_wait(etl_loader *l, etl_err *err)
{
	PGconn *conn = etl_db_conn(l->db);
	const char *what = l->merge_pending ? "merging a page of sales" : "staging sales";
	PGresult *res;
	int ok;

	if (!l->copy_pending)
		return 0;
	l->copy_pending = 0;
	res = PQgetResult(conn);  /* sends what is left, then waits */
	ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		etl_db_fail(l->db, res, what, err);
	else if (l->merge_pending)
		l->early += strtoll(PQcmdTuples(res), NULL, 10);
	l->merge_pending = 0;
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL) {
		/* a COPY whose data could not be sent: end it, or this never stops */
		if (PQresultStatus(res) == PGRES_COPY_IN && PQputCopyEnd(conn, "aborted by etl") < 0) {
			PQclear(res);
			break;
		}
		PQclear(res);
	}
	if (PQsetnonblocking(conn, 0) != 0 && ok)
		ok = etl_db_fail(l->db, NULL, what, err) == 0;
	return ok ? 0 : -1;
}

static int copy_start(etl_loader *l, etl_err *err)
{
	PGconn *conn = etl_db_conn(l->db);
	etl_copybuf *b = &l->sales;
	int ret = -1, started = etl_copybuf_start(b, l->db, copy_sales_sql, "staging sales", err);

	if (started <= 0)
		return started;
	l->copy_pending = 1;
	if (PQsetnonblocking(conn, 1) != 0 || PQputCopyData(conn, b->data, (int)b->len) != 1) {
		etl_db_fail(l->db, NULL, "staging sales", err);
		PQputCopyEnd(conn, "aborted by etl");
		copy_wait(l, err);
		goto cleanup;
	}
	if (PQputCopyEnd(conn, NULL) != 1) {
		etl_db_fail(l->db, NULL, "staging sales", err);
		copy_wait(l, err);
		goto cleanup;
	}
	ret = 0;
cleanup:
	etl_copybuf_reset(b);
	return ret;
}

/* Pushes queued COPY data to the server without blocking. */
static void copy_pump(etl_loader *l)
{
	if (l->copy_pending)
		PQflush(etl_db_conn(l->db));
}

/* Sends the page merge of the rows staged since the last one, without
 * waiting (copy_wait collects it). */
static int page_merge_send(etl_loader *l, etl_err *err)
{
	char from[24], to[24], run[24];
	const char *p[] = { from, to, run };

	if (l->seq <= l->merged_seq)
		return 0;
	fmt_i64(from, l->merged_seq);
	fmt_i64(to, l->seq);
	fmt_i64(run, l->run_id);
	if (!PQsendQueryParams(etl_db_conn(l->db), page_merge_sql, 3, NULL, p, NULL, NULL, 0))
		return etl_db_fail(l->db, NULL, "merging a page of sales", err);
	l->copy_pending = l->merge_pending = 1;
	l->merged_seq = l->seq;
	return 0;
}

/* While the server merges, validated pages wait in the COPY buffers, up to
 * this many bytes; then the client waits for the server. */
#define CHUNK_MAX_BYTES ((size_t)8 << 20)

/* Whether the command sent without waiting is still running (never
 * blocks; an error shows in copy_wait). */
static int server_busy(etl_loader *l)
{
	PGconn *conn = etl_db_conn(l->db);

	return l->copy_pending && PQconsumeInput(conn) && PQisBusy(conn);
}

/* The end of a page.  While the server still merges the pages before,
 * this one waits in the buffers (so the pages merge in chunks that grow to
 * what the server keeps up with, and few statements carry the window);
 * else the quarantine's rows and the chunk are copied in, waiting for the
 * COPY (the server is busy with it either way), and the chunk's merge is
 * sent.  last: the window's last page, everything is merged before
 * returning. */
static int page_done(etl_loader *l, int last, etl_err *err)
{
	if (!last && l->merge_pending && server_busy(l) && l->sales.len + l->q.buf.len < CHUNK_MAX_BYTES)
		return 0;
	if (copy_wait(l, err) < 0 || etl_quarantine_flush(&l->q, err) < 0)
		return -1;
	if (copy_start(l, err) < 0 || copy_wait(l, err) < 0 || page_merge_send(l, err) < 0)
		return -1;
	return last ? copy_wait(l, err) : 0;
}

/* The page callback of etl_source_fetch. */
static int on_page(void *arg, const cJSON *data, etl_err *err)
{
	etl_loader *l = arg;
	const cJSON *rec;
	double t0 = mono_ms(), t1;
	int rc;

	cJSON_ArrayForEach(rec, data) {
		l->fetched++;
		if (take_record(l, rec, l->win, ++l->seq, err) < 0)
			return -1;
		if ((l->seq & 63) == 0)
			copy_pump(l);
	}
	t1 = mono_ms();
	rc = page_done(l, 0, err);
	l->ms_records += t1 - t0;
	l->ms_copy += mono_ms() - t1;
	if (rc == 0 && l->page_fn)
		l->page_fn(l->page_arg, l->fetched);
	return rc;
}

/* ---- the merge --------------------------------------------------------- */

static int64_t cell_int(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Runs sql (params as etl_db_query) that returns one row of one or two
 * counts. */
static int query_pair(etl_db *db, const char *sql, int np, const char *const *p, int64_t *a, int64_t *b,
		      const char *what, etl_err *err)
{
	double t0 = mono_ms();
	PGresult *res = etl_db_query(db, sql, np, p, err);

	if (!res)
		return etl_err_prefix(err, "%s", what);
	etl_debug("%s: %.1f ms", what, mono_ms() - t0);
	*a = cell_int(res, 0, 0);
	if (b)
		*b = PQnfields(res) > 1 ? cell_int(res, 0, 1) : 0;
	PQclear(res);
	return 0;
}

/* Runs sql that returns one row of n counts into out[0..n-1]. */
static int query_counts(etl_db *db, const char *sql, int64_t *out, int n, const char *what, etl_err *err)
{
	double t0 = mono_ms();
	PGresult *res = etl_db_query(db, sql, 0, NULL, err);

	if (!res)
		return etl_err_prefix(err, "%s", what);
	etl_debug("%s: %.1f ms", what, mono_ms() - t0);
	for (int i = 0; i < n; i++)
		out[i] = i < PQnfields(res) ? cell_int(res, 0, i) : 0;
	PQclear(res);
	return 0;
}

/* Runs a statement and gives the number of rows it touched. */
static int exec_count(etl_db *db, const char *sql, int np, const char *const *p, int64_t *n,
		      const char *what, etl_err *err)
{
	double t0 = mono_ms();
	PGresult *res = etl_db_query(db, sql, np, p, err);

	if (!res)
		return etl_err_prefix(err, "%s", what);
	etl_debug("%s: %s rows, %.1f ms", what, PQcmdTuples(res), mono_ms() - t0);
	if (n)
		*n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

/* Writes the changed sales: customers, transactions, line items; checks
 * that the upsert did what window_changed says. */
static int merge_changed(etl_loader *l, int64_t loaded, int64_t want_ins, int64_t want_upd, etl_err *err)
{
	char run[24];
	const char *p[] = { run };
	int64_t recompute = 0, ins = 0, upd = 0;

	fmt_i64(run, l->run_id);
	if (want_upd == 0 && want_ins == loaded) {
		if (exec_count(l->db, customers_new_sql, 0, NULL, NULL, "merging customers", err) < 0 ||
		    exec_count(l->db, transactions_new_sql, 1, p, &ins, "merging transactions", err) < 0)
			return -1;
		if (ins != want_ins)
			return etl_err_set(err, ETL_EINTERNAL, "merging transactions: inserted %" PRId64
					   " where %" PRId64 " were due", ins, want_ins);
		return exec_count(l->db, lines_new_sql, 0, NULL, NULL, "merging line items", err);
	}
	if (want_upd > 0 && exec_count(l->db, recompute_sql, 0, NULL, &recompute,
				       "finding the customers to recompute", err) < 0)
		return -1;
	if (exec_count(l->db, customers_sql, 0, NULL, NULL, "merging customers", err) < 0)
		return -1;
	if (query_pair(l->db, transactions_sql, 1, p, &ins, &upd, "merging transactions", err) < 0)
		return -1;
	if (ins != want_ins || upd != want_upd)
		return etl_err_set(err, ETL_EINTERNAL,
				   "merging transactions: inserted %" PRId64 " and updated %" PRId64
				   " where %" PRId64 " and %" PRId64 " were due", ins, upd, want_ins, want_upd);
	if (recompute > 0 && exec_count(l->db, recompute_apply_sql, 0, NULL, NULL,
					"recomputing customers", err) < 0)
		return -1;
	if (want_upd > 0 && exec_count(l->db, lines_delete_sql, 0, NULL, NULL, "replacing line items", err) < 0)
		return -1;
	return exec_count(l->db, lines_insert_sql, 0, NULL, NULL, "merging line items", err);
}

/* The window's merge after the chunks: collapse, compare, write what is
 * left (merge's counts as out-parameters). */
static int merge_rest(etl_loader *l, int replay, int64_t staged, int64_t *losers, int64_t *superseded,
		      int64_t *ins, int64_t *upd, int64_t *fix, etl_err *err)
{
	int64_t n[3];

	if (staged > 1 && exec_count(l->db, collapse_sql, 0, NULL, losers, "collapsing duplicates", err) < 0)
		return -1;
	if (replay && staged > 0 &&
	    exec_count(l->db, superseded_sql, 0, NULL, superseded, "dropping superseded sales", err) < 0)
		return -1;
	if (staged - *losers - *superseded > 0) {
		if (query_counts(l->db, changed_sql, n, 3, "comparing with the stored sales", err) < 0)
			return -1;
		*ins = n[0], *upd = n[1], *fix = n[2];
	}
	if (*ins + *upd > 0 && merge_changed(l, staged - *losers - *superseded, *ins, *upd, err) < 0)
		return -1;
	/* a customer a chunk created for a version that lost, and no sale names */
	if (*fix > 0 && exec_count(l->db, early_customers_sql, 0, NULL, NULL, "tidying the customers", err) < 0)
		return -1;
	return 0;
}

/* Merges what is staged and fills c's load counts.  replay: quarantined
 * records older than the stored sale are dropped first (counted as
 * duplicates). */
static int merge(etl_loader *l, int replay, etl_run_counts *c, etl_err *err)
{
	int64_t staged = 0, losers = 0, superseded = 0, ins = 0, upd = 0, fix = 0;

	if (query_pair(l->db, "SELECT count(*) FROM load_stage_sales", 0, NULL, &staged, NULL,
		       "counting the staged sales", err) < 0)
		return -1;
	if (staged != l->staged)
		return etl_err_set(err, ETL_EINTERNAL, "%" PRId64 " sales were staged but %" PRId64 " arrived",
				   l->staged, staged);
	/* Unless a chunk wrote every staged sale (then no id came twice and
	 * none was stored before the window: either would have kept a sale
	 * from its chunk, so nothing is left to compare): */
	if (l->early != staged && merge_rest(l, replay, staged, &losers, &superseded, &ins, &upd, &fix, err) < 0)
		return -1;
	if (l->early > 0 && l->helix &&
	    exec_count(l->db, early_changed_sql, 0, NULL, NULL, "listing the sales written", err) < 0)
		return -1;
	c->fetched = l->fetched;
	c->quarantined = l->quarantined;
	c->loaded = staged - losers - superseded;
	c->duplicates = losers + superseded;
	c->inserted = ins + l->early;  /* a fix-up is an update of a sale new to the window */
	c->updated = upd - fix;
	c->unchanged = c->loaded - c->inserted - c->updated;
	if (!etl_run_counts_consistent(c) || c->unchanged < 0 || c->updated < 0)
		return etl_err_set(err, ETL_EINTERNAL,
				   "the counts do not add up: fetched %" PRId64 ", loaded %" PRId64
				   ", duplicates %" PRId64 ", quarantined %" PRId64 ", inserted %" PRId64
				   ", updated %" PRId64 ", unchanged %" PRId64, c->fetched, c->loaded,
				   c->duplicates, c->quarantined, c->inserted, c->updated, c->unchanged);
	return 0;
}

/* The quarantine's housekeeping for the window (step 5). */
static int tidy_quarantine(etl_loader *l, const etl_run_counts *c, etl_err *err)
{
	char before[24];
	const char *p[] = { before };

	fmt_i64(before, l->q_before);
	if (c->quarantined > 0 &&
	    exec_count(l->db, quarantine_dedupe_sql, 1, p, NULL, "tidying the quarantine", err) < 0)
		return -1;
	if (c->loaded > 0 &&
	    exec_count(l->db, quarantine_resolved_sql, 1, p, NULL, "tidying the quarantine", err) < 0)
		return -1;
	return 0;
}

/* ---- one window -------------------------------------------------------- */

static void window_reset(etl_loader *l, const etl_window *win)
{
	l->win = win;
	l->seq = l->fetched = l->staged = l->quarantined = 0;
	l->merged_seq = l->early = 0;
	l->backlog_known = 0;  /* the window may queue Helix events */
	l->ms_records = l->ms_copy = 0;
	l->q.added = 0;
	etl_copybuf_reset(&l->sales);
	etl_copybuf_reset(&l->failed);
	etl_copybuf_reset(&l->q.buf);
}

static int read_q_before(etl_loader *l, etl_err *err)
{
	return query_pair(l->db, "SELECT coalesce(max(quarantine_id), 0) FROM quarantine", 0, NULL,
			  &l->q_before, NULL, "reading the quarantine", err);
}

/* Step 7: the run_windows row, the run's counters, the watermark. */
static int record_window(etl_loader *l, const etl_window *win, const etl_run_counts *c, etl_err *err)
{
	char v[10][40];
	const char *p[10];
	const int64_t n[] = { c->fetched, c->loaded, c->duplicates, c->quarantined,
			      c->inserted, c->updated, c->unchanged };

	fmt_i64(v[0], l->run_id);
	fmt_time(v[1], win->since);
	fmt_time(v[2], win->until);
	for (int i = 0; i < 7; i++)
		fmt_i64(v[3 + i], n[i]);
	for (int i = 0; i < 10; i++)
		p[i] = v[i];
	if (etl_db_exec(l->db, run_window_sql, 10, p, err) < 0)
		return etl_err_prefix(err, "recording the window");
	if (etl_runlog_add_window(l->db, l->run_id, c, err) < 0)
		return etl_err_prefix(err, "recording the window");
	if ((l->flags & ETL_LOAD_WATERMARK) && etl_db_exec(l->db, watermark_sql, 1, p + 2, err) < 0)
		return etl_err_prefix(err, "moving the watermark");
	return 0;
}

/* Commits, or with ETL_LOAD_DRY_RUN rolls back on purpose. */
static int finish_transaction(etl_loader *l, etl_err *err)
{
	if (l->flags & ETL_LOAD_DRY_RUN) {
		etl_db_rollback(l->db);
		return 0;
	}
	return etl_db_commit(l->db, err);
}

/* Reads the window's pages into the staging table. */
static int fetch_window(etl_loader *l, const etl_window *win, etl_err *err)
{
	char since[40], until[40];
	double t0 = mono_ms(), t1;

	etl_time_format(win->since, since, sizeof(since));
	etl_time_format(win->until, until, sizeof(until));
	if (etl_source_fetch(l->src, "sales", since, until, on_page, l, err) < 0)
		return -1;
	t1 = mono_ms();
	if (page_done(l, 1, err) < 0)  /* the pages still in the buffers */
		return -1;
	etl_debug("window %s: fetched in %.1f ms (validating and staging %.1f ms, waiting for the server %.1f ms,"
		  " merging the last pages %.1f ms; %" PRId64 " sales written page by page)",
		  since, mono_ms() - t0, l->ms_records, l->ms_copy, mono_ms() - t1, l->early);
	return 0;
}

/* ---- the reject ceiling ------------------------------------------------ */

int etl_load_parse_ratio(const char *s, int64_t *out_ppb)
{
	int64_t whole = 0, frac = 0, unit = 1000000000;
	int digits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		whole = whole * 10 + (*s - '0');
		if (whole > 1)
			return -1;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
			if (unit == 1)  /* a tenth of a part per billion */
				return -1;
			unit /= 10;
			frac += (*s - '0') * unit;
		}
	}
	if (*s || digits == 0 || whole * 1000000000 + frac > 1000000000)
		return -1;
	*out_ppb = whole * 1000000000 + frac;
	return 0;
}

void etl_loader_set_max_reject(etl_loader *l, int64_t ppb)
{
	l->max_reject_ppb = ppb;
}

void etl_loader_set_page_hook(etl_loader *l, void (*fn)(void *arg, int64_t fetched), void *arg)
{
	l->page_fn = fn;
	l->page_arg = arg;
}

/* The window's most frequent reason codes (unknown_item:ID counted as one
 * code), for the message of a window over the ceiling. */
static const char top_reasons_sql[] =
	"SELECT code, count(*) FROM (SELECT CASE WHEN split_part(r, ':', 1) = 'unknown_item' THEN 'unknown_item'"
	"  ELSE r END AS code FROM quarantine q CROSS JOIN LATERAL unnest(q.reasons) AS u(r)"
	"  WHERE q.quarantine_id > $1 AND q.resource = 'sales') x"
	" GROUP BY code ORDER BY count(*) DESC, code LIMIT 3";

/* Whether the window just fetched quarantined more than its ceiling: then
 * 1 with err set (ETL_EDATA, or the database's error reading the reasons),
 * else 0. */
static int too_many_rejects(etl_loader *l, etl_err *err)
{
	char before[24], ratio[32], reasons[256] = "";
	const char *p[] = { before };
	PGresult *res;
	size_t n = 0;
	int over;

	if (l->max_reject_ppb < 0 || l->fetched == 0 || l->quarantined == 0)
		return 0;
	if (l->fetched <= INT64_MAX / 1000000000)
		over = l->quarantined * 1000000000 > l->max_reject_ppb * l->fetched;
	else
		over = (long double)l->quarantined / (long double)l->fetched >
		       (long double)l->max_reject_ppb / 1e9L;
	if (!over)
		return 0;
	fmt_i64(before, l->q_before);
	res = etl_db_query(l->db, top_reasons_sql, 1, p, err);
	if (!res) {
		etl_err_prefix(err, "reading the reasons of a window over --max-reject-ratio");
		return 1;
	}
	for (int i = 0; i < PQntuples(res) && n < sizeof(reasons); i++)
		n += (size_t)snprintf(reasons + n, sizeof(reasons) - n, "%s%s %s", i ? ", " : "",
				      PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	PQclear(res);
	/* the ceiling as given: 500000000 -> "0.5" */
	n = (size_t)snprintf(ratio, sizeof(ratio), "%" PRId64 ".%09" PRId64, l->max_reject_ppb / 1000000000,
			     l->max_reject_ppb % 1000000000);
	while (n > 0 && ratio[n - 1] == '0')
		ratio[--n] = '\0';
	if (n > 0 && ratio[n - 1] == '.')
		ratio[--n] = '\0';
	etl_err_set(err, ETL_EDATA,
		    "%" PRId64 " of the %" PRId64 " records fetched (%.1f%%) would be quarantined, more than "
		    "--max-reject-ratio %s allows; the most frequent reasons: %s",
		    l->quarantined, l->fetched, 100.0 * (double)l->quarantined / (double)l->fetched, ratio,
		    reasons[0] ? reasons : "none recorded");
	etl_err_hint(err, "nothing of this window was committed (the windows before it were); look at the "
		     "source's data, then run again, or raise --max-reject-ratio to load the window and "
		     "quarantine its rejects");
	return 1;
}

/* Everything of a window between BEGIN and COMMIT. */
static int window_body(etl_loader *l, const etl_window *win, etl_run_counts *c, etl_err *err)
{
	if (!l->src)
		return etl_err_set(err, ETL_EINTERNAL, "a loader without a source cannot load windows");
	if (read_q_before(l, err) < 0 || fetch_window(l, win, err) < 0)
		return -1;
	if (too_many_rejects(l, err))
		return -1;
	if (merge(l, 0, c, err) < 0 || tidy_quarantine(l, c, err) < 0)
		return -1;
	if (l->helix && c->inserted + c->updated > 0 && etl_helix_enqueue(l->db, l->run_id, err) < 0)
		return etl_err_prefix(err, "queueing Helix events");
	c->windows = 1;
	return record_window(l, win, c, err);
}

int etl_load_window(etl_loader *l, const etl_window *win, etl_run_counts *out, etl_err *err)
{
	char since[40], until[40];
	etl_err ignored = ETL_ERR_INIT;

	memset(out, 0, sizeof(*out));
	window_reset(l, win);
	if (begin_window(l, err) < 0)
		goto fail;
	if (window_body(l, win, out, err) < 0 || finish_transaction(l, err) < 0)
		goto fail;
	return 0;
fail:
	copy_wait(l, &ignored);  /* a COPY left running must end before the rollback */
	etl_db_rollback(l->db);
	memset(out, 0, sizeof(*out));
	etl_time_format(win->since, since, sizeof(since));
	etl_time_format(win->until, until, sizeof(until));
	etl_err_prefix(err, "window %s to %s (rolled back)", since, until);
	if (!err->hint[0])
		etl_err_hint(err, "run again: the window is loaded again from its start");
	return -1;
}

/* ---- a window from CSV (benchmarks) ------------------------------------ */

static const char copy_sales_csv_sql[] =
	"COPY load_stage_sales (seq, " SALE_COLUMNS ", line_item_ids, line_quantities, line_unit_prices)"
	" FROM STDIN (FORMAT csv)";

/* Streams the file into the staging table with one COPY. */
static int stage_csv(etl_loader *l, FILE *csv, etl_err *err)
{
	PGconn *conn = etl_db_conn(l->db);
	PGresult *res = PQexec(conn, copy_sales_csv_sql);
	char chunk[65536];
	size_t n;
	int ok;

	ok = res && PQresultStatus(res) == PGRES_COPY_IN;
	PQclear(res);
	if (!ok)
		return etl_db_fail(l->db, NULL, "staging sales from CSV", err);
	while (ok && (n = fread(chunk, 1, sizeof(chunk), csv)) > 0)
		ok = PQputCopyData(conn, chunk, (int)n) == 1;
	if (PQputCopyEnd(conn, ok && !ferror(csv) ? NULL : "the CSV file could not be read") != 1)
		ok = 0;
	res = PQgetResult(conn);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		etl_db_fail(l->db, res, "staging sales from CSV", err);
		PQclear(res);
		while ((res = PQgetResult(conn)) != NULL)
			PQclear(res);
		return -1;
	}
	l->staged = l->fetched = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	return 0;
}

int etl_load_window_csv(etl_loader *l, const etl_window *win, FILE *csv, etl_run_counts *out, etl_err *err)
{
	memset(out, 0, sizeof(*out));
	window_reset(l, win);
	if (begin_window(l, err) < 0)
		goto fail;
	if (read_q_before(l, err) < 0 || stage_csv(l, csv, err) < 0 || merge(l, 0, out, err) < 0 ||
	    tidy_quarantine(l, out, err) < 0)
		goto fail;
	out->windows = 1;
	if (record_window(l, win, out, err) < 0 || finish_transaction(l, err) < 0)
		goto fail;
	return 0;
fail:
	etl_db_rollback(l->db);
	memset(out, 0, sizeof(*out));
	return -1;
}

/* ---- many windows, and Helix after each commit ------------------------- */

/* Sends the outbox after a commit, unless a send already failed. */
static void send_helix(etl_loader *l, etl_run_counts *c)
{
	etl_helix_stats st;
	etl_err err = ETL_ERR_INIT;

	if (!l->helix || l->helix_stopped || (l->flags & ETL_LOAD_DRY_RUN))
		return;
	memset(&st, 0, sizeof(st));
	if (etl_helix_send(l->db, l->cfg, 0, &st, &err) < 0) {
		l->helix_stopped = 1;
		l->helix_err = err;
		etl_warn("sending Helix events stopped: %s; the rest wait in the outbox", err.msg);
	} else {
		l->backlog = st.pending;  /* the outbox after the send: helix_pending needs no query */
		l->backlog_known = 1;
	}
	c->helix_sent += st.sent;
	c->helix_updated += st.updated;
	c->helix_failed += st.failed;
}

static void log_window(const etl_window *w, const etl_run_counts *c, int helix, int dry_run)
{
	char since[40], until[40];

	etl_time_format(w->since, since, sizeof(since));
	etl_time_format(w->until, until, sizeof(until));
	if (dry_run)
		etl_info("window %s to %s (dry run, rolled back): fetched %" PRId64 ", would load %" PRId64
			 " (inserted %" PRId64 ", updated %" PRId64 ", unchanged %" PRId64 "), duplicates %"
			 PRId64 ", quarantined %" PRId64, since, until, c->fetched, c->loaded, c->inserted,
			 c->updated, c->unchanged, c->duplicates, c->quarantined);
	else if (helix)
		etl_info("window %s to %s: fetched %" PRId64 ", loaded %" PRId64 " (inserted %" PRId64
			 ", updated %" PRId64 ", unchanged %" PRId64 "), duplicates %" PRId64
			 ", quarantined %" PRId64 "; helix sent %" PRId64 ", updated %" PRId64
			 ", failed %" PRId64, since, until, c->fetched, c->loaded, c->inserted,
			 c->updated, c->unchanged, c->duplicates, c->quarantined, c->helix_sent,
			 c->helix_updated, c->helix_failed);
	else
		etl_info("window %s to %s: fetched %" PRId64 ", loaded %" PRId64 " (inserted %" PRId64
			 ", updated %" PRId64 ", unchanged %" PRId64 "), duplicates %" PRId64
			 ", quarantined %" PRId64, since, until, c->fetched, c->loaded, c->inserted,
			 c->updated, c->unchanged, c->duplicates, c->quarantined);
}

/* What waits in the outbox at the end (a level, not a sum). */
static void helix_pending(etl_loader *l, etl_run_counts *total)
{
	etl_err err = ETL_ERR_INIT;
	int64_t pending = 0;

	if (l->backlog_known) {
		total->helix_pending = l->backlog;
		return;
	}
	if (etl_helix_backlog(l->db, &pending, NULL, &err) < 0)
		etl_debug("reading the Helix backlog: %s", err.msg);
	else
		total->helix_pending = pending;
}

int etl_load_windows(etl_loader *l, etl_window_fn next, void *arg, etl_run_counts *total, etl_err *err)
{
	etl_window w;
	etl_run_counts c;
	int any = 0, ret = 0;

	memset(total, 0, sizeof(*total));
	while (next(arg, &w) == 1) {
		if (etl_load_window(l, &w, &c, err) < 0) {
			ret = -1;
			break;
		}
		send_helix(l, &c);
		log_window(&w, &c, l->helix, (l->flags & ETL_LOAD_DRY_RUN) != 0);
		etl_run_counts_add(total, &c);
		any = 1;
	}
	if (ret == 0 && !any) {
		memset(&c, 0, sizeof(c));
		send_helix(l, &c);  /* a backlog left by an earlier run */
		etl_run_counts_add(total, &c);
	}
	helix_pending(l, total);
	if (ret == 0 && l->helix_stopped) {
		*err = l->helix_err;
		ret = -1;
	}
	return ret;
}

/* ---- rejects replay ---------------------------------------------------- */

/* A text[] literal {"a","b"} for COPY (quotes and backslashes escaped). */
static void reasons_literal(etl_strbuf *b, const etl_reasons *r)
{
	etl_strbuf_reset(b);
	etl_strbuf_add(b, "{", 1);
	for (int i = 0; i < r->n; i++) {
		if (i)
			etl_strbuf_add(b, ",", 1);
		etl_strbuf_add(b, "\"", 1);
		for (const char *s = r->codes[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				etl_strbuf_add(b, "\\", 1);
			etl_strbuf_add(b, s, 1);
		}
		etl_strbuf_add(b, "\"", 1);
	}
	etl_strbuf_add(b, "}", 1);
}

/* Notes the new reasons of a record that still fails. */
static int replay_failed(etl_loader *l, int64_t qid, etl_err *err)
{
	if (l->reasons.n == 0 && etl_reasons_add(&l->reasons, "bad_type:record") < 0)
		return etl_err_set(err, ETL_EINTERNAL, "out of memory validating a sale");
	reasons_literal(&l->text, &l->reasons);
	if (l->text.oom)
		return etl_err_set(err, ETL_EINTERNAL, "out of memory validating a sale");
	copy_i64(&l->failed, qid);
	etl_copybuf_str(&l->failed, l->text.p);
	etl_copybuf_end_row(&l->failed);
	l->quarantined++;
	return 0;
}

/* One quarantined sale: staged with seq = its quarantine_id (reads go by
 * quarantine_id, so "fetched last" is "quarantined last" when duplicates
 * collapse), or its new reasons noted. */
static int replay_record(etl_loader *l, int64_t qid, const char *raw, etl_err *err)
{
	cJSON *rec = etl_json_parse(raw, strlen(raw), NULL);
	etl_sale sale;
	int v, rc = 0;

	if (!rec)
		return etl_err_set(err, ETL_EINTERNAL, "quarantined record %" PRId64 " is not JSON", qid);
	l->fetched++;
	v = etl_validate_sale(rec, l->ref, NULL, l->cfg->source_tz, &sale, &l->reasons);
	if (v < 0) {
		rc = etl_err_set(err, ETL_EINTERNAL, "out of memory validating a sale");
	} else if (v == 0) {
		if (stage_sale(l, &sale, qid) < 0)
			rc = etl_err_set(err, ETL_EINTERNAL, "out of memory staging a sale");
		else
			l->staged++;
		etl_sale_release(&sale);
	} else {
		rc = replay_failed(l, qid, err);
	}
	cJSON_Delete(rec);
	return rc;
}

/* Reads the quarantined sales through a cursor, a batch at a time, so that
 * memory stays bounded by a batch.  *last gets the greatest id read. */
static int replay_stage(etl_loader *l, int64_t *last, etl_err *err)
{
	PGresult *res;
	int n;

	*last = 0;
	if (etl_db_exec(l->db,
		"DECLARE load_replay NO SCROLL CURSOR FOR SELECT quarantine_id, raw::text FROM quarantine"
		" WHERE resource = 'sales' ORDER BY quarantine_id", 0, NULL, err) < 0)
		return etl_err_prefix(err, "reading the quarantine");
	do {
		res = etl_db_query(l->db, "FETCH 1000 FROM load_replay", 0, NULL, err);
		if (!res)
			return etl_err_prefix(err, "reading the quarantine");
		n = PQntuples(res);
		for (int i = 0; i < n; i++) {
			*last = cell_int(res, i, 0);
			if (replay_record(l, *last, PQgetvalue(res, i, 1), err) < 0) {
				PQclear(res);
				return -1;
			}
		}
		PQclear(res);
		/* no overlap here: the next FETCH needs the connection */
		if (copy_start(l, err) < 0 || copy_wait(l, err) < 0 ||
		    etl_copybuf_send(&l->failed, l->db, copy_failed_sql, err) < 0)
			return -1;
	} while (n > 0);
	return etl_db_exec(l->db, "CLOSE load_replay", 0, NULL, err);
}

static int replay_body(etl_loader *l, etl_run_counts *c, etl_err *err)
{
	char last[24];
	const char *p[] = { last };
	int64_t last_id;

	if (replay_stage(l, &last_id, err) < 0 || merge(l, 1, c, err) < 0)
		return -1;
	fmt_i64(last, last_id);
	if (exec_count(l->db, replay_remove_sql, 1, p, NULL, "removing replayed records from the quarantine",
		       err) < 0 ||
	    exec_count(l->db, replay_reasons_sql, 0, NULL, NULL, "updating the reasons of the records left",
		       err) < 0)
		return -1;
	if (l->helix && c->inserted + c->updated > 0 && etl_helix_enqueue(l->db, l->run_id, err) < 0)
		return etl_err_prefix(err, "queueing Helix events");
	c->windows = 0;
	if (etl_runlog_add_window(l->db, l->run_id, c, err) < 0)
		return etl_err_prefix(err, "recording the replay");
	return 0;
}

int etl_load_replay(etl_loader *l, etl_run_counts *out, etl_err *err)
{
	etl_err ignored = ETL_ERR_INIT;

	memset(out, 0, sizeof(*out));
	window_reset(l, NULL);
	if (begin_window(l, err) < 0)
		goto fail;
	if (replay_body(l, out, err) < 0 || finish_transaction(l, err) < 0)
		goto fail;
	send_helix(l, out);
	helix_pending(l, out);
	if (l->helix_stopped) {
		*err = l->helix_err;
		return -1;
	}
	return 0;
fail:
	copy_wait(l, &ignored);
	etl_db_rollback(l->db);
	memset(out, 0, sizeof(*out));
	etl_err_prefix(err, "replaying the quarantine (rolled back)");
	return -1;
}

/* ---- the watermark ----------------------------------------------------- */

int etl_load_watermark(etl_db *db, int *has, etl_time *out, etl_err *err)
{
	PGresult *res = etl_db_query(db,
		"SELECT (extract(epoch FROM next_window) * 1000000)::bigint FROM watermark", 0, NULL, err);

	if (!res)
		return etl_err_prefix(err, "reading the watermark");
	*has = PQntuples(res) > 0;
	*out = *has ? cell_int(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

/* ---- a job ------------------------------------------------------------- */

static int job_refresh(etl_load_job *job, etl_err *err)
{
	etl_refsync_stats stats;
	int rc = etl_refsync_all(job->db, job->src, job->run_id, &stats, err);

	etl_refsync_log(&stats);
	if (rc < 0)
		return etl_err_prefix(err, "refreshing the reference data");
	return 0;
}

int etl_load_job_start(etl_load_job *job, etl_db *db, const etl_config *cfg, const char *command,
		       unsigned flags, etl_err *err)
{
	etl_err ignored = ETL_ERR_INIT;

	memset(job, 0, sizeof(*job));
	job->db = db;
	job->cfg = cfg;
	/* A big window's staging tables read far better from the session's own
	 * buffers than through the kernel; only used as needed, and settable
	 * only before the session's first temp table. */
	if (etl_db_exec(db, "SET temp_buffers = '128MB'", 0, NULL, &ignored) < 0)
		etl_debug("temp_buffers stays as it was: %s", ignored.msg);
	job->flags = flags;
	if (etl_runlog_start(db, command, &job->run_id, err) < 0)
		return -1;
	if ((flags & ETL_LOAD_JOB_SOURCE) && etl_source_open(&job->src, cfg, err) < 0)
		return -1;
	if (job->src && (flags & ETL_LOAD_JOB_REFRESH) && (flags & ETL_LOAD_DRY_RUN))
		etl_info("dry run: the reference data is not refreshed (that would commit); sales are "
			 "checked against the reference data the database holds");
	else if (job->src && (flags & ETL_LOAD_JOB_REFRESH) && job_refresh(job, err) < 0)
		return -1;
	if (etl_refdata_load(db, &job->ref, err) < 0)
		return etl_err_prefix(err, "reading the reference data");
	return etl_loader_open(&job->loader, db, cfg, job->src, job->ref, job->run_id,
			       flags & (ETL_LOAD_WATERMARK | ETL_LOAD_HELIX | ETL_LOAD_DRY_RUN), err);
}

void etl_load_job_end(etl_load_job *job, int exit_code, const etl_err *err)
{
	etl_err e = ETL_ERR_INIT;
	const char *status = exit_code == 0 && (job->flags & ETL_LOAD_DRY_RUN) ? "dry_run" : NULL;

	if (job->run_id > 0 &&
	    etl_runlog_finish(job->db, job->run_id, status, exit_code, exit_code ? err->msg : NULL,
			      &job->total, &e) < 0)
		etl_warn("could not record the end of run %" PRId64 ": %s", job->run_id, e.msg);
	etl_loader_close(job->loader);
	etl_refdata_free(job->ref);
	etl_source_close(job->src);
	memset(job, 0, sizeof(*job));
}

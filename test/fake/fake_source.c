/*
 * fake_source.c: a fake of the retail API (contract.md section 1) for tests
 * and benchmarks of etl.
 *
 * Records are either generated, deterministically from --seed, or fixtures
 * read from --data DIR / posted to /_control/data/R. Generated sales are
 * computed on the fly from (seed, index): sale i happens at
 * start + i * span / N, so a window maps to an index range by binary search
 * and a page is written straight from the generator, whatever --sales is.
 * See README.md for the options and the control API.
 */
#define _POSIX_C_SOURCE 200809L

#include "fake_common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum res { R_STORES, R_POS, R_CAMERAS, R_ITEMS, R_RATES, R_SALES, R_N };

static const char *const res_names[R_N] = {
	"stores", "pos", "cameras", "items", "exchange_rates", "sales",
};

#define LIMIT_DEFAULT 1000
#define LIMIT_CAP 5000
/* An older duplicate is served this many sales after its newer version. */
#define DUP_DELAY 3
#define STEP_MAX (DUP_DELAY + 2)

/* ------------------------------------------------------------ randomness */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* A hash of (seed, tag, index): the root of every generated value. */
static uint64_t h3(uint64_t seed, uint64_t tag, uint64_t i)
{
	return mix64(mix64(seed * 0x9e3779b97f4a7c15ULL + tag) ^ mix64(i + 1));
}

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

/* Uniform-enough integer in [0, n). */
static int64_t rnd(struct rng *r, int64_t n)
{
	return n > 0 ? (int64_t)(rng_next(r) % (uint64_t)n) : 0;
}

enum tag {
	T_STORE = 1, T_POS, T_CAM, T_CAM2, T_ITEM, T_RATE, T_CUST, T_SALE,
	T_BADCAM,
};

/* --------------------------------------------------------------- tables */

struct loc {
	const char *city, *province, *country, *phone, *zip;
};

static const struct loc locs[] = {
	{ "London", "Greater London", "GB", "020-7946-", "W1D 1AN" },
	{ "Manchester", "Greater Manchester", "GB", "0161-496-", "M1 1AE" },
	{ "Boise", "Idaho", "US", "208-555-", "83702" },
	{ "New York", "New York", "US", "212-555-", "10001" },
	{ "Austin", "Texas", "US", "512-555-", "73301" },
	{ "Toronto", "Ontario", "CA", "416-555-", "M5H 2N2" },
	{ "Montr\xc3\xa9" "al", "Qu\xc3\xa9" "bec", "CA", "514-555-", "H2Y 1C6" },
	{ "Paris", "\xc3\x8e" "le-de-France", "FR", "01-55-", "75001" },
	{ "Berlin", "Berlin", "DE", "030-555-", "10115" },
	{ "Dublin", "Leinster", "IE", "01-555-", "D02 X285" },
};
#define NLOCS (sizeof(locs) / sizeof(locs[0]))

static const char *const streets[] = {
	"Main St", "High Street", "Oxford St", "King's Road", "Elm Avenue",
	"Station Road", "Market Square", "Park Lane",
};
static const char *const first_names[] = {
	"Dan", "Alice", "Bob", "Chlo\xc3\xab", "Eve", "Fatima", "George",
	"Hana", "Ivan", "Jos\xc3\xa9", "Kim", "Liam", "Mia", "Noah", "Olga",
	"Priya", "Quinn", "Rosa", "Sam", "Zo\xc3\xab",
};
static const char *const last_names[] = {
	"Dyer", "Smith", "Jones", "O'Brien", "M\xc3\xbcller", "Garcia", "Chen",
	"Nguyen", "Kowalski", "Silva", "Dubois", "Rossi", "Tanaka", "Okafor",
	"Larsen", "Byrne",
};
static const char *const adjectives[] = {
	"Classic", "Blue", "Urban", "Trail", "Retro", "Air", "Comfort", "Pro",
};
static const char *const nouns[] = {
	"Runner", "Sneaker", "Boot", "Sandal", "Hoodie", "Cap", "Sock", "Jacket",
};
static const char *const models[] = { "CD52", "CD42", "CB52-E", "CM41" };
#define N_OF(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

/* ---------------------------------------------------------------- state */

/* A fixture record: its raw JSON text and, for sales, its instant. */
struct rec {
	char *raw;
	size_t len;
	int64_t t_ms;
	bool t_ok; /* transaction_date parsed and had an offset */
};

struct rlist {
	struct rec *v;
	size_t n, cap;
};

struct gen {
	uint64_t seed;
	int64_t stores, pos_per_store, items, customers, sales, oow;
	int64_t start_ms, span_ms, late_after_ms, rate_days_before;
	char **cur;
	int64_t ncur;
	double invalid_ratio, dup_ratio, late_ratio;
	bool subsecond;
	int64_t first_day, ndays; /* exchange rate dates */
};

struct src {
	struct gen g;
	const char *token, *data_dir;
	bool overlay; /* data_dir came from --overlay */
	int64_t page_max;
	pthread_rwlock_t lock; /* guards everything below */
	bool generated[R_N];
	struct rlist fix[R_N];
	bool now_set, now_set0;
	int64_t now_ms, now_ms0;
};

/* ------------------------------------------------------------ timestamps */

/* i * span can pass 2^63 for large runs: multiply in 128 bits (a GCC and
 * Clang extension, hence __extension__ for -Wpedantic builds). */
__extension__ typedef unsigned __int128 u128;

/* Instant of generated sale i (monotonic non-decreasing in i). */
static int64_t sale_time(const struct gen *g, int64_t i)
{
	u128 q;

	if (g->sales <= 0)
		return g->start_ms;
	if (g->subsecond) {
		q = (u128)(uint64_t)i * (uint64_t)g->span_ms;
		return g->start_ms + (int64_t)(q / (uint64_t)g->sales);
	}
	q = (u128)(uint64_t)i * (uint64_t)(g->span_ms / 1000);
	return g->start_ms + (int64_t)(q / (uint64_t)g->sales) * 1000;
}

/* First index whose time is >= t (g->sales when none). */
static int64_t sale_lower_bound(const struct gen *g, int64_t t)
{
	int64_t lo = 0, hi = g->sales;

	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;

		if (sale_time(g, mid) < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ------------------------------------------------------ classification */

/* Invalid kinds, cycled through in order by the invalid sales. */
enum inv {
	I_MISS_TXID, I_MISS_DATE, I_MISS_STORE, I_MISS_POS, I_MISS_CUR,
	I_NULL_STATUS, I_MISS_TOTAL, I_MISS_LINES, I_MISS_CUSTID,
	I_MISS_ITEMID, I_MISS_QTY, I_MISS_PRICE,
	I_TYPE_TXID, I_TYPE_DATE, I_TYPE_STORE, I_TYPE_POS, I_TYPE_CAMERA,
	I_TYPE_CUSTOMER, I_TYPE_BILLING, I_TYPE_CUR, I_TYPE_STATUS,
	I_TYPE_TOTAL, I_TYPE_LINES, I_TYPE_QTY,
	I_VAL_TXID, I_VAL_CUR, I_VAL_STATUS, I_VAL_TOTAL, I_VAL_DISC,
	I_VAL_LINES, I_VAL_QTY, I_VAL_PRICE, I_VAL_CUSTID, I_TYPE_PROVINCE,
	I_TS_DATE, I_TS_UPDATED,
	I_UNK_STORE, I_UNK_POS, I_UNK_CAMERA, I_UNK_ITEM, I_UNK_CUR,
	I_MISMATCH, I_MULTI1, I_MULTI2,
	I_N
};

/* The reason codes each kind is meant to produce (unknown_item without
 * its ":ID" suffix). */
static const char *const inv_codes[I_N] = {
	"missing_field:transaction_id", "missing_field:transaction_date",
	"missing_field:store_id", "missing_field:pos_id",
	"missing_field:currency", "missing_field:financial_status",
	"missing_field:total_amount", "missing_field:line_items",
	"missing_field:customer.customer_id", "missing_field:line_items.item_id",
	"missing_field:line_items.quantity", "missing_field:line_items.unit_price",
	"bad_type:transaction_id", "bad_type:transaction_date",
	"bad_type:store_id", "bad_type:pos_id", "bad_type:camera_id",
	"bad_type:customer", "bad_type:billing_address", "bad_type:currency",
	"bad_type:financial_status", "bad_type:total_amount",
	"bad_type:line_items", "bad_type:line_items.quantity",
	"bad_value:transaction_id", "bad_value:currency",
	"bad_value:financial_status", "bad_value:total_amount",
	"bad_value:total_discounts", "bad_value:line_items",
	"bad_value:line_items.quantity", "bad_value:line_items.unit_price",
	"bad_value:customer.customer_id", "bad_type:billing_address.province",
	"bad_timestamp:transaction_date", "bad_timestamp:updated_at",
	"unknown_store", "unknown_pos", "unknown_camera", "unknown_item",
	"unknown_currency", "total_mismatch",
	"missing_field:currency unknown_item total_mismatch",
	"bad_type:store_id bad_value:financial_status bad_timestamp:updated_at",
};

/* Whether i is picked by an evenly spaced selection of the given ratio;
 * *ordinal is how many were picked before it. */
static bool picked(int64_t i, double ratio, double phase, int64_t *ordinal)
{
	double a = floor((double)i * ratio + phase);
	double b = floor((double)(i + 1) * ratio + phase);

	if (ratio <= 0 || b <= a)
		return false;
	if (ordinal)
		*ordinal = (int64_t)a;
	return true;
}

struct kind {
	int inv; /* -1: valid */
	bool dup, late;
};

/* Invalid, duplicated and late sales are disjoint: invalid wins, then dup. */
static struct kind classify(const struct gen *g, int64_t i)
{
	struct kind k = { -1, false, false };
	int64_t ord;

	if (picked(i, g->invalid_ratio, 0.0, &ord))
		k.inv = (int)(ord % I_N);
	else if (picked(i, g->dup_ratio, 0.5, NULL))
		k.dup = true;
	else if (picked(i, g->late_ratio, 0.25, NULL))
		k.late = true;
	return k;
}

/* ------------------------------------------------------------- writing */

/* Money formats: "12.30", 12.30, 12.3 (all mean the same amount). */
enum { M_STR, M_NUM2, M_NUMMIN };

static void add_money(struct fbuf *b, int64_t cents, int fmt)
{
	char tmp[40];
	int64_t a = cents < 0 ? -cents : cents;
	const char *sign = cents < 0 ? "-" : "";

	if (fmt == M_NUMMIN && a % 100 == 0)
		snprintf(tmp, sizeof(tmp), "%s%lld", sign, (long long)(a / 100));
	else if (fmt == M_NUMMIN && a % 10 == 0)
		snprintf(tmp, sizeof(tmp), "%s%lld.%lld", sign,
			 (long long)(a / 100), (long long)(a % 100 / 10));
	else
		snprintf(tmp, sizeof(tmp), "%s%s%lld.%02lld%s",
			 fmt == M_STR ? "\"" : "", sign, (long long)(a / 100),
			 (long long)(a % 100), fmt == M_STR ? "\"" : "");
	fbuf_adds(b, tmp);
}

static void add_key(struct fbuf *b, const char *key)
{
	fbuf_addc(b, ',');
	fbuf_addc(b, '"');
	fbuf_adds(b, key);
	fbuf_adds(b, "\":");
}

static void camera_uuid(const struct gen *g, uint64_t tag, int64_t p,
			char *out, size_t n)
{
	uint64_t a = h3(g->seed, tag, (uint64_t)p);
	uint64_t c = h3(g->seed, tag + 100, (uint64_t)p);

	snprintf(out, n, "%08llx-%04llx-4%03llx-%04llx-%012llx",
		 (unsigned long long)(a >> 32),
		 (unsigned long long)((a >> 16) & 0xffff),
		 (unsigned long long)(a & 0xfff),
		 (unsigned long long)(0x8000 | ((c >> 48) & 0x3fff)),
		 (unsigned long long)(c & 0xffffffffffffULL));
}

static int64_t item_price(const struct gen *g, int64_t k)
{
	return 199 + (int64_t)(h3(g->seed, T_ITEM, (uint64_t)k) % 19800);
}

static const struct loc *store_loc(const struct gen *g, int64_t k)
{
	return &locs[h3(g->seed, T_STORE, (uint64_t)k) % NLOCS];
}

static void write_store(struct fbuf *b, const struct gen *g, int64_t k)
{
	struct rng r = { h3(g->seed, T_STORE + 50, (uint64_t)k) };
	const struct loc *l = store_loc(g, k);
	char tmp[128];

	fbuf_adds(b, "{\"store_id\":");
	fbuf_addi(b, k + 1);
	snprintf(tmp, sizeof(tmp), "%s %s #%lld", l->city,
		 streets[rnd(&r, N_OF(streets))], (long long)(k + 1));
	add_key(b, "name");
	fbuf_add_json_str(b, tmp);
	snprintf(tmp, sizeof(tmp), "%lld %s", (long long)(1 + rnd(&r, 400)),
		 streets[rnd(&r, N_OF(streets))]);
	add_key(b, "address");
	fbuf_add_json_str(b, tmp);
	add_key(b, "city");
	fbuf_add_json_str(b, l->city);
	add_key(b, "province");
	fbuf_add_json_str(b, l->province);
	add_key(b, "country");
	fbuf_add_json_str(b, l->country);
	add_key(b, "phone");
	if (rnd(&r, 10) < 8)
		fbuf_addf(b, "\"%s%04lld\"", l->phone, (long long)rnd(&r, 10000));
	else
		fbuf_adds(b, "null");
	add_key(b, "email");
	if (rnd(&r, 10) < 7)
		fbuf_addf(b, "\"store%lld@example.com\"", (long long)(k + 1));
	else
		fbuf_adds(b, "null");
	fbuf_addc(b, '}');
}

static void write_pos(struct fbuf *b, const struct gen *g, int64_t p)
{
	fbuf_adds(b, "{\"pos_id\":");
	fbuf_addi(b, 1001 + p);
	fbuf_adds(b, ",\"store_id\":");
	fbuf_addi(b, p / g->pos_per_store + 1);
	if (p % g->pos_per_store == 0)
		fbuf_adds(b, ",\"name\":\"Front Door POS\"}");
	else
		fbuf_addf(b, ",\"name\":\"Till %lld\"}",
			  (long long)(p % g->pos_per_store));
}

static void write_camera(struct fbuf *b, const struct gen *g, int64_t p)
{
	char id[48];
	uint64_t h = h3(g->seed, T_CAM + 50, (uint64_t)p);

	camera_uuid(g, T_CAM, p, id, sizeof(id));
	fbuf_adds(b, "{\"camera_id\":");
	fbuf_add_json_str(b, id);
	fbuf_addf(b, ",\"name\":\"POS %lld camera\",\"store_id\":",
		  (long long)(1001 + p));
	fbuf_addi(b, p / g->pos_per_store + 1);
	fbuf_adds(b, ",\"pos_id\":");
	fbuf_addi(b, 1001 + p);
	add_key(b, "model");
	if (h % 10 == 0)
		fbuf_adds(b, "null");
	else
		fbuf_add_json_str(b, models[h % N_OF(models)]);
	fbuf_adds(b, ",\"status\":\"active\"}");
}

static void write_item(struct fbuf *b, const struct gen *g, int64_t k)
{
	uint64_t h = h3(g->seed, T_ITEM + 50, (uint64_t)k);
	char tmp[96];

	fbuf_adds(b, "{\"item_id\":");
	fbuf_addi(b, 100 + k);
	fbuf_addf(b, ",\"sku\":\"SKU-%05lld\"", (long long)(100 + k));
	snprintf(tmp, sizeof(tmp), "%s %s %lld", adjectives[h % N_OF(adjectives)],
		 nouns[(h >> 8) % N_OF(nouns)], (long long)(100 + k));
	add_key(b, "name");
	fbuf_add_json_str(b, tmp);
	add_key(b, "price");
	add_money(b, item_price(g, k), M_STR);
	add_key(b, "currency");
	fbuf_add_json_str(b, g->cur[k % g->ncur]);
	add_key(b, "quantity");
	fbuf_addi(b, (int64_t)((h >> 16) % 100));
	fbuf_addc(b, '}');
}

/* Rate to USD in units of 1e-4. */
static int64_t rate_value(const struct gen *g, int64_t day, int64_t c)
{
	static const struct {
		const char *code;
		int64_t base;
	} known[] = { { "GBP", 12700 }, { "EUR", 10832 }, { "CAD", 7300 },
		      { "JPY", 67 },    { "AUD", 6500 },  { "CHF", 11300 } };
	const char *code = g->cur[c];
	uint64_t h = h3(g->seed, T_RATE, (uint64_t)(day * 64 + c));
	int64_t base = 5000 + (int64_t)(mix64((uint64_t)code[0] * 65536 +
					      (uint64_t)code[1] * 256 +
					      (uint64_t)code[2]) % 10000);

	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if (strcmp(code, known[k].code) == 0)
			base = known[k].base;
	return base + base * ((int64_t)(h % 401) - 200) / 10000;
}

static void write_rate(struct fbuf *b, const struct gen *g, int64_t k)
{
	int64_t day = g->first_day + k / g->ncur, c = k % g->ncur, y;
	unsigned m, d;

	fake_civil_from_days(day, &y, &m, &d);
	fbuf_addf(b, "{\"date\":\"%04lld-%02u-%02u\",\"currency\":",
		  (long long)y, m, d);
	fbuf_add_json_str(b, g->cur[c]);
	if (strcmp(g->cur[c], "USD") == 0) {
		fbuf_adds(b, ",\"rate_to_usd\":\"1\"}");
	} else {
		int64_t v = rate_value(g, day, c);

		fbuf_addf(b, ",\"rate_to_usd\":\"%lld.%04lld\"}",
			  (long long)(v / 10000), (long long)(v % 10000));
	}
}

static int64_t gen_count(const struct gen *g, int r)
{
	switch (r) {
	case R_STORES: return g->stores;
	case R_POS:
	case R_CAMERAS: return g->stores * g->pos_per_store;
	case R_ITEMS: return g->items;
	case R_RATES: return g->ndays * g->ncur;
	default: return g->sales;
	}
}

static void write_ref(struct fbuf *b, const struct gen *g, int r, int64_t k)
{
	switch (r) {
	case R_STORES: write_store(b, g, k); break;
	case R_POS: write_pos(b, g, k); break;
	case R_CAMERAS: write_camera(b, g, k); break;
	case R_ITEMS: write_item(b, g, k); break;
	default: write_rate(b, g, k); break;
	}
}

/* ---------------------------------------------------------------- sales */

struct line {
	int64_t item, qty, price;
	int fmt;
};

/* A generated sale before it is written. */
struct sale {
	int64_t i, t_ms, upd_ms, store, pos, cust, total, disc, tax;
	int off_min, cam_mode, bill_mode, ship_mode, marketing, nlines, cur;
	int fmt_total, fmt_disc, fmt_tax, extra;
	bool has_upd, disc_absent, tax_absent, email_alt;
	const char *status;
	const struct loc *bill_loc;
	struct line lines[4];
	char txid[64];
};

static const char *pick_status(struct rng *r)
{
	int64_t v = rnd(r, 100);

	if (v < 80)
		return "paid";
	if (v < 88)
		return "pending";
	if (v < 93)
		return "refunded";
	if (v < 97)
		return "partially_refunded";
	return "voided";
}

static int64_t pick_qty(struct rng *r)
{
	int64_t v = rnd(r, 100);

	return v < 60 ? 1 : v < 85 ? 2 : v < 95 ? 3 : 4 + rnd(r, 3);
}

/* Draws line items and the amounts; total is exact in cents. */
static void gen_amounts(const struct gen *g, struct rng *r, struct sale *s)
{
	static const int64_t tax_bp[] = { 0, 500, 800, 2000 };
	int64_t sub = 0, base;

	s->nlines = 1 + (int)rnd(r, 4);
	for (int k = 0; k < s->nlines; k++) {
		struct line *l = &s->lines[k];
		int64_t it = rnd(r, g->items);

		l->item = 100 + it;
		l->qty = pick_qty(r);
		l->price = item_price(g, it);
		if (rnd(r, 100) < 15) /* marked down */
			l->price = l->price * 9 / 10;
		l->fmt = (int)rnd(r, 3);
		sub += l->qty * l->price;
	}
	s->disc = rnd(r, 10) < 7 ? 0 : rnd(r, sub / 5 + 1);
	s->disc_absent = s->disc == 0 && rnd(r, 2);
	base = sub - s->disc;
	s->tax = (base * tax_bp[rnd(r, 4)] + 5000) / 10000;
	s->tax_absent = s->tax == 0 && rnd(r, 2);
	s->total = base + s->tax;
	s->fmt_total = (int)rnd(r, 3);
	s->fmt_disc = (int)rnd(r, 3);
	s->fmt_tax = (int)rnd(r, 3);
}

static void gen_sale(const struct gen *g, int64_t i, struct sale *s)
{
	struct rng r = { h3(g->seed, T_SALE, (uint64_t)i) };
	int64_t v, y;
	unsigned m, d;

	memset(s, 0, sizeof(*s));
	s->i = i;
	s->t_ms = sale_time(g, i);
	fake_civil_from_days(fake_floordiv(s->t_ms, 86400000), &y, &m, &d);
	snprintf(s->txid, sizeof(s->txid), "T-%04lld%02u%02u-%07lld",
		 (long long)y, m, d, (long long)i);
	v = rnd(&r, 10);
	s->off_min = v == 0 ? 60 : v == 1 ? -300 : 0;
	s->has_upd = rnd(&r, 20) != 0;
	s->upd_ms = s->t_ms + rnd(&r, 300) * 1000;
	s->store = rnd(&r, g->stores);
	s->pos = s->store * g->pos_per_store + rnd(&r, g->pos_per_store);
	v = rnd(&r, 100);
	s->cam_mode = v < 80 ? 0 : v < 95 ? 1 : 2;
	s->cust = rnd(&r, 4) == 0 || g->customers <= 0 ? -1
						       : rnd(&r, g->customers);
	s->email_alt = rnd(&r, 10) == 0;
	v = rnd(&r, 10);
	s->marketing = v == 0 ? -1 : v == 1 ? 2 : 1; /* 2: flip */
	v = rnd(&r, 10);
	s->bill_mode = v < 2 ? 0 : v < 3 ? 2 : 1;
	s->bill_loc = s->cust >= 0 && rnd(&r, 4)
			      ? &locs[h3(g->seed, T_CUST, (uint64_t)s->cust) % NLOCS]
			      : &locs[rnd(&r, NLOCS)];
	v = rnd(&r, 20);
	s->ship_mode = v < 17 ? 0 : v < 19 ? 1 : 2;
	s->cur = (int)rnd(&r, g->ncur);
	s->status = pick_status(&r);
	gen_amounts(g, &r, s);
	s->extra = rnd(&r, 20) == 0 ? 1 + (int)rnd(&r, 3) : 0;
}

static void write_time(struct fbuf *b, const struct gen *g, int64_t ms,
		       int off)
{
	char tmp[48];

	fake_format_time(tmp, sizeof(tmp), ms, off, g->subsecond && ms % 1000);
	fbuf_addc(b, '"');
	fbuf_adds(b, tmp);
	fbuf_addc(b, '"');
}

static void write_customer(struct fbuf *b, const struct gen *g,
			   const struct sale *s, int inv)
{
	uint64_t h = h3(g->seed, T_CUST + 50, (uint64_t)s->cust);
	const char *fn = first_names[h % N_OF(first_names)];
	const char *ln = last_names[(h >> 8) % N_OF(last_names)];
	bool mk = (h >> 16) & 1;
	char email[96];

	add_key(b, "customer");
	if (inv == I_TYPE_CUSTOMER) {
		fbuf_adds(b, "\"walk-in\"");
		return;
	}
	if (s->cust < 0 && inv != I_MISS_CUSTID && inv != I_VAL_CUSTID) {
		fbuf_adds(b, "null");
		return;
	}
	fbuf_addc(b, '{');
	if (inv == I_VAL_CUSTID)
		fbuf_adds(b, "\"customer_id\":\"\",");
	else if (inv != I_MISS_CUSTID)
		fbuf_addf(b, "\"customer_id\":\"c-%04llx\",",
			  (unsigned long long)(0x1000 + s->cust));
	/* now and then a customer's email changes: the latest one must win */
	snprintf(email, sizeof(email), "customer.%04llx@example.%s",
		 (unsigned long long)(0x1000 + (s->cust < 0 ? 0 : s->cust)),
		 s->email_alt ? "org" : "com");
	fbuf_adds(b, "\"email\":");
	fbuf_add_json_str(b, email);
	add_key(b, "first_name");
	fbuf_add_json_str(b, fn);
	add_key(b, "last_name");
	fbuf_add_json_str(b, ln);
	if (s->marketing >= 0) {
		add_key(b, "accepts_marketing");
		fbuf_adds(b, (s->marketing == 2 ? !mk : mk) ? "true" : "false");
	}
	fbuf_addc(b, '}');
}

static void write_address(struct fbuf *b, const struct sale *s, bool empty_prov,
			  int inv)
{
	const struct loc *l = s->bill_loc;

	fbuf_addf(b, "{\"address1\":\"%lld %s\",\"address2\":\"%s\",\"city\":",
		  (long long)(1 + s->i % 397), s->i % 3 ? "Main St" : "Elm Avenue",
		  s->i % 5 ? "" : "Apt 4");
	fbuf_add_json_str(b, l->city);
	add_key(b, "province");
	if (inv == I_TYPE_PROVINCE)
		fbuf_adds(b, "42");
	else
		fbuf_add_json_str(b, empty_prov ? "" : l->province);
	add_key(b, "country");
	fbuf_add_json_str(b, l->country);
	add_key(b, "zip");
	fbuf_add_json_str(b, l->zip);
	fbuf_addf(b, ",\"phone\":\"%s%04lld\"}", l->phone,
		  (long long)(s->i % 10000));
}

static void write_lines(struct fbuf *b, const struct sale *s, int inv)
{
	add_key(b, "line_items");
	if (inv == I_MISS_LINES) {
		fbuf_adds(b, "null");
		return;
	}
	if (inv == I_TYPE_LINES) {
		fbuf_adds(b, "{\"item_id\":100}");
		return;
	}
	fbuf_addc(b, '[');
	for (int k = 0; k < s->nlines && inv != I_VAL_LINES; k++) {
		const struct line *l = &s->lines[k];
		bool first = k == 0;

		if (k)
			fbuf_addc(b, ',');
		fbuf_addc(b, '{');
		if (first && inv == I_MISS_ITEMID)
			fbuf_adds(b, "\"sku\":\"SKU-00100\",");
		else if (first && (inv == I_UNK_ITEM || inv == I_MULTI1))
			fbuf_addf(b, "\"item_id\":%lld,", (long long)(900000 + s->i % 1000));
		else
			fbuf_addf(b, "\"item_id\":%lld,", (long long)l->item);
		if (first && inv == I_TYPE_QTY)
			fbuf_addf(b, "\"quantity\":\"%lld\",", (long long)l->qty);
		else if (first && inv == I_VAL_QTY)
			fbuf_adds(b, "\"quantity\":0,");
		else if (!(first && inv == I_MISS_QTY))
			fbuf_addf(b, "\"quantity\":%lld,", (long long)l->qty);
		if (first && inv == I_MISS_PRICE) {
			b->len--; /* drop the trailing comma */
		} else {
			fbuf_adds(b, "\"unit_price\":");
			add_money(b, first && inv == I_VAL_PRICE ? -l->price : l->price,
				  l->fmt);
		}
		fbuf_addc(b, '}');
	}
	fbuf_addc(b, ']');
}

static void write_amounts(struct fbuf *b, const struct sale *s, int inv)
{
	int64_t total = s->total, disc = s->disc, tax = s->tax;

	if (inv == I_VAL_LINES) /* no lines: a consistent zero sale */
		total = disc = tax = 0;
	if (inv == I_VAL_PRICE) /* the first price goes negative; the tax
				  * makes up for it so the sum stays right */
		tax += 2 * s->lines[0].qty * s->lines[0].price;
	if (inv == I_VAL_DISC) { /* a negative discount raises the total */
		disc = -100;
		total = s->total + s->disc + 100;
	}
	if (inv == I_VAL_TOTAL) { /* a discount above everything: total < 0 */
		disc = s->total + s->disc + 500;
		total = -500;
	}
	if (inv == I_MISMATCH || inv == I_MULTI1)
		total += 1;
	if (inv == I_TYPE_TOTAL) {
		add_key(b, "total_amount");
		fbuf_adds(b, "true");
	} else if (inv != I_MISS_TOTAL) {
		add_key(b, "total_amount");
		add_money(b, total, s->fmt_total);
	}
	if (!s->disc_absent || disc) {
		add_key(b, "total_discounts");
		add_money(b, disc, s->fmt_disc);
	}
	if (!s->tax_absent || tax) {
		add_key(b, "total_tax");
		add_money(b, tax, s->fmt_tax);
	}
}

static void write_ids(struct fbuf *b, const struct gen *g, const struct sale *s,
		      int inv)
{
	if (inv == I_TYPE_STORE || inv == I_MULTI2)
		fbuf_addf(b, ",\"store_id\":\"%lld\"", (long long)(s->store + 1));
	else if (inv == I_UNK_STORE)
		fbuf_addf(b, ",\"store_id\":%lld", (long long)(90000 + s->store));
	else if (inv != I_MISS_STORE)
		fbuf_addf(b, ",\"store_id\":%lld", (long long)(s->store + 1));
	if (inv == I_TYPE_POS)
		fbuf_adds(b, ",\"pos_id\":true");
	else if (inv == I_UNK_POS)
		fbuf_addf(b, ",\"pos_id\":%lld",
			  g->stores > 1 ? (long long)(1001 + (s->pos + g->pos_per_store) %
						      (g->stores * g->pos_per_store))
					: 99999LL);
	else if (inv == I_MISS_POS)
		fbuf_adds(b, ",\"pos_id\":null");
	else
		fbuf_addf(b, ",\"pos_id\":%lld", (long long)(1001 + s->pos));
}

static void write_camera_field(struct fbuf *b, const struct gen *g,
			       const struct sale *s, int inv)
{
	char id[48];

	if (inv == I_TYPE_CAMERA) {
		fbuf_adds(b, ",\"camera_id\":42");
		return;
	}
	if (inv != I_UNK_CAMERA && s->cam_mode == 1) {
		fbuf_adds(b, ",\"camera_id\":null");
		return;
	}
	if (inv != I_UNK_CAMERA && s->cam_mode == 2) /* left out */
		return;
	camera_uuid(g, inv == I_UNK_CAMERA ? T_BADCAM : T_CAM,
		    inv == I_UNK_CAMERA ? s->i : s->pos, id, sizeof(id));
	add_key(b, "camera_id");
	fbuf_add_json_str(b, id);
}

static void write_head(struct fbuf *b, const struct gen *g, const struct sale *s,
		       int inv)
{
	fbuf_addc(b, '{');
	if (inv == I_TYPE_TXID)
		fbuf_addf(b, "\"transaction_id\":%lld,", (long long)s->i);
	else if (inv == I_VAL_TXID)
		fbuf_addf(b, "\"transaction_id\":\"%s/bad id\",", s->txid);
	else if (inv != I_MISS_TXID)
		fbuf_addf(b, "\"transaction_id\":\"%s\",", s->txid);
	fbuf_adds(b, "\"transaction_date\":");
	if (inv == I_MISS_DATE)
		fbuf_adds(b, "null");
	else if (inv == I_TYPE_DATE)
		fbuf_addi(b, s->t_ms / 1000);
	else if (inv == I_TS_DATE)
		fbuf_adds(b, "\"2026-13-45T25:61:00Z\"");
	else
		write_time(b, g, s->t_ms, s->off_min);
	if (inv == I_TS_UPDATED || inv == I_MULTI2) {
		fbuf_adds(b, ",\"updated_at\":\"yesterday\"");
	} else if (s->has_upd) {
		add_key(b, "updated_at");
		write_time(b, g, s->upd_ms, 0);
	}
}

static void write_currency(struct fbuf *b, const struct gen *g,
			   const struct sale *s, int inv)
{
	if (inv == I_MISS_CUR || inv == I_MULTI1)
		return;
	add_key(b, "currency");
	if (inv == I_TYPE_CUR)
		fbuf_adds(b, "840");
	else if (inv == I_VAL_CUR)
		fbuf_adds(b, "\"usd\"");
	else if (inv == I_UNK_CUR)
		fbuf_adds(b, "\"XZZ\"");
	else
		fbuf_add_json_str(b, g->cur[s->cur]);
}

static void write_status(struct fbuf *b, const struct sale *s, int inv)
{
	add_key(b, "financial_status");
	if (inv == I_NULL_STATUS)
		fbuf_adds(b, "null");
	else if (inv == I_TYPE_STATUS)
		fbuf_adds(b, "1");
	else if (inv == I_VAL_STATUS || inv == I_MULTI2)
		fbuf_adds(b, "\"shipped\"");
	else
		fbuf_add_json_str(b, s->status);
}

static void write_extra(struct fbuf *b, int extra)
{
	if (extra == 1)
		fbuf_adds(b, ",\"channel\":\"in_store\"");
	else if (extra == 2)
		fbuf_adds(b, ",\"tags\":[\"gift\",\"promo\"],\"note\":null");
	else if (extra == 3)
		fbuf_adds(b, ",\"_meta\":{\"source\":\"pos-v2\",\"version\":3}");
}

/* Writes sale s, made invalid by inv (-1: valid). */
static void write_sale(struct fbuf *b, const struct gen *g, const struct sale *s,
		       int inv)
{
	write_head(b, g, s, inv);
	write_ids(b, g, s, inv);
	write_camera_field(b, g, s, inv);
	write_customer(b, g, s, inv);
	add_key(b, "billing_address");
	if (inv == I_TYPE_BILLING)
		fbuf_adds(b, "\"123 Main St\"");
	else if (s->bill_mode == 0 && inv != I_TYPE_PROVINCE)
		fbuf_adds(b, "null");
	else
		write_address(b, s, s->bill_mode == 2, inv);
	if (s->ship_mode == 0) {
		fbuf_adds(b, ",\"shipping_address\":null");
	} else if (s->ship_mode == 1) {
		add_key(b, "shipping_address");
		write_address(b, s, false, -1);
	}
	write_currency(b, g, s, inv);
	write_status(b, s, inv);
	write_amounts(b, s, inv);
	write_lines(b, s, inv);
	write_extra(b, s->extra);
	fbuf_addc(b, '}');
}

/* ------------------------------------------------------------- iteration */

enum kind_item { K_REF, K_SALE, K_OLDER, K_FIX, K_OOW };

struct item {
	int kind;
	int64_t idx;
};

struct win {
	bool has_since, has_until;
	int64_t since, until, lo, hi;
};

/* Pagination state; serialised into the opaque cursor. */
struct cursor {
	uint8_t res, phase;
	uint32_t sub;
	uint64_t j;
};

static int64_t now_of(const struct src *s)
{
	return s->now_set ? s->now_ms : fake_now_ms();
}

/* The records served at generator step j, in order: sale j (unless it is
 * late and not yet visible), then older duplicates that are due. */
static int step_items(const struct src *s, int64_t j, const struct win *w,
		      struct item *out)
{
	const struct gen *g = &s->g;
	struct kind k = classify(g, j);
	int64_t from = j - DUP_DELAY, to = j - DUP_DELAY;
	int n = 0;

	if (!k.late || now_of(s) >= g->late_after_ms)
		out[n++] = (struct item){ K_SALE, j };
	if (j == w->hi - 1) /* the window ends: flush every pending older copy */
		to = j;
	if (from < w->lo)
		from = w->lo;
	for (int64_t i = from; i <= to; i++)
		if (classify(g, i).dup)
			out[n++] = (struct item){ K_OLDER, i };
	return n;
}

static bool rec_in_window(const struct rec *r, const struct win *w)
{
	if (!r->t_ok) /* undated records go to every window, for the validator */
		return true;
	return (!w->has_since || r->t_ms >= w->since) &&
	       (!w->has_until || r->t_ms < w->until);
}

static bool next_gen(const struct src *s, int r, struct cursor *c,
		     const struct win *w, struct item *out)
{
	if (r != R_SALES) {
		if (c->j >= (uint64_t)gen_count(&s->g, r))
			return false;
		*out = (struct item){ K_REF, (int64_t)c->j++ };
		return true;
	}
	if (c->j < (uint64_t)w->lo) { /* the first call: start the window */
		c->j = (uint64_t)w->lo;
		c->sub = 0;
	}
	for (; c->j < (uint64_t)w->hi; c->j++, c->sub = 0) {
		struct item list[STEP_MAX];
		int n = step_items(s, (int64_t)c->j, w, list);

		if (c->sub < (uint32_t)n) {
			*out = list[c->sub++];
			return true;
		}
	}
	return false;
}

/* Advances c to the next record of the stream; false at the end. */
static bool next_item(const struct src *s, int r, struct cursor *c,
		      const struct win *w, struct item *out)
{
	for (;;) {
		switch (c->phase) {
		case 0: /* generated records */
			if (s->generated[r] && next_gen(s, r, c, w, out))
				return true;
			break;
		case 1: /* fixtures, in file order */
			while (c->j < s->fix[r].n) {
				const struct rec *rec = &s->fix[r].v[c->j++];

				if (r != R_SALES || rec_in_window(rec, w)) {
					*out = (struct item){ K_FIX,
							      (int64_t)c->j - 1 };
					return true;
				}
			}
			break;
		case 2: /* sales outside the window, on purpose */
			if (r == R_SALES && (w->has_since || w->has_until) &&
			    c->j < (uint64_t)s->g.oow) {
				*out = (struct item){ K_OOW, (int64_t)c->j++ };
				return true;
			}
			break;
		default:
			return false;
		}
		c->phase++;
		c->j = 0;
		c->sub = 0;
	}
}

/* An out-of-window sale: after until (even k) or before since (odd k). */
static void write_oow(struct fbuf *b, const struct src *s, const struct win *w,
		      int64_t k)
{
	struct sale sa;
	bool after = w->has_until && (k % 2 == 0 || !w->has_since);
	int64_t bound = after ? w->until : w->since;

	gen_sale(&s->g, k, &sa);
	sa.t_ms = after ? bound + (k / 2) * 7000 : bound - 1000 - (k / 2) * 7000;
	sa.upd_ms = sa.t_ms + 1000;
	sa.off_min = 0;
	snprintf(sa.txid, sizeof(sa.txid), "OOW-%lld-%lld",
		 (long long)fake_floordiv(bound, 1000), (long long)k);
	write_sale(b, &s->g, &sa, -1);
}

static void write_gen_sale(struct fbuf *b, const struct src *s, int64_t i,
			   bool older)
{
	struct kind k = classify(&s->g, i);
	struct sale sa;

	gen_sale(&s->g, i, &sa);
	if (k.dup) { /* the newer version is served first */
		sa.has_upd = true;
		if (older) {
			sa.status = strcmp(sa.status, "pending") ? "pending" : "paid";
		} else {
			sa.upd_ms += 3600 * 1000;
		}
	}
	if (k.late && s->g.late_after_ms > sa.upd_ms) {
		sa.has_upd = true;
		sa.upd_ms = s->g.late_after_ms;
	}
	write_sale(b, &s->g, &sa, k.inv);
}

static void write_any(struct fbuf *b, const struct src *s, int r,
		      const struct win *w, const struct item *it)
{
	switch (it->kind) {
	case K_REF: write_ref(b, &s->g, r, it->idx); break;
	case K_SALE: write_gen_sale(b, s, it->idx, false); break;
	case K_OLDER: write_gen_sale(b, s, it->idx, true); break;
	case K_OOW: write_oow(b, s, w, it->idx); break;
	default: {
		const struct rec *rec = &s->fix[r].v[it->idx];

		fbuf_add(b, rec->raw, rec->len);
	}
	}
}

/* ---------------------------------------------------------------- cursor */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/* Three leading bytes that base64-encode to "+/+/": every cursor then has
 * characters that must be %-encoded in a query string. */
static const uint8_t magic[3] = { 0xfb, 0xff, 0xbf };
#define CUR_LEN 40

static void put64(uint8_t *p, uint64_t v)
{
	for (int k = 0; k < 8; k++)
		p[k] = (uint8_t)(v >> (56 - 8 * k));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int k = 0; k < 8; k++)
		v = v << 8 | p[k];
	return v;
}

static uint32_t checksum(const struct gen *g, const uint8_t *p, size_t n)
{
	uint64_t h = g->seed;

	for (size_t k = 0; k < n; k++)
		h = mix64(h ^ p[k]);
	return (uint32_t)h;
}

/* Scrambles (or unscrambles) the payload bytes so that cursors look opaque
 * and differ between seeds; the salt byte varies the key per cursor. */
static void cursor_scramble(const struct gen *g, uint8_t *p)
{
	for (int k = 4; k < 35; k++)
		p[k] ^= (uint8_t)h3(g->seed, 77, (uint64_t)(k * 256 + p[35]));
}

/* Byte layout: magic(3) version(1) res(1) phase(1) flags(1) sub(4) j(8)
 * since(8) until(8) salt(1) check(4) = 40 bytes, 56 base64 chars + "==";
 * bytes 4-34 scrambled. */
static void cursor_encode(const struct gen *g, const struct cursor *c,
			  const struct win *w, char *out)
{
	uint8_t p[CUR_LEN];
	uint32_t ck;
	size_t o = 0;

	memcpy(p, magic, 3);
	p[3] = 1;
	p[4] = c->res;
	p[5] = c->phase;
	p[6] = (uint8_t)(w->has_since | w->has_until << 1);
	for (int k = 0; k < 4; k++)
		p[7 + k] = (uint8_t)(c->sub >> (24 - 8 * k));
	put64(p + 11, c->j);
	put64(p + 19, (uint64_t)w->since);
	put64(p + 27, (uint64_t)w->until);
	p[35] = (uint8_t)mix64(c->j ^ g->seed);
	cursor_scramble(g, p);
	ck = checksum(g, p, 36);
	for (int k = 0; k < 4; k++)
		p[36 + k] = (uint8_t)(ck >> (24 - 8 * k));
	for (size_t k = 0; k < CUR_LEN; k += 3) {
		uint32_t v = (uint32_t)p[k] << 16;
		size_t left = CUR_LEN - k;

		v |= left > 1 ? (uint32_t)p[k + 1] << 8 : 0;
		v |= left > 2 ? p[k + 2] : 0;
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = left > 1 ? b64[v >> 6 & 63] : '=';
		out[o++] = left > 2 ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

/* Strict base64: exactly the alphabet and padding, else false. */
static bool b64_decode(const char *s, uint8_t *out, size_t *out_len, size_t cap)
{
	size_t n = strlen(s), o = 0;

	if (n == 0 || n % 4)
		return false;
	for (size_t k = 0; k < n; k += 4) {
		uint32_t v = 0;
		int pad = 0;

		for (int q = 0; q < 4; q++) {
			const char *pos = s[k + q] ? strchr(b64, s[k + q]) : NULL;

			if (s[k + q] == '=' && k + 4 == n && q >= 2) {
				pad++;
				v <<= 6;
				continue;
			}
			if (!pos || pad)
				return false;
			v = v << 6 | (uint32_t)(pos - b64);
		}
		for (int q = 0; q < 3 - pad; q++) {
			if (o >= cap)
				return false;
			out[o++] = (uint8_t)(v >> (16 - 8 * q));
		}
	}
	*out_len = o;
	return true;
}

/* Decodes a cursor for resource r; fills c and the window it carries. */
static bool cursor_decode(const struct gen *g, const char *text, int r,
			  struct cursor *c, struct win *w)
{
	uint8_t p[CUR_LEN + 8];
	size_t n;
	uint32_t ck = 0;

	if (!b64_decode(text, p, &n, sizeof(p)) || n != CUR_LEN ||
	    memcmp(p, magic, 3) != 0 || p[3] != 1)
		return false;
	for (int k = 0; k < 4; k++)
		ck = ck << 8 | p[36 + k];
	if (ck != checksum(g, p, 36))
		return false;
	cursor_scramble(g, p);
	if (p[4] != r)
		return false;
	c->res = p[4];
	c->phase = p[5];
	c->sub = (uint32_t)p[7] << 24 | (uint32_t)p[8] << 16 |
		 (uint32_t)p[9] << 8 | p[10];
	c->j = get64(p + 11);
	w->has_since = p[6] & 1;
	w->has_until = (p[6] >> 1) & 1;
	w->since = (int64_t)get64(p + 19);
	w->until = (int64_t)get64(p + 27);
	return true;
}

/* ----------------------------------------------------------------- pages */

static bool parse_bound(const struct fake_req *req, const char *name,
			bool *has, int64_t *ms, struct fake_resp *resp)
{
	const char *v = fake_arg(req, name);
	bool off;

	*has = false;
	if (!v)
		return true;
	if (!fake_parse_time(v, ms, &off) || !off) {
		fake_resp_msg(resp, 400, "%s: '%s' is not an RFC 3339 timestamp "
			      "with an offset", name, v);
		return false;
	}
	*has = true;
	return true;
}

/* Reads limit, since, until and cursor; answers 400 and returns false on
 * a bad one. */
static bool parse_page_args(const struct src *s, int r, const struct fake_req *req,
			    struct fake_resp *resp, int64_t *limit,
			    struct cursor *c, struct win *w)
{
	const char *lim = fake_arg(req, "limit"), *cur = fake_arg(req, "cursor");
	struct win q;

	*limit = LIMIT_DEFAULT;
	if (lim && (!fake_parse_i64(lim, limit) || *limit < 1)) {
		fake_resp_msg(resp, 400, "limit: '%s' is not a positive integer", lim);
		return false;
	}
	if (*limit > s->page_max)
		*limit = s->page_max;
	memset(&q, 0, sizeof(q));
	if (r == R_SALES &&
	    (!parse_bound(req, "since", &q.has_since, &q.since, resp) ||
	     !parse_bound(req, "until", &q.has_until, &q.until, resp)))
		return false;
	if (!q.has_since)
		q.since = 0;
	if (!q.has_until)
		q.until = 0;
	memset(c, 0, sizeof(*c));
	c->res = (uint8_t)r;
	*w = q;
	if (!cur)
		return true;
	if (!cursor_decode(&s->g, cur, r, c, w)) {
		fake_resp_msg(resp, 400, "invalid cursor (was it URL-encoded?)");
		return false;
	}
	if ((q.has_since && (!w->has_since || q.since != w->since)) ||
	    (q.has_until && (!w->has_until || q.until != w->until))) {
		fake_resp_msg(resp, 400, "cursor belongs to another window");
		return false;
	}
	return true;
}

static void window_bounds(const struct gen *g, struct win *w)
{
	w->lo = w->has_since ? sale_lower_bound(g, w->since) : 0;
	w->hi = w->has_until ? sale_lower_bound(g, w->until) : g->sales;
	if (w->hi < w->lo)
		w->hi = w->lo;
}

static void serve_list(struct src *s, int r, const struct fake_req *req,
		       struct fake_resp *resp)
{
	struct cursor c, peek;
	struct win w;
	struct item it;
	struct fbuf b;
	int64_t limit, n = 0;
	char cur[80];

	if (!parse_page_args(s, r, req, resp, &limit, &c, &w))
		return;
	window_bounds(&s->g, &w);
	fbuf_init(&b);
	fbuf_adds(&b, "{\"data\":[");
	pthread_rwlock_rdlock(&s->lock);
	while (n < limit && next_item(s, r, &c, &w, &it)) {
		if (n++)
			fbuf_addc(&b, ',');
		write_any(&b, s, r, &w, &it);
	}
	peek = c;
	if (next_item(s, r, &peek, &w, &it)) {
		cursor_encode(&s->g, &c, &w, cur);
		fbuf_adds(&b, "],\"next_cursor\":\"");
		fbuf_adds(&b, cur);
		fbuf_adds(&b, "\"}");
	} else {
		fbuf_adds(&b, "],\"next_cursor\":null}");
	}
	pthread_rwlock_unlock(&s->lock);
	fake_resp_take(resp, 200, b.p, b.len);
}

static int res_index(const char *name)
{
	for (int r = 0; r < R_N; r++)
		if (strcmp(name, res_names[r]) == 0)
			return r;
	return -1;
}

static void src_handle(void *ctx, const struct fake_req *req,
		       struct fake_resp *resp)
{
	struct src *s = ctx;
	const char *auth = fake_header(req, "Authorization");
	char want[512];
	int r;

	if (s->token) {
		snprintf(want, sizeof(want), "Bearer %s", s->token);
		if (!auth || strcmp(auth, want) != 0) {
			fake_resp_msg(resp, 401, "missing or invalid bearer token");
			return;
		}
	}
	if (strncmp(req->path, "/v1/", 4) != 0 ||
	    (r = res_index(req->path + 4)) < 0)
		fake_resp_msg(resp, 404, "unknown resource %s", req->path);
	else if (strcmp(req->method, "GET") != 0)
		fake_resp_msg(resp, 405, "method %s not allowed", req->method);
	else
		serve_list(s, r, req, resp);
}

/* -------------------------------------------------------------- fixtures */

static void rlist_clear(struct rlist *l)
{
	for (size_t k = 0; k < l->n; k++)
		free(l->v[k].raw);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* End (exclusive) of the JSON value starting at text[i]; the text is known
 * to be valid JSON. */
static size_t value_end(const char *t, size_t i, size_t n)
{
	int depth = 0;
	bool str = false;

	for (; i < n; i++) {
		char ch = t[i];

		if (str) {
			if (ch == '\\') {
				i++;
			} else if (ch == '"') {
				str = false;
				if (depth == 0)
					return i + 1;
			}
			continue;
		}
		if (ch == '"') {
			str = true;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 && strchr(", \t\r\n", ch)) {
			return i;
		}
	}
	return i;
}

static void rlist_push(struct rlist *l, const char *raw, size_t len,
		       const cJSON *item, bool sales)
{
	struct rec *rec;
	const cJSON *d;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	rec = &l->v[l->n++];
	rec->raw = malloc(len + 1);
	if (!rec->raw)
		abort();
	memcpy(rec->raw, raw, len);
	rec->raw[len] = '\0';
	rec->len = len;
	rec->t_ok = false;
	d = sales ? cJSON_GetObjectItemCaseSensitive(item, "transaction_date") : NULL;
	if (cJSON_IsString(d)) {
		bool off = false;
		int64_t ms;

		if (fake_parse_time(d->valuestring, &ms, &off) && off) {
			rec->t_ok = true;
			rec->t_ms = ms;
		}
	}
}

/* Appends the elements of a JSON array text, each kept verbatim. */
static bool rlist_append_json(struct rlist *l, const char *t, size_t n,
			      bool sales, const char **err)
{
	cJSON *root = cJSON_ParseWithLength(t, n);
	const cJSON *item;
	size_t i = 0;

	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		*err = "not a JSON array";
		return false;
	}
	while (i < n && t[i] != '[')
		i++;
	i++;
	cJSON_ArrayForEach(item, root) {
		size_t end;

		while (i < n && strchr(" \t\r\n,", t[i]))
			i++;
		end = value_end(t, i, n);
		rlist_push(l, t + i, end - i, item, sales);
		i = end;
	}
	cJSON_Delete(root);
	return true;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct fbuf b;
	char tmp[65536];
	size_t n;

	if (!f)
		return NULL;
	fbuf_init(&b);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		fbuf_add(&b, tmp, n);
	fclose(f);
	return fbuf_detach(&b, len);
}

/* Loads DIR/<resource>.json for every resource present; a missing file
 * means an empty resource (--data) or the generated one (--overlay). */
static int load_dir(struct src *s, const char *dir)
{
	for (int r = 0; r < R_N; r++) {
		char path[4096];
		const char *err = NULL;
		size_t len;
		char *text;

		snprintf(path, sizeof(path), "%s/%s.json", dir, res_names[r]);
		text = read_file(path, &len);
		if (!text) {
			if (errno == ENOENT) {
				s->generated[r] = s->overlay;
				continue;
			}
			fprintf(stderr, "fake_source: cannot read '%s': %s\n", path,
				strerror(errno));
			return -1;
		}
		s->generated[r] = false;
		rlist_clear(&s->fix[r]);
		if (!rlist_append_json(&s->fix[r], text, len, r == R_SALES, &err)) {
			fprintf(stderr, "fake_source: '%s': %s\n", path, err);
			free(text);
			return -1;
		}
		free(text);
	}
	return 0;
}

/* ------------------------------------------------------- control handlers */

static void control_data(struct src *s, const struct fake_req *req,
			 struct fake_resp *resp, const char *name, bool append)
{
	int r = res_index(name);
	struct rlist fresh = { 0 };
	const char *err = NULL;

	if (r < 0) {
		fake_resp_msg(resp, 404, "unknown resource '%s'", name);
		return;
	}
	if (!rlist_append_json(&fresh, req->body, req->body_len, r == R_SALES,
			       &err)) {
		rlist_clear(&fresh);
		fake_resp_msg(resp, 400, "body: %s", err);
		return;
	}
	pthread_rwlock_wrlock(&s->lock);
	if (!append) {
		rlist_clear(&s->fix[r]);
		s->fix[r] = fresh;
		s->generated[r] = false;
	} else { /* move the records over; their raw text changes owner */
		struct rlist *l = &s->fix[r];

		l->v = realloc(l->v, (l->n + fresh.n + 1) * sizeof(*l->v));
		if (!l->v)
			abort();
		if (fresh.n)
			memcpy(l->v + l->n, fresh.v, fresh.n * sizeof(*l->v));
		l->n += fresh.n;
		l->cap = l->n + 1;
		free(fresh.v);
	}
	pthread_rwlock_unlock(&s->lock);
	fake_resp_msg(resp, 200, "%s: %zu fixture records", name, s->fix[r].n);
}

static void control_now(struct src *s, const struct fake_req *req,
			struct fake_resp *resp)
{
	cJSON *root = cJSON_Parse(req->body);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "now");
	int64_t ms = 0;
	bool ok = cJSON_IsNull(v) ||
		  (cJSON_IsString(v) && fake_parse_time(v->valuestring, &ms, NULL));

	if (ok) {
		pthread_rwlock_wrlock(&s->lock);
		s->now_set = !cJSON_IsNull(v);
		s->now_ms = ms;
		pthread_rwlock_unlock(&s->lock);
	}
	cJSON_Delete(root);
	if (ok)
		fake_resp_msg(resp, 200, "clock set");
	else
		fake_resp_msg(resp, 400,
			      "body must be {\"now\": RFC 3339 or null}");
}

/* Counts what a window's stream holds, classified as etl should see it. */
static void control_expect(struct src *s, const struct fake_req *req,
			   struct fake_resp *resp)
{
	struct cursor c = { R_SALES, 0, 0, 0 };
	struct win w;
	struct item it;
	int64_t n[5] = { 0 }, reasons[I_N] = { 0 }, valid = 0, invalid = 0;
	cJSON *o, *ro;

	memset(&w, 0, sizeof(w));
	if (!parse_bound(req, "since", &w.has_since, &w.since, resp) ||
	    !parse_bound(req, "until", &w.has_until, &w.until, resp))
		return;
	window_bounds(&s->g, &w);
	pthread_rwlock_rdlock(&s->lock);
	while (next_item(s, R_SALES, &c, &w, &it)) {
		n[it.kind]++;
		if (it.kind == K_SALE) {
			int inv = classify(&s->g, it.idx).inv;

			if (inv < 0) {
				valid++;
			} else {
				invalid++;
				reasons[inv]++;
			}
		}
	}
	pthread_rwlock_unlock(&s->lock);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "records", (double)(n[K_SALE] + n[K_OLDER] +
						       n[K_FIX] + n[K_OOW]));
	cJSON_AddNumberToObject(o, "valid", (double)valid);
	cJSON_AddNumberToObject(o, "invalid", (double)invalid);
	cJSON_AddNumberToObject(o, "duplicates", (double)n[K_OLDER]);
	cJSON_AddNumberToObject(o, "out_of_window", (double)n[K_OOW]);
	cJSON_AddNumberToObject(o, "fixture", (double)n[K_FIX]);
	ro = cJSON_AddObjectToObject(o, "reasons");
	for (int k = 0; k < I_N; k++)
		if (reasons[k])
			cJSON_AddNumberToObject(ro, inv_codes[k], (double)reasons[k]);
	fake_resp_json(resp, 200, o);
}

static bool src_control(void *ctx, const struct fake_req *req,
			struct fake_resp *resp)
{
	struct src *s = ctx;
	const char *p = req->path + strlen("/_control/");
	bool post = strcmp(req->method, "POST") == 0;

	if (post && strncmp(p, "data/", 5) == 0)
		control_data(s, req, resp, p + 5, false);
	else if (post && strncmp(p, "append/", 7) == 0)
		control_data(s, req, resp, p + 7, true);
	else if (post && strcmp(p, "now") == 0)
		control_now(s, req, resp);
	else if (strcmp(req->method, "GET") == 0 && strcmp(p, "expect") == 0)
		control_expect(s, req, resp);
	else
		return false;
	return true;
}

/* Back to the start-up state: generated data, --data fixtures, --now. */
static void src_reset(void *ctx)
{
	struct src *s = ctx;

	pthread_rwlock_wrlock(&s->lock);
	for (int r = 0; r < R_N; r++) {
		rlist_clear(&s->fix[r]);
		s->generated[r] = true;
	}
	if (s->data_dir && load_dir(s, s->data_dir) != 0)
		fprintf(stderr, "fake_source: reset could not reload '%s'\n",
			s->data_dir);
	s->now_set = s->now_set0;
	s->now_ms = s->now_ms0;
	pthread_rwlock_unlock(&s->lock);
}

/* --------------------------------------------------------------- options */

static const char usage[] =
	"usage: fake_source [options]\n"
	"  --token T            require 'Authorization: Bearer T'\n"
	"  --seed N             generator seed (default 1)\n"
	"  --stores N           (default 5)\n"
	"  --pos-per-store N    (default 2; one camera per POS)\n"
	"  --items N            (default 50)\n"
	"  --customers N        customer pool (default 100)\n"
	"  --currencies L       comma list (default USD,GBP,EUR,CAD)\n"
	"  --sales N            generated sales (default 1000)\n"
	"  --start T            first sale, RFC 3339 (default 2026-11-20T00:00:00Z)\n"
	"  --hours H            span of the sales (default 24)\n"
	"  --subsecond          sale times in ms (default: whole seconds)\n"
	"  --rate-days-before N rates start N days before --start (default 3)\n"
	"  --invalid-ratio R    fraction of invalid sales (default 0)\n"
	"  --duplicate-ratio R  fraction of sales served twice (default 0)\n"
	"  --late-ratio R       fraction of late sales (needs --late-after)\n"
	"  --late-after T       late sales appear once the clock is past T\n"
	"  --now T              the fake's clock (default: real time)\n"
	"  --out-of-window N    extra sales outside each asked window\n"
	"  --page-max N         largest page served (default 5000)\n"
	"  --data DIR           serve DIR/<resource>.json (missing file: empty)\n"
	"  --overlay DIR        same, but a missing file keeps the generated data\n";

static bool parse_ratio(const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	return !errno && !*end && *out >= 0 && *out <= 1;
}

static bool parse_count(const char *v, int64_t *out, int64_t min)
{
	return fake_parse_i64(v, out) && *out >= min;
}

static bool set_currencies(struct gen *g, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n != 3)
			return false;
		g->cur = realloc(g->cur, (size_t)(g->ncur + 1) * sizeof(*g->cur));
		g->cur[g->ncur] = malloc(4);
		if (!g->cur || !g->cur[g->ncur])
			abort();
		memcpy(g->cur[g->ncur], p, 3);
		g->cur[g->ncur++][3] = '\0';
		p += n + (p[n] == ',');
	}
	return g->ncur > 0;
}

static void set_data_dir(struct src *s, const char *dir, bool overlay)
{
	s->data_dir = dir;
	s->overlay = overlay;
}

/* One source option; returns 1 consumed, 0 unknown, -1 bad value. */
static int src_opt(struct src *s, int argc, char **argv, int *i)
{
	struct gen *g = &s->g;
	const char *v;
	int64_t n;

#define OPT(name) (fake_opt(argc, argv, i, name, &v) == 1)
	if (OPT("--token"))
		s->token = v;
	else if (OPT("--seed"))
		return parse_count(v, &n, 0) ? (g->seed = (uint64_t)n, 1) : -1;
	else if (OPT("--stores"))
		return parse_count(v, &g->stores, 1) ? 1 : -1;
	else if (OPT("--pos-per-store"))
		return parse_count(v, &g->pos_per_store, 1) ? 1 : -1;
	else if (OPT("--items"))
		return parse_count(v, &g->items, 1) ? 1 : -1;
	else if (OPT("--customers"))
		return parse_count(v, &g->customers, 0) ? 1 : -1;
	else if (OPT("--currencies"))
		return set_currencies(g, v) ? 1 : -1;
	else if (OPT("--sales"))
		return parse_count(v, &g->sales, 0) ? 1 : -1;
	else if (OPT("--start"))
		return fake_parse_time(v, &g->start_ms, NULL) ? 1 : -1;
	else if (OPT("--hours"))
		return parse_count(v, &n, 1) ? (g->span_ms = n * 3600000, 1) : -1;
	else if (OPT("--rate-days-before"))
		return parse_count(v, &g->rate_days_before, 0) ? 1 : -1;
	else if (OPT("--invalid-ratio"))
		return parse_ratio(v, &g->invalid_ratio) ? 1 : -1;
	else if (OPT("--duplicate-ratio"))
		return parse_ratio(v, &g->dup_ratio) ? 1 : -1;
	else if (OPT("--late-ratio"))
		return parse_ratio(v, &g->late_ratio) ? 1 : -1;
	else if (OPT("--late-after"))
		return fake_parse_time(v, &g->late_after_ms, NULL) ? 1 : -1;
	else if (OPT("--now"))
		return fake_parse_time(v, &s->now_ms0, NULL) ? (s->now_set0 = true, 1)
							     : -1;
	else if (OPT("--out-of-window"))
		return parse_count(v, &g->oow, 0) ? 1 : -1;
	else if (OPT("--page-max"))
		return parse_count(v, &s->page_max, 1) ? 1 : -1;
	else if (OPT("--data"))
		set_data_dir(s, v, false);
	else if (OPT("--overlay"))
		set_data_dir(s, v, true);
	else if (strcmp(argv[*i], "--subsecond") == 0)
		g->subsecond = true;
	else
		return 0;
#undef OPT
	return 1;
}

static void src_defaults(struct src *s)
{
	struct gen *g = &s->g;

	memset(s, 0, sizeof(*s));
	g->seed = 1;
	g->stores = 5;
	g->pos_per_store = 2;
	g->items = 50;
	g->customers = 100;
	g->sales = 1000;
	fake_parse_time("2026-11-20T00:00:00Z", &g->start_ms, NULL);
	g->span_ms = 24 * 3600000LL;
	g->rate_days_before = 3;
	g->late_after_ms = INT64_MIN;
	s->page_max = LIMIT_CAP;
}

/* Settles derived values after the options are read. */
static int src_finish(struct src *s)
{
	struct gen *g = &s->g;

	if (g->ncur == 0)
		set_currencies(g, "USD,GBP,EUR,CAD");
	if (!g->subsecond)
		g->start_ms = fake_floordiv(g->start_ms, 1000) * 1000;
	if (g->late_ratio > 0 && g->late_after_ms == INT64_MIN) {
		fputs("fake_source: --late-ratio needs --late-after\n", stderr);
		return -1;
	}
	if (s->page_max > LIMIT_CAP)
		s->page_max = LIMIT_CAP;
	g->first_day = fake_floordiv(g->start_ms, 86400000) - g->rate_days_before;
	g->ndays = fake_floordiv(g->start_ms + g->span_ms - 1, 86400000) -
		   g->first_day + 1;
	s->now_set = s->now_set0;
	s->now_ms = s->now_ms0;
	for (int r = 0; r < R_N; r++)
		s->generated[r] = true;
	return s->data_dir ? load_dir(s, s->data_dir) : 0;
}

static void src_release(struct src *s)
{
	for (int r = 0; r < R_N; r++)
		rlist_clear(&s->fix[r]);
	for (int64_t k = 0; k < s->g.ncur; k++)
		free(s->g.cur[k]);
	free(s->g.cur);
}

int main(int argc, char **argv)
{
	struct fake_opts o = { 0 };
	struct src s;
	struct fake_app app = { "fake_source", &s, src_handle, src_control,
				src_reset };
	int ret = 64;

	src_defaults(&s);
	pthread_rwlock_init(&s.lock, NULL);
	for (int i = 1; i < argc; i++) {
		int r = fake_common_opt(argc, argv, &i, &o);

		if (r == 0)
			r = src_opt(&s, argc, argv, &i);
		if (r == 0 && strcmp(argv[i], "--help") == 0) {
			printf("%s%s", usage, fake_common_usage);
			ret = 0;
			goto cleanup;
		}
		if (r <= 0) {
			fprintf(stderr, "fake_source: bad option '%s'\n%s%s", argv[i],
				usage, fake_common_usage);
			goto cleanup;
		}
	}
	if (src_finish(&s) != 0)
		goto cleanup;
	ret = fake_run(&o, &app);
cleanup:
	src_release(&s);
	pthread_rwlock_destroy(&s.lock);
	return ret;
}

/* validate.c - see validate.h.
 *
 * Every check adds its reason and goes on, so a record gets every reason it
 * deserves, in the order of the contract's field table (then total_mismatch,
 * then out_of_window).  Numbers are read from their literal text (json.h),
 * never from cJSON's double.
 */
#include "validate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "json.h"

/* ---- reasons ---------------------------------------------------------- */

int etl_reasons_add(etl_reasons *r, const char *code)
{
	char *copy;

	for (int i = 0; i < r->n; i++)
		if (strcmp(r->codes[i], code) == 0)
			return 0;
	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 8;
		char **codes = realloc(r->codes, (size_t)cap * sizeof(*codes));

		if (!codes)
			return -1;
		r->codes = codes;
		r->cap = cap;
	}
	copy = strdup(code);
	if (!copy)
		return -1;
	r->codes[r->n++] = copy;
	return 0;
}

void etl_reasons_clear(etl_reasons *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->codes[i]);
	r->n = 0;
}

void etl_reasons_release(etl_reasons *r)
{
	etl_reasons_clear(r);
	free(r->codes);
	r->codes = NULL;
	r->cap = 0;
}

/* ---- reference data --------------------------------------------------- */

/* An open-addressing hash map of int64 ids (linear probing, load <= 1/2). */
typedef struct imap {
	int64_t *keys, *vals;
	unsigned char *used;
	size_t cap, n;
} imap;

/* An open-addressing hash set of strings (owned copies). */
typedef struct sset {
	char **keys;
	size_t cap, n;
} sset;

/* Currencies are three upper-case letters: a direct table of 26^3 slots. */
#define NCUR (26 * 26 * 26)
#define NO_RATE INT32_MAX

struct etl_refdata {
	imap stores, pos, items;
	sset cameras;
	etl_date rate_since[NCUR];	/* earliest date with a rate, NO_RATE when none */
};

/* splitmix64's finaliser: consecutive ids spread over the whole table. */
static uint64_t hash_int(int64_t key)
{
	uint64_t x = (uint64_t)key;

	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* FNV-1a. */
static uint64_t hash_str(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

static size_t imap_slot(const imap *m, int64_t key)
{
	size_t i = (size_t)hash_int(key) & (m->cap - 1);

	while (m->used[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int imap_grow(imap *m)
{
	imap big = { NULL, NULL, NULL, m->cap ? m->cap * 2 : 64, 0 };

	big.keys = malloc(big.cap * sizeof(*big.keys));
	big.vals = malloc(big.cap * sizeof(*big.vals));
	big.used = calloc(big.cap, 1);
	if (!big.keys || !big.vals || !big.used) {
		free(big.keys);
		free(big.vals);
		free(big.used);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->used[i]) {
			size_t j = imap_slot(&big, m->keys[i]);

			big.used[j] = 1;
			big.keys[j] = m->keys[i];
			big.vals[j] = m->vals[i];
			big.n++;
		}
	}
	free(m->keys);
	free(m->vals);
	free(m->used);
	*m = big;
	return 0;
}

/* Inserts or overwrites key's value. */
static int imap_put(imap *m, int64_t key, int64_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap && imap_grow(m) < 0)
		return -1;
	i = imap_slot(m, key);
	if (!m->used[i]) {
		m->used[i] = 1;
		m->keys[i] = key;
		m->n++;
	}
	m->vals[i] = val;
	return 0;
}

static int imap_get(const imap *m, int64_t key, int64_t *val)
{
	size_t i;

	if (!m->cap)
		return 0;
	i = imap_slot(m, key);
	if (!m->used[i])
		return 0;
	if (val)
		*val = m->vals[i];
	return 1;
}

static void imap_free(imap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
}

static size_t sset_slot(const sset *s, const char *key)
{
	size_t i = (size_t)hash_str(key) & (s->cap - 1);

	while (s->keys[i] && strcmp(s->keys[i], key) != 0)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int sset_grow(sset *s)
{
	sset big = { NULL, s->cap ? s->cap * 2 : 64, 0 };

	big.keys = calloc(big.cap, sizeof(*big.keys));
	if (!big.keys)
		return -1;
	for (size_t i = 0; i < s->cap; i++) {
		if (s->keys[i]) {
			big.keys[sset_slot(&big, s->keys[i])] = s->keys[i];
			big.n++;
		}
	}
	free(s->keys);
	*s = big;
	return 0;
}

static int sset_add(sset *s, const char *key)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap && sset_grow(s) < 0)
		return -1;
	i = sset_slot(s, key);
	if (!s->keys[i]) {
		s->keys[i] = strdup(key);
		if (!s->keys[i])
			return -1;
		s->n++;
	}
	return 0;
}

static int sset_has(const sset *s, const char *key)
{
	return s->cap && s->keys[sset_slot(s, key)] != NULL;
}

static void sset_free(sset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->keys[i]);
	free(s->keys);
}

/* The table index of a currency code, -1 unless exactly [A-Z]{3}. */
static int currency_index(const char *c)
{
	int idx = 0;

	if (!c)
		return -1;
	for (int i = 0; i < 3; i++) {
		if (c[i] < 'A' || c[i] > 'Z')
			return -1;
		idx = idx * 26 + (c[i] - 'A');
	}
	return c[3] ? -1 : idx;
}

etl_refdata *etl_refdata_new(void)
{
	etl_refdata *ref = calloc(1, sizeof(*ref));

	if (!ref)
		return NULL;
	for (int i = 0; i < NCUR; i++)
		ref->rate_since[i] = NO_RATE;
	return ref;
}

void etl_refdata_free(etl_refdata *ref)
{
	if (!ref)
		return;
	imap_free(&ref->stores);
	imap_free(&ref->pos);
	imap_free(&ref->items);
	sset_free(&ref->cameras);
	free(ref);
}

int etl_refdata_add_store(etl_refdata *ref, int64_t store_id)
{
	return imap_put(&ref->stores, store_id, 0);
}

int etl_refdata_add_pos(etl_refdata *ref, int64_t pos_id, int64_t store_id)
{
	return imap_put(&ref->pos, pos_id, store_id);
}

int etl_refdata_add_camera(etl_refdata *ref, const char *camera_id)
{
	return camera_id ? sset_add(&ref->cameras, camera_id) : -1;
}

int etl_refdata_add_item(etl_refdata *ref, int64_t item_id)
{
	return imap_put(&ref->items, item_id, 0);
}

int etl_refdata_add_rate(etl_refdata *ref, const char *currency, etl_date date)
{
	int idx = currency_index(currency);

	if (idx < 0)
		return -1;
	if (date < ref->rate_since[idx])
		ref->rate_since[idx] = date;
	return 0;
}

int etl_refdata_has_store(const etl_refdata *ref, int64_t store_id)
{
	return imap_get(&ref->stores, store_id, NULL);
}

int etl_refdata_pos_store(const etl_refdata *ref, int64_t pos_id, int64_t *store_id)
{
	return imap_get(&ref->pos, pos_id, store_id);
}

int etl_refdata_has_camera(const etl_refdata *ref, const char *camera_id)
{
	return camera_id && sset_has(&ref->cameras, camera_id);
}

int etl_refdata_has_item(const etl_refdata *ref, int64_t item_id)
{
	return imap_get(&ref->items, item_id, NULL);
}

int etl_refdata_has_rate(const etl_refdata *ref, const char *currency, etl_date date)
{
	int idx = currency_index(currency);

	if (idx < 0)
		return 0;
	if (strcmp(currency, "USD") == 0)
		return 1;
	return ref->rate_since[idx] != NO_RATE && ref->rate_since[idx] <= date;
}

/* ---- field readers ---------------------------------------------------- */

/* What a field reader found: a usable value, nothing (absent or null), or
 * something bad (its reason already added). */
enum { BAD = -1, ABSENT = 0, GOT = 1 };

typedef struct vctx {
	etl_reasons *r;
	int oom;
} vctx;

static void reason(vctx *v, const char *kind, const char *path)
{
	char code[160];

	if (path)
		snprintf(code, sizeof(code), "%s:%s", kind, path);
	else
		snprintf(code, sizeof(code), "%s", kind);
	if (etl_reasons_add(v->r, code) < 0)
		v->oom = 1;
}

/* 0 valid, 1 invalid, -1 out of memory: the validators' return value. */
static int verdict(const vctx *v)
{
	return v->oom ? -1 : v->r->n ? 1 : 0;
}

static int absent(const cJSON *x)
{
	return !x || cJSON_IsNull(x);
}

/* Fills slot[i] with obj's first member named keys[i] (NULL when absent), in
 * one pass over the members: cheaper than one lookup per field, and the
 * first of duplicate keys wins as with cJSON_GetObjectItemCaseSensitive. */
static void pick(const cJSON *obj, const char *const *keys, int nkeys, const cJSON **slot)
{
	for (int i = 0; i < nkeys; i++)
		slot[i] = NULL;
	for (const cJSON *c = obj->child; c; c = c->next) {
		const char *k = c->string;

		if (!k)
			continue;
		for (int i = 0; i < nkeys; i++) {
			if (!slot[i] && keys[i][0] == k[0] && strcmp(keys[i], k) == 0) {
				slot[i] = c;
				break;
			}
		}
	}
}

static int missing(vctx *v, const char *path, int required)
{
	if (!required)
		return ABSENT;
	reason(v, "missing_field", path);
	return BAD;
}

static int want_string(vctx *v, const cJSON *x, const char *path, int required, const char **out)
{
	*out = NULL;
	if (absent(x))
		return missing(v, path, required);
	if (!cJSON_IsString(x) || !x->valuestring) {
		reason(v, "bad_type", path);
		return BAD;
	}
	*out = x->valuestring;
	return GOT;
}

/* An integer is a JSON integer literal: 12.0, 1e2 and "12" are bad_type,
 * one beyond int64 is bad_value.  A number without literal text (not made
 * by etl_json_parse) cannot be read exactly: bad_value. */
static int want_int(vctx *v, const cJSON *x, const char *path, int required, int64_t *out)
{
	int rc;

	*out = 0;
	if (absent(x))
		return missing(v, path, required);
	if (!cJSON_IsNumber(x)) {
		reason(v, "bad_type", path);
		return BAD;
	}
	rc = etl_json_number_text(x) ? etl_decimal_to_int64(etl_json_number_text(x), out) : ETL_DEC_ERANGE;
	if (rc != ETL_DEC_OK) {
		reason(v, rc == ETL_DEC_ESYNTAX ? "bad_type" : "bad_value", path);
		return BAD;
	}
	return GOT;
}

/* Money: a number or a plain decimal string, >= 0, at most 2 places. */
static int want_cents(vctx *v, const cJSON *x, const char *path, int required, int64_t *out)
{
	int rc = ETL_DEC_ESYNTAX;

	*out = 0;
	if (absent(x))
		return missing(v, path, required);
	if (cJSON_IsNumber(x) && etl_json_number_text(x))
		rc = etl_decimal_to_cents(etl_json_number_text(x), ETL_DEC_JSON, out);
	else if (cJSON_IsString(x) && x->valuestring)
		rc = etl_decimal_to_cents(x->valuestring, ETL_DEC_PLAIN, out);
	else if (!cJSON_IsNumber(x)) {
		reason(v, "bad_type", path);
		return BAD;
	}
	if (rc != ETL_DEC_OK || *out < 0) {
		*out = 0;
		reason(v, "bad_value", path);
		return BAD;
	}
	return GOT;
}

/* A decimal of any scale as canonical text into out; *sign gets its sign. */
static int want_decimal(vctx *v, const cJSON *x, const char *path, int required, char *out, size_t n,
			int *sign)
{
	int rc = ETL_DEC_ESYNTAX;

	out[0] = '\0';
	*sign = 0;
	if (absent(x))
		return missing(v, path, required);
	if (cJSON_IsNumber(x) && etl_json_number_text(x))
		rc = etl_decimal_canonical(etl_json_number_text(x), ETL_DEC_JSON, out, n, sign);
	else if (cJSON_IsString(x) && x->valuestring)
		rc = etl_decimal_canonical(x->valuestring, ETL_DEC_PLAIN, out, n, sign);
	else if (!cJSON_IsNumber(x)) {
		reason(v, "bad_type", path);
		return BAD;
	}
	if (rc != ETL_DEC_OK) {
		out[0] = '\0';
		reason(v, "bad_value", path);
		return BAD;
	}
	return GOT;
}

/* cJSON copies a string's bytes as they come, but PostgreSQL refuses
 * ill-formed UTF-8 in text and jsonb, and one such value would fail its
 * whole window's COPY: a string that is stored must pass etl_utf8_valid.
 *
 * Whether every key and string under x (x itself included) is UTF-8,
 * leaving out the members skip1 and skip2 (checked by their own rule).
 * cJSON bounds the nesting (CJSON_NESTING_LIMIT), so recursion is safe. */
static int tree_utf8_valid(const cJSON *x, const cJSON *skip1, const cJSON *skip2)
{
	if (cJSON_IsString(x))
		return !x->valuestring || etl_utf8_valid(x->valuestring);
	for (const cJSON *c = x->child; c; c = c->next) {
		if (c == skip1 || c == skip2)
			continue;
		if ((c->string && !etl_utf8_valid(c->string)) || !tree_utf8_valid(c, NULL, NULL))
			return 0;
	}
	return 1;
}

/* A string that is stored as text: a string, and well-formed UTF-8. */
static int want_text(vctx *v, const cJSON *x, const char *path, int required, const char **out)
{
	int rc = want_string(v, x, path, required, out);

	if (rc == GOT && !etl_utf8_valid(*out)) {
		reason(v, "bad_value", path);
		*out = NULL;
		return BAD;
	}
	return rc;
}

/* A currency field: a string of three upper-case letters. */
static int want_currency(vctx *v, const cJSON *x, const char *path, int required, const char **out)
{
	int rc = want_string(v, x, path, required, out);

	if (rc == GOT && currency_index(*out) < 0) {
		reason(v, "bad_value", path);
		*out = NULL;
		return BAD;
	}
	return rc;
}

static int valid_transaction_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return n >= 1 && n <= 64;
}

/* ---- sales ------------------------------------------------------------ */

enum {
	S_ID, S_DATE, S_UPDATED, S_STORE, S_POS, S_CAMERA, S_CUSTOMER, S_BILLING, S_SHIPPING,
	S_CURRENCY, S_STATUS, S_TOTAL, S_DISCOUNTS, S_TAX, S_LINES, S_NFIELDS
};
static const char *const sale_keys[S_NFIELDS] = {
	"transaction_id", "transaction_date", "updated_at", "store_id", "pos_id", "camera_id",
	"customer", "billing_address", "shipping_address", "currency", "financial_status",
	"total_amount", "total_discounts", "total_tax", "line_items",
};

void etl_sale_release(etl_sale *sale)
{
	if (!sale)
		return;
	free(sale->lines);
	memset(sale, 0, sizeof(*sale));
	sale->accepts_marketing = -1;
}

static void check_id(vctx *v, const cJSON *x, etl_sale *out)
{
	if (want_string(v, x, "transaction_id", 1, &out->transaction_id) == GOT &&
	    !valid_transaction_id(out->transaction_id))
		reason(v, "bad_value", "transaction_id");
}

/* Returns 1 when transaction_date parsed (the rate and window checks need it). */
static int check_dates(vctx *v, const cJSON *const *f, const char *tz, etl_sale *out)
{
	const char *s;
	int date_ok = 0;

	if (want_string(v, f[S_DATE], "transaction_date", 1, &s) == GOT) {
		if (etl_time_parse(s, tz, &out->transaction_date) == 0)
			date_ok = 1;
		else
			reason(v, "bad_timestamp", "transaction_date");
	}
	if (want_string(v, f[S_UPDATED], "updated_at", 0, &s) == GOT) {
		if (etl_time_parse(s, tz, &out->updated_at) == 0)
			out->has_updated_at = 1;
		else
			reason(v, "bad_timestamp", "updated_at");
	}
	return date_ok;
}

/* store_id, pos_id (of that same store) and camera_id. */
static void check_places(vctx *v, const cJSON *const *f, const etl_refdata *ref, etl_sale *out)
{
	int store_known = 0;
	int64_t pos_store;
	const cJSON *cam = f[S_CAMERA];

	if (want_int(v, f[S_STORE], "store_id", 1, &out->store_id) == GOT && ref) {
		store_known = etl_refdata_has_store(ref, out->store_id);
		if (!store_known)
			reason(v, "unknown_store", NULL);
	}
	/* A POS of another store is unknown here; that is only knowable when
	 * the store itself is. */
	if (want_int(v, f[S_POS], "pos_id", 1, &out->pos_id) == GOT && ref &&
	    (!etl_refdata_pos_store(ref, out->pos_id, &pos_store) ||
	     (store_known && pos_store != out->store_id)))
		reason(v, "unknown_pos", NULL);
	if (want_text(v, cam, "camera_id", 0, &out->camera_id) == GOT && ref &&
	    !etl_refdata_has_camera(ref, out->camera_id)) {
		reason(v, "unknown_camera", NULL);
		out->camera_id = NULL;
	}
}

static void check_customer(vctx *v, const cJSON *c, etl_sale *out)
{
	static const char *const keys[] = {
		"customer_id", "email", "first_name", "last_name", "accepts_marketing",
	};
	const cJSON *f[5];

	if (absent(c))
		return;		/* an anonymous walk-in sale */
	if (!cJSON_IsObject(c)) {
		reason(v, "bad_type", "customer");
		return;
	}
	pick(c, keys, 5, f);
	if (want_text(v, f[0], "customer.customer_id", 1, &out->customer_id) == GOT &&
	    !*out->customer_id) {
		reason(v, "bad_value", "customer.customer_id");
		out->customer_id = NULL;
	}
	want_text(v, f[1], "customer.email", 0, &out->email);
	want_text(v, f[2], "customer.first_name", 0, &out->first_name);
	want_text(v, f[3], "customer.last_name", 0, &out->last_name);
	if (!absent(f[4])) {
		if (cJSON_IsBool(f[4]))
			out->accepts_marketing = cJSON_IsTrue(f[4]);
		else
			reason(v, "bad_type", "customer.accepts_marketing");
	}
}

/* An address: an object or null; province and country strings when present.
 * The object is stored whole (jsonb), so any other key or string in it that
 * is not UTF-8 makes it bad_value as a whole.  prefix is "billing_address"
 * or "shipping_address". */
static const cJSON *check_address(vctx *v, const cJSON *a, const char *prefix, const char **province,
				  const char **country)
{
	static const char *const keys[] = { "province", "country" };
	const cJSON *f[2];
	char path[64];
	const char *ignored;

	if (!province)
		province = country = &ignored;
	if (absent(a))
		return NULL;
	if (!cJSON_IsObject(a)) {
		reason(v, "bad_type", prefix);
		return NULL;
	}
	pick(a, keys, 2, f);
	snprintf(path, sizeof(path), "%s.province", prefix);
	want_text(v, f[0], path, 0, province);
	snprintf(path, sizeof(path), "%s.country", prefix);
	want_text(v, f[1], path, 0, country);
	if (!tree_utf8_valid(a, f[0], f[1])) {
		reason(v, "bad_value", prefix);
		return NULL;
	}
	return a;
}

/* The rate lookup needs the sale's UTC date: skipped when it did not parse. */
static void check_currency(vctx *v, const cJSON *x, const etl_refdata *ref, int date_ok, etl_sale *out)
{
	const char *cur;

	if (want_currency(v, x, "currency", 1, &cur) != GOT)
		return;
	memcpy(out->currency, cur, 4);
	if (date_ok && ref && !etl_refdata_has_rate(ref, cur, etl_time_utc_date(out->transaction_date)))
		reason(v, "unknown_currency", NULL);
}

static void check_status(vctx *v, const cJSON *x, etl_sale *out)
{
	static const char *const statuses[] = { "paid", "pending", "refunded", "partially_refunded", "voided" };
	const char *s;

	if (want_string(v, x, "financial_status", 1, &s) != GOT)
		return;
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		if (strcmp(s, statuses[i]) == 0) {
			out->financial_status = s;
			return;
		}
	}
	reason(v, "bad_value", "financial_status");
}

/* Returns 1 when all three amounts are usable (absent discounts/tax are 0). */
static int check_amounts(vctx *v, const cJSON *const *f, etl_sale *out)
{
	int ok = want_cents(v, f[S_TOTAL], "total_amount", 1, &out->total_amount_cents) == GOT;

	ok &= want_cents(v, f[S_DISCOUNTS], "total_discounts", 0, &out->total_discounts_cents) != BAD;
	ok &= want_cents(v, f[S_TAX], "total_tax", 0, &out->total_tax_cents) != BAD;
	return ok;
}

/* The line items' fields, one field at a time over all lines, so reasons
 * come in field order whatever line breaks which rule.  Returns 1 when every
 * quantity and unit price is usable (the total check needs them). */
static int check_line_fields(vctx *v, const cJSON *arr, const etl_refdata *ref, etl_sale *out)
{
	const cJSON *e;
	int i, ok = 1;
	char id[24];

	for (e = arr->child, i = 0; e; e = e->next, i++) {
		etl_line *l = &out->lines[i];

		if (!cJSON_IsObject(e))
			continue;
		if (want_int(v, cJSON_GetObjectItemCaseSensitive(e, "item_id"), "line_items.item_id", 1,
			     &l->item_id) == GOT && ref && !etl_refdata_has_item(ref, l->item_id)) {
			snprintf(id, sizeof(id), "%" PRId64, l->item_id);
			reason(v, "unknown_item", id);
		}
	}
	for (e = arr->child, i = 0; e; e = e->next, i++) {
		etl_line *l = &out->lines[i];

		if (!cJSON_IsObject(e))
			continue;
		if (want_int(v, cJSON_GetObjectItemCaseSensitive(e, "quantity"), "line_items.quantity", 1,
			     &l->quantity) != GOT)
			ok = 0;
		else if (l->quantity < 1 || __builtin_add_overflow(out->units, l->quantity, &out->units)) {
			reason(v, "bad_value", "line_items.quantity");
			ok = 0;
		}
	}
	for (e = arr->child, i = 0; e; e = e->next, i++) {
		if (cJSON_IsObject(e) &&
		    want_cents(v, cJSON_GetObjectItemCaseSensitive(e, "unit_price"), "line_items.unit_price", 1,
			       &out->lines[i].unit_price_cents) != GOT)
			ok = 0;
	}
	return ok;
}

/* Returns 1 when every line's amounts are usable. */
static int check_lines(vctx *v, const cJSON *arr, const etl_refdata *ref, etl_sale *out)
{
	int n = 0, ok = 1;

	if (absent(arr)) {
		missing(v, "line_items", 1);
		return 0;
	}
	if (!cJSON_IsArray(arr)) {
		reason(v, "bad_type", "line_items");
		return 0;
	}
	for (const cJSON *e = arr->child; e; e = e->next) {
		n++;
		if (!cJSON_IsObject(e))
			ok = 0;
	}
	if (n == 0) {
		reason(v, "bad_value", "line_items");
		return 0;
	}
	if (!ok)
		reason(v, "bad_type", "line_items");
	out->lines = calloc((size_t)n, sizeof(*out->lines));
	if (!out->lines) {
		v->oom = 1;
		return 0;
	}
	out->nlines = n;
	return check_line_fields(v, arr, ref, out) && ok;
}

/* total_amount == sum(quantity * unit_price) - discounts + tax, in exact
 * cents.  A sum that overflows int64 cannot equal a total that fits: mismatch. */
static void check_total(vctx *v, const etl_sale *s)
{
	int64_t sum = 0, line;
	int overflow = 0;

	for (int i = 0; i < s->nlines; i++) {
		overflow |= __builtin_mul_overflow(s->lines[i].quantity, s->lines[i].unit_price_cents, &line);
		overflow |= __builtin_add_overflow(sum, line, &sum);
	}
	overflow |= __builtin_sub_overflow(sum, s->total_discounts_cents, &sum);
	overflow |= __builtin_add_overflow(sum, s->total_tax_cents, &sum);
	if (overflow || sum != s->total_amount_cents)
		reason(v, "total_mismatch", NULL);
}

int etl_validate_sale(const cJSON *rec, const etl_refdata *ref, const etl_window *win,
		      const char *source_tz, etl_sale *out, etl_reasons *reasons)
{
	vctx v = { reasons, 0 };
	const cJSON *f[S_NFIELDS];
	int date_ok, amounts_ok, lines_ok, rc;

	etl_reasons_clear(reasons);
	memset(out, 0, sizeof(*out));
	out->accepts_marketing = -1;
	if (!cJSON_IsObject(rec)) {
		reason(&v, "bad_type", "record");
		goto done;
	}
	pick(rec, sale_keys, S_NFIELDS, f);
	check_id(&v, f[S_ID], out);
	date_ok = check_dates(&v, f, source_tz, out);
	check_places(&v, f, ref, out);
	check_customer(&v, f[S_CUSTOMER], out);
	out->billing_address = check_address(&v, f[S_BILLING], "billing_address", &out->billing_province,
					     &out->billing_country);
	out->shipping_address = check_address(&v, f[S_SHIPPING], "shipping_address", NULL, NULL);
	check_currency(&v, f[S_CURRENCY], ref, date_ok, out);
	check_status(&v, f[S_STATUS], out);
	amounts_ok = check_amounts(&v, f, out);
	lines_ok = check_lines(&v, f[S_LINES], ref, out);
	if (amounts_ok && lines_ok && !v.oom)
		check_total(&v, out);
	if (win && date_ok && (out->transaction_date < win->since || out->transaction_date >= win->until))
		reason(&v, "out_of_window", NULL);
done:
	rc = verdict(&v);
	if (rc != 0)
		etl_sale_release(out);
	return rc;
}

/* ---- record keys ------------------------------------------------------ */

/* Copies s into buf; NULL when it does not fit (a cut key would be wrong). */
static const char *key_copy(char *buf, size_t n, const char *s)
{
	size_t len = strlen(s);

	if (len >= n)
		return NULL;
	memcpy(buf, s, len + 1);
	return buf;
}

static const char *int_key(const cJSON *rec, const char *field, char *buf, size_t n)
{
	const char *lit = etl_json_number_text(cJSON_GetObjectItemCaseSensitive(rec, field));
	int64_t id;
	char tmp[24];

	if (!lit || etl_decimal_to_int64(lit, &id) != ETL_DEC_OK)
		return NULL;
	snprintf(tmp, sizeof(tmp), "%" PRId64, id);
	return key_copy(buf, n, tmp);
}

static const char *rate_key(const cJSON *rec, char *buf, size_t n)
{
	const char *cur = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "currency"));
	const char *date = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "date"));
	etl_date d;
	char tmp[32];

	if (currency_index(cur) < 0 || etl_date_parse(date, &d) < 0)
		return NULL;
	snprintf(tmp, sizeof(tmp), "%s:%s", cur, date);
	return key_copy(buf, n, tmp);
}

const char *etl_record_key(const char *resource, const cJSON *rec, char *buf, size_t n)
{
	const char *s;

	if (!resource || !cJSON_IsObject(rec) || !buf || n == 0)
		return NULL;
	if (strcmp(resource, "sales") == 0) {
		s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "transaction_id"));
		return s && valid_transaction_id(s) ? key_copy(buf, n, s) : NULL;
	}
	if (strcmp(resource, "cameras") == 0) {
		s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "camera_id"));
		/* the key is stored as text: it must be UTF-8 too */
		return s && *s && etl_utf8_valid(s) ? key_copy(buf, n, s) : NULL;
	}
	if (strcmp(resource, "stores") == 0)
		return int_key(rec, "store_id", buf, n);
	if (strcmp(resource, "pos") == 0)
		return int_key(rec, "pos_id", buf, n);
	if (strcmp(resource, "items") == 0)
		return int_key(rec, "item_id", buf, n);
	if (strcmp(resource, "exchange_rates") == 0)
		return rate_key(rec, buf, n);
	return NULL;
}

/* ---- reference records ------------------------------------------------- */

/* Starts a reference validation: 0 when rec is an object to go on with. */
static int ref_begin(vctx *v, const cJSON *rec)
{
	etl_reasons_clear(v->r);
	if (cJSON_IsObject(rec))
		return 0;
	reason(v, "bad_type", "record");
	return -1;
}

int etl_validate_store(const cJSON *rec, etl_store_rec *out, etl_reasons *reasons)
{
	static const char *const keys[] = {
		"store_id", "name", "address", "city", "province", "country", "phone", "email",
	};
	const cJSON *f[8];
	vctx v = { reasons, 0 };

	memset(out, 0, sizeof(*out));
	if (ref_begin(&v, rec) < 0)
		return verdict(&v);
	pick(rec, keys, 8, f);
	want_int(&v, f[0], "store_id", 1, &out->store_id);
	want_text(&v, f[1], "name", 1, &out->name);
	want_text(&v, f[2], "address", 0, &out->address);
	want_text(&v, f[3], "city", 0, &out->city);
	want_text(&v, f[4], "province", 0, &out->province);
	want_text(&v, f[5], "country", 0, &out->country);
	want_text(&v, f[6], "phone", 0, &out->phone);
	want_text(&v, f[7], "email", 0, &out->email);
	return verdict(&v);
}

int etl_validate_pos(const cJSON *rec, const etl_refdata *ref, etl_pos_rec *out, etl_reasons *reasons)
{
	static const char *const keys[] = { "pos_id", "store_id", "name" };
	const cJSON *f[3];
	vctx v = { reasons, 0 };

	memset(out, 0, sizeof(*out));
	if (ref_begin(&v, rec) < 0)
		return verdict(&v);
	pick(rec, keys, 3, f);
	want_int(&v, f[0], "pos_id", 1, &out->pos_id);
	if (want_int(&v, f[1], "store_id", 1, &out->store_id) == GOT && ref &&
	    !etl_refdata_has_store(ref, out->store_id))
		reason(&v, "unknown_store", NULL);
	want_text(&v, f[2], "name", 1, &out->name);
	return verdict(&v);
}

/* A camera's store must exist; its POS (when given) must exist in that store. */
static void camera_refs(vctx *v, const etl_refdata *ref, const etl_camera_rec *out, int store_ok)
{
	int store_known = 0;
	int64_t pos_store;

	if (store_ok) {
		store_known = etl_refdata_has_store(ref, out->store_id);
		if (!store_known)
			reason(v, "unknown_store", NULL);
	}
	if (out->has_pos && (!etl_refdata_pos_store(ref, out->pos_id, &pos_store) ||
			     (store_known && pos_store != out->store_id)))
		reason(v, "unknown_pos", NULL);
}

int etl_validate_camera(const cJSON *rec, const etl_refdata *ref, etl_camera_rec *out, etl_reasons *reasons)
{
	static const char *const keys[] = { "camera_id", "name", "store_id", "pos_id", "model", "status" };
	const cJSON *f[6];
	vctx v = { reasons, 0 };
	int store_ok;

	memset(out, 0, sizeof(*out));
	if (ref_begin(&v, rec) < 0)
		return verdict(&v);
	pick(rec, keys, 6, f);
	if (want_text(&v, f[0], "camera_id", 1, &out->camera_id) == GOT && !*out->camera_id)
		reason(&v, "bad_value", "camera_id");
	want_text(&v, f[1], "name", 0, &out->name);
	store_ok = want_int(&v, f[2], "store_id", 1, &out->store_id) == GOT;
	out->has_store = store_ok;
	out->has_pos = want_int(&v, f[3], "pos_id", 0, &out->pos_id) == GOT;
	want_text(&v, f[4], "model", 0, &out->model);
	if (want_string(&v, f[5], "status", 0, &out->status) == ABSENT)
		out->status = "active";
	else if (out->status && strcmp(out->status, "active") != 0 && strcmp(out->status, "inactive") != 0)
		reason(&v, "bad_value", "status");
	if (ref)
		camera_refs(&v, ref, out, store_ok);
	return verdict(&v);
}

int etl_validate_item(const cJSON *rec, etl_item_rec *out, etl_reasons *reasons)
{
	static const char *const keys[] = { "item_id", "sku", "name", "price", "currency", "quantity" };
	const cJSON *f[6];
	vctx v = { reasons, 0 };
	int sign;

	memset(out, 0, sizeof(*out));
	if (ref_begin(&v, rec) < 0)
		return verdict(&v);
	pick(rec, keys, 6, f);
	want_int(&v, f[0], "item_id", 1, &out->item_id);
	want_text(&v, f[1], "sku", 1, &out->sku);
	want_text(&v, f[2], "name", 1, &out->name);
	if (want_decimal(&v, f[3], "price", 0, out->price, sizeof(out->price), &sign) == GOT && sign < 0) {
		reason(&v, "bad_value", "price");
		out->price[0] = '\0';
	}
	want_currency(&v, f[4], "currency", 0, &out->currency);
	out->has_quantity = want_int(&v, f[5], "quantity", 0, &out->quantity) == GOT;
	return verdict(&v);
}

int etl_validate_rate(const cJSON *rec, etl_rate_rec *out, etl_reasons *reasons)
{
	static const char *const keys[] = { "date", "currency", "rate_to_usd" };
	const cJSON *f[3];
	vctx v = { reasons, 0 };
	const char *s;
	int sign;

	memset(out, 0, sizeof(*out));
	if (ref_begin(&v, rec) < 0)
		return verdict(&v);
	pick(rec, keys, 3, f);
	if (want_string(&v, f[0], "date", 1, &s) == GOT && etl_date_parse(s, &out->date) < 0)
		reason(&v, "bad_value", "date");
	if (want_currency(&v, f[1], "currency", 1, &s) == GOT)
		memcpy(out->currency, s, 4);
	if (want_decimal(&v, f[2], "rate_to_usd", 1, out->rate_to_usd, sizeof(out->rate_to_usd), &sign) == GOT &&
	    (sign <= 0 || (strcmp(out->currency, "USD") == 0 && strcmp(out->rate_to_usd, "1") != 0)))
		reason(&v, "bad_value", "rate_to_usd");
	return verdict(&v);
}

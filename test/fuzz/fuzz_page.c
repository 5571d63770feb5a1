/*
 * fuzz_page.c - libFuzzer target: one page of the retail API, as the source
 * reader hands it to the loader.
 *
 * Input bytes -> etl_json_parse.  When the value is the envelope
 * {"data": [...]}, every element is a record; otherwise the value itself is
 * one.  Each record goes through every validator (the sale validator with
 * and without reference data and window, each reference validator) and
 * etl_record_key for every resource, and the properties the loader relies
 * on are checked: a valid record's stored strings are UTF-8 (PostgreSQL
 * refuses anything else), a valid sale obeys the rules it was validated
 * by, every reason is a plain ASCII code, and etl_json_print gives UTF-8
 * that parses back and prints identically.  A broken property aborts, so
 * libFuzzer keeps the input as a crash.
 */
#include "json.h"
#include "timeutil.h"
#include "validate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                                 \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__,     \
				__LINE__, #cond);                                     \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* An independent UTF-8 check (decode, then test the code point) to hold
 * json.c's and validate.c's table-driven ones to. */
static int utf8_ok(const char *str)
{
	const unsigned char *p = (const unsigned char *)str;

	while (*p) {
		uint32_t cp;
		int n;

		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xE0) == 0xC0) {
			n = 2, cp = *p & 0x1F;
		} else if ((*p & 0xF0) == 0xE0) {
			n = 3, cp = *p & 0x0F;
		} else if ((*p & 0xF8) == 0xF0) {
			n = 4, cp = *p & 0x07;
		} else {
			return 0;
		}
		for (int i = 1; i < n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return 0;
		p += n;
	}
	return 1;
}

static int opt_utf8_ok(const char *s)
{
	return !s || utf8_ok(s);
}

/* Every key and string under x is UTF-8. */
static int tree_ok(const cJSON *x)
{
	if (!x)
		return 1;
	if (cJSON_IsString(x) && x->valuestring && !utf8_ok(x->valuestring))
		return 0;
	for (const cJSON *c = x->child; c; c = c->next)
		if ((c->string && !utf8_ok(c->string)) || !tree_ok(c))
			return 0;
	return 1;
}

/* Reasons are codes such as "bad_value:line_items.quantity": printable
 * ASCII, never empty, never repeated. */
static void check_reasons(const etl_reasons *r, int rc)
{
	REQUIRE(rc == 0 || rc == 1);
	REQUIRE(rc == 0 ? r->n == 0 : r->n > 0);
	for (int i = 0; i < r->n; i++) {
		const unsigned char *c = (const unsigned char *)r->codes[i];

		REQUIRE(*c);
		for (; *c; c++)
			REQUIRE(*c > 0x20 && *c < 0x7F);
		for (int j = 0; j < i; j++)
			REQUIRE(strcmp(r->codes[i], r->codes[j]) != 0);
	}
}

/* print -> UTF-8 -> parse -> print gives the same text. */
static void check_print(const cJSON *item)
{
	char *once = etl_json_print(item), *twice;
	cJSON *again;

	REQUIRE(once != NULL);
	REQUIRE(utf8_ok(once));
	again = etl_json_parse(once, strlen(once), NULL);
	REQUIRE(again != NULL);
	twice = etl_json_print(again);
	REQUIRE(twice != NULL);
	if (strcmp(once, twice) != 0) {
		fprintf(stderr, "printed:   %s\nreprinted: %s\n", once, twice);
		REQUIRE(!"print is not stable");
	}
	free(twice);
	cJSON_Delete(again);
	free(once);
}

static int valid_id(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

/* What the loader takes from a valid sale must obey the contract's rules. */
static void check_sale(const etl_sale *s, const etl_window *win)
{
	static const char *const statuses[] = { "paid", "pending", "refunded", "partially_refunded", "voided" };
	int64_t sum = 0, units = 0;
	int status_ok = 0;

	REQUIRE(s->transaction_id && valid_id(s->transaction_id));
	REQUIRE(s->financial_status);
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		status_ok |= strcmp(s->financial_status, statuses[i]) == 0;
	REQUIRE(status_ok);
	REQUIRE(strlen(s->currency) == 3 && strspn(s->currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3);
	REQUIRE(s->total_amount_cents >= 0 && s->total_discounts_cents >= 0 && s->total_tax_cents >= 0);
	REQUIRE(s->nlines >= 1 && s->lines);
	for (int i = 0; i < s->nlines; i++) {
		REQUIRE(s->lines[i].quantity >= 1 && s->lines[i].unit_price_cents >= 0);
		units += s->lines[i].quantity;
		sum += s->lines[i].quantity * s->lines[i].unit_price_cents;
	}
	REQUIRE(units == s->units);
	REQUIRE(sum - s->total_discounts_cents + s->total_tax_cents == s->total_amount_cents);
	REQUIRE(!s->customer_id || *s->customer_id);
	REQUIRE(s->accepts_marketing >= -1 && s->accepts_marketing <= 1);
	if (win)
		REQUIRE(s->transaction_date >= win->since && s->transaction_date < win->until);
	/* everything stored as text or jsonb */
	REQUIRE(opt_utf8_ok(s->camera_id) && opt_utf8_ok(s->customer_id) && opt_utf8_ok(s->email) &&
		opt_utf8_ok(s->first_name) && opt_utf8_ok(s->last_name) && opt_utf8_ok(s->billing_province) &&
		opt_utf8_ok(s->billing_country));
	REQUIRE(tree_ok(s->billing_address) && tree_ok(s->shipping_address));
}

static etl_refdata *make_ref(void)
{
	etl_refdata *ref = etl_refdata_new();

	/* test/cases/validate/README.md's reference data, so the seed pages
	 * from those cases reach the valid paths */
	if (!ref || etl_refdata_add_store(ref, 1) || etl_refdata_add_store(ref, 2) ||
	    etl_refdata_add_pos(ref, 10, 1) || etl_refdata_add_pos(ref, 20, 2) ||
	    etl_refdata_add_camera(ref, "cam-1") || etl_refdata_add_item(ref, 100) ||
	    etl_refdata_add_item(ref, 200) ||
	    etl_refdata_add_rate(ref, "GBP", etl_date_from_ymd(2026, 1, 1)) ||
	    etl_refdata_add_rate(ref, "EUR", etl_date_from_ymd(2026, 11, 1)))
		abort();
	return ref;
}

static void fuzz_record(const cJSON *rec, const etl_refdata *ref, const char *tz, etl_reasons *r)
{
	static const char *const resources[] = { "sales", "stores", "pos", "cameras", "items", "exchange_rates", "nope" };
	static const etl_window win = {
		INT64_C(1795251600) * ETL_USEC_PER_SEC,	/* 2026-11-21T09:00:00Z */
		INT64_C(1795255200) * ETL_USEC_PER_SEC,	/* 2026-11-21T10:00:00Z */
	};
	etl_sale sale;
	etl_store_rec st;
	etl_pos_rec pos;
	etl_camera_rec cam;
	etl_item_rec item;
	etl_rate_rec rate;
	char key[128];
	int rc;

	rc = etl_validate_sale(rec, ref, &win, tz, &sale, r);
	check_reasons(r, rc);
	if (rc == 0)
		check_sale(&sale, &win);
	etl_sale_release(&sale);
	/* no reference data, no window: the shape rules alone */
	rc = etl_validate_sale(rec, NULL, NULL, tz, &sale, r);
	check_reasons(r, rc);
	if (rc == 0)
		check_sale(&sale, NULL);
	etl_sale_release(&sale);

	rc = etl_validate_store(rec, &st, r);
	check_reasons(r, rc);
	if (rc == 0)
		REQUIRE(st.name && utf8_ok(st.name) && opt_utf8_ok(st.address) && opt_utf8_ok(st.city) &&
			opt_utf8_ok(st.province) && opt_utf8_ok(st.country) && opt_utf8_ok(st.phone) &&
			opt_utf8_ok(st.email));
	for (int with_ref = 0; with_ref < 2; with_ref++) {
		rc = etl_validate_pos(rec, with_ref ? ref : NULL, &pos, r);
		check_reasons(r, rc);
		if (rc == 0)
			REQUIRE(pos.name && utf8_ok(pos.name));
		rc = etl_validate_camera(rec, with_ref ? ref : NULL, &cam, r);
		check_reasons(r, rc);
		if (rc == 0)
			REQUIRE(cam.camera_id && *cam.camera_id && utf8_ok(cam.camera_id) && opt_utf8_ok(cam.name) &&
				opt_utf8_ok(cam.model) && cam.status &&
				(!strcmp(cam.status, "active") || !strcmp(cam.status, "inactive")));
	}
	rc = etl_validate_item(rec, &item, r);
	check_reasons(r, rc);
	if (rc == 0)
		REQUIRE(item.sku && utf8_ok(item.sku) && item.name && utf8_ok(item.name) &&
			memchr(item.price, '\0', sizeof(item.price)) && (!item.price[0] || item.price[0] != '-'));
	rc = etl_validate_rate(rec, &rate, r);
	check_reasons(r, rc);
	if (rc == 0)
		REQUIRE(rate.rate_to_usd[0] && rate.rate_to_usd[0] != '-' &&
			strspn(rate.currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3);

	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
		const char *k = etl_record_key(resources[i], rec, key, sizeof(key));

		/* a key is stored as text: non-empty UTF-8 that fits */
		if (k)
			REQUIRE(k == key && *k && strlen(k) < sizeof(key) && utf8_ok(k));
		/* a tiny buffer never overflows: the key is refused instead */
		k = etl_record_key(resources[i], rec, key, 3);
		if (k)
			REQUIRE(strlen(k) < 3);
	}
	/* printing: the page's print (check_print of the root) covers each
	 * record, since a record prints the same alone and inside the page */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static etl_refdata *ref;
	etl_reasons reasons = ETL_REASONS_INIT;
	const cJSON *arr;
	cJSON *root;
	/* naive timestamps in a zone with DST now and then; the choice must
	 * not depend on the parse, so it is the input's length */
	const char *tz = size % 7 == 3 ? "Europe/Paris" : "UTC";

	if (!ref)
		ref = make_ref();
	root = etl_json_parse((const char *)data, size, NULL);
	if (!root)
		return 0;
	check_print(root);
	arr = cJSON_GetObjectItemCaseSensitive(root, "data");
	if (cJSON_IsObject(root) && cJSON_IsArray(arr)) {
		const cJSON *rec;

		cJSON_ArrayForEach(rec, arr)
			fuzz_record(rec, ref, tz, &reasons);
	} else {
		fuzz_record(root, ref, tz, &reasons);
	}
	etl_reasons_release(&reasons);
	cJSON_Delete(root);
	return 0;
}

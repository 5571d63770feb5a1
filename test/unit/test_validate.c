/* test_validate.c - the validator, driven by the cases under
 * $ETL_TEST_CASES/validate/ (see README.md there), plus the reference-data
 * hash sets and the reasons list.  ETL_TEST_BENCH=1 also times 1M sales. */
#include "json.h"
#include "unit.h"
#include "decimal.h"
#include "validate.h"

#include <dirent.h>
#include <time.h>

/* The reference data every case is validated against. */
static etl_refdata *shared_refdata(void)
{
	etl_refdata *ref = etl_refdata_new();
	etl_date d;

	CHECK(ref != NULL);
	etl_refdata_add_store(ref, 1);
	etl_refdata_add_store(ref, 2);
	etl_refdata_add_pos(ref, 10, 1);
	etl_refdata_add_pos(ref, 20, 2);
	etl_refdata_add_camera(ref, "cam-1");
	etl_refdata_add_item(ref, 100);
	etl_refdata_add_item(ref, 200);
	etl_date_parse("2026-01-01", &d);
	etl_refdata_add_rate(ref, "GBP", d);
	etl_date_parse("2026-11-01", &d);
	etl_refdata_add_rate(ref, "EUR", d);
	return ref;
}

/* ---- rendering what a validator returned, one "name=value" a line ----- */

typedef struct text {
	char buf[4096];
	size_t len;
} text;

static void add(text *t, const char *name, const char *value)
{
	int n = snprintf(t->buf + t->len, sizeof(t->buf) - t->len, "%s=%s\n", name, value ? value : "null");

	if (n > 0 && (size_t)n < sizeof(t->buf) - t->len)
		t->len += (size_t)n;
}

static void add_int(text *t, const char *name, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	add(t, name, num);
}

static void add_cents(text *t, const char *name, int64_t cents)
{
	char num[ETL_DEC_CENTS_BUF];

	etl_decimal_format_cents(cents, num, sizeof(num));
	add(t, name, num);
}

static void add_time(text *t, const char *name, int has, etl_time v)
{
	char ts[40];

	etl_time_format(v, ts, sizeof(ts));
	add(t, name, has ? ts : "none");
}

static void render_sale(text *t, const etl_sale *s)
{
	char lines[1024] = "";
	size_t len = 0;

	add(t, "transaction_id", s->transaction_id);
	add_time(t, "transaction_date", 1, s->transaction_date);
	add_time(t, "updated_at", s->has_updated_at, s->updated_at);
	add_int(t, "store_id", s->store_id);
	add_int(t, "pos_id", s->pos_id);
	add(t, "camera_id", s->camera_id);
	add(t, "customer_id", s->customer_id);
	add(t, "email", s->email);
	add(t, "first_name", s->first_name);
	add(t, "last_name", s->last_name);
	add_int(t, "accepts_marketing", s->accepts_marketing);
	add(t, "billing_province", s->billing_province);
	add(t, "billing_country", s->billing_country);
	add(t, "currency", s->currency);
	add(t, "financial_status", s->financial_status);
	add_cents(t, "total_amount", s->total_amount_cents);
	add_cents(t, "total_discounts", s->total_discounts_cents);
	add_cents(t, "total_tax", s->total_tax_cents);
	add_int(t, "units", s->units);
	for (int i = 0; i < s->nlines && len < sizeof(lines); i++) {
		char price[ETL_DEC_CENTS_BUF];

		etl_decimal_format_cents(s->lines[i].unit_price_cents, price, sizeof(price));
		len += (size_t)snprintf(lines + len, sizeof(lines) - len, "%s%" PRId64 "x%" PRId64 "@%s",
					i ? " " : "", s->lines[i].item_id, s->lines[i].quantity, price);
	}
	add(t, "lines", lines);
}

/* Validates rec as resource, rendering the record on success into t. */
static int run_validator(const char *resource, const cJSON *rec, const etl_refdata *ref, const char *tz,
			 etl_reasons *reasons, text *t)
{
	static const etl_window win = {
		INT64_C(1795251600) * ETL_USEC_PER_SEC,	/* 2026-11-21T09:00:00Z */
		INT64_C(1795255200) * ETL_USEC_PER_SEC,	/* 2026-11-21T10:00:00Z */
	};
	int rc = -2;
	char date[16];

	if (strcmp(resource, "sales") == 0) {
		etl_sale s;

		rc = etl_validate_sale(rec, ref, &win, tz, &s, reasons);
		if (rc == 0)
			render_sale(t, &s);
		etl_sale_release(&s);
	} else if (strcmp(resource, "stores") == 0) {
		etl_store_rec s;

		if ((rc = etl_validate_store(rec, &s, reasons)) == 0) {
			add_int(t, "store_id", s.store_id);
			add(t, "name", s.name), add(t, "address", s.address), add(t, "city", s.city);
			add(t, "province", s.province), add(t, "country", s.country);
			add(t, "phone", s.phone), add(t, "email", s.email);
		}
	} else if (strcmp(resource, "pos") == 0) {
		etl_pos_rec p;

		if ((rc = etl_validate_pos(rec, ref, &p, reasons)) == 0) {
			add_int(t, "pos_id", p.pos_id), add_int(t, "store_id", p.store_id);
			add(t, "name", p.name);
		}
	} else if (strcmp(resource, "cameras") == 0) {
		etl_camera_rec c;

		if ((rc = etl_validate_camera(rec, ref, &c, reasons)) == 0) {
			add(t, "camera_id", c.camera_id), add(t, "name", c.name);
			add_int(t, "store_id", c.store_id);
			if (c.has_pos)
				add_int(t, "pos_id", c.pos_id);
			else
				add(t, "pos_id", NULL);
			add(t, "model", c.model), add(t, "status", c.status);
		}
	} else if (strcmp(resource, "items") == 0) {
		etl_item_rec it;

		if ((rc = etl_validate_item(rec, &it, reasons)) == 0) {
			add_int(t, "item_id", it.item_id), add(t, "sku", it.sku), add(t, "name", it.name);
			add(t, "price", it.price), add(t, "currency", it.currency);
			if (it.has_quantity)
				add_int(t, "quantity", it.quantity);
			else
				add(t, "quantity", "none");
		}
	} else if (strcmp(resource, "exchange_rates") == 0) {
		etl_rate_rec r;

		if ((rc = etl_validate_rate(rec, &r, reasons)) == 0) {
			etl_date_format(r.date, date, sizeof(date));
			add(t, "date", date), add(t, "currency", r.currency), add(t, "rate_to_usd", r.rate_to_usd);
		}
	}
	return rc;
}

/* ---- the case runner -------------------------------------------------- */

/* Reads dir/name with trailing blank space cut; NULL when absent. */
static char *read_case_file(const char *dir, const char *name)
{
	char path[1024];
	char *s;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	s = unit_read_file(path, &len);
	while (s && len && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

/* Every "name=value" line of want must appear in got. */
static int fields_match(const char *casename, const char *want, const char *got)
{
	int ok = 1;

	while (*want) {
		const char *nl = strchr(want, '\n');
		size_t n = nl ? (size_t)(nl - want) : strlen(want);
		char line[512];
		const char *hit;

		snprintf(line, sizeof(line), "%.*s\n", (int)n, want);
		hit = strstr(got, line);
		/* a match must start a line */
		while (hit && hit != got && hit[-1] != '\n')
			hit = strstr(hit + 1, line);
		if (!hit) {
			fprintf(stderr, "%s: field %.*s not found in:\n%s", casename, (int)n, want, got);
			ok = 0;
		}
		want += n + (nl != NULL);
	}
	return ok;
}

/* Each reason kind the contract names, to prove every one has a case. */
static const char *const kinds[] = {
	"missing_field:", "bad_type:", "bad_value:", "bad_timestamp:", "unknown_store", "unknown_pos",
	"unknown_camera", "unknown_item:", "unknown_currency", "total_mismatch", "out_of_window",
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
static int kind_seen[NKINDS];

static void note_kinds(const etl_reasons *r)
{
	for (int i = 0; i < r->n; i++)
		for (size_t k = 0; k < NKINDS; k++)
			if (strncmp(r->codes[i], kinds[k], strlen(kinds[k])) == 0)
				kind_seen[k] = 1;
}

static void run_case(const char *dir, const char *name, const etl_refdata *ref, etl_reasons *reasons)
{
	char casedir[1024], got[4096] = "", keybuf[128];
	char *input = NULL, *expected, *resource, *tz, *key, *fields;
	size_t len = 0;
	cJSON *rec = NULL;
	text t = { "", 0 };
	const char *res, *k;
	int rc;

	snprintf(casedir, sizeof(casedir), "%s/%s", dir, name);
	snprintf(got, sizeof(got), "%s/input.json", casedir);
	input = unit_read_file(got, &len);
	expected = read_case_file(casedir, "expected");
	resource = read_case_file(casedir, "resource");
	tz = read_case_file(casedir, "tz");
	key = read_case_file(casedir, "key");
	fields = read_case_file(casedir, "fields");
	res = resource ? resource : "sales";
	if (!input || !expected || !(rec = etl_json_parse(input, len, NULL))) {
		fprintf(stderr, "%s: missing input.json or expected, or input is not JSON\n", name);
		CHECK(0);
		goto done;
	}
	rc = run_validator(res, rec, ref, tz, reasons, &t);
	got[0] = '\0';
	if (rc == 0) {
		snprintf(got, sizeof(got), "valid");
	} else {
		size_t n = 0;

		for (int i = 0; i < reasons->n; i++)
			n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", i ? "\n" : "", reasons->codes[i]);
		note_kinds(reasons);
	}
	if (strcmp(expected, got) != 0)
		fprintf(stderr, "%s: expected:\n%s\ngot (rc %d):\n%s\n", name, expected, rc, got);
	CHECK(strcmp(expected, got) == 0);
	CHECK(rc == (strcmp(expected, "valid") == 0 ? 0 : 1));
	if (key) {
		k = etl_record_key(res, rec, keybuf, sizeof(keybuf));
		if (strcmp(key, k ? k : "null") != 0)
			fprintf(stderr, "%s: key expected %s, got %s\n", name, key, k ? k : "null");
		CHECK(strcmp(key, k ? k : "null") == 0);
	}
	if (fields)
		CHECK(fields_match(name, fields, t.buf));
done:
	cJSON_Delete(rec);
	free(input), free(expected), free(resource), free(tz), free(key), free(fields);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_cases(void)
{
	const char *root = getenv("ETL_TEST_CASES");
	char dir[1024];
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	int n = 0, cap = 0;
	etl_refdata *ref = shared_refdata();
	etl_reasons reasons = ETL_REASONS_INIT;

	snprintf(dir, sizeof(dir), "%s/validate", root ? root : "test/cases");
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "cannot open %s (set ETL_TEST_CASES)\n", dir);
		CHECK(0);
		etl_refdata_free(ref);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, (size_t)cap * sizeof(*names));
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), cmp_names);
	for (int i = 0; i < n; i++) {
		run_case(dir, names[i], ref, &reasons);
		free(names[i]);
	}
	free(names);
	fprintf(stderr, "%d validate cases run\n", n);
	CHECK(n >= 40);
	for (size_t k = 0; k < NKINDS; k++) {
		if (!kind_seen[k])
			fprintf(stderr, "no case produces %s\n", kinds[k]);
		CHECK(kind_seen[k]);
	}
	etl_reasons_release(&reasons);
	etl_refdata_free(ref);
}

/* ---- the pieces on their own ------------------------------------------ */

static void test_reasons(void)
{
	etl_reasons r = ETL_REASONS_INIT;
	char code[32];

	CHECK_INT(0, etl_reasons_add(&r, "unknown_store"));
	CHECK_INT(0, etl_reasons_add(&r, "total_mismatch"));
	CHECK_INT(0, etl_reasons_add(&r, "unknown_store"));
	CHECK_INT(2, r.n);
	CHECK_STR("total_mismatch", r.codes[1]);
	for (int i = 0; i < 100; i++) {
		snprintf(code, sizeof(code), "unknown_item:%d", i);
		etl_reasons_add(&r, code);
	}
	CHECK_INT(102, r.n);
	etl_reasons_clear(&r);
	CHECK_INT(0, r.n);
	etl_reasons_release(&r);
	etl_reasons_release(&r);	/* twice is harmless */
}

static void test_refdata(void)
{
	etl_refdata *ref = etl_refdata_new();
	int64_t store = 0;
	int all = 1;
	char id[32];
	etl_date d;

	/* Enough ids to make every table grow several times. */
	for (int64_t i = -5000; i < 5000; i += 2) {
		etl_refdata_add_store(ref, i * 7919);
		etl_refdata_add_pos(ref, i, i + 1);
		etl_refdata_add_item(ref, i);
		snprintf(id, sizeof(id), "cam-%" PRId64, i);
		etl_refdata_add_camera(ref, id);
	}
	etl_refdata_add_store(ref, INT64_MIN);
	etl_refdata_add_store(ref, 0);
	etl_refdata_add_pos(ref, 4, 99);	/* re-adding a POS moves it */
	for (int64_t i = -5000; i < 5000; i++) {
		snprintf(id, sizeof(id), "cam-%" PRId64, i);
		all &= etl_refdata_has_store(ref, i * 7919) == (i % 2 == 0);
		all &= etl_refdata_has_item(ref, i) == (i % 2 == 0);
		all &= etl_refdata_has_camera(ref, id) == (i % 2 == 0);
		all &= etl_refdata_pos_store(ref, i, &store) == (i % 2 == 0);
	}
	CHECK(all);
	CHECK(etl_refdata_has_store(ref, INT64_MIN));
	CHECK(etl_refdata_has_store(ref, 0));
	CHECK(!etl_refdata_has_store(ref, INT64_MAX));
	CHECK(etl_refdata_pos_store(ref, 4, &store) && store == 99);
	CHECK(etl_refdata_pos_store(ref, 6, &store) && store == 7);
	CHECK(!etl_refdata_has_camera(ref, "cam-1"));
	CHECK(!etl_refdata_has_camera(ref, NULL));

	etl_date_parse("2026-11-01", &d);
	CHECK_INT(0, etl_refdata_add_rate(ref, "EUR", d + 5));
	CHECK_INT(0, etl_refdata_add_rate(ref, "EUR", d));	/* the earliest is kept */
	CHECK_INT(0, etl_refdata_add_rate(ref, "EUR", d + 10));
	CHECK_INT(-1, etl_refdata_add_rate(ref, "eur", d));
	CHECK(etl_refdata_has_rate(ref, "EUR", d));
	CHECK(etl_refdata_has_rate(ref, "EUR", d + 1000));
	CHECK(!etl_refdata_has_rate(ref, "EUR", d - 1));
	CHECK(etl_refdata_has_rate(ref, "USD", 0));
	CHECK(!etl_refdata_has_rate(ref, "GBP", d));
	CHECK(!etl_refdata_has_rate(ref, "EURO", d));
	CHECK(!etl_refdata_has_rate(ref, NULL, d));
	etl_refdata_free(ref);
	etl_refdata_free(NULL);

	/* Nothing known: every lookup misses without touching empty tables. */
	ref = etl_refdata_new();
	CHECK(!etl_refdata_has_store(ref, 1));
	CHECK(!etl_refdata_pos_store(ref, 1, &store));
	CHECK(!etl_refdata_has_camera(ref, "x"));
	CHECK(!etl_refdata_has_item(ref, 1));
	etl_refdata_free(ref);
}

static void test_keys(void)
{
	static const char *const rec = "{\"transaction_id\":\"T-1\",\"store_id\":-0,\"pos_id\":34,"
				       "\"camera_id\":\"c\",\"item_id\":1.0,\"currency\":\"EUR\",\"date\":\"2026-11-21\"}";
	cJSON *j = etl_json_parse(rec, strlen(rec), NULL);
	char buf[64], tiny[3];
	const char *k;

	k = etl_record_key("sales", j, buf, sizeof(buf));
	CHECK_STR("T-1", k);
	k = etl_record_key("stores", j, buf, sizeof(buf));
	CHECK_STR("0", k);
	k = etl_record_key("pos", j, buf, sizeof(buf));
	CHECK_STR("34", k);
	k = etl_record_key("cameras", j, buf, sizeof(buf));
	CHECK_STR("c", k);
	CHECK(etl_record_key("items", j, buf, sizeof(buf)) == NULL);
	k = etl_record_key("exchange_rates", j, buf, sizeof(buf));
	CHECK_STR("EUR:2026-11-21", k);
	CHECK(etl_record_key("exchange_rates", j, tiny, sizeof(tiny)) == NULL);
	CHECK(etl_record_key("nonsense", j, buf, sizeof(buf)) == NULL);
	CHECK(etl_record_key(NULL, j, buf, sizeof(buf)) == NULL);
	CHECK(etl_record_key("sales", NULL, buf, sizeof(buf)) == NULL);
	cJSON_Delete(j);
}

/* Out of memory-free paths: a record built by cJSON (no literal text) and a
 * reasons list reused across records. */
static void test_no_literals(void)
{
	cJSON *rec = cJSON_CreateObject();
	etl_refdata *ref = shared_refdata();
	etl_reasons r = ETL_REASONS_INIT;
	etl_sale s;

	cJSON_AddStringToObject(rec, "transaction_id", "T-1");
	cJSON_AddStringToObject(rec, "transaction_date", "2026-11-21T09:15:27Z");
	cJSON_AddNumberToObject(rec, "store_id", 1);
	cJSON_AddNumberToObject(rec, "pos_id", 10);
	cJSON_AddStringToObject(rec, "currency", "USD");
	cJSON_AddStringToObject(rec, "financial_status", "paid");
	cJSON_AddStringToObject(rec, "total_amount", "1.00");
	cJSON_AddItemToObject(rec, "line_items", cJSON_CreateArray());
	etl_reasons_add(&r, "left over");
	CHECK_INT(1, etl_validate_sale(rec, ref, NULL, NULL, &s, &r));
	/* the reasons of an earlier record are cleared; numbers without their
	 * text are refused rather than read from a double */
	CHECK_INT(3, r.n);
	CHECK_STR("bad_value:store_id", r.codes[0]);
	CHECK_STR("bad_value:pos_id", r.codes[1]);
	CHECK_STR("bad_value:line_items", r.codes[2]);
	CHECK(s.lines == NULL);
	etl_reasons_release(&r);
	etl_refdata_free(ref);
	cJSON_Delete(rec);
}

/* Not a check: the time to validate 1M sales (ETL_TEST_BENCH=1). */
static void bench(void)
{
	const char *dir = getenv("ETL_TEST_CASES");
	char path[1024];
	char *input;
	size_t len = 0;
	cJSON *rec;
	etl_refdata *ref = shared_refdata();
	etl_reasons r = ETL_REASONS_INIT;
	etl_window win = { INT64_C(1795251600) * ETL_USEC_PER_SEC, INT64_C(1795255200) * ETL_USEC_PER_SEC };
	struct timespec t0, t1;
	int valid = 0, n = 1000000;
	etl_sale s;

	snprintf(path, sizeof(path), "%s/validate/valid_amounts_as_strings/input.json", dir ? dir : "test/cases");
	input = unit_read_file(path, &len);
	rec = input ? etl_json_parse(input, len, NULL) : NULL;
	if (rec) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < n; i++) {
			valid += etl_validate_sale(rec, ref, &win, "UTC", &s, &r) == 0;
			etl_sale_release(&s);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		fprintf(stderr, "bench: %d sales validated (%d valid) in %.3f s\n", n, valid,
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	cJSON_Delete(rec);
	free(input);
	etl_reasons_release(&r);
	etl_refdata_free(ref);
}

int main(void)
{
	test_reasons();
	test_refdata();
	test_keys();
	test_no_literals();
	run_cases();
	if (getenv("ETL_TEST_BENCH"))
		bench();
	return unit_done();
}

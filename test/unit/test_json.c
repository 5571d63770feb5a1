/* test_json.c - cJSON with exact number literals: parse, literal lookup,
 * printing, and the refusal of what is not one strict JSON value. */
#include "json.h"
#include "unit.h"

#include <time.h>

static cJSON *parse(const char *s)
{
	return etl_json_parse(s, strlen(s), NULL);
}

/* Parses s and prints it back: the compact form must equal want. */
static void check_roundtrip(const char *s, const char *want)
{
	cJSON *j = parse(s);
	char *out = j ? etl_json_print(j) : NULL;

	if (!j)
		fprintf(stderr, "parse failed: %s\n", s);
	CHECK_STR(want, out);
	free(out);
	cJSON_Delete(j);
}

static void check_refused(const char *s, size_t want_offset)
{
	size_t off = 999;
	cJSON *j = etl_json_parse(s, strlen(s), &off);

	if (j)
		fprintf(stderr, "accepted: %s\n", s);
	CHECK(j == NULL);
	if (want_offset != (size_t)-1)
		CHECK_INT(want_offset, off);
	cJSON_Delete(j);
}

static void test_literals(void)
{
	const char *text = "{\"a\": 0.1, \"s\": \"x\\\"1.5\\\\\", \"b\": [104.35, 1e2, -0, {\"c\": 1.045e2}],"
			   " \"k\\u0031\": 7, \"d\": 12345678901234567890123}";
	cJSON *j = parse(text);
	cJSON *b;

	CHECK(j != NULL);
	if (!j)
		return;
	CHECK_STR("0.1", etl_json_number_text(cJSON_GetObjectItemCaseSensitive(j, "a")));
	CHECK_STR("x\"1.5\\", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "s")));
	b = cJSON_GetObjectItemCaseSensitive(j, "b");
	CHECK_STR("104.35", etl_json_number_text(cJSON_GetArrayItem(b, 0)));
	CHECK_STR("1e2", etl_json_number_text(cJSON_GetArrayItem(b, 1)));
	CHECK_STR("-0", etl_json_number_text(cJSON_GetArrayItem(b, 2)));
	CHECK_STR("1.045e2", etl_json_number_text(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(b, 3), "c")));
	CHECK_STR("7", etl_json_number_text(cJSON_GetObjectItemCaseSensitive(j, "k1")));
	CHECK_STR("12345678901234567890123", etl_json_number_text(cJSON_GetObjectItemCaseSensitive(j, "d")));
	/* Not a number, or not made by etl_json_parse: no literal. */
	CHECK(etl_json_number_text(cJSON_GetObjectItemCaseSensitive(j, "s")) == NULL);
	CHECK(etl_json_number_text(NULL) == NULL);
	cJSON_Delete(j);
}

static void test_print(void)
{
	cJSON *j, *n;
	char *out;

	check_roundtrip(" { \"a\" : 0.10 , \"b\" : [ 1E+2 , true , false , null , \"\" ] } ",
			"{\"a\":0.10,\"b\":[1E+2,true,false,null,\"\"]}");
	check_roundtrip("\"tab\\tnl\\nq\\\"bs\\\\ctl\\u0001 caf\\u00e9 \xe2\x82\xac\"",
			"\"tab\\tnl\\nq\\\"bs\\\\ctl\\u0001 caf\xc3\xa9 \xe2\x82\xac\"");
	check_roundtrip("[]", "[]");
	check_roundtrip("{}", "{}");
	check_roundtrip("-0.000", "-0.000");
	check_roundtrip("{\"a\":{\"b\":{\"c\":[[[1.50]]]}}}", "{\"a\":{\"b\":{\"c\":[[[1.50]]]}}}");
	check_roundtrip("{\"dup\":1,\"dup\":2}", "{\"dup\":1,\"dup\":2}");
	/* A parsed text may lack a terminating NUL. */
	j = etl_json_parse("[1.50]garbage", 6, NULL);
	CHECK(j != NULL);
	out = etl_json_print(j);
	CHECK_STR("[1.50]", out);
	free(out);
	/* Items added by other code print the way cJSON prints them. */
	n = cJSON_CreateNumber(0.1);
	cJSON_AddItemToArray(j, n);
	cJSON_AddItemToArray(j, cJSON_CreateNumber(3));
	cJSON_AddItemToArray(j, cJSON_CreateRaw("{\"raw\":1}"));
	out = etl_json_print(j);
	CHECK_STR("[1.50,0.1,3,{\"raw\":1}]", out);
	free(out);
	/* Duplicated items keep their literal (cJSON_Duplicate copies valuestring). */
	{
		cJSON *dup = cJSON_Duplicate(j, 1);

		out = etl_json_print(dup);
		CHECK_STR("[1.50,0.1,3,{\"raw\":1}]", out);
		free(out);
		cJSON_Delete(dup);
	}
	cJSON_Delete(j);
	CHECK(etl_json_print(NULL) == NULL);
}

static void test_refused(void)
{
	check_refused("", 0);
	check_refused("   ", (size_t)-1);
	check_refused("{\"a\":1", (size_t)-1);
	check_refused("{\"a\":1} x", 8);
	check_refused("{\"a\":1}{}", 7);
	check_refused("[01]", 1);
	check_refused("[1.]", 1);
	check_refused("[-01.5e3]", 1);
	check_refused("[1, 2.5, 1e]", (size_t)-1);
	check_refused("[.5]", (size_t)-1);
	check_refused("[+1]", (size_t)-1);
	check_refused("[NaN]", (size_t)-1);
	check_refused("[1,]", (size_t)-1);
	check_refused("[\"unterminated]", (size_t)-1);
	CHECK(etl_json_parse(NULL, 3, NULL) == NULL);
}

/* Not a check: how long a page takes (ETL_TEST_BENCH=1). */
static void bench(void)
{
	const char *rec = "{\"transaction_id\":\"T-20261121-000123\",\"transaction_date\":\"2026-11-21T09:15:27Z\","
			  "\"updated_at\":\"2026-11-21T09:15:30Z\",\"store_id\":12,\"pos_id\":34,"
			  "\"camera_id\":\"6b8731d7-d991-4206-ba71-b5446fa617fc\",\"customer\":{\"customer_id\":\"c-66f6\","
			  "\"email\":\"dan@example.com\",\"first_name\":\"Dan\",\"last_name\":\"Dyer\"},"
			  "\"billing_address\":{\"address1\":\"123 Main St\",\"address2\":\"\",\"city\":\"Boise\","
			  "\"province\":\"Idaho\",\"country\":\"US\",\"zip\":\"83702\",\"phone\":\"208-860-6879\"},"
			  "\"shipping_address\":null,\"currency\":\"GBP\",\"financial_status\":\"paid\","
			  "\"total_amount\":\"104.50\",\"total_discounts\":5.00,\"total_tax\":\"9.50\","
			  "\"line_items\":[{\"item_id\":123,\"quantity\":2,\"unit_price\":50.00}]}";
	size_t rl = strlen(rec), cap = 1000 * (rl + 1) + 64, len = 0;
	char *page = malloc(cap);
	clock_t t0;
	double parse_s, print_s;
	int pages = 200;

	len += (size_t)snprintf(page, cap, "{\"data\":[");
	for (int i = 0; i < 1000; i++) {
		memcpy(page + len, rec, rl);
		len += rl;
		page[len++] = i < 999 ? ',' : ']';
	}
	len += (size_t)snprintf(page + len, cap - len, ",\"next_cursor\":null}");
	t0 = clock();
	for (int i = 0; i < pages; i++)
		cJSON_Delete(etl_json_parse(page, len, NULL));
	parse_s = (double)(clock() - t0) / CLOCKS_PER_SEC;
	{
		cJSON *j = etl_json_parse(page, len, NULL);

		t0 = clock();
		for (int i = 0; i < pages; i++)
			free(etl_json_print(cJSON_GetObjectItemCaseSensitive(j, "data")));
		print_s = (double)(clock() - t0) / CLOCKS_PER_SEC;
		cJSON_Delete(j);
	}
	fprintf(stderr, "bench: page of 1000 records (%zu bytes): parse %.3f ms, print %.3f ms\n", len,
		parse_s * 1000 / pages, print_s * 1000 / pages);
	free(page);
}

/* Unicode's Table 3-7, at each of its edges. */
static void test_utf8(void)
{
	size_t bad;

	CHECK(etl_utf8_valid(""));
	CHECK(etl_utf8_valid("plain ascii"));
	CHECK(etl_utf8_valid("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  /* é € 😀 */
	CHECK(etl_utf8_valid("\xed\x9f\xbf \xee\x80\x80 \xf4\x8f\xbf\xbf"));  /* U+D7FF U+E000 U+10FFFF */
	CHECK(!etl_utf8_valid("\xc0\x80"));              /* overlong NUL */
	CHECK(!etl_utf8_valid("\xe0\x9f\xbf"));          /* overlong 3-byte */
	CHECK(!etl_utf8_valid("\xed\xa0\x80"));          /* a surrogate */
	CHECK(!etl_utf8_valid("\xf4\x90\x80\x80"));      /* above U+10FFFF */
	CHECK(!etl_utf8_valid("\xf5\x80\x80\x80"));
	CHECK(!etl_utf8_valid("a\xc3"));                 /* cut at the end */
	CHECK(!etl_utf8_valid("\x80"));                  /* a lone continuation byte */
	CHECK_INT(3, etl_utf8_seq((const unsigned char *)"\xe2\x82\xac", &bad));
	/* the maximal ill-formed subpart: E2 82 then a non-continuation */
	CHECK_INT(0, etl_utf8_seq((const unsigned char *)"\xe2\x82x", &bad));
	CHECK_INT(2, bad);
	CHECK_INT(0, etl_utf8_seq((const unsigned char *)"\xed\xa0\x80", &bad));
	CHECK_INT(1, bad);
}

int main(void)
{
	test_utf8();
	test_literals();
	test_print();
	test_refused();
	if (getenv("ETL_TEST_BENCH"))
		bench();
	return unit_done();
}

/* test_strbuf.c - the growable string: appends, the cap, sticky errors,
 * JSON string literals, reset and release. */
#include "strbuf.h"
#include "unit.h"

static void test_appends(void)
{
	etl_strbuf b = ETL_STRBUF_INIT;
	char big[1000];

	/* an empty append still gives a string */
	etl_strbuf_add(&b, "", 0);
	CHECK(b.p != NULL);
	CHECK_STR("", b.p);
	etl_strbuf_adds(&b, "abc");
	etl_strbuf_add(&b, "defgh", 2);
	CHECK_STR("abcde", b.p);
	CHECK_INT(5, b.len);
	/* bytes with a NUL inside are kept as given */
	etl_strbuf_add(&b, "x\0y", 3);
	CHECK_INT(8, b.len);
	CHECK(memcmp(b.p + 5, "x\0y", 3) == 0 && b.p[8] == '\0');
	/* growth over several doublings keeps the text */
	memset(big, 'z', sizeof(big));
	for (int i = 0; i < 100; i++)
		etl_strbuf_add(&b, big, sizeof(big));
	CHECK_INT(8 + 100 * 1000, b.len);
	CHECK(b.cap > b.len && b.p[b.len] == '\0' && b.p[b.len - 1] == 'z' && b.p[4] == 'e');
	CHECK(!etl_strbuf_failed(&b));

	etl_strbuf_reset(&b);
	CHECK_INT(0, b.len);
	CHECK_STR("", b.p);
	CHECK(b.cap >= 100000);  /* the memory is kept */
	etl_strbuf_release(&b);
	CHECK(b.p == NULL && b.len == 0 && b.cap == 0);
	etl_strbuf_release(&b);  /* twice is harmless */
}

static void test_cap(void)
{
	etl_strbuf b;

	etl_strbuf_init(&b, 10);
	etl_strbuf_adds(&b, "0123456789");  /* exactly the cap */
	CHECK(!etl_strbuf_failed(&b));
	CHECK_STR("0123456789", b.p);
	etl_strbuf_adds(&b, "a");  /* one past: refused, and sticky */
	CHECK(b.too_big && !b.oom && etl_strbuf_failed(&b));
	CHECK_STR("0123456789", b.p);
	etl_strbuf_add(&b, "", 0);
	CHECK_INT(10, b.len);
	/* reset clears the error and keeps the cap */
	etl_strbuf_reset(&b);
	CHECK(!etl_strbuf_failed(&b));
	etl_strbuf_adds(&b, "01234");
	etl_strbuf_adds(&b, "567890");
	CHECK(b.too_big);
	CHECK_STR("01234", b.p);
	etl_strbuf_release(&b);
	CHECK_INT(10, b.max);
	/* a single append larger than the cap, on an empty buffer */
	etl_strbuf_adds(&b, "0123456789ABC");
	CHECK(b.too_big && b.len == 0);
	etl_strbuf_release(&b);
}

static void test_json_str(void)
{
	etl_strbuf b = ETL_STRBUF_INIT;

	etl_strbuf_add_json_str(&b, "a\"b\\c\n\x01\x1f" "\xc3\xa9/");
	CHECK_STR("\"a\\\"b\\\\c\\u000a\\u0001\\u001f\xc3\xa9/\"", b.p);
	etl_strbuf_reset(&b);
	etl_strbuf_add_json_str(&b, "");
	CHECK_STR("\"\"", b.p);
	etl_strbuf_release(&b);
}

int main(void)
{
	test_appends();
	test_cap();
	test_json_str();
	return unit_done();
}

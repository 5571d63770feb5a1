/* test_retry.c - backoff bounds, growth, cap and jitter; Retry-After in
 * seconds and as an HTTP date; which statuses are transient. */
#include "retry.h"
#include "unit.h"

#include <time.h>

/* The ceiling of attempt n: base * 2^(n-1), capped. */
static int64_t ceiling(int attempt, int base, int cap)
{
	int64_t c = base;

	for (int i = 1; i < attempt && c < cap; i++)
		c *= 2;
	return c > cap ? cap : c;
}

static void test_bounds(void)
{
	/* every attempt waits within [ceiling / 2, ceiling] */
	for (int attempt = 1; attempt <= 12; attempt++) {
		int64_t c = ceiling(attempt, 100, 5000), lo = INT64_MAX, hi = 0;

		for (int i = 0; i < 500; i++) {
			int64_t d = etl_retry_delay_ms(attempt, 100, 5000, -1);
			if (d < lo)
				lo = d;
			if (d > hi)
				hi = d;
		}
		CHECK(lo >= c / 2);
		CHECK(hi <= c);
		/* jitter: 500 draws over a range of c/2 values are not all one */
		CHECK(hi > lo);
	}
}

static void test_growth_and_cap(void)
{
	int64_t max1 = 0, max3 = 0, min5 = INT64_MAX;

	for (int i = 0; i < 300; i++) {
		int64_t d1 = etl_retry_delay_ms(1, 200, 60000, -1);
		int64_t d3 = etl_retry_delay_ms(3, 200, 60000, -1);
		int64_t d5 = etl_retry_delay_ms(5, 200, 60000, -1);
		if (d1 > max1)
			max1 = d1;
		if (d3 > max3)
			max3 = d3;
		if (d5 < min5)
			min5 = d5;
	}
	/* attempt 1 waits at most 200 ms, attempt 3 up to 800, attempt 5 at least 1600 */
	CHECK(max1 <= 200);
	CHECK(max3 > 400 && max3 <= 800);
	CHECK(min5 >= 1600);

	/* the cap holds however many attempts, without overflow */
	for (int attempt = 10; attempt <= 1000; attempt *= 10) {
		int64_t d = etl_retry_delay_ms(attempt, 500, 30000, -1);
		CHECK(d >= 15000 && d <= 30000);
	}
	CHECK(etl_retry_delay_ms(2000000000, 500, 30000, -1) <= 30000);
	/* a zero base never sleeps (tests use ETL_HTTP_BACKOFF_MS=0) */
	CHECK_INT(0, etl_retry_delay_ms(3, 0, 30000, -1));
	/* a base above the cap is capped */
	CHECK(etl_retry_delay_ms(1, 10000, 1000, -1) <= 1000);
}

static void test_retry_after_wins(void)
{
	/* longer than the backoff: the server's word wins, also past the cap */
	CHECK_INT(5000, etl_retry_delay_ms(1, 100, 1000, 5000));
	CHECK_INT(120000, etl_retry_delay_ms(4, 100, 30000, 120000));
	/* shorter than the backoff: the backoff stands */
	for (int i = 0; i < 50; i++) {
		int64_t d = etl_retry_delay_ms(4, 1000, 30000, 10);
		CHECK(d >= 4000 && d <= 8000);
	}
	/* Retry-After: 0 means "now", the backoff still spaces retries */
	CHECK(etl_retry_delay_ms(1, 100, 1000, 0) >= 50);
}

static void test_retry_after_parse(void)
{
	/* delta-seconds */
	CHECK_INT(5000, etl_retry_after_ms("5", 0));
	CHECK_INT(0, etl_retry_after_ms("0", 0));
	CHECK_INT(7000, etl_retry_after_ms(" 7 ", 0));
	CHECK_INT(86400000, etl_retry_after_ms("86400", 0));
	/* absent or malformed */
	CHECK_INT(-1, etl_retry_after_ms(NULL, 0));
	CHECK_INT(-1, etl_retry_after_ms("", 0));
	CHECK_INT(-1, etl_retry_after_ms("-1", 0));
	CHECK_INT(-1, etl_retry_after_ms("abc", 0));
	CHECK_INT(-1, etl_retry_after_ms("5s", 0));
	CHECK_INT(-1, etl_retry_after_ms("1.5", 0));
	CHECK_INT(-1, etl_retry_after_ms("99999999999999999999", 0));
	/* HTTP date: 1994-11-06T08:49:37Z is 784111777 */
	CHECK_INT(10000, etl_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111767));
	CHECK_INT(0, etl_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777));
	/* a date in the past: retry now */
	CHECK_INT(0, etl_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111800));
	/* leap day, and a date in the 2000s */
	CHECK_INT(60000, etl_retry_after_ms("Thu, 29 Feb 2024 12:01:00 GMT", 1709208000));
	CHECK_INT(-1, etl_retry_after_ms("Sun, 06 Foo 1994 08:49:37 GMT", 0));
	CHECK_INT(-1, etl_retry_after_ms("yesterday", 0));
	/* relative to the real clock */
	{
		time_t now = time(NULL);
		struct tm tm;
		char buf[64];
		time_t later = now + 3;

		gmtime_r(&later, &tm);
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		CHECK_INT(3000, etl_retry_after_ms(buf, (int64_t)now));
	}
}

static void test_transient(void)
{
	static const long yes[] = { 429, 500, 502, 503, 504, 599 };
	static const long no[] = { 0, 200, 204, 301, 400, 401, 403, 404, 408, 409, 422, 600 };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(etl_retry_status_transient(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(!etl_retry_status_transient(no[i]));
}

static void test_sleep(void)
{
	struct timespec a, b;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &a);
	etl_sleep_ms(30);
	etl_sleep_ms(0);
	etl_sleep_ms(-5);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	CHECK(ms >= 29 && ms < 1000);
}

int main(void)
{
	test_bounds();
	test_growth_and_cap();
	test_retry_after_wins();
	test_retry_after_parse();
	test_transient();
	test_sleep();
	return unit_done();
}

/*
 * test_progress.c - the progress line's text, and that it stays silent when
 * stderr is not a terminal or it is disabled.
 *
 * Also a helper for test/integration/test_ops_progress.sh, which runs it
 * under a pseudo-terminal:
 *   test_progress --demo [--disabled]   about 1.75 s of progress, then "done"
 *   test_progress --burst                updates as fast as it can for 1.2 s
 */
#include "progress.h"
#include "unit.h"

#include <time.h>
#include <unistd.h>

static void test_format(void)
{
	char buf[256];

	etl_progress_format(buf, sizeof(buf), "backfill", "days", 3, 7, 18204, 10.0);
	CHECK_STR("backfill: 3/7 days (42%), 18,204 records, 1,820/s, ETA 13s", buf);
	etl_progress_format(buf, sizeof(buf), "fetch", "pages", 12, -1, 11842, 5.0);
	CHECK_STR("fetch: 12 pages, 11,842 records, 2,368/s", buf);
	/* Under a second: no rate, no ETA (they would be noise). */
	etl_progress_format(buf, sizeof(buf), "fetch", "", 1, -1, 1, 0.2);
	CHECK_STR("fetch: 1, 1 record", buf);
	etl_progress_format(buf, sizeof(buf), "emit", "events", 0, 1000, 0, 3.0);
	CHECK_STR("emit: 0/1,000 events (0%), 0 records, 0/s", buf);
	etl_progress_format(buf, sizeof(buf), "backfill", "days", 1, 30, 1234567, 125.0);
	CHECK_STR("backfill: 1/30 days (3%), 1,234,567 records, 9,877/s, ETA 1h 00m", buf);
	etl_progress_format(buf, sizeof(buf), "backfill", "days", 10, 30, 5, 30.0);
	CHECK_STR("backfill: 10/30 days (33%), 5 records, 0/s, ETA 1m 00s", buf);
	etl_progress_format(buf, sizeof(buf), "x", "", 5, 5, 1000000000000LL, 2.0);
	CHECK_STR("x: 5/5 (100%), 1,000,000,000,000 records, 500,000,000,000/s", buf);
	/* A total of 0 is complete, not a division by zero. */
	etl_progress_format(buf, sizeof(buf), "x", "", 0, 0, 0, 0.0);
	CHECK_STR("x: 0/0 (100%), 0 records", buf);
	/* Cut to the buffer, always terminated. */
	etl_progress_format(buf, 10, "backfill", "days", 3, 7, 18204, 10.0);
	CHECK_STR("backfill:", buf);
}

/* Sleeps ms milliseconds. */
static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int demo(int enabled)
{
	etl_progress p;

	etl_progress_start(&p, "backfill", 6, enabled);
	etl_progress_unit(&p, "days");
	for (int i = 0; i <= 6; i++) {
		etl_progress_update(&p, i, (int64_t)i * 1500);
		nap(250);
	}
	etl_progress_end(&p);
	etl_progress_end(&p);  /* twice is harmless */
	fprintf(stderr, "done\n");
	return 0;
}

/* Updates in a tight loop: the drawing must stay at four a second. */
static int burst(void)
{
	struct timespec t0, t;
	etl_progress p;
	int64_t i = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	etl_progress_start(&p, "fetch", -1, 1);
	etl_progress_unit(&p, "pages");
	do {
		etl_progress_update(&p, i / 100, i);
		i++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 1200);
	etl_progress_end(&p);
	fprintf(stderr, "done %lld\n", (long long)i);
	return 0;
}

int main(int argc, char **argv)
{
	etl_progress p;

	if (argc >= 2 && !strcmp(argv[1], "--burst"))
		return burst();
	if (argc >= 2 && !strcmp(argv[1], "--demo"))
		return demo(!(argc >= 3 && !strcmp(argv[2], "--disabled")));
	test_format();

	/* Disabled, or stderr not a terminal (ctest's pipe): never active. */
	etl_progress_start(&p, "fetch", -1, 0);
	CHECK(!p.active);
	etl_progress_update(&p, 3, 30);
	CHECK_INT(3, p.done);
	CHECK_INT(30, p.records);
	etl_progress_end(&p);
	if (!isatty(STDERR_FILENO)) {
		etl_progress_start(&p, "fetch", -1, 1);
		CHECK(!p.active);
		etl_progress_end(&p);
	}
	return unit_done();
}

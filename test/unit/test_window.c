/* test_window.c - the windows etl run, fetch and backfill load (lib/window.c). */
#include "unit.h"
#include "window.h"

#define H ETL_USEC_PER_HOUR

static etl_time T(const char *s)
{
	etl_time t = 0;

	if (etl_time_parse(s, NULL, &t) != 0) {
		fprintf(stderr, "bad test timestamp %s\n", s);
		exit(2);
	}
	return t;
}

static etl_run_plan_in plan_in(etl_time now)
{
	etl_run_plan_in in;

	memset(&in, 0, sizeof(in));
	in.now = now;
	in.max_windows = ETL_WINDOW_MAX_WINDOWS_DEFAULT;
	return in;
}

static void test_run_no_watermark(void)
{
	etl_window w[64];
	size_t n, nl;
	etl_run_plan_in in = plan_in(T("2026-11-21T10:17:00Z"));

	/* No watermark, no --start: the last complete hour only. */
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(1, n);
	CHECK_INT(0, nl);
	CHECK_INT(T("2026-11-21T09:00:00Z"), w[0].since);
	CHECK_INT(T("2026-11-21T10:00:00Z"), w[0].until);

	/* Exactly on the hour: the hour that just ended is complete. */
	in.now = T("2026-11-21T10:00:00Z");
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(1, n);
	CHECK_INT(T("2026-11-21T09:00:00Z"), w[0].since);

	/* --start: from there, oldest first; a start off the hour is floored. */
	in.now = T("2026-11-21T10:17:00Z");
	in.has_start = 1;
	in.start = T("2026-11-21T05:30:00Z");
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(5, n);
	CHECK_INT(T("2026-11-21T05:00:00Z"), w[0].since);
	CHECK_INT(T("2026-11-21T09:00:00Z"), w[4].since);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(H, w[i].until - w[i].since);

	/* --start in the future: nothing is due. */
	in.start = T("2026-11-21T12:00:00Z");
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(0, n);

	/* --lookback needs a watermark: nothing was loaded before --start. */
	in.start = T("2026-11-21T08:00:00Z");
	in.lookback = 3;
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(2, n);
	CHECK_INT(0, nl);
}

static void test_run_watermark(void)
{
	etl_window w[64];
	size_t n, nl;
	etl_run_plan_in in = plan_in(T("2026-11-21T10:00:01Z"));

	in.has_watermark = 1;
	in.watermark = T("2026-11-21T05:00:00Z");
	in.has_start = 1;  /* ignored when there is a watermark */
	in.start = T("2026-11-01T00:00:00Z");
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(5, n);  /* cron missed 5 hours: 05..09 */
	CHECK_INT(T("2026-11-21T05:00:00Z"), w[0].since);
	CHECK_INT(T("2026-11-21T10:00:00Z"), w[4].until);

	/* Up to date: nothing to do. */
	in.watermark = T("2026-11-21T10:00:00Z");
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(0, n);

	/* --max-windows caps the new windows, oldest first. */
	in.watermark = T("2026-11-20T00:00:00Z");
	in.max_windows = 24;
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(24, n);
	CHECK_INT(T("2026-11-20T00:00:00Z"), w[0].since);
	CHECK_INT(T("2026-11-21T00:00:00Z"), w[23].until);
	in.max_windows = 2;
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(2, n);

	/* --lookback: re-reads first, not counted against --max-windows. */
	in.watermark = T("2026-11-21T08:00:00Z");
	in.max_windows = 1;
	in.lookback = 3;
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(4, n);
	CHECK_INT(3, nl);
	CHECK_INT(T("2026-11-21T05:00:00Z"), w[0].since);
	CHECK_INT(T("2026-11-21T07:00:00Z"), w[2].since);
	CHECK_INT(T("2026-11-21T08:00:00Z"), w[3].since);

	/* Lookback with nothing new due still re-reads. */
	in.watermark = T("2026-11-21T10:00:00Z");
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(3, n);
	CHECK_INT(3, nl);
	CHECK_INT(T("2026-11-21T09:00:00Z"), w[2].since);

	/* A watermark ahead of the clock (--now in the past): no re-read may
	 * end after the last complete hour. */
	in.now = T("2026-11-21T08:30:00Z");
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == 0);
	CHECK_INT(1, n);
	CHECK_INT(T("2026-11-21T07:00:00Z"), w[0].since);

	/* Bad input. */
	in.max_windows = 0;
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == -1);
	in.max_windows = 60;
	in.lookback = 10;
	CHECK(etl_window_plan_run(&in, w, 64, &n, &nl) == -1);  /* cap too small */
	CHECK_INT(70, etl_window_run_cap(&in));
}

static void test_split(void)
{
	etl_window w;
	etl_time cur, since, until;
	int k = 0;

	/* On the hour: whole hour windows. */
	since = T("2026-11-20T00:00:00Z");
	until = T("2026-11-20T06:00:00Z");
	CHECK_INT(6, etl_window_count(since, until, H));
	cur = since;
	while (etl_window_next(since, until, H, &cur, &w)) {
		CHECK_INT(since + k * H, w.since);
		CHECK_INT(H, w.until - w.since);
		k++;
	}
	CHECK_INT(6, k);

	/* Off the hour: partial first and last windows. */
	since = T("2026-11-20T00:30:00Z");
	until = T("2026-11-20T02:15:00Z");
	CHECK_INT(3, etl_window_count(since, until, H));
	cur = since;
	CHECK(etl_window_next(since, until, H, &cur, &w) == 1);
	CHECK_INT(T("2026-11-20T00:30:00Z"), w.since);
	CHECK_INT(T("2026-11-20T01:00:00Z"), w.until);
	CHECK(etl_window_next(since, until, H, &cur, &w) == 1);
	CHECK_INT(T("2026-11-20T01:00:00Z"), w.since);
	CHECK_INT(T("2026-11-20T02:00:00Z"), w.until);
	CHECK(etl_window_next(since, until, H, &cur, &w) == 1);
	CHECK_INT(T("2026-11-20T02:00:00Z"), w.since);
	CHECK_INT(T("2026-11-20T02:15:00Z"), w.until);
	CHECK(etl_window_next(since, until, H, &cur, &w) == 0);

	/* Inside one hour: one window, the range itself. */
	since = T("2026-11-20T00:10:00Z");
	until = T("2026-11-20T00:20:00Z");
	CHECK_INT(1, etl_window_count(since, until, H));
	cur = since;
	CHECK(etl_window_next(since, until, H, &cur, &w) == 1);
	CHECK_INT(since, w.since);
	CHECK_INT(until, w.until);
	CHECK(etl_window_next(since, until, H, &cur, &w) == 0);

	/* Empty and reversed ranges. */
	cur = until;
	CHECK(etl_window_next(until, until, H, &cur, &w) == 0);
	CHECK_INT(0, etl_window_count(until, since, H));

	/* Before the epoch the cuts are still on the hour. */
	since = T("1969-12-31T22:30:00Z");
	until = T("1970-01-01T00:30:00Z");
	CHECK_INT(3, etl_window_count(since, until, H));
	cur = since;
	CHECK(etl_window_next(since, until, H, &cur, &w) == 1);
	CHECK_INT(T("1969-12-31T23:00:00Z"), w.until);
}

static void test_days(void)
{
	etl_date from, to;
	etl_time since, until, cur;
	etl_window w;
	int k = 0;

	CHECK(etl_date_parse("2026-11-01", &from) == 0);
	CHECK(etl_date_parse("2026-11-03", &to) == 0);
	CHECK(etl_window_days(from, to, &since, &until) == 0);
	CHECK_INT(T("2026-11-01T00:00:00Z"), since);
	CHECK_INT(T("2026-11-04T00:00:00Z"), until);
	CHECK_INT(3, etl_window_count(since, until, ETL_USEC_PER_DAY));
	cur = since;
	while (etl_window_next(since, until, ETL_USEC_PER_DAY, &cur, &w)) {
		CHECK_INT(ETL_USEC_PER_DAY, w.until - w.since);
		k++;
	}
	CHECK_INT(3, k);
	/* One day. */
	CHECK(etl_window_days(from, from, &since, &until) == 0);
	CHECK_INT(ETL_USEC_PER_DAY, until - since);
	/* Reversed. */
	CHECK(etl_window_days(to, from, &since, &until) == -1);
}

int main(void)
{
	test_run_no_watermark();
	test_run_watermark();
	test_split();
	test_days();
	return unit_done();
}

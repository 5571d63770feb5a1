/* test_timeutil.c - dates, RFC 3339 parsing and formatting. */
#include "timeutil.h"
#include "unit.h"

static void check_parse(const char *s, const char *tz, const char *want_utc)
{
	etl_time t;
	char buf[40];

	if (!want_utc) {
		CHECK(etl_time_parse(s, tz, &t) < 0);
		return;
	}
	CHECK(etl_time_parse(s, tz, &t) == 0);
	etl_time_format(t, buf, sizeof(buf));
	CHECK_STR(want_utc, buf);
}

int main(void)
{
	etl_date d;
	char buf[40];
	etl_time t;

	CHECK_INT(0, etl_date_from_ymd(1970, 1, 1));
	CHECK_INT(20413, etl_date_from_ymd(2025, 11, 21));
	CHECK(etl_date_parse("2026-02-29", &d) < 0);
	CHECK(etl_date_parse("2024-02-29", &d) == 0);
	etl_date_format(d, buf, sizeof(buf));
	CHECK_STR("2024-02-29", buf);
	CHECK(etl_date_parse("2024-2-29", &d) < 0);
	CHECK(etl_date_parse("2024-02-29x", &d) < 0);

	check_parse("2026-11-21T09:15:27Z", NULL, "2026-11-21T09:15:27Z");
	check_parse("2026-11-21T10:15:27+01:00", NULL, "2026-11-21T09:15:27Z");
	check_parse("2026-11-21T04:15:27-05:00", NULL, "2026-11-21T09:15:27Z");
	check_parse("2026-11-21t09:15:27.5z", NULL, "2026-11-21T09:15:27.500000Z");
	check_parse("2026-11-21T09:15:27", NULL, "2026-11-21T09:15:27Z");
	check_parse("2026-11-21T09:15:27", "UTC", "2026-11-21T09:15:27Z");
	check_parse("2026-07-01T10:00:00", "Europe/London", "2026-07-01T09:00:00Z");
	check_parse("2026-01-01T10:00:00", "Europe/London", "2026-01-01T10:00:00Z");
	check_parse("2026-01-01T10:00:00", "America/New_York", "2026-01-01T15:00:00Z");
	check_parse("2026-01-01T10:00:00", "No/Such_Zone", NULL);
	check_parse("2026-11-21", NULL, NULL);
	check_parse("2026-11-21T25:00:00Z", NULL, NULL);
	check_parse("2026-11-31T10:00:00Z", NULL, NULL);
	check_parse("2026-11-21T10:00:00+0100", NULL, NULL);
	check_parse("yesterday", NULL, NULL);
	check_parse("", NULL, NULL);

	CHECK(etl_time_parse("1969-12-31T23:00:00Z", NULL, &t) == 0);
	CHECK_INT(-1, etl_time_utc_date(t));
	CHECK_INT(-2 * ETL_USEC_PER_HOUR, etl_time_floor_hour(t - 1));
	CHECK_INT(-ETL_USEC_PER_HOUR, etl_time_floor_hour(t));
	CHECK(etl_tz_valid("UTC") && etl_tz_valid("Europe/London"));
	CHECK(!etl_tz_valid("../etc/passwd") && !etl_tz_valid("") && !etl_tz_valid("Mars/Base"));
	return unit_done();
}

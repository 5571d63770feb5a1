/* timeutil.c - see timeutil.h. */
#include "timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Howard Hinnant's days_from_civil: exact for every proleptic Gregorian
 * date, with no dependence on the C library's time zone. */
etl_date etl_date_from_ymd(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (etl_date)(era * 146097 + doe - 719468);
}

void etl_date_to_ymd(etl_date z0, int *y, int *m, int *d)
{
	long z = (long)z0 + 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : dim[m - 1];
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int parse_ymd(const char **p, int *y, int *m, int *d)
{
	if (digits(p, 4, y) < 0 || *(*p)++ != '-' || digits(p, 2, m) < 0 ||
	    *(*p)++ != '-' || digits(p, 2, d) < 0)
		return -1;
	if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
		return -1;
	return 0;
}

int etl_date_parse(const char *s, etl_date *out)
{
	int y, m, d;

	if (!s || parse_ymd(&s, &y, &m, &d) < 0 || *s)
		return -1;
	*out = etl_date_from_ymd(y, m, d);
	return 0;
}

void etl_date_format(etl_date days, char *buf, size_t n)
{
	int y, m, d;

	etl_date_to_ymd(days, &y, &m, &d);
	snprintf(buf, n, "%04d-%02d-%02d", y, m, d);
}

int etl_tz_valid(const char *tz)
{
	char path[512];
	struct stat st;
	const char *dir = getenv("TZDIR");

	if (!tz || !*tz)
		return 0;
	if (!strcmp(tz, "UTC") || !strcmp(tz, "Etc/UTC") || !strcmp(tz, "Z"))
		return 1;
	/* Reject paths: a zone is a name below the zoneinfo directory. */
	if (tz[0] == '/' || strstr(tz, ".."))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/usr/share/zoneinfo", tz);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Converts a wall-clock hour in zone tz to UTC seconds with mktime.  This is
 * the one place that touches the C library's TZ state; etl parses source
 * timestamps on one thread, and the previous TZ is restored. */
static int local_hour_to_utc(const char *tz, int y, int mo, int d, int h, int64_t *out)
{
	char *saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_isdst = -1;
	setenv("TZ", tz, 1);
	tzset();
	t = mktime(&tm);
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
		return -1;
	*out = (int64_t)t;
	return 0;
}

/* The sales of one page share a handful of local hours, and switching TZ
 * costs tens of microseconds, so the last zone checked and the last local
 * hour converted are cached.  Zone offsets change on hour boundaries (the
 * rare half-hour shift aside), so minutes and seconds are added after. */
static struct {
	char tz[128];
	int valid;
	int y, mo, d, h;
	int64_t utc;
	int have_hour;
} tz_cache;

static int local_to_utc(const char *tz, int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
	if (strlen(tz) >= sizeof(tz_cache.tz))
		return -1;
	if (strcmp(tz_cache.tz, tz) != 0) {
		memcpy(tz_cache.tz, tz, strlen(tz) + 1);
		tz_cache.valid = etl_tz_valid(tz);
		tz_cache.have_hour = 0;
	}
	if (!tz_cache.valid)
		return -1;
	if (!tz_cache.have_hour || tz_cache.y != y || tz_cache.mo != mo || tz_cache.d != d || tz_cache.h != h) {
		if (local_hour_to_utc(tz, y, mo, d, h, &tz_cache.utc) < 0)
			return -1;
		tz_cache.y = y, tz_cache.mo = mo, tz_cache.d = d, tz_cache.h = h;
		tz_cache.have_hour = 1;
	}
	*out = tz_cache.utc + mi * 60 + s;
	return 0;
}

int etl_time_parse(const char *s, const char *naive_tz, etl_time *out)
{
	int y, mo, d, h, mi, sec, off = 0;
	int64_t usec = 0, secs;
	const char *p = s;

	if (!s || parse_ymd(&p, &y, &mo, &d) < 0)
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 ||
	    *p++ != ':' || digits(&p, 2, &sec) < 0)
		return -1;
	if (h > 23 || mi > 59 || sec > 60)
		return -1;
	if (sec == 60)	/* a leap second is read as the next second's start */
		sec = 59, usec = ETL_USEC_PER_SEC;
	if (*p == '.') {
		int64_t scale = 100000;
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			usec += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, sign = *p == '-' ? -1 : 1;
		p++;
		if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 60 + om);
	} else if (*p == '\0') {
		if (naive_tz && strcmp(naive_tz, "UTC") && strcmp(naive_tz, "Etc/UTC")) {
			if (local_to_utc(naive_tz, y, mo, d, h, mi, sec, &secs) < 0)
				return -1;
			*out = secs * ETL_USEC_PER_SEC + usec;
			return 0;
		}
	} else {
		return -1;
	}
	if (*p)
		return -1;
	secs = (int64_t)etl_date_from_ymd(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off * 60;
	*out = secs * ETL_USEC_PER_SEC + usec;
	return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

etl_date etl_time_utc_date(etl_time t)
{
	return (etl_date)floor_div(t, ETL_USEC_PER_DAY);
}

void etl_time_format(etl_time t, char *buf, size_t n)
{
	etl_date days = etl_time_utc_date(t);
	int64_t rem = t - (int64_t)days * ETL_USEC_PER_DAY;
	int64_t secs = rem / ETL_USEC_PER_SEC, frac = rem % ETL_USEC_PER_SEC;
	int y, m, d;

	etl_date_to_ymd(days, &y, &m, &d);
	if (frac)
		snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", y, m, d,
			 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), (long)frac);
	else
		snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
			 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

int etl_time_now(const char *override, etl_time *out)
{
	struct timespec ts;

	if (override && *override)
		return etl_time_parse(override, NULL, out);
	clock_gettime(CLOCK_REALTIME, &ts);
	*out = (etl_time)ts.tv_sec * ETL_USEC_PER_SEC + ts.tv_nsec / 1000;
	return 0;
}

etl_time etl_time_floor_hour(etl_time t)
{
	return floor_div(t, ETL_USEC_PER_HOUR) * ETL_USEC_PER_HOUR;
}

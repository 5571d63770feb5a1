/*
 * timeutil.h - instants and calendar dates without the C library's locale
 * and time-zone state (except where a named zone must be applied).
 *
 * An instant is an etl_time: microseconds since 1970-01-01T00:00:00Z.
 * A date is an etl_date: days since 1970-01-01.
 */
#ifndef ETL_TIMEUTIL_H
#define ETL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t etl_time;
typedef int32_t etl_date;

#define ETL_USEC_PER_SEC  INT64_C(1000000)
#define ETL_USEC_PER_HOUR (INT64_C(3600) * ETL_USEC_PER_SEC)
#define ETL_USEC_PER_DAY  (INT64_C(86400) * ETL_USEC_PER_SEC)

/* Days since the epoch of a proleptic Gregorian date, and back. */
etl_date etl_date_from_ymd(int y, int m, int d);
void etl_date_to_ymd(etl_date days, int *y, int *m, int *d);

/* Parses "YYYY-MM-DD" strictly.  Returns 0, or -1 when malformed or not a
 * real date. */
int etl_date_parse(const char *s, etl_date *out);
/* Writes "YYYY-MM-DD" (buf of at least 11 bytes). */
void etl_date_format(etl_date d, char *buf, size_t n);

/* Parses an RFC 3339 timestamp: "YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)"
 * ('t', ' ' accepted for 'T', 'z' for 'Z').  A timestamp with no offset is
 * read as local time in zone naive_tz (an IANA name such as "Europe/London";
 * NULL or "UTC" = UTC).  Fractions beyond microseconds are truncated.
 * Returns 0, or -1 when malformed, out of range, or the zone is unknown. */
int etl_time_parse(const char *s, const char *naive_tz, etl_time *out);

/* Writes an instant as RFC 3339 in UTC: "2026-11-21T09:00:00Z", with a
 * fraction only when it is not whole seconds.  buf of at least 32 bytes. */
void etl_time_format(etl_time t, char *buf, size_t n);

/* The calendar date of instant t in UTC. */
etl_date etl_time_utc_date(etl_time t);

/* Whether tz names a zone this machine knows ("UTC" always). */
int etl_tz_valid(const char *tz);

/* The real clock, or the instant override parses to when it is not NULL.
 * Returns 0, or -1 when override is malformed. */
int etl_time_now(const char *override, etl_time *out);

/* Floors t to the start of its UTC hour. */
etl_time etl_time_floor_hour(etl_time t);

#endif

/* retry.c - see retry.h. */
#include "retry.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A small xorshift generator seeded from the clock and pid: jitter needs
 * spread between hosts, not cryptographic quality. */
static uint64_t jitter_state;

static uint64_t next_random(void)
{
	if (!jitter_state) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		jitter_state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
		if (!jitter_state)
			jitter_state = 88172645463325252ULL;
	}
	jitter_state ^= jitter_state << 13;
	jitter_state ^= jitter_state >> 7;
	jitter_state ^= jitter_state << 17;
	return jitter_state;
}

int64_t etl_retry_delay_ms(int attempt, int base_ms, int cap_ms, int64_t retry_after_ms)
{
	int64_t ceiling = base_ms, delay;

	for (int i = 1; i < attempt && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	delay = ceiling / 2 + (ceiling > 1 ? (int64_t)(next_random() % (uint64_t)(ceiling - ceiling / 2 + 1)) : 0);
	if (retry_after_ms > delay)
		delay = retry_after_ms;
	return delay;
}

int64_t etl_retry_after_ms(const char *value, int64_t now_s)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	char mon[4];
	char *end;
	long v;

	if (!value)
		return -1;
	while (isspace((unsigned char)*value))
		value++;
	if (isdigit((unsigned char)*value)) {
		errno = 0;
		v = strtol(value, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		if (errno || *end || v < 0 || v > 86400)
			return -1;
		return (int64_t)v * 1000;
	}
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	memset(&tm, 0, sizeof(tm));
	if (sscanf(value, "%*[^,], %d %3s %d %d:%d:%d GMT", &tm.tm_mday, mon, &tm.tm_year,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
		for (int m = 0; m < 12; m++) {
			if (!strcmp(mon, months[m])) {
				/* days_from_civil, inline to keep this file free of timeutil */
				int y = tm.tm_year - (m + 1 <= 2), era = (y >= 0 ? y : y - 399) / 400;
				int yoe = y - era * 400, mp = (m + 1 > 2) ? m - 2 : m + 10;
				int doy = (153 * mp + 2) / 5 + tm.tm_mday - 1;
				int64_t days = (int64_t)era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
				int64_t at = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
				return at > now_s ? (at - now_s) * 1000 : 0;
			}
		}
	}
	return -1;
}

int etl_retry_status_transient(long status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

void etl_sleep_ms(int64_t ms)
{
	struct timespec ts, rem;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &rem) < 0 && errno == EINTR)
		ts = rem;
}

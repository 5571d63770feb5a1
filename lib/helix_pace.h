/*
 * helix_pace.h - the token bucket that paces every request to Helix.
 *
 * Helix allows 300 requests per minute per organisation, enforced in
 * 5-second windows (25 per window).  A client that never goes faster than
 * the rate never sees a 429, so the bucket holds little more than one
 * token at low rates (no burst: no 5 s carry more than the rate allows) and
 * refills slightly below the configured rate, so that a request delayed on
 * its way (a new connection, a scheduler hiccup) cannot bring two requests
 * closer together at the server than the rate allows.
 *
 * Pure arithmetic on a caller-supplied monotonic clock in milliseconds, so
 * that it can be tested without sleeping.
 */
#ifndef ETL_HELIX_PACE_H
#define ETL_HELIX_PACE_H

#include <stdint.h>

/* The refill runs at the rate divided by this: 2 % slower than asked. */
#define ETL_HELIX_PACE_MARGIN 1.02

typedef struct etl_helix_pace {
	double rate_per_ms;     /* tokens per millisecond */
	double capacity;        /* most tokens held: 1.2, more only at high rates */
	double tokens;
	double last_ms;         /* when tokens was last brought up to date */
	double blocked_until;   /* no request before this (after a 429) */
} etl_helix_pace;

/* rate: requests per second (> 0).  The bucket starts with one token at
 * now_ms, so the first request goes at once and the next waits. */
void etl_helix_pace_init(etl_helix_pace *p, double rate, double now_ms);

/* Milliseconds until a request may go (0 = now).  Does not take a token. */
double etl_helix_pace_wait(etl_helix_pace *p, double now_ms);

/* Takes a token if one is there: returns 1, or 0 when the caller must wait
 * (etl_helix_pace_wait says how long). */
int etl_helix_pace_take(etl_helix_pace *p, double now_ms);

/* No request before until_ms (a 429 told us to wait); the bucket is emptied
 * so that requests resume one by one, not in a burst. */
void etl_helix_pace_block(etl_helix_pace *p, double until_ms);

#endif

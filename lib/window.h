/*
 * window.h - which sales windows a command loads (contract section 3).
 * Pure arithmetic on instants: no clock, no database, no allocation.
 *
 * etl run     hour windows [W, W+1h) from the watermark up to the last
 *             complete hour before now, oldest first, at most max_windows;
 *             with no watermark the first window starts at --start (floored
 *             to its UTC hour) or else at the last complete hour.  --lookback
 *             N puts the N hours before the watermark in front of them; those
 *             re-reads do not count against max_windows, and none of them
 *             ends after the last complete hour.
 * etl fetch   [since, until) cut at UTC hour boundaries: a range that does
 *             not start or end on the hour gets a partial first or last window.
 * etl backfill  whole UTC days from..to inclusive, one window per day.
 *
 * Windows are etl_window (validate.h): half-open [since, until).
 */
#ifndef ETL_WINDOW_H
#define ETL_WINDOW_H

#include <stddef.h>

#include "timeutil.h"
#include "validate.h"

#define ETL_WINDOW_MAX_WINDOWS_DEFAULT 24
/* Upper bounds accepted on the command line; they keep the plan small. */
#define ETL_WINDOW_MAX_WINDOWS_LIMIT 8784  /* a leap year of hours */
#define ETL_WINDOW_LOOKBACK_LIMIT 720      /* 30 days of hours */

/* What `etl run` knows when it plans. */
typedef struct etl_run_plan_in {
	int has_watermark;
	etl_time watermark;  /* the start of the next window (watermark.next_window) */
	int has_start;
	etl_time start;      /* --start, used only when there is no watermark */
	etl_time now;
	int max_windows;     /* >= 1 */
	int lookback;        /* >= 0: hours before the watermark to re-read */
} etl_run_plan_in;

/* The most windows a plan for in can hold: max_windows + lookback. */
size_t etl_window_run_cap(const etl_run_plan_in *in);

/* Fills out[0 .. *n) with the windows of one `etl run`, oldest first: first
 * the lookback re-reads (*n_lookback of them), then the new windows.  cap
 * must be at least etl_window_run_cap(in).  Returns 0, or -1 when in is out
 * of range (max_windows < 1, lookback < 0, cap too small). */
int etl_window_plan_run(const etl_run_plan_in *in, etl_window *out, size_t cap, size_t *n,
			size_t *n_lookback);

/* Iterates over [since, until) cut at multiples of step since the epoch
 * (ETL_USEC_PER_HOUR for fetch, ETL_USEC_PER_DAY for backfill).  Start with
 * *cursor = since; each call writes the next window and returns 1, or 0
 * when the range is exhausted (also at once when since >= until). */
int etl_window_next(etl_time since, etl_time until, etl_time step, etl_time *cursor, etl_window *out);

/* The number of windows etl_window_next yields for the range (0 when empty). */
long long etl_window_count(etl_time since, etl_time until, etl_time step);

/* [from 00:00Z, to+1 00:00Z): the instants of the UTC days from..to
 * inclusive.  Returns 0, or -1 when from > to. */
int etl_window_days(etl_date from, etl_date to, etl_time *since, etl_time *until);

#endif

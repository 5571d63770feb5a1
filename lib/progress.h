/*
 * progress.h - one live line on the terminal for long fetches, backfills
 * and Helix sends:
 *
 *   backfill: 3/7 days (42%), 18,204 records, 2,310/s, ETA 1m 05s
 *
 * redrawn in place with '\r' on stderr at most four times a second (the
 * first time half a second after the start, so quick work shows nothing),
 * and erased by etl_progress_end() so that what follows starts on a clean
 * line.  It is drawn only when enabled (the caller passes 0 for -q and -v)
 * AND stderr is a terminal: under cron, systemd or a pipe it writes nothing
 * at all, so it never reaches a mail or a log.
 *
 * The struct is the caller's (on the stack is fine); nothing is allocated,
 * so there is nothing to free.  Not thread-safe: update it from one thread.
 */
#ifndef ETL_PROGRESS_H
#define ETL_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct etl_progress {
	int active;           /* drawing (enabled and stderr is a terminal) */
	char what[32];        /* "fetch", "backfill", "emit" */
	char unit[16];        /* what done counts: "windows", "days", "pages" */
	int64_t total;        /* of done, or -1 when unknown */
	int64_t done, records;
	double started;       /* monotonic seconds */
	double last_draw;     /* monotonic seconds, 0 = never drawn */
	size_t shown;         /* width of the line on screen, for erasing it */
} etl_progress;

/*
 * Starts a progress line.  what names the work ("backfill"); total is how
 * many units update()'s done will count to, or -1 when unknown (then no
 * percentage and no ETA are shown).  enabled = 0 turns it off whatever the
 * terminal: pass !ctx->quiet && !ctx->verbose (-v prints a line per window
 * instead, and log lines would land in the middle of the progress line).
 * Draws nothing yet.  what is copied.
 */
void etl_progress_start(etl_progress *p, const char *what, int64_t total, int enabled);

/* Names what done counts ("days", "windows", "pages", "events"), shown
 * after the number; none by default.  unit is copied. */
void etl_progress_unit(etl_progress *p, const char *unit);

/*
 * Records progress: done units finished so far and records handled so far
 * (both cumulative, not increments).  Redraws when 250 ms have passed since
 * the last drawing (and 500 ms since the start).  Cheap when inactive:
 * call it as often as convenient.
 */
void etl_progress_update(etl_progress *p, int64_t done, int64_t records);

/*
 * Erases the line, if one is shown, so that a log message can be written;
 * the next update draws it again.  Call it before logging while a progress
 * line is active (e.g. -v's per-window lines).
 */
void etl_progress_clear(etl_progress *p);

/* Erases the line and stops.  Safe to call twice, and on an inactive p. */
void etl_progress_end(etl_progress *p);

/*
 * Formats the text of the line (no '\r', no newline) into buf (size n):
 * what, done[/total unit (pct%)], records, the rate of records per second
 * over elapsed seconds, and with a total an ETA.  Numbers get thousands
 * separators.  Always NUL-terminates; cuts to fit.  Exported for the tests.
 */
void etl_progress_format(char *buf, size_t n, const char *what, const char *unit, int64_t done,
			 int64_t total, int64_t records, double elapsed);

#endif

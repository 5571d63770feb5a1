/*
 * metrics.h - the Prometheus textfile that `etl run` leaves behind.
 *
 * A batch job has no port to scrape, so after each run etl writes its
 * figures to a file that node_exporter's textfile collector reads
 * (--collector.textfile.directory; the file name must end in ".prom").
 * The file is replaced atomically: a scrape sees the old file or the new
 * one, never half of one.
 *
 * Every metric is a gauge.  Per-run figures are "what the last run did"
 * (etl_last_run_*): they are not monotonic, so they must not be counters
 * (promtool insists that counters end in _total and only grow).  Levels
 * (watermark, Helix backlog, quarantine size) are read from the database
 * after the run.  A value the caller could not learn (-1, or has_* = 0) is
 * left out of the file rather than written as a guess, so that an alert on
 * it does not fire on a number etl made up.
 *
 *   etl_last_run_timestamp_seconds      when the last run finished (Unix time)
 *   etl_last_success_timestamp_seconds  when the last successful run finished
 *   etl_last_run_duration_seconds       how long it took
 *   etl_last_run_exit_code              its exit status (contract section 7)
 *   etl_last_run_success                1 when the exit status was 0, else 0
 *   etl_last_run_windows                hour windows it committed
 *   etl_last_run_records{outcome}       loaded | duplicate | quarantined
 *                                       (they add up to the records fetched)
 *   etl_last_run_loaded_records{change} inserted | updated | unchanged
 *                                       (they add up to outcome="loaded")
 *   etl_last_run_helix_events{outcome}  sent | updated | failed
 *   etl_watermark_timestamp_seconds     the start of the next window to load
 *   etl_watermark_lag_seconds           the run's clock minus the watermark
 *   etl_helix_pending                   outbox rows pending or inflight
 *   etl_helix_failed                    outbox rows failed permanently
 *   etl_quarantine_records              rows in the quarantine table
 */
#ifndef ETL_METRICS_H
#define ETL_METRICS_H

#include <stdint.h>

#include "db.h"
#include "error.h"
#include "runlog.h"
#include "timeutil.h"

typedef struct etl_metrics {
	/* The real wall clock (not --now): Prometheus compares these with
	 * time(), and a replay with --now still ran at this moment. */
	etl_time started;        /* when the run began */
	etl_time finished;       /* when it ended (just before writing) */
	int exit_code;           /* 0 = success */

	/* When the last successful run finished.  Used only when this run
	 * failed: etl_metrics_write then writes the later of this value and
	 * the one in the file it replaces (either may be missing). */
	int has_last_success;
	etl_time last_success;

	/* This run's figures, summed over its windows (contract section 3). */
	int64_t windows;
	int64_t loaded, duplicates, quarantined;
	int64_t inserted, updated, unchanged;
	int64_t helix_sent, helix_updated, helix_failed_run;

	/* Levels after the run; etl_metrics_fill_levels() reads them. */
	int has_watermark;
	etl_time watermark;      /* watermark.next_window */
	etl_time clock;          /* the run's clock (ctx->now), for the lag */
	int64_t helix_pending;   /* -1 = unknown */
	int64_t helix_failed;    /* -1 = unknown */
	int64_t quarantine_rows; /* -1 = unknown */
} etl_metrics;

/* Zeroes *m and marks every level unknown (-1, has_* = 0). */
void etl_metrics_init(etl_metrics *m);

/* Copies a run's summed counts (runlog.h) into the per-run figures; c's
 * helix_failed becomes helix_failed_run (helix_pending, a level, is left to
 * etl_metrics_fill_levels). */
void etl_metrics_set_counts(etl_metrics *m, const etl_run_counts *c);

/*
 * Reads the levels from the database into *m: the watermark, the Helix
 * outbox's pending (pending + inflight) and failed rows, the quarantine's
 * size, and (has_last_success) the finish of the newest run of command
 * "run" with status 'ok'.  Call it outside a failed transaction (roll back
 * first).  On error returns -1 with err set and leaves the levels unknown; a
 * caller writing metrics after a failure should ignore that error and write
 * what it has.
 */
int etl_metrics_fill_levels(etl_db *db, etl_metrics *m, etl_err *err);

/*
 * Renders *m as Prometheus text exposition format into buf (size n),
 * with HELP and TYPE lines.  prev_success_s (-1 = none) is the last success
 * of the file being replaced; a failed run keeps the later of it and
 * m->last_success.  Returns the length
 * written, or -1 when buf is too small.  (Exported for the unit test.)
 */
int etl_metrics_format(char *buf, size_t n, const etl_metrics *m, double prev_success_s);

/*
 * Writes the file at path atomically: a temporary file in the same
 * directory, fsync, rename over path, fsync of the directory; the temporary
 * file is removed on any error.  The file is made readable by everyone
 * (0644) since node_exporter runs as another user.  For a failed run the
 * etl_last_success_timestamp_seconds of the file being replaced is carried
 * over, or m->last_success when that is later (left out when neither is
 * known).
 * Returns 0, or -1 with ETL_EIO and a message naming the path.
 */
int etl_metrics_write(const char *path, const etl_metrics *m, etl_err *err);

/*
 * All of the above for the end of `etl run`, in one call: fills an
 * etl_metrics with started (real clock at the run's start), the real clock
 * now as finished, exit_code, the counts c (may be NULL: all 0), the levels
 * from db (may be NULL, or fail: they are then left out) measured against
 * clock (ctx->now), and writes path.  Call it after the runs row is closed
 * and no transaction is open, on success and on failure alike.  Returns 0,
 * or -1 with err set by etl_metrics_write (ETL_EIO); a database error while
 * reading the levels is not returned.
 */
int etl_metrics_record_run(const char *path, etl_db *db, etl_time started, etl_time clock, int exit_code,
			   const etl_run_counts *c, etl_err *err);

#endif

/*
 * runlog.h - the runs table: one row per invocation that loads data
 * (etl run, fetch, backfill, rejects replay), so that `etl status` and the
 * lock's error message can say what ran, when, and how it ended.
 *
 * The row is inserted and committed at the start (status 'running'), its
 * counters grow inside each window's own transaction (so a killed run's row
 * still counts exactly the windows it committed), and it is closed at the
 * end with the status, exit code, message and final counts.
 *
 * Every function here must be called with the run lock held (db.h,
 * etl_db_lock): that is what makes a 'running' row of another process stale.
 */
#ifndef ETL_RUNLOG_H
#define ETL_RUNLOG_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"

/* The counts of a window, and summed, of a run (contract section 3):
 *   fetched = loaded + duplicates + quarantined
 *   loaded  = inserted + updated + unchanged */
typedef struct etl_run_counts {
	int64_t windows;
	int64_t fetched, loaded, duplicates, quarantined;
	int64_t inserted, updated, unchanged;
	int64_t helix_sent, helix_updated, helix_failed, helix_pending;
} etl_run_counts;

/* Adds every count of b to a (helix_pending too: callers that want a
 * snapshot overwrite it). */
void etl_run_counts_add(etl_run_counts *a, const etl_run_counts *b);

/* Whether the two identities above hold. */
int etl_run_counts_consistent(const etl_run_counts *c);

/* The counts as one JSON object with exactly the keys of contract section 3
 * ("windows", "fetched", ..., "helix_pending"), integers, no newline.
 * Caller frees with free(); NULL on out of memory. */
char *etl_run_counts_json(const etl_run_counts *c);

/* The same object with "dry_run": true added last, for the output of a dry
 * run, which must not pass for a real one.  Caller frees; NULL on out of
 * memory. */
char *etl_run_counts_json_dry_run(const etl_run_counts *c);

/* The load counts in words, for people (a dry run's summary):
 * "3 windows, 120 records fetched: 110 would load (100 new, 5 changed,
 * 5 unchanged), 4 duplicates, 6 quarantined".  Writes into buf (size n),
 * always NUL-terminated, cut to fit. */
void etl_run_counts_describe(char *buf, size_t n, const etl_run_counts *c);

/* Marks every 'running' row 'killed' (with the lock held, no other etl is
 * running: those processes died), then inserts this run's row with command,
 * pid and host, in autocommit.  *run_id gets the new row's id.  The caller
 * must not have a transaction open.  Returns 0 or -1. */
int etl_runlog_start(etl_db *db, const char *command, int64_t *run_id, etl_err *err);

/* Adds a committed window's counts to the run's row (windows + 1, and the
 * load counts; not the Helix ones).  Meant to run inside the window's own
 * transaction.  Returns 0 or -1. */
int etl_runlog_add_window(etl_db *db, int64_t run_id, const etl_run_counts *c, etl_err *err);

/* Closes the run's row: status (NULL = 'ok' when exit_code is 0, else
 * 'failed'; or 'dry_run'), exit_code, message (may be NULL), finished_at,
 * and every count from c.  Runs in autocommit; a transaction left open by an
 * error path is rolled back first.  Returns 0 or -1 (the caller usually only
 * logs it: the run's own outcome matters more). */
int etl_runlog_finish(etl_db *db, int64_t run_id, const char *status, int exit_code, const char *message,
		      const etl_run_counts *c, etl_err *err);

#endif

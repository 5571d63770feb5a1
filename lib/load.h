/*
 * load.h - the load path: one sales window in one transaction (contract
 * sections 2 and 3).
 *
 * A window is fetched page by page (source.h); each sale is validated
 * (validate.h) and either quarantined (quarantine.h) or appended to COPY
 * buffers for two temp staging tables.  Each staged sale gets its fetch
 * sequence number and the md5 of its content (every stored column and its
 * line items, computed in C).  The buffers go to the server in chunks, one
 * COPY each, and each chunk's sales that are new to the database and to
 * the window so far are written at once by one statement (customers,
 * transactions, line items) that the server runs while the client fetches
 * and validates the next pages; a chunk is what accumulated while the
 * server was busy with the one before, at most 8 MiB, so the client's
 * memory is bounded whatever the window's size.  Then set-based SQL merges
 * what is left of the window (duplicates, sales stored before, anything
 * the chunks could not decide alone), with the same outcome as merging the
 * whole window at once:
 *   1. duplicates collapse: per transaction_id the greatest updated_at wins
 *      (present beats absent), then the one fetched last;
 *   2. the sales whose md5 differs from the stored one (or that are new) are
 *      listed in the temp table window_changed(transaction_id, inserted);
 *      unchanged sales are not written at all; a sale a chunk wrote whose
 *      version then lost the collapse is rewritten like an update, but
 *      counted as inserted (it is new to the database);
 *   3. customers: each customer of a changed sale takes that sale's fields
 *      when it is later (transaction_date, then transaction_id) than the
 *      customer's stored latest; customers whose stored latest sale was
 *      itself changed are recomputed from transactions after the merge;
 *   4. transactions are upserted (ON CONFLICT ... WHERE md5 differs) and
 *      their line items replaced;
 *   5. quarantine rows this window added that repeat an identical older row
 *      (resource, key, raw) are dropped, and older sales rejects whose
 *      transaction_id loaded in this window are removed (resolved);
 *   6. Helix events are queued (helix.h) when asked;
 *   7. the run_windows row, the runs counters and (etl run) the watermark.
 * Then COMMIT.  Any error rolls the whole window back: no sale, line,
 * customer, quarantine row, outbox row or watermark move of it survives.
 *
 * Errors: the source failing after its retries is ETL_EUNAVAIL (69), data
 * the source sent that cannot be used at all (the source says so) is
 * ETL_EDATA (65); a window whose records are all invalid is not an error
 * (they are quarantined).  Counts that do not add up are ETL_EINTERNAL.
 * The loader never prints; -v lines go to the log.
 */
#ifndef ETL_LOAD_H
#define ETL_LOAD_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "db.h"
#include "error.h"
#include "runlog.h"
#include "source.h"
#include "timeutil.h"
#include "validate.h"

/* What a loader does besides loading, fixed for its life. */
#define ETL_LOAD_WATERMARK (1u << 0)  /* move the watermark to each window's end (etl run) */
#define ETL_LOAD_HELIX     (1u << 1)  /* queue Helix events in each window and send them
				       * after each commit; ignored when Helix is off */
#define ETL_LOAD_DRY_RUN   (1u << 2)  /* roll each window back instead of committing, send
				       * nothing to Helix; a job does not refresh the
				       * reference data (that refresh commits on its own) */

typedef struct etl_loader etl_loader;

/* Prepares a loader on db (its temp tables are created before its first
 * window, in autocommit: no transaction may be open when a window starts).  Borrows db, cfg, src (may be NULL for replay
 * only) and ref (the reference data sales are validated against): they must
 * outlive the loader.  run_id is the runs row the windows are recorded
 * under.  *out owned by the caller: etl_loader_close().  Returns 0 or -1. */
int etl_loader_open(etl_loader **out, etl_db *db, const etl_config *cfg, etl_source *src,
		    const etl_refdata *ref, int64_t run_id, unsigned flags, etl_err *err);
void etl_loader_close(etl_loader *l);

/* Parses a reject ratio, a decimal from 0 to 1 with at most 9 places
 * ("0", "0.05", ".5", "1", "1.0"), into parts per billion.  Returns 0, or -1
 * when s is anything else. */
int etl_load_parse_ratio(const char *s, int64_t *out_ppb);

/* Limits the share of a window's fetched records that may be quarantined,
 * in parts per billion (-1, the default: no limit).  A window whose
 * quarantined / fetched exceeds it is rolled back and etl_load_window fails
 * with ETL_EDATA (65) and a message naming the window, the counts and the
 * most frequent reason codes.  Checked before the merge: the window's
 * records are fetched and validated, nothing of it is written. */
void etl_loader_set_max_reject(etl_loader *l, int64_t ppb);

/* Calls fn(arg, fetched) after each page of a window, fetched being the
 * window's records so far (for a progress line; fn must not use the
 * database).  fn NULL: none (the default). */
void etl_loader_set_page_hook(etl_loader *l, void (*fn)(void *arg, int64_t fetched), void *arg);

/* Loads one window [since, until) in one transaction, as described above.
 * *out gets the window's counts (windows = 1) when it committed (or, with
 * ETL_LOAD_DRY_RUN, rolled back as asked); on error it is zeroed, the window
 * is rolled back and -1 returned with err set. */
int etl_load_window(etl_loader *l, const etl_window *win, etl_run_counts *out, etl_err *err);

/* For benchmarks (test/bench): loads one window whose sales are already
 * validated and flattened, as CSV rows of the staging table in its column
 * order (seq, the transactions columns of the merge, content_md5, then the
 * line items as three arrays), sent with one COPY and merged exactly as
 * etl_load_window merges (counts, run_windows, watermark likewise).  The
 * loader may have no source.  Returns 0, or -1 with the window rolled back. */
int etl_load_window_csv(etl_loader *l, const etl_window *win, FILE *csv, etl_run_counts *out, etl_err *err);

/* Gives the next window to load: 1 with *out filled, 0 when there are no
 * more. */
typedef int (*etl_window_fn)(void *arg, etl_window *out);

/* Loads every window next() gives, oldest first as given, each committed on
 * its own; after each commit (with ETL_LOAD_HELIX and Helix on) sends the
 * outbox, and with no window at all sends it once, so a backlog left by an
 * earlier run goes out.  Logs one line per window at INFO (-v).  *total gets
 * the sums over the committed windows, Helix counts included (helix_pending:
 * what still waits at the end).
 *
 * Returns 0, or -1 with err set: a window that fails stops the run at once
 * (the windows before it stay committed); a Helix send that fails stops the
 * sending only: the remaining windows still load (their events wait in the
 * outbox) and the Helix error is returned at the end. */
int etl_load_windows(etl_loader *l, etl_window_fn next, void *arg, etl_run_counts *total, etl_err *err);

/* `etl rejects replay`: validates every quarantined sale again against the
 * loader's reference data (no window check) and loads those that pass
 * through the same merge, in one transaction; they leave the quarantine.
 * Those that still fail stay, their reasons updated.  A quarantined sale
 * whose stored transaction is newer (a greater updated_at, or one where the
 * quarantined record has none) is not loaded: it is superseded and leaves
 * the quarantine, counted as a duplicate.  With ETL_LOAD_HELIX (and Helix
 * on) the loaded sales get their events queued and sent after the commit.
 * *out: fetched = quarantined sales examined, quarantined = still failing.
 * Returns 0 or -1 (everything rolled back). */
int etl_load_replay(etl_loader *l, etl_run_counts *out, etl_err *err);

/* The watermark: *has = 0 on a database that has none yet.  Returns 0 or -1. */
int etl_load_watermark(etl_db *db, int *has, etl_time *out, etl_err *err);

/* ---- a job: what every loading command does around its windows -------- */

/* One invocation of run, fetch, backfill or rejects replay: its runs row,
 * the source, the reference data and a loader.  Every member is owned by
 * the job (etl_load_job_end frees them); db and cfg are borrowed. */
typedef struct etl_load_job {
	etl_db *db;
	const etl_config *cfg;
	etl_source *src;       /* NULL without ETL_LOAD_JOB_SOURCE */
	etl_refdata *ref;
	etl_loader *loader;
	int64_t run_id;        /* 0 until the runs row exists */
	unsigned flags;        /* as given to etl_load_job_start */
	etl_run_counts total;  /* the command adds its windows here */
} etl_load_job;

#define ETL_LOAD_JOB_SOURCE  (1u << 8)  /* open the source */
#define ETL_LOAD_JOB_REFRESH (1u << 9)  /* with the source: refresh the reference snapshots first */

/* Starts a job (the run lock must be held): records the run under command
 * ("run", "fetch", ...), opens the source, refreshes the reference
 * snapshots (not with ETL_LOAD_DRY_RUN: the refresh is a commit of its own,
 * so a dry run checks sales against the stored reference data), loads the
 * reference data and opens a loader with the ETL_LOAD_* bits of flags.  On error the job is still safe to end (and
 * should be: the runs row, once written, is closed there).  Returns 0 or -1. */
int etl_load_job_start(etl_load_job *job, etl_db *db, const etl_config *cfg, const char *command,
		       unsigned flags, etl_err *err);

/* Closes the runs row with the outcome (exit_code 0: 'ok', or 'dry_run'
 * with ETL_LOAD_DRY_RUN; else 'failed' with err's message) and job->total,
 * and frees what the job holds. */
void etl_load_job_end(etl_load_job *job, int exit_code, const etl_err *err);

#endif

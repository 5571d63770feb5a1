/*
 * helix.h - Verkada Helix: the outbox of sales events and the sender that
 * delivers it exactly once (contract section 4, helix.md).
 *
 * Two halves with a database table between them (helix_outbox, schema 001
 * and 004):
 *
 *  - etl_helix_enqueue() runs INSIDE a window's transaction, after the
 *    loader's merge, and turns the window's changed sales into outbox rows
 *    with set-based SQL.  No network.  The rows commit with the sales.
 *
 *  - etl_helix_send() runs AFTER a commit (never inside a transaction) and
 *    sends what the outbox holds: curl multi with ETL_HELIX_CONCURRENCY
 *    requests in flight, paced to ETL_HELIX_RATE requests per second (every
 *    request counts: token, event type, events, footage links).
 *
 * Exactly once: a row is committed as 'inflight' before its POST or PATCH
 * leaves; a request whose outcome is unknown (timeout, dropped connection,
 * 5xx, the process killed) leaves it 'inflight', and an inflight row is
 * always resolved with a GET of its triple before anything else is sent for
 * it.  A sale's (camera_id, time_ms) never changes once a request for it may
 * have gone out.  POSTs and PATCHes go on connections of their own, because
 * libcurl re-sends a request by itself when a re-used connection dies
 * before the answer, which for a POST the server applied is a second event.
 *
 * The token, the event type's uid and the pacer are kept for the process
 * (the loader sends after every window); they hold no heap memory.
 *
 * Neither function prints to stdout or exits; both log on stderr through
 * log.h.  The API key and the token are never logged (the token is
 * registered with etl_log_secret as soon as it arrives).
 */
#ifndef ETL_HELIX_H
#define ETL_HELIX_H

#include <stdint.h>

#include "config.h"
#include "db.h"
#include "error.h"

/*
 * Queues Helix events for the sales of the current window.  Call it inside
 * the window's transaction, after the merge, when etl_config_helix_on(cfg)
 * and the command queues events (run; fetch/backfill with --emit).
 *
 * Reads the temp table window_changed(transaction_id text primary key,
 * inserted boolean) that the loader filled with the sales it inserted or
 * updated in this window (unchanged sales need not be listed; listing them
 * is harmless).  For each of those sales:
 *  - paid, with a camera, no outbox row yet: a 'pending' create, at time_ms
 *    = transaction_date in epoch ms (truncated to the ms), moved forward
 *    1 ms at a time while (camera, time_ms) is taken.  New sales are placed
 *    in (time, transaction_id) order (byte order), each after the rows
 *    already queued: two sales of one window in one millisecond get it in
 *    transaction_id order; a sale queued later yields to one queued before;
 *  - an event already sent whose attributes changed (including a refund:
 *    the status attribute changes): op 'update', state 'pending' (a PATCH);
 *  - a row never sent whose sale is no longer paid or lost its camera: the
 *    row is removed (it is kept, with new attributes, while 'inflight');
 *  - a row never sent whose camera or date changed: moved to its new slot.
 * run_id (> 0) is recorded on the rows it touches; 0 records none.
 *
 * Returns the number of outbox rows created or changed (>= 0), or -1 with
 * err set (ETL_EUNAVAIL when the connection is lost, else ETL_EINTERNAL);
 * the caller then rolls the window back.
 */
int etl_helix_enqueue(etl_db *db, int64_t run_id, etl_err *err);

/*
 * What one etl_helix_send() call did.  sent, updated and failed count this
 * call's events (sum them over a run's calls); pending is a level, not a
 * count: the rows left 'pending' or 'inflight' in the outbox when the call
 * returned (take the last call's value, do not sum it).
 */
typedef struct etl_helix_stats {
	int64_t sent;     /* events created (POST confirmed, or found by GET) */
	int64_t updated;  /* events updated (PATCH confirmed) */
	int64_t failed;   /* rows marked 'failed' (refused permanently) */
	int64_t pending;  /* rows still waiting after the call */
} etl_helix_stats;

/*
 * Sends what the outbox holds: 'inflight' rows are resolved first (GET),
 * then 'pending' creates (POST) and updates (PATCH); with retry_failed the
 * 'failed' rows are made 'pending' again first.  With
 * cfg->helix_footage_links, each event created also gets its footage link
 * stored in helix_outbox.footage_url.  Works through the outbox in batches,
 * so memory stays bounded whatever its size.  With nothing to send it makes
 * no request at all.
 *
 * Must be called outside any transaction on db (it commits the 'inflight'
 * mark before each request); cfg must have Helix on.  *stats is always
 * filled (zeros plus pending when nothing was attempted).
 *
 * Returns 0 when every row was sent, failed permanently, or is left for a
 * later try only because this call was told not to retry it; -1 with err:
 *  - ETL_ECONFIG (78): the API key is refused (401 on /token, or 401 again
 *    right after a new token), the key lacks Helix permission (403), or the
 *    event type exists with a different schema.  Sending stopped; the rest
 *    stays pending.
 *  - ETL_EUNAVAIL (69): Helix (or PostgreSQL) did not answer after the
 *    retries; sending stopped, the rest stays pending or inflight for the
 *    next run or `etl emit`.
 *  - ETL_EINTERNAL: called inside a transaction, or an impossible state.
 * In every case the sales already committed stay committed: the caller
 * may go on loading windows but should not call etl_helix_send again in
 * the same run after a -1, and should exit with err->code at the end.
 */
int etl_helix_send(etl_db *db, const etl_config *cfg, int retry_failed,
		   etl_helix_stats *stats, etl_err *err);

/* The rows waiting ('pending' or 'inflight') and 'failed' in the outbox,
 * for a run's summary when Helix is off or nothing was sent.  Either out
 * pointer may be NULL.  Returns 0 or -1. */
int etl_helix_backlog(etl_db *db, int64_t *pending, int64_t *failed, etl_err *err);

/* Test knob (etl emit --token-ttl, not in the help): the token's renewal
 * age in seconds (default 25 * 60).  Process-wide; 0 restores the default. */
void etl_helix_set_token_ttl(int seconds);

/* Called after each event is settled (sent, updated or failed) by
 * etl_helix_send, with the counts so far and the number of events it set out
 * to send; for a progress line.  fn NULL = none.  arg is borrowed. */
typedef void (*etl_helix_progress_fn)(void *arg, const etl_helix_stats *stats, int64_t total);
void etl_helix_set_progress(etl_helix_progress_fn fn, void *arg);

#endif

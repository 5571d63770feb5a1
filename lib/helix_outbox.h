/*
 * helix_outbox.h - the SQL side of Helix (internal to lib/helix*.c): the
 * enqueue statements, and the small state changes the sender commits one
 * by one around its requests.
 *
 * Every function runs its statements on db as given: the mark_* functions
 * are called outside a transaction, so each is its own commit, and that
 * commit is what makes "inflight before the request leaves" true.
 * All return 0 or -1 with err filled by etl_db_fail (ETL_EUNAVAIL when the
 * connection is lost).
 */
#ifndef ETL_HELIX_OUTBOX_H
#define ETL_HELIX_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"

/* One outbox row as the sender needs it; strings owned by the row. */
typedef struct etl_helix_row {
	char *tid;          /* transaction_id */
	char *camera;       /* camera_id */
	char *uid;          /* event_type_uid, NULL until a request went out */
	char *attributes;   /* what the event should hold, JSON text */
	char *queued_at;    /* the keyset position, text */
	int64_t time_ms;
	int inflight;       /* state 'inflight': resolve with a GET first */
	int update;         /* op 'update' (a PATCH) */
	int confirmed;      /* sent_attributes set: the event exists on the server */
} etl_helix_row;

void etl_helix_row_release(etl_helix_row *r);

/* Where the last fetch stopped (keyset), so a batch never returns rows the
 * sender still holds.  Zero-initialise; free with etl_helix_cursor_release. */
typedef struct etl_helix_cursor {
	int started;
	int phase;          /* 0 inflight rows, 1 pending rows */
	char *queued_at;
	char *tid;
} etl_helix_cursor;

void etl_helix_cursor_release(etl_helix_cursor *c);

/* Before sending: with retry_failed, 'failed' rows become 'pending'; an
 * update whose attributes came back to what was sent is 'sent' again. */
int etl_helix_outbox_prepare(etl_db *db, int retry_failed, etl_err *err);

/* Whether anything waits: rows 'pending'/'inflight' (*events) and rows
 * whose footage link is due (*footage). */
int etl_helix_outbox_work(etl_db *db, int64_t *events, int64_t *footage, etl_err *err);

/* Up to limit rows 'inflight' then 'pending', oldest queued first, after
 * *cursor (advanced).  *out (caller frees each row and the array) gets *n
 * rows; *n == 0 means the outbox is exhausted. */
int etl_helix_outbox_fetch(etl_db *db, etl_helix_cursor *cursor, int limit,
			   etl_helix_row **out, size_t *n, etl_err *err);

/* Up to limit rows whose footage link is due, transaction_id after
 * *after_tid (advanced; caller frees).  Same ownership as fetch. */
int etl_helix_outbox_fetch_footage(etl_db *db, char **after_tid, int limit,
				   etl_helix_row **out, size_t *n, etl_err *err);

/* Commits 'inflight' (and the event type's uid where the row had none,
 * attempts + 1) for n rows, before their requests leave. */
int etl_helix_outbox_mark_inflight(etl_db *db, const char *const *tids, size_t n,
				   const char *uid, etl_err *err);

/* The server has the row's attributes: 'sent', sent_attributes set; with
 * footage the link becomes due. */
int etl_helix_outbox_mark_sent(etl_db *db, const char *tid, int footage, etl_err *err);
int etl_helix_outbox_mark_failed(etl_db *db, const char *tid, const char *message, etl_err *err);
/* The request was refused before anything happened (429, 403, no
 * connection): 'pending' again, nothing to resolve. */
int etl_helix_outbox_mark_pending(etl_db *db, const char *tid, etl_err *err);
/* Removes a row never sent whose sale no longer wants an event. */
int etl_helix_outbox_delete(etl_db *db, const char *tid, etl_err *err);

/* Compares what the server holds (server_attrs, JSON text) with the row:
 * *equal as jsonb (so 104.5 equals 104.50); *confirmed whether the event
 * was known to exist; *wanted whether the sale still wants an event
 * (status paid).  *found = 0 when the row is gone. */
int etl_helix_outbox_compare(etl_db *db, const char *tid, const char *server_attrs,
			     int *found, int *equal, int *confirmed, int *wanted, etl_err *err);

/* Stores a footage link (url NULL: give up on it) and clears footage_due. */
int etl_helix_outbox_set_footage(etl_db *db, const char *tid, const char *url, etl_err *err);

/* The event type uid recorded for name (*uid NULL when none; caller frees). */
int etl_helix_type_get(etl_db *db, const char *name, char **uid, etl_err *err);
int etl_helix_type_put(etl_db *db, const char *name, const char *uid, const char *schema,
		       etl_err *err);

#endif

/*
 * refsync.h - the reference snapshots (contract sections 1 and 3): stores,
 * pos, cameras, items and exchange_rates, refreshed at the start of every
 * `etl run`, and the etl_refdata that validation of sales needs.
 *
 * For each resource, in that order: every page is fetched; each record is
 * validated (lib/validate.h; a POS or camera must name a store / POS known
 * to the database or listed earlier in this refresh); invalid records go to
 * the quarantine with their reasons and never block the rest; valid ones go
 * into a staging table with one COPY per page, then one upsert per resource
 * writes only the rows whose content changed (or that were soft-deleted and
 * came back).  Duplicates of one key inside a snapshot: the one fetched last
 * wins.  After a COMPLETE snapshot, stores / pos / cameras / items it no
 * longer lists get deleted_at = now() (never removed); exchange rates are
 * never deleted.  A record the snapshot lists but that fails validation
 * keeps its stored row as it was (neither updated nor soft-deleted).
 *
 * Transactions: one for the whole refresh, so a concurrent reader (`etl
 * report`) sees the reference data before or after a refresh, never one in
 * progress, and an idle refresh costs one commit.  The caller must not
 * have a transaction open; etl_refsync_all begins and ends its own.
 *
 * A snapshot that fails part-way (the source unavailable after retries, or
 * sending unusable data): the records of that snapshot read so far, and the
 * earlier resources' complete refreshes (with their soft-deletes), are
 * committed; nothing of the failed snapshot is soft-deleted; the remaining
 * resources are skipped; etl_refsync_all returns -1 with the source's error
 * (ETL_EUNAVAIL, or ETL_EDATA), so that `etl run` stops before any sales
 * window: the watermark stays and the next run redoes the refresh.  Keeping
 * the good records read is safe: the next complete snapshot corrects
 * anything.  A database error (or out of memory) rolls the whole refresh
 * back and returns -1 (ETL_EUNAVAIL / ETL_EINTERNAL per db.h).
 *
 * Quarantine of reference records: a snapshot lists the same bad record
 * every hour; a record identical (resource, key and raw JSON) to one
 * already in the quarantine is not stored again, so the quarantine does not
 * grow by the same rows at every run.  It still counts as quarantined in
 * the stats.
 */
#ifndef ETL_REFSYNC_H
#define ETL_REFSYNC_H

#include <stdint.h>

#include "db.h"
#include "error.h"
#include "source.h"
#include "validate.h"

/* The resources, in the order they are refreshed. */
typedef enum etl_refsync_resource {
	ETL_REF_STORES = 0,
	ETL_REF_POS,
	ETL_REF_CAMERAS,
	ETL_REF_ITEMS,
	ETL_REF_RATES,
	ETL_REF_COUNT
} etl_refsync_resource;

/* The API's name of a resource ("stores", ..., "exchange_rates"); static. */
const char *etl_refsync_resource_name(etl_refsync_resource r);

/* Counts for one resource.  Every record fetched ends in exactly one of
 * quarantined, duplicates, inserted, updated, restored, unchanged:
 *   fetched = quarantined + duplicates + inserted + updated + restored + unchanged
 * (restored rows may also have changed content; they count once, as
 * restored).  soft_deleted counts stored rows this snapshot no longer lists
 * (only after a complete snapshot). */
typedef struct etl_refsync_counts {
	int64_t fetched;       /* records received */
	int64_t quarantined;   /* failed validation */
	int64_t duplicates;    /* an earlier record of a key listed again later */
	int64_t inserted;      /* new keys */
	int64_t updated;       /* stored rows whose content changed */
	int64_t restored;      /* soft-deleted rows listed again (deleted_at cleared) */
	int64_t unchanged;     /* stored rows left as they were (not rewritten) */
	int64_t soft_deleted;  /* stored rows no longer listed: deleted_at set */
	int complete;          /* 1 when every page was read */
	int attempted;         /* 1 when the refresh of this resource began */
	double elapsed_ms;     /* fetch + validate + write of this resource */
} etl_refsync_counts;

typedef struct etl_refsync_stats {
	etl_refsync_counts res[ETL_REF_COUNT];
	double elapsed_ms;     /* the whole refresh */
} etl_refsync_stats;

/* Refreshes every reference snapshot, in order, from src into db (see the
 * top of this file for transactions and failures).  run_id is recorded on
 * quarantined records (0 = none).  *stats (may be NULL) is zeroed and then
 * filled, also on failure (for the resources attempted).  Returns 0, or -1
 * with err set: ETL_EUNAVAIL when the source or database is unavailable,
 * ETL_EDATA when the source sent data that cannot be used at all,
 * ETL_EINTERNAL otherwise. */
int etl_refsync_all(etl_db *db, etl_source *src, int64_t run_id, etl_refsync_stats *stats, etl_err *err);

/* Logs one info line per resource attempted (for -v), and nothing else. */
void etl_refsync_log(const etl_refsync_stats *stats);

/* Builds the reference data that validation of sales needs from the
 * database, in one query: every store, POS (with its store), camera and item
 * id, soft-deleted ones included (they still resolve for historical sales),
 * and per currency its earliest rate date.  *out is owned by the caller:
 * etl_refdata_free().  Returns 0, or -1 with err set (database error, or
 * ETL_EINTERNAL on out of memory); *out is then NULL. */
int etl_refdata_load(etl_db *db, etl_refdata **out, etl_err *err);

#endif

/*
 * quarantine.h - records that failed validation, stored whole with every
 * reason (contract section 2), written in the caller's transaction.
 *
 * Rows are buffered and sent with one COPY per flush, so a page full of bad
 * records costs one round trip.  The caller flushes before its commit (the
 * window's transaction: a rolled-back window leaves no quarantine rows).
 */
#ifndef ETL_QUARANTINE_H
#define ETL_QUARANTINE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "copybuf.h"
#include "db.h"
#include "validate.h"

typedef struct etl_quarantine {
	etl_db *db;        /* borrowed */
	int64_t run_id;    /* 0 = none */
	etl_copybuf buf;
	int64_t added;     /* records added since etl_quarantine_init */
} etl_quarantine;

void etl_quarantine_init(etl_quarantine *q, etl_db *db, int64_t run_id);

/* Buffers one record: its resource ("sales", "stores", ...), key (may be
 * NULL), reasons (at least one) and the record itself, printed with its
 * exact numbers.  Returns 0 or -1 (out of memory). */
int etl_quarantine_add(etl_quarantine *q, const char *resource, const char *key,
		       const etl_reasons *reasons, const cJSON *record, etl_err *err);

/* Sends the buffered rows (COPY into quarantine).  Returns 0 or -1. */
int etl_quarantine_flush(etl_quarantine *q, etl_err *err);

void etl_quarantine_release(etl_quarantine *q);

#endif

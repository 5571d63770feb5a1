/*
 * source.h - the retail API (contract section 1): paginated JSON lists,
 * fetched one page at a time so memory is bounded by a page.
 *
 * Transient failures (429, 5xx, network errors and timeouts, a 200 whose body
 * is not the envelope) are retried with exponential backoff and jitter,
 * honouring Retry-After, up to cfg->http_retries times; then the call fails
 * with ETL_EUNAVAIL.  Any other 4xx fails at once with ETL_EUNAVAIL and the
 * server's message.
 */
#ifndef ETL_SOURCE_H
#define ETL_SOURCE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

typedef struct etl_source etl_source;

/* Counters for -v and the metrics; reset by nobody, they only grow. */
typedef struct etl_source_stats {
	int64_t requests;  /* HTTP requests made, retries included */
	int64_t retries;   /* of which were retries */
	int64_t pages;     /* envelopes accepted */
	int64_t records;   /* records handed to callbacks */
	int64_t bytes;     /* response bytes received (decompressed) */
} etl_source_stats;

/* Borrows cfg (it must outlive the source).  *out owned: etl_source_close(). */
int etl_source_open(etl_source **out, const etl_config *cfg, etl_err *err);
void etl_source_close(etl_source *src);

/* Called once per page with the envelope's "data" array (borrowed: valid only
 * during the call; numbers carry their exact text, see json.h).  Return 0 to
 * go on, -1 (with err set) to stop: etl_source_fetch then returns -1. */
typedef int (*etl_page_fn)(void *arg, const cJSON *data, etl_err *err);

/* GETs {base}/v1/{resource}?limit=..[&since=..&until=..][&cursor=..] and
 * follows next_cursor until it is null, calling fn for every page in order.
 * since/until (RFC 3339, may be NULL) are sent as given.  Returns 0 when the
 * list was read to its end, -1 otherwise (the callback's error, or
 * ETL_EUNAVAIL / ETL_EDATA from the source). */
int etl_source_fetch(etl_source *src, const char *resource, const char *since, const char *until,
		     etl_page_fn fn, void *arg, etl_err *err);

const etl_source_stats *etl_source_get_stats(const etl_source *src);

#endif

/*
 * config.h - configuration from a KEY=value file, the environment and options.
 *
 * Precedence (contract section 6): options > environment > file.  The caller
 * loads the file and the environment with etl_config_load(), then applies
 * command-line options with etl_config_set().  Every string is owned by the
 * etl_config and freed by etl_config_release().
 *
 * Secrets (ETL_SOURCE_TOKEN, ETL_HELIX_API_KEY, and the password in
 * ETL_DATABASE_URL) are registered with the log's redactor as they are read.
 * Each may also come from a file named by the same key with _FILE appended;
 * such a file readable by group or others draws a warning.
 */
#ifndef ETL_CONFIG_H
#define ETL_CONFIG_H

#include "error.h"

typedef struct etl_config {
	char *database_url;      /* ETL_DATABASE_URL, NULL = libpq defaults */
	char *source_url;        /* ETL_SOURCE_URL, trailing '/' removed */
	char *source_token;      /* ETL_SOURCE_TOKEN(_FILE), secret */
	char *source_tz;         /* ETL_SOURCE_TZ, default "UTC" */
	int page_limit;          /* ETL_SOURCE_PAGE_LIMIT, default 1000 */
	int http_timeout_s;      /* ETL_HTTP_TIMEOUT, whole request, default 60 */
	int http_connect_timeout_s; /* ETL_HTTP_CONNECT_TIMEOUT, default 10 */
	int http_retries;        /* ETL_HTTP_RETRIES, attempts after the first, default 6 */
	int http_backoff_ms;     /* ETL_HTTP_BACKOFF_MS, first backoff, default 500 */
	int http_backoff_max_ms; /* ETL_HTTP_BACKOFF_MAX_MS, cap, default 30000 */

	char *helix_url;         /* ETL_HELIX_URL, default https://api.verkada.com */
	char *helix_api_key;     /* ETL_HELIX_API_KEY(_FILE), secret; NULL = Helix off */
	char *helix_event_type;  /* ETL_HELIX_EVENT_TYPE, default "Sales Transaction" */
	int helix_concurrency;   /* ETL_HELIX_CONCURRENCY, default 4 */
	double helix_rate;       /* ETL_HELIX_RATE requests/s, default 5 (not money) */
	int helix_footage_links; /* ETL_HELIX_FOOTAGE_LINKS, 0/1 */

	char *now;               /* ETL_NOW, RFC 3339, NULL = the real clock */
	char *metrics_file;      /* ETL_METRICS_FILE, NULL = none */
	char *statement_timeout; /* ETL_STATEMENT_TIMEOUT, e.g. "10min", NULL = server default */
} etl_config;

/* Fills *out with defaults, then the file (may be NULL), then the
 * environment.  On error (unreadable file, malformed line, bad value) returns
 * -1 with ETL_ECONFIG naming the variable or line; *out is then released. */
int etl_config_load(etl_config *out, const char *file, etl_err *err);

/* Sets one key ("ETL_SOURCE_URL", ...) from a string, validating it.
 * Unknown keys are an error (ETL_ECONFIG).  Returns 0 or -1. */
int etl_config_set(etl_config *cfg, const char *key, const char *value, etl_err *err);

/* Whether key is one this version knows (used to warn about typos). */
int etl_config_known_key(const char *key);

/* Checks that what a subcommand needs is there: ETL_CONFIG_NEED_SOURCE
 * requires ETL_SOURCE_URL.  Returns -1 with ETL_ECONFIG naming the variable. */
#define ETL_CONFIG_NEED_SOURCE 1u
int etl_config_require(const etl_config *cfg, unsigned need, etl_err *err);

/* Whether Helix sending is configured (an API key is set). */
int etl_config_helix_on(const etl_config *cfg);

void etl_config_release(etl_config *cfg);

#endif

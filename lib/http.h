/*
 * http.h - a small libcurl wrapper: one reused easy handle per etl_http (so
 * connections are kept alive between pages), bounded responses, and URLs
 * whose every query value is percent-encoded.
 *
 * What every request gets, with no switch to turn it off:
 *   - TLS peer and host verification;
 *   - a connect timeout and a total timeout, and a low-speed limit that
 *     aborts a transfer stalled (under 1 byte/s) for low_speed_time_s;
 *   - compressed transfer (Accept-Encoding: whatever libcurl supports);
 *   - http and https only, no redirects followed (a 3xx is returned as is),
 *     CURLOPT_NOSIGNAL (safe with threads and with our own timers);
 *   - a response body capped at max_body bytes.
 * An `Authorization: Bearer <token>` header is sent when a token is set; the
 * token is never logged.  curl_global_init() is the caller's (cmd/etl.c).
 *
 * An etl_http is not thread-safe: one per thread.
 */
#ifndef ETL_HTTP_H
#define ETL_HTTP_H

#include "strbuf.h"
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct etl_http etl_http;

typedef struct etl_http_opts {
	const char *bearer_token;  /* may be NULL; copied */
	int connect_timeout_s;     /* <= 0: 10 */
	int timeout_s;             /* whole request; <= 0: 60 */
	int low_speed_time_s;      /* <= 0: 30 */
	size_t max_body;           /* 0: ETL_HTTP_MAX_BODY */
} etl_http_opts;

#define ETL_HTTP_MAX_BODY ((size_t)256 << 20)

/* One response, valid until the next request on the same etl_http (the body
 * buffer is reused).  Everything is borrowed from the etl_http. */
typedef struct etl_http_resp {
	long status;               /* HTTP status, 0 when none was received */
	const char *body;          /* NUL-terminated (the NUL is not in len) */
	size_t len;
	const char *retry_after;   /* the Retry-After header's value, or NULL */
	double elapsed_ms;         /* the whole request */
} etl_http_resp;

/* Creates the handle.  *out owned by the caller: etl_http_close().
 * Returns 0, or -1 (ETL_EINTERNAL) when libcurl cannot be set up. */
int etl_http_open(etl_http **out, const etl_http_opts *opts, etl_err *err);
void etl_http_close(etl_http *h);

/* What a transport failure was, for the caller's retry decision. */
typedef enum etl_http_fail {
	ETL_HTTP_OK = 0,
	ETL_HTTP_NETWORK,   /* resolve, connect, reset, TLS, timeout, stall: transient */
	ETL_HTTP_TOO_BIG,   /* the body exceeded max_body: not worth retrying */
	ETL_HTTP_NOMEM,
} etl_http_fail;

/* Sends one request and waits for the whole response.  method is "GET",
 * "POST", "PATCH", ...; body (may be NULL) of body_len bytes is sent as is
 * with content_type (may be NULL); headers is a NULL-terminated list of
 * extra "Name: value" lines (may be NULL).
 * Returns 0 when a response arrived, whatever its status (*out filled).
 * Returns -1 when none did: *fail says why (may be NULL) and err has a
 * sentence with libcurl's detail: ETL_EUNAVAIL for network failures,
 * ETL_EDATA for an oversized body, ETL_EINTERNAL for out of memory. */
int etl_http_request(etl_http *h, const char *method, const char *url, const char *body,
		     size_t body_len, const char *content_type, const char *const *headers,
		     etl_http_resp *out, etl_http_fail *fail, etl_err *err);

/* GET without body or extra headers. */
int etl_http_get(etl_http *h, const char *url, etl_http_resp *out, etl_http_fail *fail, etl_err *err);

/* ---- URLs -------------------------------------------------------------- */

/* A URL being built: base, then path segments, then query arguments, every
 * segment and value percent-encoded (RFC 3986 unreserved characters pass).
 * Allocation failures are sticky: etl_http_url_str() then returns NULL. */
typedef struct etl_http_url {
	etl_strbuf text;
	int nquery;  /* query arguments so far */
	int oom;     /* escaping failed */
} etl_http_url;

#define ETL_HTTP_URL_INIT { ETL_STRBUF_INIT, 0, 0 }

/* Starts with base as given (e.g. "https://api.example.com"; a trailing '/'
 * is removed).  Resets whatever u held. */
void etl_http_url_base(etl_http_url *u, const char *base);
/* Appends raw text to the path, unescaped ("/v1/"): for constant parts. */
void etl_http_url_raw(etl_http_url *u, const char *text);
/* Appends one path segment, escaped, preceded by '/'. */
void etl_http_url_segment(etl_http_url *u, const char *segment);
/* Appends "?key=value" or "&key=value", both escaped. */
void etl_http_url_query(etl_http_url *u, const char *key, const char *value);
void etl_http_url_query_int(etl_http_url *u, const char *key, long long value);
/* Copies url to dst (size n) without any "user:password@" part, and
 * without the query string unless keep_query: for logs and messages. */
void etl_http_url_for_log(char *dst, size_t n, const char *url, int keep_query);

/* The URL (borrowed from u), or NULL when an append failed. */
const char *etl_http_url_str(const etl_http_url *u);
void etl_http_url_release(etl_http_url *u);

#endif

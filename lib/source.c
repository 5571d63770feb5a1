/* source.c - see source.h.
 *
 * One page at a time: the response body lives in the etl_http's buffer
 * (reused from page to page) and the parsed page in one cJSON tree, freed
 * before the next request, so memory is bounded by the largest page.
 */
#include "source.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "json.h"
#include "log.h"
#include "retry.h"

/* A Retry-After longer than this is not waited for in a cron job: the run
 * stops (69) and the next one tries again. */
#define RETRY_AFTER_MAX_MS (300 * 1000)

struct etl_source {
	const etl_config *cfg;  /* borrowed */
	etl_http *http;
	etl_source_stats stats;
};

int etl_source_open(etl_source **out, const etl_config *cfg, etl_err *err)
{
	etl_http_opts o = { 0 };
	etl_source *s = NULL;
	int ret = -1;

	*out = NULL;
	if (!cfg->source_url || !*cfg->source_url) {
		etl_err_set(err, ETL_ECONFIG, "ETL_SOURCE_URL is not set");
		etl_err_hint(err, "set ETL_SOURCE_URL to the retail API's base URL");
		goto cleanup;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		etl_err_set(err, ETL_EINTERNAL, "out of memory opening the source");
		goto cleanup;
	}
	s->cfg = cfg;
	o.bearer_token = cfg->source_token;
	o.connect_timeout_s = cfg->http_connect_timeout_s;
	o.timeout_s = cfg->http_timeout_s;
	if (etl_http_open(&s->http, &o, err) < 0)
		goto cleanup;
	*out = s;
	s = NULL;
	ret = 0;
cleanup:
	etl_source_close(s);
	return ret;
}

void etl_source_close(etl_source *src)
{
	if (!src)
		return;
	etl_http_close(src->http);
	free(src);
}

const etl_source_stats *etl_source_get_stats(const etl_source *src)
{
	return &src->stats;
}

/* Copies at most 200 bytes of a body for a message, printable ASCII only
 * (a body may be binary or HTML; a message is one line). */
static void body_excerpt(char *dst, size_t n, const char *body, size_t len)
{
	size_t j = 0;

	if (len > 200)
		len = 200;
	for (size_t i = 0; i < len && j + 1 < n; i++) {
		unsigned char c = (unsigned char)body[i];
		dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	dst[j] = '\0';
	while (j > 0 && dst[j - 1] == ' ')
		dst[--j] = '\0';
}

/* The server's own words for an error response: the JSON "message" (or
 * "error") string when the body has one, else the start of the body. */
static void server_message(char *dst, size_t n, const char *body, size_t len)
{
	cJSON *root = etl_json_parse(body, len, NULL);
	const cJSON *m = NULL;

	if (cJSON_IsObject(root)) {
		m = cJSON_GetObjectItemCaseSensitive(root, "message");
		if (!cJSON_IsString(m))
			m = cJSON_GetObjectItemCaseSensitive(root, "error");
	}
	if (cJSON_IsString(m) && m->valuestring)
		body_excerpt(dst, n, m->valuestring, strlen(m->valuestring));
	else
		body_excerpt(dst, n, body, len);
	if (!*dst)
		snprintf(dst, n, "(empty body)");
	cJSON_Delete(root);
}

/* Checks the envelope {"data": [...], "next_cursor": "..." | null}.
 * Returns the parsed root (caller deletes) or NULL with why filled. */
static cJSON *parse_envelope(const etl_http_resp *r, const cJSON **data, const cJSON **next,
			     char *why, size_t whysz)
{
	size_t off = 0;
	cJSON *root = etl_json_parse(r->body, r->len, &off);

	if (!root) {
		if (r->len == 0)
			snprintf(why, whysz, "an empty body");
		else if (off >= r->len)
			snprintf(why, whysz, "truncated JSON (%zu bytes)", r->len);
		else
			snprintf(why, whysz, "a body that is not valid JSON or is truncated (parsing stopped at byte %zu of %zu)",
				 off, r->len);
		return NULL;
	}
	*data = cJSON_GetObjectItemCaseSensitive(root, "data");
	*next = cJSON_GetObjectItemCaseSensitive(root, "next_cursor");
	if (!cJSON_IsObject(root))
		snprintf(why, whysz, "JSON that is not an object");
	else if (!*data)
		snprintf(why, whysz, "an object without \"data\"");
	else if (!cJSON_IsArray(*data))
		snprintf(why, whysz, "\"data\" that is not an array");
	else if (!*next)
		snprintf(why, whysz, "an object without \"next_cursor\"");
	else if (!cJSON_IsString(*next) && !cJSON_IsNull(*next))
		snprintf(why, whysz, "\"next_cursor\" that is neither a string nor null");
	else
		return root;
	cJSON_Delete(root);
	return NULL;
}

/* Builds the URL of one page; NULL on out of memory. */
static const char *page_url(etl_http_url *u, const etl_source *s, const char *resource,
			    const char *since, const char *until, const char *cursor)
{
	etl_http_url_base(u, s->cfg->source_url);
	etl_http_url_raw(u, "/v1");
	etl_http_url_segment(u, resource);
	etl_http_url_query_int(u, "limit", s->cfg->page_limit > 0 ? s->cfg->page_limit : 1000);
	if (since)
		etl_http_url_query(u, "since", since);
	if (until)
		etl_http_url_query(u, "until", until);
	if (cursor)
		etl_http_url_query(u, "cursor", cursor);
	return etl_http_url_str(u);
}

/* The outcome of one request. */
enum outcome { PAGE_OK, PAGE_RETRY, PAGE_FAIL };

/*
 * Makes one request and classifies it.  PAGE_OK: *root is the envelope.
 * PAGE_RETRY: transient; why says what happened, *retry_after_ms what the
 * server asked for (-1 none).  PAGE_FAIL: err is set.
 */
static enum outcome request_page(etl_source *s, const char *url, const char *resource, cJSON **root,
				 const cJSON **data, const cJSON **next, char *why, size_t whysz,
				 int64_t *retry_after_ms, etl_err *err)
{
	etl_http_resp r;
	etl_http_fail fail = ETL_HTTP_OK;
	etl_err herr = ETL_ERR_INIT;
	char msg[256], where[512];

	*root = NULL;
	*retry_after_ms = -1;
	s->stats.requests++;
	if (etl_log_get_level() >= ETL_LOG_DEBUG) {
		char logged[2048];
		etl_http_url_for_log(logged, sizeof(logged), url, 1);
		etl_debug("GET %s", logged);
	}
	etl_http_url_for_log(where, sizeof(where), url, 0);
	if (etl_http_get(s->http, url, &r, &fail, &herr) < 0) {
		if (fail == ETL_HTTP_NETWORK) {
			snprintf(why, whysz, "%s", herr.msg);
			return PAGE_RETRY;
		}
		*err = herr;
		if (fail == ETL_HTTP_TOO_BIG)
			etl_err_hint(err, "lower ETL_SOURCE_PAGE_LIMIT so that a page is smaller");
		return PAGE_FAIL;
	}
	s->stats.bytes += (int64_t)r.len;
	etl_debug("%s page: HTTP %ld, %zu bytes in %.0f ms", resource, r.status, r.len, r.elapsed_ms);
	if (r.status >= 200 && r.status <= 299) {
		*root = parse_envelope(&r, data, next, msg, sizeof(msg));
		if (*root)
			return PAGE_OK;
		snprintf(why, whysz, "HTTP %ld with %s", r.status, msg);
		return PAGE_RETRY;
	}
	if (etl_retry_status_transient(r.status)) {
		server_message(msg, sizeof(msg), r.body, r.len);
		if (r.retry_after) {
			time_t now = time(NULL);
			*retry_after_ms = etl_retry_after_ms(r.retry_after, (int64_t)now);
		}
		snprintf(why, whysz, "HTTP %ld: %s", r.status, msg);
		return PAGE_RETRY;
	}
	server_message(msg, sizeof(msg), r.body, r.len);
	etl_err_set(err, ETL_EUNAVAIL, "the retail API refused GET %s with HTTP %ld: %s", where, r.status, msg);
	if (r.status == 401 || r.status == 403)
		etl_err_hint(err, "check ETL_SOURCE_TOKEN (the source's API token), then run etl again");
	else if (r.status == 404)
		etl_err_hint(err, "check ETL_SOURCE_URL (the base URL, without /v1), then run etl again");
	else if (r.status >= 300 && r.status <= 399)
		etl_err_hint(err, "set ETL_SOURCE_URL to the URL the source redirects to (etl does not follow redirects)");
	else
		etl_err_hint(err, "the request is refused as sent and retrying will not help: check the configuration and the source");
	return PAGE_FAIL;
}

int etl_source_fetch(etl_source *src, const char *resource, const char *since, const char *until,
		     etl_page_fn fn, void *arg, etl_err *err)
{
	const etl_config *cfg = src->cfg;
	etl_http_url u = ETL_HTTP_URL_INIT;
	char *cursor = NULL, *prev = NULL;
	cJSON *root = NULL;
	int64_t page = 0;
	int ret = -1;

	for (;;) {
		const cJSON *data = NULL, *next = NULL;
		const char *url = page_url(&u, src, resource, since, until, cursor);
		char why[1200] = "", where[512];
		int attempt = 0;

		if (!url) {
			etl_err_set(err, ETL_EINTERNAL, "out of memory building a URL");
			goto cleanup;
		}
		etl_http_url_for_log(where, sizeof(where), url, 0);
		page++;
		for (;;) {
			int64_t after_ms, delay;
			enum outcome o = request_page(src, url, resource, &root, &data, &next, why,
						      sizeof(why), &after_ms, err);

			if (o == PAGE_OK)
				break;
			if (o == PAGE_FAIL)
				goto cleanup;
			if (after_ms > RETRY_AFTER_MAX_MS) {
				etl_err_set(err, ETL_EUNAVAIL,
					    "the retail API asked to wait %lld s before retrying GET %s (%s)",
					    (long long)(after_ms / 1000), where, why);
				etl_err_hint(err, "the source is throttling; the next run will try again");
				goto cleanup;
			}
			if (attempt >= cfg->http_retries) {
				etl_err_set(err, ETL_EUNAVAIL,
					    "the retail API failed to deliver page %lld of %s in %d attempt%s; the last: %s",
					    (long long)page, resource, attempt + 1, attempt ? "s" : "", why);
				etl_http_url_for_log(where, sizeof(where), cfg->source_url, 0);
				etl_err_hint(err, "check that ETL_SOURCE_URL (%s) is reachable and healthy; "
					     "nothing was lost, the next run will try again", where);
				goto cleanup;
			}
			attempt++;
			src->stats.retries++;
			delay = etl_retry_delay_ms(attempt, cfg->http_backoff_ms, cfg->http_backoff_max_ms, after_ms);
			etl_info("retrying %s page %lld in %lld ms (retry %d of %d): %s", resource,
				 (long long)page, (long long)delay, attempt, cfg->http_retries, why);
			etl_sleep_ms(delay);
		}

		src->stats.pages++;
		src->stats.records += cJSON_GetArraySize(data);
		free(prev);
		prev = cursor;
		cursor = NULL;
		if (cJSON_IsString(next)) {
			cursor = strdup(next->valuestring);
			if (!cursor) {
				etl_err_set(err, ETL_EINTERNAL, "out of memory reading a page");
				goto cleanup;
			}
			/* A cursor that does not move would loop forever. */
			if (prev && strcmp(prev, cursor) == 0) {
				etl_err_set(err, ETL_EDATA,
					    "the retail API returned the same next_cursor twice for %s", resource);
				etl_err_hint(err, "the source's pagination is broken; report it to its owners");
				goto cleanup;
			}
		}
		if (fn(arg, data, err) < 0)
			goto cleanup;
		/* the page is done with: free it before the next request */
		cJSON_Delete(root);
		root = NULL;
		if (!cursor)
			break;
	}
	ret = 0;
cleanup:
	cJSON_Delete(root);
	free(cursor);
	free(prev);
	etl_http_url_release(&u);
	return ret;
}

/* http.c - see http.h. */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct etl_http {
	CURL *curl;
	struct curl_slist *auth;  /* the Authorization header alone, or NULL */
	size_t max_body;
	etl_strbuf body;          /* the response being received, at most max_body */
	char retry_after[128];
	int has_retry_after;
	char errbuf[CURL_ERROR_SIZE];
};

/* Appends to the response body, up to max_body.  Returning less than
 * asked makes libcurl abort with CURLE_WRITE_ERROR. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	etl_http *h = arg;
	size_t n = size * nmemb;

	etl_strbuf_add(&h->body, data, n);
	return etl_strbuf_failed(&h->body) ? 0 : n;
}

/* Keeps the Retry-After header of the final response.  libcurl calls this
 * for every header line, of every response (an interim 100 too), so a new
 * status line clears what an earlier response said. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	etl_http *h = arg;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		h->has_retry_after = 0;
		h->retry_after[0] = '\0';
	} else if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1, *end = data + n;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && isspace((unsigned char)end[-1]))
			end--;
		if ((size_t)(end - v) < sizeof(h->retry_after)) {
			memcpy(h->retry_after, v, (size_t)(end - v));
			h->retry_after[end - v] = '\0';
			h->has_retry_after = 1;
		}
	}
	return n;
}

/* Options that hold for every request of the handle. */
static int setup(etl_http *h, const etl_http_opts *o)
{
	CURL *c = h->curl;
	int ok = 1;

#define SET(opt, val) ok &= curl_easy_setopt(c, opt, val) == CURLE_OK
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, h->errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, h);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, h);
	SET(CURLOPT_CONNECTTIMEOUT, (long)(o->connect_timeout_s > 0 ? o->connect_timeout_s : 10));
	SET(CURLOPT_TIMEOUT, (long)(o->timeout_s > 0 ? o->timeout_s : 60));
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, (long)(o->low_speed_time_s > 0 ? o->low_speed_time_s : 30));
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_USERAGENT, "etl/" ETL_VERSION);
#undef SET
	return ok ? 0 : -1;
}

int etl_http_open(etl_http **out, const etl_http_opts *opts, etl_err *err)
{
	etl_http_opts none = { 0 };
	etl_http *h = NULL;
	char *line = NULL;
	int ret = -1;

	*out = NULL;
	if (!opts)
		opts = &none;
	h = calloc(1, sizeof(*h));
	if (!h) {
		etl_err_set(err, ETL_EINTERNAL, "out of memory setting up HTTP");
		goto cleanup;
	}
	h->max_body = opts->max_body ? opts->max_body : ETL_HTTP_MAX_BODY;
	etl_strbuf_init(&h->body, h->max_body);
	h->curl = curl_easy_init();
	if (!h->curl || setup(h, opts) < 0) {
		etl_err_set(err, ETL_EINTERNAL, "libcurl could not be set up (version %s)",
			    curl_version_info(CURLVERSION_NOW)->version);
		goto cleanup;
	}
	if (opts->bearer_token && *opts->bearer_token) {
		size_t n = strlen(opts->bearer_token) + sizeof("Authorization: Bearer ");

		line = malloc(n);
		if (!line) {
			etl_err_set(err, ETL_EINTERNAL, "out of memory setting up HTTP");
			goto cleanup;
		}
		snprintf(line, n, "Authorization: Bearer %s", opts->bearer_token);
		h->auth = curl_slist_append(NULL, line);
		if (!h->auth) {
			etl_err_set(err, ETL_EINTERNAL, "out of memory setting up HTTP");
			goto cleanup;
		}
	}
	*out = h;
	h = NULL;
	ret = 0;
cleanup:
	free(line);
	etl_http_close(h);
	return ret;
}

void etl_http_close(etl_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->auth);
	etl_strbuf_release(&h->body);
	free(h);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void etl_http_url_for_log(char *dst, size_t n, const char *url, int keep_query)
{
	const char *scheme = strstr(url, "://"), *host = url, *at, *rest;
	size_t hostlen, restlen;

	if (scheme) {
		host = scheme + 3;
		/* userinfo ends at the last '@' before the path */
		hostlen = strcspn(host, "/?#");
		at = NULL;
		for (const char *p = host; p < host + hostlen; p++)
			if (*p == '@')
				at = p;
		if (at) {
			rest = at + 1;
			restlen = keep_query ? strlen(rest) : strcspn(rest, "?#");
			snprintf(dst, n, "%.*s%.*s", (int)(host - url), url, (int)restlen, rest);
			return;
		}
	}
	restlen = keep_query ? strlen(url) : strcspn(url, "?#");
	snprintf(dst, n, "%.*s", (int)restlen, url);
}

/* Appends a header line; 0, or -1 when out of memory (*list unchanged). */
static int add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (!l)
		return -1;
	*list = l;
	return 0;
}

int etl_http_request(etl_http *h, const char *method, const char *url, const char *body,
		     size_t body_len, const char *content_type, const char *const *headers,
		     etl_http_resp *out, etl_http_fail *fail, etl_err *err)
{
	struct curl_slist *hdrs = NULL;
	CURL *c = h->curl;
	CURLcode rc;
	char where[512], ctype[256];
	double t0 = now_ms();
	int ret = -1, oom = 0;
	etl_http_fail why = ETL_HTTP_OK;

	memset(out, 0, sizeof(*out));
	if (!method)
		method = "GET";
	etl_strbuf_reset(&h->body);
	h->has_retry_after = 0;
	h->retry_after[0] = '\0';
	h->errbuf[0] = '\0';
	etl_http_url_for_log(where, sizeof(where), url, 0);

	/* The header list: the token, the content type, the caller's lines,
	 * and no "Expect: 100-continue" (one more round trip per POST). */
	for (const struct curl_slist *a = h->auth; a && !oom; a = a->next)
		oom = add_header(&hdrs, a->data) < 0;
	if (content_type && !oom) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
		oom = add_header(&hdrs, ctype) < 0;
	}
	for (int i = 0; headers && headers[i] && !oom; i++)
		oom = add_header(&hdrs, headers[i]) < 0;
	if (body && !oom)
		oom = add_header(&hdrs, "Expect:") < 0;
	if (oom) {
		why = ETL_HTTP_NOMEM;
		etl_err_set(err, ETL_EINTERNAL, "out of memory on a request to %s", where);
		goto cleanup;
	}

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, (char *)NULL);
	} else {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") == 0 ? NULL : method);
	}

	rc = curl_easy_perform(c);
	/* the list is freed below: libcurl must not keep a pointer to it, nor
	 * to the caller's body */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, (char *)NULL);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
	}
	out->elapsed_ms = now_ms() - t0;
	if (!h->body.too_big)
		etl_strbuf_add(&h->body, "", 0);  /* an empty answer is "" too */
	if (h->body.oom) {
		why = ETL_HTTP_NOMEM;
		etl_err_set(err, ETL_EINTERNAL, "out of memory on a request to %s", where);
		goto cleanup;
	}
	if (h->body.too_big) {
		why = ETL_HTTP_TOO_BIG;
		if (h->max_body >= ((size_t)1 << 20))
			etl_err_set(err, ETL_EDATA, "the response from %s is larger than %zu MiB", where,
				    h->max_body >> 20);
		else
			etl_err_set(err, ETL_EDATA, "the response from %s is larger than %zu bytes", where,
				    h->max_body);
		goto cleanup;
	}
	if (rc != CURLE_OK) {
		why = ETL_HTTP_NETWORK;
		etl_err_set(err, ETL_EUNAVAIL, "%s %s failed: %s", method, where,
			    h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
		goto cleanup;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	out->body = h->body.p;
	out->len = h->body.len;
	out->retry_after = h->has_retry_after ? h->retry_after : NULL;
	ret = 0;
cleanup:
	if (fail)
		*fail = why;
	curl_slist_free_all(hdrs);
	return ret;
}

int etl_http_get(etl_http *h, const char *url, etl_http_resp *out, etl_http_fail *fail, etl_err *err)
{
	return etl_http_request(h, "GET", url, NULL, 0, NULL, NULL, out, fail, err);
}

/* ---- URLs -------------------------------------------------------------- */

static void url_add(etl_http_url *u, const char *s, size_t n)
{
	etl_strbuf_add(&u->text, s, n);
}

static void url_add_escaped(etl_http_url *u, const char *s)
{
	char *e;

	if (u->oom)
		return;
	/* libcurl >= 7.82 ignores the handle: escaping needs no connection */
	e = curl_easy_escape(NULL, s, (int)strlen(s));
	if (!e) {
		u->oom = 1;
		return;
	}
	url_add(u, e, strlen(e));
	curl_free(e);
}

void etl_http_url_base(etl_http_url *u, const char *base)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	etl_strbuf_reset(&u->text);
	u->nquery = 0;
	u->oom = 0;
	url_add(u, base, n);
}

void etl_http_url_raw(etl_http_url *u, const char *text)
{
	url_add(u, text, strlen(text));
}

void etl_http_url_segment(etl_http_url *u, const char *segment)
{
	url_add(u, "/", 1);
	url_add_escaped(u, segment);
}

void etl_http_url_query(etl_http_url *u, const char *key, const char *value)
{
	url_add(u, u->nquery++ ? "&" : "?", 1);
	url_add_escaped(u, key);
	url_add(u, "=", 1);
	url_add_escaped(u, value);
}

void etl_http_url_query_int(etl_http_url *u, const char *key, long long value)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", value);
	etl_http_url_query(u, key, num);
}

const char *etl_http_url_str(const etl_http_url *u)
{
	return u->oom || etl_strbuf_failed(&u->text) || !u->text.p ? NULL : u->text.p;
}

void etl_http_url_release(etl_http_url *u)
{
	etl_strbuf_release(&u->text);
	u->nquery = 0;
	u->oom = 0;
}

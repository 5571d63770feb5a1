/*
 * helix.c - the Helix sender: token, event type, and the paced, concurrent,
 * exactly-once delivery of the outbox (see helix.h for the contract).
 *
 * Shape: one curl multi handle with up to ETL_HELIX_CONCURRENCY transfers,
 * fed from an in-memory list of jobs (at most BATCH outbox rows at a time)
 * and gated by a token bucket (helix_pace.h).  Each job is one outbox row
 * and moves through kinds:
 *
 *   RESOLVE  GET the triple (the row was 'inflight': outcome unknown)
 *            200 + same attributes -> sent;  200 + other attributes -> UPDATE
 *            404 -> CREATE (or drop the row if the sale is no longer paid)
 *   CREATE   POST the event            200 -> sent (then FOOTAGE if asked)
 *   UPDATE   PATCH the attributes      200 -> sent
 *   FOOTAGE  GET the footage link      200 -> stored
 *
 * The row is committed 'inflight' before a CREATE or UPDATE goes out.  A
 * CREATE or UPDATE whose answer never came (timeout, reset, 5xx) turns into
 * a RESOLVE: the GET decides, so a retry can never make a second event.
 *
 * The token and the event type's uid are cached for the process (the
 * loader calls etl_helix_send once per window; fetching a token and the
 * type each time would spend the rate limit on nothing).  The cache holds
 * no heap memory, so nothing needs releasing at exit.
 */
#include "helix.h"
#include "helix_outbox.h"
#include "helix_pace.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "retry.h"
#include "strbuf.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BATCH 256                  /* outbox rows held in memory at most */
#define MAX_RESPONSE (1u << 20)    /* Helix answers are small; more is an error */
#define TOKEN_RENEW_S (25 * 60)    /* tokens live 30 minutes: renew at 25 */
#define MAX_MESSAGE 400            /* of a server's error message kept */

#define PATH_TOKEN "/token"
#define PATH_TYPE  "/cameras/v1/video_tagging/event_type"
#define PATH_EVENT "/cameras/v1/video_tagging/event"
#define PATH_LINK  "/cameras/v1/footage/link"

/* Contract section 4: the event type's schema, in the order of the text. */
static const char *const schema_names[] = { "transaction_id", "total", "currency", "store", "pos",
					    "items", "status" };
static const char *const schema_types[] = { "string", "float", "string", "string", "string",
					    "integer", "string" };
#define SCHEMA_N 7
static const char schema_text[] =
	"{\"transaction_id\": \"string\", \"total\": \"float\", \"currency\": \"string\", "
	"\"store\": \"string\", \"pos\": \"string\", \"items\": \"integer\", \"status\": \"string\"}";

/* ---- the process-wide session ------------------------------------------- */

static struct {
	char base[1024];      /* the ETL_HELIX_URL the rest belongs to */
	uint64_t key_hash;    /* which API key (a hash: the key is not kept) */
	char token[8192];     /* "" = none */
	double token_at;      /* monotonic ms when it arrived */
	unsigned token_gen;   /* bumped at each new token */
	int token_stale;      /* a 401 said it no longer works */
	char type_name[512];  /* the event type resolved for this session */
	char uid[256];
	/* The pacer lives as long as the process, not one send: the loader
	 * sends after every window, and a fresh bucket per call would let
	 * each call start with a token the last one already spent. */
	etl_helix_pace pace;
	double pace_rate;     /* the rate it was set up for; 0 = not yet */
} session;

static int token_ttl_s = TOKEN_RENEW_S;

static etl_helix_progress_fn progress_fn;
static void *progress_arg;
static int64_t progress_total;

void etl_helix_set_progress(etl_helix_progress_fn fn, void *arg)
{
	progress_fn = fn;
	progress_arg = arg;
}

static void report_progress(const etl_helix_stats *stats)
{
	if (progress_fn)
		progress_fn(progress_arg, stats, progress_total);
}

void etl_helix_set_token_ttl(int seconds)
{
	token_ttl_s = seconds > 0 ? seconds : TOKEN_RENEW_S;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Forgets the cache when the configuration names another server or key. */
static void session_bind(const etl_config *cfg)
{
	uint64_t kh = fnv1a(cfg->helix_api_key ? cfg->helix_api_key : "");

	if (strcmp(session.base, cfg->helix_url) != 0 || session.key_hash != kh) {
		memset(&session, 0, sizeof(session));
		snprintf(session.base, sizeof(session.base), "%s", cfg->helix_url);
		session.key_hash = kh;
	}
	if (session.pace_rate != cfg->helix_rate) {
		etl_helix_pace_init(&session.pace, cfg->helix_rate, mono_ms());
		session.pace_rate = cfg->helix_rate;
	}
	if (strcmp(session.type_name, cfg->helix_event_type) != 0) {
		session.type_name[0] = '\0';
		session.uid[0] = '\0';
	}
}

/* ---- one HTTP exchange ---------------------------------------------------- */

/* A request and its answer, for one easy handle (multi or blocking). */
struct xfer {
	CURL *easy;
	struct curl_slist *headers;
	etl_http_url url;
	etl_strbuf body, resp;
	char retry_after[64];
	const char *method;
	int too_big;
	unsigned token_gen;   /* the token it carried */
	struct job *job;      /* NULL for blocking requests */
	double started;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (x->resp.len + len > MAX_RESPONSE) {
		x->too_big = 1;
		return 0;  /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	etl_strbuf_add(&x->resp, data, len);
	return x->resp.oom ? 0 : len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		size_t v = sizeof(name) - 1, e = len;

		while (v < len && (data[v] == ' ' || data[v] == '\t'))
			v++;
		while (e > v && (data[e - 1] == '\r' || data[e - 1] == '\n' || data[e - 1] == ' '))
			e--;
		snprintf(x->retry_after, sizeof(x->retry_after), "%.*s", (int)(e - v), data + v);
	}
	return len;
}

/* Sets up x->easy for method x->url (x->body when it has one).  auth:
 * 0 none, 1 the session token, 2 the API key (POST /token). */
static int xfer_setup(struct xfer *x, const etl_config *cfg, const char *method, int auth, etl_err *err)
{
	struct curl_slist *h = NULL, *t;
	etl_strbuf line = ETL_STRBUF_INIT;
	CURLcode rc = CURLE_OK;

	curl_slist_free_all(x->headers);
	x->headers = NULL;
	etl_strbuf_reset(&x->resp);
	x->too_big = 0;
	x->retry_after[0] = '\0';
	x->method = method;
	curl_easy_reset(x->easy);

	if (auth == 1) {
		etl_strbuf_adds(&line, "x-verkada-auth: ");
		etl_strbuf_adds(&line, session.token);
		x->token_gen = session.token_gen;
	} else if (auth == 2) {
		etl_strbuf_adds(&line, "x-api-key: ");
		etl_strbuf_adds(&line, cfg->helix_api_key ? cfg->helix_api_key : "");
	}
	if (line.oom || !etl_http_url_str(&x->url))
		goto oom;
	if (line.p) {
		if (!(t = curl_slist_append(h, line.p)))
			goto oom;
		h = t;
	}
	if (!(t = curl_slist_append(h, "Accept: application/json")))
		goto oom;
	h = t;
	if (x->body.len) {
		if (!(t = curl_slist_append(h, "Content-Type: application/json")))
			goto oom;
		h = t;
	}
	/* The token must not linger in freed memory longer than needed. */
	if (line.p)
		memset(line.p, 0, line.len);
	etl_strbuf_release(&line);
	x->headers = h;

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(x->easy, opt, val); } while (0)
	SET(CURLOPT_URL, etl_http_url_str(&x->url));
	SET(CURLOPT_HTTPHEADER, h);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, (long)cfg->http_connect_timeout_s);
	SET(CURLOPT_TIMEOUT, (long)cfg->http_timeout_s);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, 30L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_PRIVATE, x);
	if (!strcmp(method, "GET")) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		/* libcurl silently sends a request again on a fresh connection
		 * when a re-used one dies before any answer byte; for a POST
		 * that the server already applied (it dropped the connection
		 * after accepting) that is a second event.  A connection of its
		 * own, not re-used, never gets that retry: a dropped answer
		 * is then an error, and the GET of the triple decides. */
		SET(CURLOPT_FRESH_CONNECT, 1L);
		SET(CURLOPT_FORBID_REUSE, 1L);
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, x->body.len ? x->body.p : "");
		SET(CURLOPT_POSTFIELDSIZE, (long)x->body.len);
		if (strcmp(method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
	}
#undef SET
	if (rc != CURLE_OK)
		return etl_err_set(err, ETL_EINTERNAL, "cannot set up a Helix request: %s", curl_easy_strerror(rc));
	return 0;
oom:
	if (line.p)
		memset(line.p, 0, line.len);
	etl_strbuf_release(&line);
	curl_slist_free_all(h);
	return etl_err_set(err, ETL_EINTERNAL, "out of memory building a Helix request");
}

static void xfer_release(struct xfer *x)
{
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	etl_http_url_release(&x->url);
	etl_strbuf_release(&x->body);
	etl_strbuf_release(&x->resp);
	memset(x, 0, sizeof(*x));
}

/* The server's message from an error body ({"message": ...}), else the
 * status line; written to msg. */
static void server_message(const struct xfer *x, long status, char *msg, size_t n)
{
	cJSON *root = x->resp.p ? etl_json_parse(x->resp.p, x->resp.len, NULL) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");

	if (cJSON_IsString(m) && m->valuestring[0])
		snprintf(msg, n, "HTTP %ld: %.*s", status, MAX_MESSAGE, m->valuestring);
	else
		snprintf(msg, n, "HTTP %ld", status);
	cJSON_Delete(root);
}

/* Whether a transport error happened before anything reached the server,
 * so that a POST is known not to have been applied. */
static int never_sent(CURLcode rc)
{
	return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
	       rc == CURLE_COULDNT_CONNECT || rc == CURLE_SSL_CONNECT_ERROR ||
	       rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_UNSUPPORTED_PROTOCOL ||
	       rc == CURLE_URL_MALFORMAT;
}

/* ---- the sender ----------------------------------------------------------- */

enum kind { K_RESOLVE, K_CREATE, K_UPDATE, K_FOOTAGE };
static const char *const kind_names[] = { "GET event", "POST event", "PATCH event", "GET footage link" };

struct job {
	etl_helix_row row;
	enum kind kind;
	int attempt;          /* transient failures so far */
	double not_before;    /* monotonic ms */
	int busy;             /* a request is out */
	int done;
	unsigned auth_gen;    /* the token generation fetched for this job's 401 */
	int db_inflight;      /* the row is 'inflight' in the database */
	int unapplied;        /* the last request is known to have changed nothing */
};

struct sender {
	etl_db *db;
	const etl_config *cfg;
	etl_helix_stats *stats;
	CURLM *multi;
	CURL *sync;              /* blocking requests: token, event type */
	struct xfer *pool;       /* concurrency transfers */
	int npool, active;
	struct job **jobs;
	size_t njobs;
	etl_helix_cursor cursor;
	int events_done;
	char *footage_after;
	int footage_done;
	int base_ms, cap_ms, max_attempts;
	int stopping;
	etl_err stop;
};

static void stop(struct sender *s, const etl_err *e)
{
	if (s->stopping)
		return;
	s->stopping = 1;
	s->stop = *e;
}

static int stop_with(struct sender *s, etl_code code, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int stop_with(struct sender *s, etl_code code, const char *hint, const char *fmt, ...)
{
	etl_err e = ETL_ERR_INIT;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	e.code = code;
	if (hint)
		snprintf(e.hint, sizeof(e.hint), "%s", hint);
	stop(s, &e);
	return -1;
}

/* Builds into u the URL of PATH_EVENT with the event triple as query. */
static void url_event(etl_http_url *u, const char *base, const etl_helix_row *r, const char *uid)
{
	etl_http_url_base(u, base);
	etl_http_url_raw(u, PATH_EVENT);
	etl_http_url_query(u, "camera_id", r->camera);
	etl_http_url_query(u, "event_type_uid", uid);
	etl_http_url_query_int(u, "time_ms", (long long)r->time_ms);
}

static void url_path(etl_http_url *u, const char *base, const char *path)
{
	etl_http_url_base(u, base);
	etl_http_url_raw(u, path);
}

/* ---- blocking requests (token, event type) -------------------------------- */

/* Waits for the pacer (every request counts against the rate limit). */
static void pace_sleep(struct sender *s)
{
	for (;;) {
		double now = mono_ms(), w;

		if (etl_helix_pace_take(&session.pace, now))
			return;
		w = etl_helix_pace_wait(&session.pace, now);
		etl_sleep_ms((int64_t)w + 1);
	}
}

/* Sends one request on the blocking handle, retrying what is transient
 * (429, 5xx, network) up to max_attempts.  Returns 0 with *status (any
 * non-transient status: the caller decides) or -1 with err (ETL_EUNAVAIL
 * when Helix did not answer). */
static int sync_request(struct sender *s, struct xfer *x, const char *method, int auth,
			long *status, etl_err *err)
{
	const char *url = etl_http_url_str(&x->url);
	char what[128];

	snprintf(what, sizeof(what), "%s %s", method,
		 url && strstr(url, "/cameras/") ? strstr(url, "/cameras/") : PATH_TOKEN);
	if (strchr(what, '?'))
		*strchr(what, '?') = '\0';
	for (int attempt = 1;; attempt++) {
		char detail[512];
		int64_t retry_after = -1;
		CURLcode rc;
		double t0;

		pace_sleep(s);
		if (xfer_setup(x, s->cfg, method, auth, err) < 0)
			return -1;
		t0 = mono_ms();
		rc = curl_easy_perform(x->easy);
		*status = 0;
		if (rc == CURLE_OK)
			curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, status);
		etl_debug("helix: %s -> %ld (%s) in %.0f ms", what, *status,
			  rc == CURLE_OK ? "ok" : curl_easy_strerror(rc), mono_ms() - t0);
		if (rc == CURLE_OK && !etl_retry_status_transient(*status))
			return 0;
		if (rc != CURLE_OK) {
			snprintf(detail, sizeof(detail), "%s", x->too_big ? "answer too large" : curl_easy_strerror(rc));
		} else {
			server_message(x, *status, detail, sizeof(detail));
			retry_after = etl_retry_after_ms(x->retry_after[0] ? x->retry_after : NULL, (int64_t)time(NULL));
		}
		if (attempt >= s->max_attempts) {
			etl_err_set(err, ETL_EUNAVAIL, "Helix did not answer %s after %d attempts (%s)",
				    what, attempt, detail);
			etl_err_hint(err, "check ETL_HELIX_URL and the network; queued events stay queued for "
				     "the next run or 'etl emit'");
			return -1;
		}
		{
			int64_t d = etl_retry_delay_ms(attempt, s->base_ms, s->cap_ms, retry_after);

			etl_info("helix: %s failed (%s); trying again in %" PRId64 " ms", what, detail, d);
			if (*status == 429)
				etl_helix_pace_block(&session.pace, mono_ms() + (double)d);
			else
				etl_sleep_ms(d);
		}
	}
}

/* Gets a new token (POST /token with the API key). */
static int token_renew(struct sender *s, etl_err *err)
{
	struct xfer x = { 0 };
	cJSON *root = NULL;
	const cJSON *tok;
	long status;
	int ret = -1;

	x.easy = s->sync;
	url_path(&x.url, s->cfg->helix_url, PATH_TOKEN);
	if (!etl_http_url_str(&x.url)) {
		etl_err_set(err, ETL_EINTERNAL, "out of memory");
		goto cleanup;
	}
	if (sync_request(s, &x, "POST", 2, &status, err) < 0)
		goto cleanup;
	if (status == 401 || status == 403) {
		char msg[512];

		server_message(&x, status, msg, sizeof(msg));
		etl_err_set(err, ETL_ECONFIG, "Helix refused the API key (%s)", msg);
		etl_err_hint(err, "check ETL_HELIX_API_KEY (or ETL_HELIX_API_KEY_FILE) and that ETL_HELIX_URL "
			     "is the key's own region; queued events stay queued");
		goto cleanup;
	}
	root = x.resp.p && status == 200 ? etl_json_parse(x.resp.p, x.resp.len, NULL) : NULL;
	tok = cJSON_GetObjectItemCaseSensitive(root, "token");
	if (!cJSON_IsString(tok) || !tok->valuestring[0] || strlen(tok->valuestring) >= sizeof(session.token)) {
		char msg[512];

		server_message(&x, status, msg, sizeof(msg));
		etl_err_set(err, ETL_EUNAVAIL, "Helix answered POST /token without a token (%s)", msg);
		etl_err_hint(err, "check ETL_HELIX_URL; queued events stay queued for the next run or 'etl emit'");
		goto cleanup;
	}
	etl_log_secret(tok->valuestring);
	snprintf(session.token, sizeof(session.token), "%s", tok->valuestring);
	session.token_at = mono_ms();
	session.token_gen++;
	session.token_stale = 0;
	etl_debug("helix: new token");
	ret = 0;
cleanup:
	if (root) {
		/* Scrub the parsed copy of the token before freeing it. */
		tok = cJSON_GetObjectItemCaseSensitive(root, "token");
		if (cJSON_IsString(tok))
			memset(tok->valuestring, 0, strlen(tok->valuestring));
		cJSON_Delete(root);
	}
	if (x.resp.p)
		memset(x.resp.p, 0, x.resp.cap);
	x.easy = NULL;  /* borrowed */
	xfer_release(&x);
	return ret;
}

static int token_due(void)
{
	return !session.token[0] || session.token_stale ||
	       mono_ms() - session.token_at >= (double)token_ttl_s * 1000.0;
}

/* A blocking request with the token: one new token and one retry on a 401. */
static int sync_authed(struct sender *s, struct xfer *x, const char *method, long *status, etl_err *err)
{
	for (int tries = 0;; tries++) {
		if (token_due() && token_renew(s, err) < 0)
			return -1;
		if (sync_request(s, x, method, 1, status, err) < 0)
			return -1;
		if (*status != 401 || tries == 1)
			break;
		session.token_stale = 1;
	}
	if (*status == 401 || *status == 403) {
		char msg[512];

		server_message(x, *status, msg, sizeof(msg));
		etl_err_set(err, ETL_ECONFIG, "Helix refused the API key's access to Helix (%s)", msg);
		etl_err_hint(err, *status == 403 ?
			     "give the API key Helix read/write permission in Verkada Command, then run 'etl emit'" :
			     "check ETL_HELIX_API_KEY and ETL_HELIX_URL (the key's own region), then run 'etl emit'");
		return -1;
	}
	return 0;
}

/* Whether a server's event_schema is exactly the contract's. */
static int schema_matches(const cJSON *schema)
{
	int n = 0;
	const cJSON *a;

	if (!cJSON_IsObject(schema))
		return 0;
	cJSON_ArrayForEach(a, schema)
		n++;
	if (n != SCHEMA_N)
		return 0;
	for (int i = 0; i < SCHEMA_N; i++) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(schema, schema_names[i]);

		if (!cJSON_IsString(t) || strcmp(t->valuestring, schema_types[i]) != 0)
			return 0;
	}
	return 1;
}

/* Looks the event type up by name: *found = 1 with its uid in uid (size
 * n), 0 when absent; -1 with err (ETL_ECONFIG for a different schema). */
static int type_lookup(struct sender *s, char *uid, size_t n, int *found, etl_err *err)
{
	const char *name = s->cfg->helix_event_type;
	struct xfer x = { 0 };
	cJSON *root = NULL;
	const cJSON *item;
	char msg[512];
	long status;
	int ret = -1;

	*found = 0;
	x.easy = s->sync;
	url_path(&x.url, s->cfg->helix_url, PATH_TYPE);
	etl_http_url_query(&x.url, "name", name);
	if (!etl_http_url_str(&x.url)) {
		etl_err_set(err, ETL_EINTERNAL, "out of memory");
		goto cleanup;
	}
	if (sync_authed(s, &x, "GET", &status, err) < 0)
		goto cleanup;
	root = status == 200 && x.resp.p ? etl_json_parse(x.resp.p, x.resp.len, NULL) : NULL;
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "event_types"))) {
		server_message(&x, status, msg, sizeof(msg));
		etl_err_set(err, status == 200 ? ETL_EUNAVAIL : ETL_ECONFIG,
			    "cannot list the Helix event types (%s)", msg);
		etl_err_hint(err, "check ETL_HELIX_URL; queued events stay queued");
		goto cleanup;
	}
	/* The list may not filter by name on every server: match it here. */
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "event_types")) {
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(item, "name");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "event_type_uid");

		if (!cJSON_IsString(nm) || strcmp(nm->valuestring, name) != 0)
			continue;
		if (!schema_matches(cJSON_GetObjectItemCaseSensitive(item, "event_schema"))) {
			etl_err_set(err, ETL_ECONFIG, "the Helix event type \"%s\" already exists with a different "
				    "schema than etl sends", name);
			etl_err_hint(err, "set ETL_HELIX_EVENT_TYPE to another name, or give the type this schema "
				     "in Verkada Command: %s", schema_text);
			goto cleanup;
		}
		if (!cJSON_IsString(id) || !id->valuestring[0] || strlen(id->valuestring) >= n) {
			etl_err_set(err, ETL_EUNAVAIL, "Helix listed the event type \"%s\" without a usable uid", name);
			goto cleanup;
		}
		snprintf(uid, n, "%s", id->valuestring);
		*found = 1;
		break;
	}
	ret = 0;
cleanup:
	cJSON_Delete(root);
	x.easy = NULL;  /* borrowed */
	xfer_release(&x);
	return ret;
}

/* Creates the event type with the contract's schema: 0 with its uid, or
 * -1 with err and *status (the server's answer, 0 when none). */
static int type_create(struct sender *s, char *uid, size_t n, long *status, etl_err *err)
{
	const char *name = s->cfg->helix_event_type;
	struct xfer x = { 0 };
	cJSON *body = cJSON_CreateObject(), *root = NULL;
	cJSON *sch = cJSON_AddObjectToObject(body, "event_schema");
	const cJSON *id;
	char *text = NULL, msg[512];
	int ret = -1;

	*status = 0;
	x.easy = s->sync;
	cJSON_AddStringToObject(body, "name", name);
	for (int i = 0; sch && i < SCHEMA_N; i++)
		cJSON_AddStringToObject(sch, schema_names[i], schema_types[i]);
	text = cJSON_PrintUnformatted(body);
	if (!text) {
		etl_err_set(err, ETL_EINTERNAL, "out of memory");
		goto cleanup;
	}
	etl_strbuf_adds(&x.body, text);
	url_path(&x.url, s->cfg->helix_url, PATH_TYPE);
	if (sync_authed(s, &x, "POST", status, err) < 0)
		goto cleanup;
	root = *status == 200 && x.resp.p ? etl_json_parse(x.resp.p, x.resp.len, NULL) : NULL;
	id = cJSON_GetObjectItemCaseSensitive(root, "event_type_uid");
	if (!cJSON_IsString(id) || !id->valuestring[0] || strlen(id->valuestring) >= n) {
		server_message(&x, *status, msg, sizeof(msg));
		etl_err_set(err, *status == 200 ? ETL_EUNAVAIL : ETL_ECONFIG,
			    "cannot create the Helix event type \"%s\" (%s)", name, msg);
		etl_err_hint(err, "check ETL_HELIX_EVENT_TYPE and the API key's permissions; queued "
			     "events stay queued");
		goto cleanup;
	}
	snprintf(uid, n, "%s", id->valuestring);
	etl_info("helix: created the event type \"%s\"", name);
	ret = 0;
cleanup:
	free(text);
	cJSON_Delete(body);
	cJSON_Delete(root);
	x.easy = NULL;  /* borrowed */
	xfer_release(&x);
	return ret;
}

/* Finds the event type by name, or creates it; records its uid in
 * helix_event_types and in the session.  Once per process. */
static int event_type_ensure(struct sender *s, etl_err *err)
{
	const char *name = s->cfg->helix_event_type;
	char uid[sizeof(session.uid)], *known = NULL;
	int found = 0, ret = -1;

	if (session.uid[0])
		return 0;
	for (int round = 0; !found; round++) {
		long status = 0;

		if (type_lookup(s, uid, sizeof(uid), &found, err) < 0)
			goto cleanup;
		if (found)
			break;
		if (type_create(s, uid, sizeof(uid), &status, err) == 0)
			break;
		/* Refused as a duplicate?  A POST retried after a timeout (or
		 * another etl) may have made it meanwhile: look once more. */
		if (round > 0 || (status != 400 && status != 409))
			goto cleanup;
		etl_err_clear(err);
	}
	if (etl_helix_type_get(s->db, name, &known, err) < 0)
		goto cleanup;
	if (!known || strcmp(known, uid) != 0) {
		if (known)
			etl_warn("the Helix event type \"%s\" has a new uid (it was deleted and made again?); "
				 "new events use the new one", name);
		if (etl_helix_type_put(s->db, name, uid, schema_text, err) < 0)
			goto cleanup;
	}
	snprintf(session.uid, sizeof(session.uid), "%s", uid);
	snprintf(session.type_name, sizeof(session.type_name), "%s", name);
	ret = 0;
cleanup:
	free(known);
	return ret;
}

/* ---- jobs ----------------------------------------------------------------- */

static void job_free(struct job *j)
{
	if (!j)
		return;
	etl_helix_row_release(&j->row);
	free(j);
}

static int job_held(const struct sender *s, const char *tid)
{
	for (size_t i = 0; i < s->njobs; i++)
		if (!strcmp(s->jobs[i]->row.tid, tid))
			return 1;
	return 0;
}

/* Drops finished jobs, then tops the list up from the outbox: first the
 * events, then (once they are all done) the footage links still due. */
static int refill(struct sender *s, etl_err *err)
{
	etl_helix_row *rows = NULL;
	size_t n = 0, k = 0, live;
	int footage = 0, ret = -1;

	for (size_t i = 0; i < s->njobs; i++) {
		if (s->jobs[i]->done)
			job_free(s->jobs[i]);
		else
			s->jobs[k++] = s->jobs[i];
	}
	s->njobs = k;
	live = k;
	if (live > BATCH / 2)
		return 0;
	if (!s->events_done) {
		if (etl_helix_outbox_fetch(s->db, &s->cursor, (int)(BATCH - live), &rows, &n, err) < 0)
			return -1;
		if (n == 0)
			s->events_done = 1;
	}
	if (s->events_done && !s->footage_done && s->cfg->helix_footage_links && live == 0 && n == 0) {
		if (etl_helix_outbox_fetch_footage(s->db, &s->footage_after, BATCH, &rows, &n, err) < 0)
			return -1;
		if (n == 0)
			s->footage_done = 1;
		footage = 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct job *j;

		if (job_held(s, rows[i].tid))
			continue;  /* never two jobs for one row */
		j = calloc(1, sizeof(*j));
		if (!j) {
			etl_err_set(err, ETL_EINTERNAL, "out of memory");
			goto cleanup;
		}
		j->row = rows[i];
		memset(&rows[i], 0, sizeof(rows[i]));
		j->db_inflight = j->row.inflight;
		j->kind = footage ? K_FOOTAGE : j->row.inflight ? K_RESOLVE : j->row.update ? K_UPDATE : K_CREATE;
		s->jobs[s->njobs++] = j;
	}
	ret = 0;
cleanup:
	for (size_t i = 0; i < n; i++)
		etl_helix_row_release(&rows[i]);
	free(rows);
	return ret;
}

/* The uid a job's triple uses: the row's own once a request went out for
 * it (a triple never changes), else the session's. */
static const char *job_uid(const struct job *j)
{
	return j->row.uid ? j->row.uid : session.uid;
}

/* Builds the request of job j into x. */
static int job_request(struct sender *s, struct xfer *x, struct job *j, const char **method, etl_err *err)
{
	etl_strbuf_reset(&x->body);
	switch (j->kind) {
	case K_RESOLVE:
		*method = "GET";
		url_event(&x->url, s->cfg->helix_url, &j->row, job_uid(j));
		break;
	case K_UPDATE:
		*method = "PATCH";
		url_event(&x->url, s->cfg->helix_url, &j->row, job_uid(j));
		etl_strbuf_adds(&x->body, "{\"attributes\":");
		etl_strbuf_adds(&x->body, j->row.attributes);
		etl_strbuf_adds(&x->body, "}");
		break;
	case K_CREATE: {
		char num[32];

		*method = "POST";
		url_path(&x->url, s->cfg->helix_url, PATH_EVENT);
		snprintf(num, sizeof(num), "%" PRId64, j->row.time_ms);
		etl_strbuf_adds(&x->body, "{\"camera_id\":");
		etl_strbuf_add_json_str(&x->body, j->row.camera);
		etl_strbuf_adds(&x->body, ",\"event_type_uid\":");
		etl_strbuf_add_json_str(&x->body, job_uid(j));
		etl_strbuf_adds(&x->body, ",\"time_ms\":");
		etl_strbuf_adds(&x->body, num);
		etl_strbuf_adds(&x->body, ",\"attributes\":");
		etl_strbuf_adds(&x->body, j->row.attributes);
		etl_strbuf_adds(&x->body, ",\"flagged\":false}");
		break;
	}
	case K_FOOTAGE: {
		int64_t secs = j->row.time_ms >= 0 ? j->row.time_ms / 1000 : -((-j->row.time_ms + 999) / 1000);

		*method = "GET";
		url_path(&x->url, s->cfg->helix_url, PATH_LINK);
		etl_http_url_query(&x->url, "camera_id", j->row.camera);
		etl_http_url_query_int(&x->url, "timestamp", (long long)secs);
		break;
	}
	}
	if (!etl_http_url_str(&x->url) || x->body.oom)
		return etl_err_set(err, ETL_EINTERNAL, "out of memory building a Helix request");
	return 0;
}

/* Starts the requests of jobs picked (n of them) on free transfers. */
static int start_jobs(struct sender *s, struct job **picked, size_t n, etl_err *err)
{
	const char *marks[64];
	size_t nm = 0;

	/* Exactly once: 'inflight' is committed before the POST or PATCH
	 * leaves, so that a crash from here on leaves a row to resolve. */
	for (size_t i = 0; i < n; i++)
		if ((picked[i]->kind == K_CREATE || picked[i]->kind == K_UPDATE) && !picked[i]->db_inflight)
			marks[nm++] = picked[i]->row.tid;
	if (nm && etl_helix_outbox_mark_inflight(s->db, marks, nm, session.uid, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct job *j = picked[i];
		struct xfer *x = NULL;
		const char *method = NULL;
		CURLMcode mc;

		if ((j->kind == K_CREATE || j->kind == K_UPDATE) && !j->db_inflight) {
			j->db_inflight = 1;
			if (!j->row.uid && !(j->row.uid = strdup(session.uid)))
				return etl_err_set(err, ETL_EINTERNAL, "out of memory");
		}
		for (int k = 0; k < s->npool; k++)
			if (!s->pool[k].job) {
				x = &s->pool[k];
				break;
			}
		if (!x)
			return etl_err_set(err, ETL_EINTERNAL, "no free Helix transfer (a bug)");
		if (job_request(s, x, j, &method, err) < 0 || xfer_setup(x, s->cfg, method, 1, err) < 0)
			return -1;
		mc = curl_multi_add_handle(s->multi, x->easy);
		if (mc != CURLM_OK)
			return etl_err_set(err, ETL_EINTERNAL, "cannot start a Helix request: %s",
					   curl_multi_strerror(mc));
		x->job = j;
		x->started = mono_ms();
		j->busy = 1;
		j->unapplied = 0;
		s->active++;
	}
	return 0;
}

/* Picks the jobs that may go now (ready, a free transfer, a token from the
 * pacer) and starts them.  Returns 0 or -1 (stop set). */
static int dispatch(struct sender *s)
{
	struct job *picked[64];
	size_t n = 0;
	double now = mono_ms();
	int room = s->npool - s->active, any_ready = 0;
	etl_err err = ETL_ERR_INIT;

	if (room <= 0)
		return 0;
	for (size_t i = 0; i < s->njobs && !any_ready; i++)
		any_ready = !s->jobs[i]->done && !s->jobs[i]->busy && s->jobs[i]->not_before <= now;
	if (!any_ready)
		return 0;
	if (token_due()) {
		if (token_renew(s, &err) < 0) {
			stop(s, &err);
			return -1;
		}
		now = mono_ms();
	}
	for (size_t i = 0; i < s->njobs && (int)n < room && n < 64; i++) {
		struct job *j = s->jobs[i];

		if (j->done || j->busy || j->not_before > now)
			continue;
		if (!etl_helix_pace_take(&session.pace, now))
			break;
		picked[n++] = j;
	}
	if (n && start_jobs(s, picked, n, &err) < 0) {
		stop(s, &err);
		return -1;
	}
	return 0;
}

/* How long the loop may sleep: until the next job is due or the pacer has
 * a token, at most 1 s (transfers wake it earlier). */
static long wait_ms(struct sender *s)
{
	double now = mono_ms(), next = now + 1000;
	int ready = 0, live = 0;

	for (size_t i = 0; i < s->njobs; i++) {
		const struct job *j = s->jobs[i];

		live += !j->done;
		if (j->done || j->busy)
			continue;
		if (j->not_before <= now)
			ready = 1;
		else if (j->not_before < next)
			next = j->not_before;
	}
	if (ready && s->active < s->npool) {
		double w = etl_helix_pace_wait(&session.pace, now);

		if (now + w < next)
			next = now + w;
	}
	if (!live || next <= now)
		return 0;  /* nothing held: the loop refills or ends at once */
	return (long)(next - now) + 1;
}

/* A failure worth another try.  unknown: the request may have been applied
 * (so a CREATE or UPDATE becomes a RESOLVE).  is429: the server asked
 * everyone to slow down.  */
static void transient(struct sender *s, struct job *j, int unknown, int is429, int64_t retry_after,
		      const char *detail)
{
	int64_t d;

	j->attempt++;
	if (unknown && (j->kind == K_CREATE || j->kind == K_UPDATE))
		j->kind = K_RESOLVE;
	j->unapplied = !unknown;
	if (j->attempt >= s->max_attempts) {
		if (j->kind == K_FOOTAGE) {
			etl_warn("helix: no footage link for transaction %s after %d attempts (%s); "
				 "the next send tries again", j->row.tid, j->attempt, detail);
			j->done = 1;
			return;
		}
		stop_with(s, ETL_EUNAVAIL,
			  "the events not sent stay queued; 'etl emit' or the next run sends them",
			  "Helix did not accept the event of transaction %s after %d attempts (%s)",
			  j->row.tid, j->attempt, detail);
		return;
	}
	d = etl_retry_delay_ms(j->attempt, s->base_ms, s->cap_ms, retry_after);
	j->not_before = mono_ms() + (double)d;
	if (is429)
		etl_helix_pace_block(&session.pace, j->not_before);
	etl_info("helix: %s for transaction %s failed (%s); trying again in %" PRId64 " ms",
		 kind_names[j->kind], j->row.tid, detail, d);
}

static void failed(struct sender *s, struct job *j, const char *message)
{
	etl_err err = ETL_ERR_INIT;

	if (etl_helix_outbox_mark_failed(s->db, j->row.tid, message, &err) < 0) {
		stop(s, &err);
		return;
	}
	s->stats->failed++;
	report_progress(s->stats);
	j->db_inflight = 0;
	j->done = 1;
	etl_warn("Helix refused the event of transaction %s (%s); it is marked failed, "
		 "'etl emit --retry-failed' tries it again", j->row.tid, message);
}

/* The server holds what the row says: record it. */
static void confirmed(struct sender *s, struct job *j)
{
	etl_err err = ETL_ERR_INIT;
	int created = !j->row.confirmed;
	int footage = created && s->cfg->helix_footage_links;

	if (etl_helix_outbox_mark_sent(s->db, j->row.tid, footage, &err) < 0) {
		stop(s, &err);
		return;
	}
	if (created)
		s->stats->sent++;
	else
		s->stats->updated++;
	report_progress(s->stats);
	j->db_inflight = 0;
	j->row.confirmed = 1;
	if (footage) {
		j->kind = K_FOOTAGE;
		j->attempt = 0;
		j->not_before = 0;
	} else {
		j->done = 1;
	}
}

/* A 200 to the GET of an inflight row's triple. */
static void resolved_present(struct sender *s, struct job *j, const struct xfer *x)
{
	cJSON *root = etl_json_parse(x->resp.p ? x->resp.p : "", x->resp.len, NULL);
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(root, "attributes");
	char *text = cJSON_IsObject(attrs) ? etl_json_print(attrs) : NULL;
	int found = 0, equal = 0, conf = 0, wanted = 0;
	etl_err err = ETL_ERR_INIT;

	if (!text) {
		transient(s, j, 0, 0, -1, "the event's JSON could not be read");
		goto cleanup;
	}
	if (etl_helix_outbox_compare(s->db, j->row.tid, text, &found, &equal, &conf, &wanted, &err) < 0) {
		stop(s, &err);
		goto cleanup;
	}
	if (!found) {
		j->done = 1;
	} else if (equal) {
		confirmed(s, j);
	} else {
		/* It exists with other attributes (the sale changed, or an
		 * earlier PATCH did not land): patch it, never post again. */
		j->kind = K_UPDATE;
		j->not_before = 0;
	}
cleanup:
	free(text);
	cJSON_Delete(root);
}

/* A 404 to the GET of an inflight row's triple: the request never landed. */
static void resolved_absent(struct sender *s, struct job *j)
{
	int found = 0, equal = 0, conf = 0, wanted = 0;
	etl_err err = ETL_ERR_INIT;

	if (etl_helix_outbox_compare(s->db, j->row.tid, "{}", &found, &equal, &conf, &wanted, &err) < 0) {
		stop(s, &err);
		return;
	}
	if (!found) {
		j->done = 1;
	} else if (conf) {
		/* It existed once; someone deleted it.  Making it again would be
		 * a second event as far as Command's users can tell. */
		failed(s, j, "the event is no longer in Helix (GET answered 404); it was not created again");
	} else if (!wanted) {
		etl_err e2 = ETL_ERR_INIT;

		if (etl_helix_outbox_delete(s->db, j->row.tid, &e2) < 0)
			stop(s, &e2);
		j->db_inflight = 0;
		j->done = 1;
	} else {
		j->kind = K_CREATE;
		j->not_before = 0;
	}
}

static void footage_done(struct sender *s, struct job *j, const struct xfer *x, long status)
{
	cJSON *root = status == 200 && x->resp.p ? etl_json_parse(x->resp.p, x->resp.len, NULL) : NULL;
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(root, "url");
	etl_err err = ETL_ERR_INIT;

	if (status == 200 && !cJSON_IsString(url)) {
		transient(s, j, 0, 0, -1, "the answer had no url");
	} else {
		if (!cJSON_IsString(url)) {
			char msg[512];

			server_message(x, status, msg, sizeof(msg));
			etl_warn("helix: no footage link for transaction %s (%s)", j->row.tid, msg);
		}
		if (etl_helix_outbox_set_footage(s->db, j->row.tid, cJSON_IsString(url) ? url->valuestring : NULL,
						 &err) < 0)
			stop(s, &err);
		j->done = 1;
	}
	cJSON_Delete(root);
}

/* One transfer finished: move its job on. */
static void finish(struct sender *s, struct xfer *x, CURLcode rc)
{
	struct job *j = x->job;
	long status = 0;
	char detail[512];
	int64_t retry_after = -1;

	curl_multi_remove_handle(s->multi, x->easy);
	x->job = NULL;
	s->active--;
	j->busy = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	etl_debug("helix: %s (transaction %s) -> %ld (%s) in %.0f ms", kind_names[j->kind], j->row.tid,
		  status, rc == CURLE_OK ? "ok" : curl_easy_strerror(rc), mono_ms() - x->started);
	if (s->stopping && s->stop.code != ETL_OK && rc != CURLE_OK)
		return;  /* leaving: the row stays as the database has it */
	if (rc != CURLE_OK) {
		snprintf(detail, sizeof(detail), "%s", x->too_big ? "answer too large" : curl_easy_strerror(rc));
		/* We gave up waiting, but the server may still be working on
		 * it: a GET too soon could miss an event about to exist and
		 * post it again.  Give the server as long again first. */
		if (rc == CURLE_OPERATION_TIMEDOUT && (j->kind == K_CREATE || j->kind == K_UPDATE))
			retry_after = (int64_t)s->cfg->http_timeout_s * 1000;
		transient(s, j, !never_sent(rc), 0, retry_after, detail);
		return;
	}
	if (status == 401 || status == 403) {
		j->unapplied = 1;
		if (status == 401 && x->token_gen != session.token_gen) {
			/* Sent with a token already replaced: just send again. */
			j->not_before = 0;
			return;
		}
		if (status == 401 && j->auth_gen != x->token_gen) {
			/* The token expired under us: renew it once and send this
			 * request again; a 401 to the token fetched for it (gen
			 * auth_gen) is the permanent kind. */
			session.token_stale = 1;
			j->auth_gen = x->token_gen + 1;
			j->not_before = 0;
			return;
		}
		server_message(x, status, detail, sizeof(detail));
		if (status == 403)
			stop_with(s, ETL_ECONFIG, "give the API key Helix read/write permission in Verkada Command, "
				  "then run 'etl emit'; the events not sent stay queued",
				  "Helix refused the API key's access to events (%s)", detail);
		else
			stop_with(s, ETL_ECONFIG, "check ETL_HELIX_API_KEY and ETL_HELIX_URL (the key's own region), "
				  "then run 'etl emit'; the events not sent stay queued",
				  "Helix refused a new token (%s)", detail);
		return;
	}
	if (status != 200 && !(status >= 201 && status < 300))
		server_message(x, status, detail, sizeof(detail));
	if (status == 429 || status >= 500) {
		if (status == 429)
			retry_after = etl_retry_after_ms(x->retry_after[0] ? x->retry_after : NULL,
							 (int64_t)time(NULL));
		/* A 5xx may come after the server did the work: only a GET can tell. */
		transient(s, j, status >= 500, status == 429, retry_after, detail);
		return;
	}
	if (j->kind == K_FOOTAGE) {
		footage_done(s, j, x, status);
		return;
	}
	if (status >= 200 && status < 300) {
		if (j->kind == K_RESOLVE)
			resolved_present(s, j, x);
		else
			confirmed(s, j);
		return;
	}
	if (status == 404 && j->kind == K_RESOLVE) {
		resolved_absent(s, j);
		return;
	}
	if (status == 404 && j->kind == K_UPDATE)
		snprintf(detail, sizeof(detail), "HTTP 404: the event to update is not in Helix");
	/* 400 (bad camera, type or attributes, an event too old), 404, and
	 * anything else: permanent for this event, the rest go on. */
	failed(s, j, detail);
}

/* At the end of a stopped send: rows whose last request is known to have
 * changed nothing go back to 'pending' (no GET needed next time). */
static void settle(struct sender *s)
{
	etl_err err = ETL_ERR_INIT;

	for (size_t i = 0; i < s->njobs; i++) {
		struct job *j = s->jobs[i];

		if (!j->done && !j->busy && j->db_inflight && j->unapplied && j->kind != K_RESOLVE &&
		    etl_helix_outbox_mark_pending(s->db, j->row.tid, &err) < 0)
			return;
	}
}

static int loop(struct sender *s)
{
	etl_err err = ETL_ERR_INIT;

	for (;;) {
		int running = 0, queued = 0;
		size_t live = 0;
		CURLMsg *msg;
		CURLMcode mc;

		if (!s->stopping) {
			if (refill(s, &err) < 0) {
				stop(s, &err);
			} else {
				for (size_t i = 0; i < s->njobs; i++)
					live += !s->jobs[i]->done;
				if (live == 0 && s->active == 0 && s->events_done &&
				    (s->footage_done || !s->cfg->helix_footage_links))
					break;
				dispatch(s);
			}
		}
		if (s->stopping && s->active == 0)
			break;
		mc = curl_multi_perform(s->multi, &running);
		while (mc == CURLM_OK && (msg = curl_multi_info_read(s->multi, &queued))) {
			struct xfer *x = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			if (x && x->job)
				finish(s, x, msg->data.result);
		}
		if (mc == CURLM_OK && s->active > 0 && !s->stopping)
			mc = curl_multi_poll(s->multi, NULL, 0, (int)wait_ms(s), NULL);
		else if (mc == CURLM_OK && s->active > 0)
			mc = curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
		else if (mc == CURLM_OK && !s->stopping)
			etl_sleep_ms(wait_ms(s));
		if (mc != CURLM_OK) {
			stop_with(s, ETL_EINTERNAL, NULL, "libcurl failed: %s", curl_multi_strerror(mc));
			break;
		}
	}
	return s->stopping ? -1 : 0;
}

int etl_helix_send(etl_db *db, const etl_config *cfg, int retry_failed,
		   etl_helix_stats *stats, etl_err *err)
{
	struct sender s;
	int64_t events = 0, footage = 0;
	int ret = -1;

	memset(stats, 0, sizeof(*stats));
	memset(&s, 0, sizeof(s));
	if (PQtransactionStatus(etl_db_conn(db)) != PQTRANS_IDLE)
		return etl_err_set(err, ETL_EINTERNAL, "etl_helix_send was called inside a transaction");
	if (!etl_config_helix_on(cfg))
		return etl_err_set(err, ETL_EINTERNAL, "etl_helix_send was called with Helix off");
	if (etl_helix_outbox_prepare(db, retry_failed, err) < 0 ||
	    etl_helix_outbox_work(db, &events, &footage, err) < 0)
		return -1;
	if (events == 0 && (footage == 0 || !cfg->helix_footage_links))
		return etl_helix_backlog(db, &stats->pending, NULL, err);

	progress_total = events;
	s.db = db;
	s.cfg = cfg;
	s.stats = stats;
	/* helix.md: back off from 1 s, capped at 30 s.  ETL_HTTP_BACKOFF_MS
	 * (default 500) is the source's first wait; Helix's is twice it. */
	s.base_ms = cfg->http_backoff_ms * 2;
	s.cap_ms = cfg->http_backoff_max_ms;
	s.max_attempts = cfg->http_retries + 1;
	s.npool = cfg->helix_concurrency > 0 ? cfg->helix_concurrency : 1;
	if (s.npool > 64)
		s.npool = 64;
	s.jobs = calloc(BATCH + 1, sizeof(*s.jobs));
	s.pool = calloc((size_t)s.npool, sizeof(*s.pool));
	s.multi = curl_multi_init();
	s.sync = curl_easy_init();
	if (!s.jobs || !s.pool || !s.multi || !s.sync) {
		etl_err_set(err, ETL_EINTERNAL, "cannot set up the Helix sender (out of memory)");
		goto cleanup;
	}
	for (int i = 0; i < s.npool; i++)
		if (!(s.pool[i].easy = curl_easy_init())) {
			etl_err_set(err, ETL_EINTERNAL, "cannot set up the Helix sender (out of memory)");
			goto cleanup;
		}
	curl_multi_setopt(s.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s.npool);
	curl_multi_setopt(s.multi, CURLMOPT_MAXCONNECTS, (long)s.npool + 1);

	session_bind(cfg);
	etl_debug("helix: %" PRId64 " events to send%s", events, retry_failed ? " (failed ones included)" : "");
	if (event_type_ensure(&s, err) < 0)
		goto cleanup;
	if (loop(&s) < 0) {
		*err = s.stop;
		settle(&s);
		goto cleanup;
	}
	ret = 0;
cleanup:
	if (s.pool) {
		for (int i = 0; i < s.npool; i++) {
			if (s.pool[i].job && s.multi)
				curl_multi_remove_handle(s.multi, s.pool[i].easy);
			xfer_release(&s.pool[i]);
		}
		free(s.pool);
	}
	if (s.multi)
		curl_multi_cleanup(s.multi);
	if (s.sync)
		curl_easy_cleanup(s.sync);
	for (size_t i = 0; s.jobs && i < s.njobs; i++)
		job_free(s.jobs[i]);
	free(s.jobs);
	free(s.footage_after);
	etl_helix_cursor_release(&s.cursor);
	{
		etl_err e2 = ETL_ERR_INIT;

		/* pending is filled even after an error (the database may be the
		 * error: then it stays 0). */
		if (etl_helix_backlog(db, &stats->pending, NULL, &e2) < 0 && ret == 0) {
			*err = e2;
			ret = -1;
		}
	}
	etl_debug("helix: %" PRId64 " sent, %" PRId64 " updated, %" PRId64 " failed, %" PRId64 " pending",
			 stats->sent, stats->updated, stats->failed, stats->pending);
	return ret;
}

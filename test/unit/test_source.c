/*
 * test_source.c - the HTTP client and the source reader.
 *
 * URL building and redaction are tested alone.  The reader is tested
 * against the fake retail API (test/fake/fake_source), started here on an
 * ephemeral port: pagination with an opaque cursor, the envelope checks,
 * and every transient and permanent failure of contract section 1.  When the
 * fake is not built the live part is skipped (with a line saying so).
 */
#include "http.h"
#include "log.h"
#include "retry.h"
#include "source.h"
#include "unit.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- URLs ---------------------------------------------------------------- */

static void test_url(void)
{
	etl_http_url u = ETL_HTTP_URL_INIT;
	char buf[256];

	etl_http_url_base(&u, "http://h:1/api//");
	etl_http_url_raw(&u, "/v1");
	etl_http_url_segment(&u, "exchange_rates");
	etl_http_url_query_int(&u, "limit", 1000);
	etl_http_url_query(&u, "since", "2026-11-21T09:00:00+01:00");
	etl_http_url_query(&u, "cursor", "a+b/c=d&e f%");
	CHECK_STR("http://h:1/api/v1/exchange_rates?limit=1000&since=2026-11-21T09%3A00%3A00%2B01%3A00"
		  "&cursor=a%2Bb%2Fc%3Dd%26e%20f%25", etl_http_url_str(&u));
	/* reuse: base resets */
	etl_http_url_base(&u, "https://x");
	etl_http_url_segment(&u, "a b");
	etl_http_url_query(&u, "k", "");
	CHECK_STR("https://x/a%20b?k=", etl_http_url_str(&u));
	etl_http_url_release(&u);

	etl_http_url_for_log(buf, sizeof(buf), "https://user:pw@host:8/v1/x?cursor=abc", 1);
	CHECK_STR("https://host:8/v1/x?cursor=abc", buf);
	etl_http_url_for_log(buf, sizeof(buf), "https://user:pw@host:8/v1/x?cursor=abc", 0);
	CHECK_STR("https://host:8/v1/x", buf);
	etl_http_url_for_log(buf, sizeof(buf), "http://host/v1/x?q=a@b", 1);
	CHECK_STR("http://host/v1/x?q=a@b", buf);
	etl_http_url_for_log(buf, sizeof(buf), "http://host", 0);
	CHECK_STR("http://host", buf);
}

/* ---- the fake ------------------------------------------------------------- */

static pid_t fake_pid[4];
static int nfakes;
static char tmpdir[] = "/tmp/etl-test-source.XXXXXX";

/* Starts fake_source with extra arguments; fills base ("http://127.0.0.1:N").
 * Returns 0, or -1 when it cannot. */
static int start_fake(const char *fake, const char *const *extra, char *base, size_t n)
{
	char portfile[512], logfile[512], *argv[16];
	posix_spawn_file_actions_t fa;
	int argc = 0, rc;
	pid_t pid;

	snprintf(portfile, sizeof(portfile), "%s/port.%d", tmpdir, nfakes);
	snprintf(logfile, sizeof(logfile), "%s/fake.%d.log", tmpdir, nfakes);
	argv[argc++] = (char *)fake;
	argv[argc++] = (char *)"--port";
	argv[argc++] = (char *)"0";
	argv[argc++] = (char *)"--port-file";
	argv[argc++] = portfile;
	for (int i = 0; extra && extra[i] && argc < 15; i++)
		argv[argc++] = (char *)extra[i];
	argv[argc] = NULL;
	/* the fake's chatter goes to a file, not into the test's output */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, logfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawn(&pid, fake, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	fake_pid[nfakes++] = pid;
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(portfile, "r");
		int port = 0;

		if (f) {
			int ok = fscanf(f, "%d", &port) == 1;
			fclose(f);
			if (ok && port > 0) {
				snprintf(base, n, "http://127.0.0.1:%d", port);
				return 0;
			}
		}
		etl_sleep_ms(25);
	}
	return -1;
}

static void stop_fakes(void)
{
	char cmd[600];

	for (int i = 0; i < nfakes; i++) {
		kill(fake_pid[i], SIGTERM);
		waitpid(fake_pid[i], NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* POSTs a body to the fake's control API. */
static int control(const char *base, const char *path, const char *body)
{
	etl_http *h = NULL;
	etl_http_resp r;
	etl_err err = ETL_ERR_INIT;
	char url[512];
	int ok;

	snprintf(url, sizeof(url), "%s%s", base, path);
	if (etl_http_open(&h, NULL, &err) < 0)
		return -1;
	ok = etl_http_request(h, "POST", url, body, strlen(body), "application/json", NULL, &r, NULL, &err) == 0 &&
	     r.status == 200;
	if (!ok)
		fprintf(stderr, "control %s failed: %s %.*s\n", path, err.msg, (int)r.len, r.body ? r.body : "");
	etl_http_close(h);
	return ok ? 0 : -1;
}

static int faults(const char *base, const char *rules)
{
	return control(base, "/_control/faults", rules);
}

/* ---- the reader ----------------------------------------------------------- */

struct counter {
	int pages, records, fail_at;
};

static int count_page(void *arg, const cJSON *data, etl_err *err)
{
	struct counter *c = arg;

	c->pages++;
	c->records += cJSON_GetArraySize(data);
	if (c->fail_at && c->pages == c->fail_at)
		return etl_err_set(err, ETL_EINTERNAL, "the callback says stop");
	return 0;
}

static etl_config test_config(char *url)
{
	etl_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.source_url = url;
	cfg.page_limit = 2;
	cfg.http_timeout_s = 10;
	cfg.http_connect_timeout_s = 2;
	cfg.http_retries = 3;
	cfg.http_backoff_ms = 1;
	cfg.http_backoff_max_ms = 5;
	return cfg;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Fetches resource with cfg; returns the fetch's status, fills c, stats. */
static int fetch(etl_config *cfg, const char *resource, const char *since, const char *until,
		 struct counter *c, etl_source_stats *st, etl_err *err)
{
	etl_source *src = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	etl_err_clear(err);
	if (etl_source_open(&src, cfg, err) < 0)
		return -2;
	rc = etl_source_fetch(src, resource, since, until, count_page, c, err);
	*st = *etl_source_get_stats(src);
	etl_source_close(src);
	return rc;
}

static void test_live(const char *fake)
{
	const char *gen_args[] = { "--stores", "5", "--sales", "100", "--start", "2026-11-20T00:00:00Z", "--hours",
				   "10", NULL };
	const char *tok_args[] = { "--token", "s3cret-token", NULL };
	char base[128], tbase[128];
	etl_config cfg;
	etl_source_stats st;
	etl_err err = ETL_ERR_INIT;
	struct counter c;
	double t0;

	if (start_fake(fake, gen_args, base, sizeof(base)) < 0) {
		fprintf(stderr, "cannot start %s\n", fake);
		CHECK(0);
		return;
	}
	cfg = test_config(base);

	/* pagination: 5 stores in pages of 2 = 3 pages, the cursor passed back encoded */
	memset(&c, 0, sizeof(c));
	CHECK_INT(0, fetch(&cfg, "stores", NULL, NULL, &c, &st, &err));
	CHECK_INT(3, c.pages);
	CHECK_INT(5, c.records);
	CHECK_INT(3, st.requests);
	CHECK_INT(0, st.retries);
	CHECK_INT(3, st.pages);
	CHECK_INT(5, st.records);
	CHECK(st.bytes > 100);

	/* a window: 10 sales an hour, [01:00, 03:00) holds 20, with the window on every page */
	cfg.page_limit = 7;
	memset(&c, 0, sizeof(c));
	CHECK_INT(0, fetch(&cfg, "sales", "2026-11-20T01:00:00Z", "2026-11-20T03:00:00Z", &c, &st, &err));
	CHECK_INT(20, c.records);
	CHECK_INT(3, c.pages);
	cfg.page_limit = 2;

	/* a callback's error stops the list and comes back as is */
	memset(&c, 0, sizeof(c));
	c.fail_at = 2;
	CHECK_INT(-1, fetch(&cfg, "stores", NULL, NULL, &c, &st, &err));
	CHECK_INT(ETL_EINTERNAL, err.code);
	CHECK_STR("the callback says stop", err.msg);
	CHECK_INT(2, st.requests);

	/* 5xx burst on page 2: retried, recovered, every record once */
	CHECK_INT(0, faults(base, "[{\"path\":\"/v1/stores\",\"skip\":1,\"count\":2,\"status\":503}]"));
	memset(&c, 0, sizeof(c));
	CHECK_INT(0, fetch(&cfg, "stores", NULL, NULL, &c, &st, &err));
	CHECK_INT(5, c.records);
	CHECK_INT(2, st.retries);
	CHECK_INT(5, st.requests);

	/* 5xx past the budget: 69 with a sentence naming the failure */
	CHECK_INT(0, faults(base, "[{\"path\":\"/v1/stores\",\"count\":-1,\"status\":500}]"));
	memset(&c, 0, sizeof(c));
	CHECK_INT(-1, fetch(&cfg, "stores", NULL, NULL, &c, &st, &err));
	CHECK_INT(ETL_EUNAVAIL, err.code);
	CHECK(strstr(err.msg, "page 1 of stores in 4 attempts") != NULL);
	CHECK(strstr(err.msg, "HTTP 500") != NULL);
	CHECK(strstr(err.msg, "injected fault 500") != NULL);
	CHECK(err.hint[0] != '\0');
	CHECK_INT(4, st.requests);
	CHECK_INT(0, c.pages);

	/* 429 with Retry-After: 1 is honoured (at least a second) */
	CHECK_INT(0, faults(base, "[{\"path\":\"/v1/pos\",\"count\":1,\"status\":429,\"retry_after\":\"1\"}]"));
	memset(&c, 0, sizeof(c));
	t0 = mono_ms();
	CHECK_INT(0, fetch(&cfg, "pos", NULL, NULL, &c, &st, &err));
	CHECK(mono_ms() - t0 >= 990);
	CHECK_INT(1, st.retries);
	CHECK_INT(10, c.records);

	/* 429 without Retry-After: the backoff, recovered */
	CHECK_INT(0, faults(base, "[{\"path\":\"/v1/pos\",\"count\":2,\"status\":429}]"));
	memset(&c, 0, sizeof(c));
	t0 = mono_ms();
	CHECK_INT(0, fetch(&cfg, "pos", NULL, NULL, &c, &st, &err));
	CHECK(mono_ms() - t0 < 900);
	CHECK_INT(2, st.retries);

	/* a Retry-After beyond what a cron job waits: 69 at once */
	CHECK_INT(0, faults(base, "[{\"path\":\"/v1/pos\",\"count\":1,\"status\":503,\"retry_after\":\"3600\"}]"));
	memset(&c, 0, sizeof(c));
	CHECK_INT(-1, fetch(&cfg, "pos", NULL, NULL, &c, &st, &err));
	CHECK_INT(ETL_EUNAVAIL, err.code);
	CHECK(strstr(err.msg, "3600 s") != NULL);
	CHECK_INT(1, st.requests);

	/* bodies that are not the envelope: retried like a 5xx */
	CHECK_INT(0, faults(base, "[{\"path\":\"/v1/items\",\"count\":1,\"truncate\":true},"
				  "{\"path\":\"/v1/items\",\"count\":1,\"status\":200,\"body\":\"<html>oops</html>\"},"
				  "{\"path\":\"/v1/items\",\"count\":1,\"status\":200,\"body\":\"{\\\"data\\\":{},\\\"next_cursor\\\":null}\"},"
				  "{\"path\":\"/v1/items\",\"count\":1,\"status\":200,\"body\":\"[1,2]\"},"
				  "{\"path\":\"/v1/items\",\"count\":1,\"status\":200,\"body\":\"{\\\"data\\\":[]}\"},"
				  "{\"path\":\"/v1/items\",\"count\":1,\"status\":200,\"body\":\"{\\\"data\\\":[],\\\"next_cursor\\\":5}\"}]"));
	cfg.http_retries = 6;
	cfg.page_limit = 1000;
	memset(&c, 0, sizeof(c));
	CHECK_INT(0, fetch(&cfg, "items", NULL, NULL, &c, &st, &err));
	CHECK_INT(6, st.retries);
	CHECK_INT(1, c.pages);
	CHECK_INT(50, c.records);
	/* and past the budget: 69 naming what was wrong */
	CHECK_INT(0, faults(base, "[{\"path\":\"/v1/items\",\"count\":-1,\"status\":200,"
				  "\"body\":\"{\\\"data\\\":\\\"x\\\",\\\"next_cursor\\\":null}\"}]"));
	cfg.http_retries = 1;
	CHECK_INT(-1, fetch(&cfg, "items", NULL, NULL, &c, &st, &err));
	CHECK_INT(ETL_EUNAVAIL, err.code);
	CHECK(strstr(err.msg, "\"data\" that is not an array") != NULL);
	cfg.http_retries = 3;
	cfg.page_limit = 2;

	/* a connection dropped before (and after) the response: retried */
	CHECK_INT(0, faults(base, "[{\"path\":\"/v1/stores\",\"count\":1,\"drop\":true},"
				  "{\"path\":\"/v1/stores\",\"skip\":1,\"count\":1,\"drop_after\":true},"
				  "{\"path\":\"/v1/stores\",\"count\":1,\"truncate\":\"conn\"}]"));
	memset(&c, 0, sizeof(c));
	CHECK_INT(0, fetch(&cfg, "stores", NULL, NULL, &c, &st, &err));
	CHECK_INT(5, c.records);
	CHECK_INT(3, st.retries);

	/* slower than the timeout: retried */
	CHECK_INT(0, faults(base, "[{\"path\":\"/v1/stores\",\"count\":1,\"delay_ms\":2000}]"));
	cfg.http_timeout_s = 1;
	memset(&c, 0, sizeof(c));
	CHECK_INT(0, fetch(&cfg, "stores", NULL, NULL, &c, &st, &err));
	CHECK_INT(5, c.records);
	CHECK_INT(1, st.retries);
	cfg.http_timeout_s = 10;

	/* other 4xx: at once, with the server's message */
	CHECK_INT(0, faults(base, "[{\"path\":\"/v1/stores\",\"count\":1,\"status\":422,"
				  "\"body\":\"{\\\"message\\\":\\\"limit too large for you\\\"}\"}]"));
	CHECK_INT(-1, fetch(&cfg, "stores", NULL, NULL, &c, &st, &err));
	CHECK_INT(ETL_EUNAVAIL, err.code);
	CHECK(strstr(err.msg, "HTTP 422: limit too large for you") != NULL);
	CHECK_INT(1, st.requests);
	CHECK_INT(0, faults(base, "[{\"path\":\"/v1/stores\",\"count\":1,\"status\":400,\"body\":\"plain words\\nand more\"}]"));
	CHECK_INT(-1, fetch(&cfg, "stores", NULL, NULL, &c, &st, &err));
	CHECK(strstr(err.msg, "HTTP 400: plain words and more") != NULL);
	CHECK_INT(-1, fetch(&cfg, "nonesuch", NULL, NULL, &c, &st, &err));
	CHECK(strstr(err.msg, "HTTP 404") != NULL);
	CHECK(strstr(err.hint, "ETL_SOURCE_URL") != NULL);
	CHECK_INT(1, st.requests);
	CHECK_INT(0, faults(base, "[]"));

	/* the token: sent as a bearer; missing = 401 at once, no retry */
	if (start_fake(fake, tok_args, tbase, sizeof(tbase)) == 0) {
		etl_config tc = test_config(tbase);

		memset(&c, 0, sizeof(c));
		CHECK_INT(-1, fetch(&tc, "stores", NULL, NULL, &c, &st, &err));
		CHECK_INT(ETL_EUNAVAIL, err.code);
		CHECK(strstr(err.msg, "HTTP 401: missing or invalid bearer token") != NULL);
		CHECK(strstr(err.hint, "ETL_SOURCE_TOKEN") != NULL);
		CHECK_INT(1, st.requests);
		tc.source_token = (char *)"wrong-token";
		CHECK_INT(-1, fetch(&tc, "stores", NULL, NULL, &c, &st, &err));
		CHECK(strstr(err.msg, "wrong-token") == NULL);
		tc.source_token = (char *)"s3cret-token";
		memset(&c, 0, sizeof(c));
		CHECK_INT(0, fetch(&tc, "stores", NULL, NULL, &c, &st, &err));
		CHECK_INT(5, c.records);
	} else {
		CHECK(0);
	}

	/* a host that does not resolve, a port nobody listens on: retried, then 69 */
	{
		etl_config bad = test_config((char *)"http://etl-test-host.invalid");

		bad.http_retries = 2;
		CHECK_INT(-1, fetch(&bad, "stores", NULL, NULL, &c, &st, &err));
		CHECK_INT(ETL_EUNAVAIL, err.code);
		CHECK_INT(3, st.requests);
		CHECK(strstr(err.msg, "etl-test-host.invalid") != NULL);
		bad.source_url = (char *)"http://127.0.0.1:1";
		CHECK_INT(-1, fetch(&bad, "stores", NULL, NULL, &c, &st, &err));
		CHECK_INT(ETL_EUNAVAIL, err.code);
		CHECK_INT(3, st.requests);
		/* https is verified: a plain-HTTP server behind an https URL fails the handshake */
		snprintf(base + 0, sizeof(base), "https://%s", tbase + strlen("http://"));
		bad.source_url = base;
		bad.http_retries = 0;
		CHECK_INT(-1, fetch(&bad, "stores", NULL, NULL, &c, &st, &err));
		CHECK_INT(ETL_EUNAVAIL, err.code);
	}
	/* no URL: a configuration error */
	{
		etl_config none = test_config(NULL);
		etl_source *src = NULL;

		CHECK_INT(-1, etl_source_open(&src, &none, &err));
		CHECK_INT(ETL_ECONFIG, err.code);
	}
}

/* The body cap: a response over max_body is refused, not buffered. */
static void test_body_cap(const char *fake)
{
	const char *args[] = { "--items", "2000", NULL };
	char base[128], url[256];
	etl_http_opts o = { 0 };
	etl_http *h = NULL;
	etl_http_resp r;
	etl_http_fail fail;
	etl_err err = ETL_ERR_INIT;

	if (start_fake(fake, args, base, sizeof(base)) < 0) {
		CHECK(0);
		return;
	}
	o.max_body = 4096;
	CHECK_INT(0, etl_http_open(&h, &o, &err));
	snprintf(url, sizeof(url), "%s/v1/items?limit=2000", base);
	CHECK_INT(-1, etl_http_get(h, url, &r, &fail, &err));
	CHECK_INT(ETL_HTTP_TOO_BIG, fail);
	CHECK_INT(ETL_EDATA, err.code);
	/* the handle is still good for a small one */
	snprintf(url, sizeof(url), "%s/v1/items?limit=1", base);
	CHECK_INT(0, etl_http_get(h, url, &r, &fail, &err));
	CHECK_INT(200, r.status);
	CHECK(r.len > 10 && r.len < 4096);
	CHECK(r.body[r.len] == '\0');
	etl_http_close(h);
}

int main(int argc, char **argv)
{
	char fake[4096];
	const char *dir = getenv("ETL_FAKE_DIR");

	(void)argc;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	etl_log_set_level(getenv("TEST_VERBOSE") ? ETL_LOG_DEBUG : ETL_LOG_ERROR);
	test_url();
	/* the fake is built beside this test: <build>/test/fake/fake_source */
	if (dir) {
		snprintf(fake, sizeof(fake), "%s/fake_source", dir);
	} else {
		const char *slash = strrchr(argv[0], '/');
		snprintf(fake, sizeof(fake), "%.*s/fake/fake_source", slash ? (int)(slash - argv[0]) : 1,
			 slash ? argv[0] : ".");
	}
	if (access(fake, X_OK) != 0 || !mkdtemp(tmpdir)) {
		printf("skipped: the live tests need %s\n", fake);
		curl_global_cleanup();
		return unit_done();
	}
	test_live(fake);
	test_body_cap(fake);
	stop_fakes();
	curl_global_cleanup();
	return unit_done();
}

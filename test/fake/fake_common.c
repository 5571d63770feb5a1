/*
 * fake_common.c: HTTP plumbing of the test fakes. See fake_common.h.
 *
 * Threading: libmicrohttpd runs one thread per connection, so a handler may
 * sleep (delay faults, latency) without blocking other clients. The call log
 * and the fault rules are shared and guarded by one mutex; the fake's own
 * state is guarded by the fake.
 */
#define _POSIX_C_SOURCE 200809L

#include "fake_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A body larger than this is refused with 413: fixtures are not that big. */
#define MAX_BODY (256u * 1024 * 1024)
/* The call log keeps at most this much of a request body. */
#define LOG_BODY_MAX (64u * 1024)

/* ---------------------------------------------------------------- buffers */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fputs("fake: out of memory\n", stderr);
		abort();
	}
	return q;
}

static char *xstrdup(const char *s)
{
	size_t n;
	char *p;

	if (!s)
		return NULL;
	n = strlen(s);
	p = xrealloc(NULL, n + 1);
	memcpy(p, s, n + 1);
	return p;
}

void fbuf_init(struct fbuf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void fbuf_release(struct fbuf *b)
{
	free(b->p);
	fbuf_init(b);
}

static void fbuf_grow(struct fbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (b->cap * 2 > need)
		need = b->cap * 2;
	if (need < 256)
		need = 256;
	b->p = xrealloc(b->p, need);
	b->cap = need;
}

void fbuf_add(struct fbuf *b, const char *s, size_t n)
{
	fbuf_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void fbuf_adds(struct fbuf *b, const char *s)
{
	fbuf_add(b, s, strlen(s));
}

void fbuf_addc(struct fbuf *b, char c)
{
	fbuf_grow(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void fbuf_addf(struct fbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) { /* the common case: one pass */
		fbuf_add(b, tmp, (size_t)n);
		return;
	}
	fbuf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void fbuf_addi(struct fbuf *b, int64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	fbuf_add(b, tmp + i, sizeof(tmp) - i);
}

void fbuf_add_json_str(struct fbuf *b, const char *s)
{
	const char *run = s;

	fbuf_addc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		fbuf_add(b, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			fbuf_add(b, esc, 2);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			fbuf_add(b, esc, 6);
		}
	}
	fbuf_add(b, run, (size_t)(s - run));
	fbuf_addc(b, '"');
}

char *fbuf_detach(struct fbuf *b, size_t *out_len)
{
	char *p;

	if (!b->p) {
		fbuf_grow(b, 0);
		b->p[0] = '\0';
	}
	p = b->p;
	if (out_len)
		*out_len = b->len;
	fbuf_init(b);
	return p;
}

/* -------------------------------------------------------------- responses */

void fake_resp_take(struct fake_resp *r, int status, char *body, size_t len)
{
	free(r->body);
	r->status = status;
	r->body = body;
	r->len = len;
}

void fake_resp_json(struct fake_resp *r, int status, cJSON *json)
{
	char *s = cJSON_PrintUnformatted(json);

	cJSON_Delete(json);
	if (!s) {
		fputs("fake: out of memory\n", stderr);
		abort();
	}
	fake_resp_take(r, status, s, strlen(s));
}

void fake_resp_msg(struct fake_resp *r, int status, const char *fmt, ...)
{
	char msg[512];
	struct fbuf b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fbuf_init(&b);
	fbuf_adds(&b, "{\"message\":");
	fbuf_add_json_str(&b, msg);
	fbuf_addc(&b, '}');
	fake_resp_take(r, status, b.p, b.len);
}

/* ---------------------------------------------------------------- options */

const char fake_common_usage[] =
	"  --port N          port on 127.0.0.1 (default 0: ephemeral)\n"
	"  --port-file FILE  write the chosen port to FILE (atomically)\n"
	"  --log FILE        append one JSON line per call to FILE\n"
	"  --calls-max N     keep the last N calls in memory (default 100000)\n";

int fake_opt(int argc, char **argv, int *i, const char *name,
	     const char **out)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*out = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "option '%s' needs a value\n", name);
		return -1;
	}
	*out = argv[++*i];
	return 1;
}

bool fake_parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

int fake_common_opt(int argc, char **argv, int *i, struct fake_opts *o)
{
	const char *v;
	int64_t n;
	int r;

	if ((r = fake_opt(argc, argv, i, "--port", &v)) != 0) {
		if (r < 0 || !fake_parse_i64(v, &n) || n < 0 || n > 65535) {
			fprintf(stderr, "bad --port\n");
			return -1;
		}
		o->port = (unsigned)n;
		return 1;
	}
	if ((r = fake_opt(argc, argv, i, "--calls-max", &v)) != 0) {
		if (r < 0 || !fake_parse_i64(v, &o->calls_max) || o->calls_max < 1) {
			fprintf(stderr, "bad --calls-max\n");
			return -1;
		}
		return 1;
	}
	if ((r = fake_opt(argc, argv, i, "--port-file", &o->port_file)) != 0)
		return r;
	return fake_opt(argc, argv, i, "--log", &o->log_file);
}

/* ------------------------------------------------------------------ time */

int64_t fake_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fake_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fake_sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int64_t fake_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Howard Hinnant's days_from_civil: days since 1970-01-01. */
int64_t fake_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = fake_floordiv(y, 400);
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void fake_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = fake_floordiv(z, 146097);
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Reads exactly n digits at *s; advances *s. */
static bool digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int k = 0; k < n; k++) {
		char c = (*s)[k];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*s += n;
	*out = v;
	return true;
}

static bool lit(const char **s, char c)
{
	if (**s != c)
		return false;
	(*s)++;
	return true;
}

static unsigned days_in_month(int y, int m)
{
	static const unsigned dm[] = { 31, 28, 31, 30, 31, 30,
				       31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return (m == 2 && leap) ? 29 : dm[m - 1];
}

/* Parses "Z", "+hh:mm", "-hh:mm" or "" at s into minutes east of UTC. */
static bool parse_offset(const char *s, int *off_min, bool *has_offset)
{
	int oh, om, sign;

	*off_min = 0;
	*has_offset = true;
	if (*s == '\0') {
		*has_offset = false;
		return true;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return true;
	if (*s != '+' && *s != '-')
		return false;
	sign = *s++ == '-' ? -1 : 1;
	if (!digits(&s, 2, &oh) || !lit(&s, ':') || !digits(&s, 2, &om) ||
	    *s || oh > 23 || om > 59)
		return false;
	*off_min = sign * (oh * 60 + om);
	return true;
}

bool fake_parse_time(const char *s, int64_t *out_ms, bool *has_offset)
{
	int y, mo, d, h, mi, sec, ms = 0, off;
	bool dummy;

	if (!has_offset)
		has_offset = &dummy;
	if (!s || !digits(&s, 4, &y) || !lit(&s, '-') || !digits(&s, 2, &mo) ||
	    !lit(&s, '-') || !digits(&s, 2, &d))
		return false;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return false;
	s++;
	if (!digits(&s, 2, &h) || !lit(&s, ':') || !digits(&s, 2, &mi) ||
	    !lit(&s, ':') || !digits(&s, 2, &sec))
		return false;
	if (*s == '.') {
		int scale = 100, n = 0;

		for (s++; *s >= '0' && *s <= '9'; s++, n++) {
			ms += (*s - '0') * scale;
			scale /= 10;
		}
		if (n == 0)
			return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return false;
	if (!parse_offset(s, &off, has_offset))
		return false;
	*out_ms = (fake_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
		   h * 3600 + mi * 60 + sec - off * 60) * 1000 + ms;
	return true;
}

void fake_format_time(char *buf, size_t n, int64_t ms, int offset_min,
		      bool with_ms)
{
	int64_t local = ms + (int64_t)offset_min * 60000, y;
	int64_t day = fake_floordiv(local, 86400000);
	int64_t rem = local - day * 86400000;
	unsigned m, d;
	char frac[16] = "", off[16] = "Z";

	fake_civil_from_days(day, &y, &m, &d);
	if (with_ms)
		snprintf(frac, sizeof(frac), ".%03d", (int)(rem % 1000));
	if (offset_min)
		snprintf(off, sizeof(off), "%c%02d:%02d",
			 offset_min < 0 ? '-' : '+', abs(offset_min) / 60,
			 abs(offset_min) % 60);
	snprintf(buf, n, "%04lld-%02u-%02uT%02d:%02d:%02d%s%s", (long long)y,
		 m, d, (int)(rem / 3600000), (int)(rem / 60000 % 60),
		 (int)(rem / 1000 % 60), frac, off);
}

/* ----------------------------------------------------------------- server */

enum { TRUNC_NONE, TRUNC_BODY, TRUNC_CONN };

/* One fault rule; see README.md for the meaning of each field. */
struct fault {
	char *method, *path, *body, *retry_after;
	int64_t skip, count, delay_ms, applied;
	int status, truncate;
	bool drop, drop_after;
};

/* One logged call. */
struct call {
	int64_t seq, t_ms, dur_ms;
	char *method, *path, *query, *auth, *api_key, *vauth, *body;
	int status;
	const char *fault;
};

struct server {
	const struct fake_app *app;
	pthread_mutex_t lock;
	struct call *calls;
	size_t ncalls, capcalls, calls_max;
	int64_t seq;
	struct fault *faults;
	size_t nfaults;
	FILE *log;
};

/* Per-request state, created by the URI callback, freed when done. */
struct req_ctx {
	char *uri, *path;
	const char *query;
	struct fake_kv *args;
	size_t nargs;
	struct fbuf body;
	bool started, too_big;
	int64_t t_ms, t0;
};

const char *fake_arg(const struct fake_req *r, const char *key)
{
	for (size_t i = 0; i < r->nargs; i++)
		if (strcmp(r->args[i].key, key) == 0)
			return r->args[i].val;
	return NULL;
}

const char *fake_header(const struct fake_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Form-decodes n bytes of s: %XX and '+' as space, like a web framework. */
static char *url_decode(const char *s, size_t n)
{
	char *out = xrealloc(NULL, n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%' && i + 2 < n &&
			   (hi = hexval(s[i + 1])) >= 0 &&
			   (lo = hexval(s[i + 2])) >= 0) {
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static void parse_query(struct req_ctx *c)
{
	const char *s = c->query;

	while (*s) {
		size_t n = strcspn(s, "&");
		const char *eq = memchr(s, '=', n);
		struct fake_kv *kv;

		if (n > 0) {
			c->args = xrealloc(c->args,
					   (c->nargs + 1) * sizeof(*c->args));
			kv = &c->args[c->nargs++];
			kv->key = url_decode(s, eq ? (size_t)(eq - s) : n);
			kv->val = eq ? url_decode(eq + 1, n - (size_t)(eq - s) - 1)
				     : xstrdup("");
		}
		s += n;
		if (*s == '&')
			s++;
	}
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct req_ctx *c = xrealloc(NULL, sizeof(*c));
	char *q;

	(void)cls;
	(void)conn;
	memset(c, 0, sizeof(*c));
	c->t_ms = fake_now_ms();
	c->t0 = fake_mono_ms();
	c->uri = xstrdup(uri);
	c->path = xstrdup(uri);
	q = strchr(c->path, '?');
	if (q)
		*q = '\0';
	q = strchr(c->uri, '?');
	c->query = q ? q + 1 : "";
	parse_query(c);
	fbuf_init(&c->body);
	return c;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *c = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!c)
		return;
	for (size_t i = 0; i < c->nargs; i++) {
		free(c->args[i].key);
		free(c->args[i].val);
	}
	free(c->args);
	free(c->uri);
	free(c->path);
	fbuf_release(&c->body);
	free(c);
	*con_cls = NULL;
}

/* ------------------------------------------------------------- fault rules */

static void fault_release(struct fault *f)
{
	free(f->method);
	free(f->path);
	free(f->body);
	free(f->retry_after);
	memset(f, 0, sizeof(*f));
}

static void faults_clear(struct server *s)
{
	for (size_t i = 0; i < s->nfaults; i++)
		fault_release(&s->faults[i]);
	free(s->faults);
	s->faults = NULL;
	s->nfaults = 0;
}

static bool json_int(const cJSON *o, const char *k, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v)
		return true;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble)
		return false;
	*out = (int64_t)v->valuedouble;
	return true;
}

static bool json_str(const cJSON *o, const char *k, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v || cJSON_IsNull(v))
		return true;
	if (cJSON_IsNumber(v)) { /* "retry_after": 2 is fine too */
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "%lld", (long long)v->valuedouble);
		*out = xstrdup(tmp);
		return true;
	}
	if (!cJSON_IsString(v))
		return false;
	*out = xstrdup(v->valuestring);
	return true;
}

static bool json_bool(const cJSON *o, const char *k, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v)
		return true;
	if (!cJSON_IsBool(v))
		return false;
	*out = cJSON_IsTrue(v);
	return true;
}

static bool parse_truncate(const cJSON *o, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "truncate");

	*out = TRUNC_NONE;
	if (!v || cJSON_IsFalse(v) || cJSON_IsNull(v))
		return true;
	if (cJSON_IsTrue(v) ||
	    (cJSON_IsString(v) && strcmp(v->valuestring, "body") == 0))
		*out = TRUNC_BODY;
	else if (cJSON_IsString(v) && strcmp(v->valuestring, "conn") == 0)
		*out = TRUNC_CONN;
	else
		return false;
	return true;
}

/* Parses one rule; returns an error message or NULL. */
static const char *fault_parse(const cJSON *o, struct fault *f)
{
	int64_t status = 0;

	memset(f, 0, sizeof(*f));
	f->count = 1;
	if (!cJSON_IsObject(o))
		return "a fault rule must be an object";
	if (!json_str(o, "method", &f->method) || !json_str(o, "path", &f->path))
		return "method and path must be strings";
	if (!json_int(o, "skip", &f->skip) || !json_int(o, "count", &f->count) ||
	    !json_int(o, "status", &status) ||
	    !json_int(o, "delay_ms", &f->delay_ms))
		return "skip, count, status and delay_ms must be integers";
	if (!json_str(o, "body", &f->body) ||
	    !json_str(o, "retry_after", &f->retry_after))
		return "body and retry_after must be strings";
	if (!json_bool(o, "drop", &f->drop) ||
	    !json_bool(o, "drop_after", &f->drop_after))
		return "drop and drop_after must be booleans";
	if (!parse_truncate(o, &f->truncate))
		return "truncate must be true, \"body\" or \"conn\"";
	if (status != 0 && (status < 100 || status > 599))
		return "status must be an HTTP status";
	if (f->skip < 0 || f->count < -1 || f->delay_ms < 0)
		return "skip and delay_ms must be >= 0, count >= -1";
	f->status = (int)status;
	return NULL;
}

/* Replaces (or with append, extends) the rule list from a JSON body. */
static void control_faults_set(struct server *s, const struct fake_req *req,
			       struct fake_resp *resp)
{
	cJSON *root = cJSON_Parse(req->body), *item;
	struct fault *list = NULL;
	size_t n = 0;
	const char *err = NULL;
	bool append = fake_arg(req, "append") != NULL;

	if (!root || (!cJSON_IsArray(root) && !cJSON_IsObject(root))) {
		cJSON_Delete(root);
		fake_resp_msg(resp, 400, "body must be a JSON array of rules");
		return;
	}
	if (cJSON_IsObject(root)) { /* one rule alone is accepted too */
		cJSON *arr = cJSON_CreateArray();

		cJSON_AddItemToArray(arr, root);
		root = arr;
	}
	cJSON_ArrayForEach(item, root) {
		list = xrealloc(list, (n + 1) * sizeof(*list));
		err = fault_parse(item, &list[n]);
		n++;
		if (err)
			break;
	}
	cJSON_Delete(root);
	if (err) {
		for (size_t i = 0; i < n; i++)
			fault_release(&list[i]);
		free(list);
		fake_resp_msg(resp, 400, "%s", err);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (!append)
		faults_clear(s);
	s->faults = xrealloc(s->faults, (s->nfaults + n) * sizeof(*list));
	if (n)
		memcpy(s->faults + s->nfaults, list, n * sizeof(*list));
	s->nfaults += n;
	n = s->nfaults;
	pthread_mutex_unlock(&s->lock);
	free(list);
	fake_resp_msg(resp, 200, "%zu fault rules", n);
}

static cJSON *fault_to_json(const struct fault *f)
{
	static const char *const tr[] = { NULL, "body", "conn" };
	cJSON *o = cJSON_CreateObject();

	if (f->method)
		cJSON_AddStringToObject(o, "method", f->method);
	if (f->path)
		cJSON_AddStringToObject(o, "path", f->path);
	cJSON_AddNumberToObject(o, "skip", (double)f->skip);
	cJSON_AddNumberToObject(o, "count", (double)f->count);
	cJSON_AddNumberToObject(o, "applied", (double)f->applied);
	if (f->status)
		cJSON_AddNumberToObject(o, "status", f->status);
	if (f->body)
		cJSON_AddStringToObject(o, "body", f->body);
	if (f->retry_after)
		cJSON_AddStringToObject(o, "retry_after", f->retry_after);
	if (f->delay_ms)
		cJSON_AddNumberToObject(o, "delay_ms", (double)f->delay_ms);
	if (f->truncate)
		cJSON_AddStringToObject(o, "truncate", tr[f->truncate]);
	if (f->drop)
		cJSON_AddTrueToObject(o, "drop");
	if (f->drop_after)
		cJSON_AddTrueToObject(o, "drop_after");
	return o;
}

static bool fault_matches(const struct fault *f, const struct fake_req *req)
{
	if (f->count == 0)
		return false;
	if (f->method && strcasecmp(f->method, req->method) != 0)
		return false;
	return !f->path || strncmp(req->path, f->path, strlen(f->path)) == 0;
}

/*
 * Finds the first applicable rule and copies it to *out (strings duplicated,
 * because the rule may be replaced while this request sleeps). A matching
 * rule that still has skips left lets the request pass it, and the search
 * goes on with the next rule.
 */
static bool fault_take(struct server *s, const struct fake_req *req,
		       struct fault *out)
{
	bool found = false;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nfaults && !found; i++) {
		struct fault *f = &s->faults[i];

		if (!fault_matches(f, req))
			continue;
		if (f->skip > 0) {
			f->skip--;
			continue;
		}
		if (f->count > 0)
			f->count--;
		f->applied++;
		*out = *f;
		out->method = out->path = NULL;
		out->body = xstrdup(f->body);
		out->retry_after = xstrdup(f->retry_after);
		found = true;
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* --------------------------------------------------------------- call log */

static void call_release(struct call *c)
{
	free(c->method);
	free(c->path);
	free(c->query);
	free(c->auth);
	free(c->api_key);
	free(c->vauth);
	free(c->body);
}

static void calls_clear(struct server *s)
{
	for (size_t i = 0; i < s->ncalls; i++)
		call_release(&s->calls[i]);
	free(s->calls);
	s->calls = NULL;
	s->ncalls = s->capcalls = 0;
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *call_to_json(const struct call *c)
{
	cJSON *o = cJSON_CreateObject(), *h;

	cJSON_AddNumberToObject(o, "seq", (double)c->seq);
	cJSON_AddNumberToObject(o, "time_ms", (double)c->t_ms);
	cJSON_AddNumberToObject(o, "duration_ms", (double)c->dur_ms);
	cJSON_AddStringToObject(o, "method", c->method);
	cJSON_AddStringToObject(o, "path", c->path);
	cJSON_AddStringToObject(o, "query", c->query);
	h = cJSON_AddObjectToObject(o, "headers");
	add_str_or_null(h, "authorization", c->auth);
	add_str_or_null(h, "x-api-key", c->api_key);
	add_str_or_null(h, "x-verkada-auth", c->vauth);
	add_str_or_null(o, "body", c->body);
	cJSON_AddNumberToObject(o, "status", c->status);
	add_str_or_null(o, "fault", c->fault);
	return o;
}

/* Records a finished call (status 0: nothing was sent back). */
static void log_call(struct server *s, const struct fake_req *req,
		     const struct req_ctx *ctx, int status, const char *fault)
{
	struct call c;

	memset(&c, 0, sizeof(c));
	c.t_ms = ctx->t_ms;
	c.dur_ms = fake_mono_ms() - ctx->t0;
	c.method = xstrdup(req->method);
	c.path = xstrdup(req->path);
	c.query = xstrdup(req->query);
	c.auth = xstrdup(fake_header(req, "Authorization"));
	c.api_key = xstrdup(fake_header(req, "x-api-key"));
	c.vauth = xstrdup(fake_header(req, "x-verkada-auth"));
	if (req->body_len) {
		size_t n = req->body_len < LOG_BODY_MAX ? req->body_len
							: LOG_BODY_MAX;
		c.body = xrealloc(NULL, n + 1);
		memcpy(c.body, req->body, n);
		c.body[n] = '\0';
	}
	c.status = status;
	c.fault = fault;
	pthread_mutex_lock(&s->lock);
	c.seq = ++s->seq;
	if (s->log) {
		cJSON *j = call_to_json(&c);
		char *line = cJSON_PrintUnformatted(j);

		fprintf(s->log, "%s\n", line);
		fflush(s->log);
		free(line);
		cJSON_Delete(j);
	}
	if (s->ncalls == s->calls_max) { /* forget the older half, in one go */
		size_t half = s->ncalls / 2;

		for (size_t k = 0; k < half; k++)
			call_release(&s->calls[k]);
		memmove(s->calls, s->calls + half,
			(s->ncalls - half) * sizeof(*s->calls));
		s->ncalls -= half;
	}
	if (s->ncalls == s->capcalls) {
		s->capcalls = s->capcalls ? s->capcalls * 2 : 64;
		s->calls = xrealloc(s->calls, s->capcalls * sizeof(c));
	}
	s->calls[s->ncalls++] = c;
	pthread_mutex_unlock(&s->lock);
}

static void control_calls(struct server *s, struct fake_resp *resp)
{
	cJSON *arr = cJSON_CreateArray();

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->ncalls; i++)
		cJSON_AddItemToArray(arr, call_to_json(&s->calls[i]));
	pthread_mutex_unlock(&s->lock);
	fake_resp_json(resp, 200, arr);
}

/* -------------------------------------------------------------- dispatch */

static void control(struct server *s, const struct fake_req *req,
		    struct fake_resp *resp)
{
	const char *p = req->path + strlen("/_control/");
	bool get = strcmp(req->method, "GET") == 0;
	bool post = strcmp(req->method, "POST") == 0;

	if (strcmp(p, "faults") == 0 && post) {
		control_faults_set(s, req, resp);
	} else if (strcmp(p, "faults") == 0 && get) {
		cJSON *arr = cJSON_CreateArray();

		pthread_mutex_lock(&s->lock);
		for (size_t i = 0; i < s->nfaults; i++)
			cJSON_AddItemToArray(arr, fault_to_json(&s->faults[i]));
		pthread_mutex_unlock(&s->lock);
		fake_resp_json(resp, 200, arr);
	} else if (strcmp(p, "faults") == 0 &&
		   strcmp(req->method, "DELETE") == 0) {
		pthread_mutex_lock(&s->lock);
		faults_clear(s);
		pthread_mutex_unlock(&s->lock);
		fake_resp_msg(resp, 200, "faults cleared");
	} else if (strcmp(p, "calls") == 0 && get) {
		control_calls(s, resp);
	} else if (strcmp(p, "reset") == 0 && post) {
		pthread_mutex_lock(&s->lock);
		faults_clear(s);
		calls_clear(s);
		pthread_mutex_unlock(&s->lock);
		if (s->app->reset)
			s->app->reset(s->app->ctx);
		fake_resp_msg(resp, 200, "reset");
	} else if (strcmp(p, "health") == 0 && get) {
		fake_resp_msg(resp, 200, "ok");
	} else if (!s->app->control || !s->app->control(s->app->ctx, req, resp)) {
		fake_resp_msg(resp, 404, "unknown control endpoint %s %s",
			      req->method, req->path);
	}
}

struct trunc_src {
	char *body;
	size_t half;
};

static ssize_t trunc_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct trunc_src *t = cls;
	size_t n;

	if (pos >= t->half) /* promised more: close the connection instead */
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = t->half - (size_t)pos;
	if (n > max)
		n = max;
	memcpy(buf, t->body + pos, n);
	return (ssize_t)n;
}

static void trunc_free(void *cls)
{
	struct trunc_src *t = cls;

	free(t->body);
	free(t);
}

/* Sends resp (taking its body) with the truncation asked for. */
static enum MHD_Result send_resp(struct MHD_Connection *conn,
				 struct fake_resp *r, int truncate)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;

	if (!r->body)
		r->body = xstrdup(""), r->len = 0;
	if (truncate == TRUNC_CONN) {
		struct trunc_src *t = xrealloc(NULL, sizeof(*t));

		t->body = r->body;
		t->half = r->len / 2;
		mr = MHD_create_response_from_callback(r->len, 4096, trunc_read,
						       t, trunc_free);
	} else {
		if (truncate == TRUNC_BODY)
			r->len /= 2;
		mr = MHD_create_response_from_buffer(r->len, r->body,
						     MHD_RESPMEM_MUST_FREE);
	}
	r->body = NULL;
	if (!mr)
		return MHD_NO;
	MHD_add_response_header(mr, "Content-Type", "application/json");
	if (r->retry_after[0])
		MHD_add_response_header(mr, "Retry-After", r->retry_after);
	ret = MHD_queue_response(conn, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

/* Answers a request that a fault rule applies to. */
static enum MHD_Result serve_faulted(struct server *s, struct fake_req *req,
				     struct req_ctx *ctx, struct fault *f)
{
	struct fake_resp resp = { 0 };
	enum MHD_Result ret = MHD_NO;
	const char *what = "status";

	if (f->delay_ms > 0)
		fake_sleep_ms(f->delay_ms);
	if (f->drop) {
		log_call(s, req, ctx, 0, "drop");
		goto cleanup;
	}
	if (f->retry_after)
		snprintf(resp.retry_after, sizeof(resp.retry_after), "%s",
			 f->retry_after);
	if (f->status) {
		if (f->body)
			fake_resp_take(&resp, f->status, xstrdup(f->body),
				       strlen(f->body));
		else
			fake_resp_msg(&resp, f->status, "injected fault %d",
				      f->status);
	} else {
		s->app->handle(s->app->ctx, req, &resp);
		what = f->drop_after ? "drop_after"
		       : f->truncate == TRUNC_BODY ? "truncate_body"
		       : f->truncate == TRUNC_CONN ? "truncate_conn"
						   : "delay";
	}
	if (!f->status && f->drop_after) {
		log_call(s, req, ctx, 0, what);
		goto cleanup;
	}
	log_call(s, req, ctx, resp.status, what);
	ret = send_resp(req->conn, &resp, f->status ? TRUNC_NONE : f->truncate);
cleanup:
	free(resp.body);
	fault_release(f);
	return ret;
}

static enum MHD_Result dispatch(struct server *s, struct MHD_Connection *conn,
				const char *method, struct req_ctx *ctx)
{
	struct fake_req req;
	struct fake_resp resp = { 0 };
	struct fault f;

	fbuf_addc(&ctx->body, '\0'); /* guarantees a NUL-terminated body */
	ctx->body.len--;
	req.method = method;
	req.path = ctx->path;
	req.query = ctx->query;
	req.args = ctx->args;
	req.nargs = ctx->nargs;
	req.body = ctx->body.p;
	req.body_len = ctx->body.len;
	req.conn = conn;
	if (ctx->too_big) {
		fake_resp_msg(&resp, 413, "body too large");
	} else if (strncmp(req.path, "/_control/", 10) == 0) {
		control(s, &req, &resp);
		return send_resp(conn, &resp, TRUNC_NONE);
	} else if (fault_take(s, &req, &f)) {
		return serve_faulted(s, &req, ctx, &f);
	} else {
		s->app->handle(s->app->ctx, &req, &resp);
	}
	log_call(s, &req, ctx, resp.status, NULL);
	return send_resp(conn, &resp, TRUNC_NONE);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct req_ctx *ctx = *con_cls;

	(void)url;
	(void)version;
	if (!ctx)
		return MHD_NO;
	if (!ctx->started) {
		ctx->started = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (ctx->body.len + *upload_size > MAX_BODY)
			ctx->too_big = true;
		else
			fbuf_add(&ctx->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	return dispatch(cls, conn, method, ctx);
}

/* Writes the port to path via a temporary file and rename(). */
static int write_port_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	ok = fprintf(f, "%u\n", port) > 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static struct MHD_Daemon *start_daemon(struct server *s, unsigned port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			MHD_USE_AUTO | MHD_USE_ERROR_LOG,
		(uint16_t)port, NULL, NULL, on_request, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
		MHD_OPTION_END);
}

int fake_run(const struct fake_opts *o, const struct fake_app *app)
{
	struct server s;
	struct MHD_Daemon *d = NULL;
	const union MHD_DaemonInfo *info;
	sigset_t set;
	int sig, ret = 1;

	memset(&s, 0, sizeof(s));
	s.app = app;
	s.calls_max = o->calls_max > 0 ? (size_t)o->calls_max : 100000;
	pthread_mutex_init(&s.lock, NULL);
	/* Block the signals before MHD starts its threads, which inherit the
	 * mask, so that only sigwait() below ever sees them. A background job
	 * of a script starts with SIGINT ignored, and an ignored signal never
	 * reaches sigwait(): restore the default first. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (o->log_file && !(s.log = fopen(o->log_file, "a"))) {
		fprintf(stderr, "%s: cannot open '%s': %s\n", app->name,
			o->log_file, strerror(errno));
		goto cleanup;
	}
	d = start_daemon(&s, o->port);
	if (!d) {
		fprintf(stderr, "%s: cannot listen on 127.0.0.1:%u\n",
			app->name, o->port);
		goto cleanup;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (o->port_file && write_port_file(o->port_file, info->port) != 0) {
		fprintf(stderr, "%s: cannot write '%s'\n", app->name,
			o->port_file);
		goto cleanup;
	}
	fprintf(stderr, "%s: listening on 127.0.0.1:%u\n", app->name,
		(unsigned)info->port);
	while (sigwait(&set, &sig) != 0)
		;
	ret = 0;
cleanup:
	if (d)
		MHD_stop_daemon(d);
	faults_clear(&s);
	calls_clear(&s);
	if (s.log)
		fclose(s.log);
	pthread_mutex_destroy(&s.lock);
	return ret;
}

/*
 * fake_common.h: the HTTP plumbing shared by the test fakes (fake_source,
 * fake_helix): a libmicrohttpd server on 127.0.0.1 with one thread per
 * connection, a call log, fault injection and the common control endpoints
 * (/_control/faults, /_control/calls, /_control/reset, /_control/health).
 *
 * A fake supplies a struct fake_app; fake_run() serves until SIGTERM/SIGINT.
 * These are test tools: allocation failure aborts the process.
 */
#ifndef ETL_FAKE_COMMON_H
#define ETL_FAKE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct MHD_Connection;

/* A growable byte buffer, always NUL-terminated after the first append. */
struct fbuf {
	char *p;
	size_t len, cap;
};

void fbuf_init(struct fbuf *b);
void fbuf_release(struct fbuf *b);
void fbuf_add(struct fbuf *b, const char *s, size_t n);
void fbuf_adds(struct fbuf *b, const char *s);
void fbuf_addc(struct fbuf *b, char c);
void fbuf_addf(struct fbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends a signed decimal integer (faster than fbuf_addf). */
void fbuf_addi(struct fbuf *b, int64_t v);
/* Appends s as a quoted, escaped JSON string. */
void fbuf_add_json_str(struct fbuf *b, const char *s);
/* Hands the buffer's memory to the caller (free() it); leaves b empty. */
char *fbuf_detach(struct fbuf *b, size_t *out_len);

/* One decoded query argument. */
struct fake_kv {
	char *key, *val;
};

/* A request as the fakes see it; everything is borrowed from the server. */
struct fake_req {
	const char *method;
	const char *path;  /* raw path, without the query string */
	const char *query; /* raw query string after '?', "" when none */
	const struct fake_kv *args; /* query arguments, %-decoded, '+' = space */
	size_t nargs;
	const char *body; /* NUL-terminated; "" when none */
	size_t body_len;
	struct MHD_Connection *conn;
};

/* Value of the first query argument named key, or NULL. */
const char *fake_arg(const struct fake_req *r, const char *key);
/* Value of a request header (case-insensitive name), or NULL. */
const char *fake_header(const struct fake_req *r, const char *name);

/* The answer a handler fills in; body is owned (malloc'd) by the response. */
struct fake_resp {
	int status;
	char *body;
	size_t len;
	char retry_after[32]; /* Retry-After header value when non-empty */
};

/* Takes ownership of body (malloc'd). */
void fake_resp_take(struct fake_resp *r, int status, char *body, size_t len);
/* Prints json as the body and deletes it. */
void fake_resp_json(struct fake_resp *r, int status, cJSON *json);
/* Answers {"message": <formatted text>}. */
void fake_resp_msg(struct fake_resp *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * What a fake plugs into the server. handle() serves every request outside
 * /_control/ and may be called from many threads at once; control() serves
 * the fake's own /_control/ endpoints and returns false for an unknown one;
 * reset() runs on POST /_control/reset after the log and faults are cleared.
 */
struct fake_app {
	const char *name;
	void *ctx;
	void (*handle)(void *ctx, const struct fake_req *req,
		       struct fake_resp *resp);
	bool (*control)(void *ctx, const struct fake_req *req,
			struct fake_resp *resp);
	void (*reset)(void *ctx);
};

struct fake_opts {
	unsigned port;         /* 0: ephemeral */
	const char *port_file; /* the chosen port is written here */
	const char *log_file;  /* one JSON line per call is appended here */
	int64_t calls_max;     /* call log size; 0: 100000 */
};

/*
 * Matches argv[*i] against option name, as "--name value" or "--name=value".
 * Returns 1 and sets *out (and advances *i past a separate value) on a match,
 * 0 when argv[*i] is another option, -1 when the value is missing.
 */
int fake_opt(int argc, char **argv, int *i, const char *name,
	     const char **out);
/* Parses the common options; same return values as fake_opt(). */
int fake_common_opt(int argc, char **argv, int *i, struct fake_opts *o);
/* Usage lines of the common options. */
extern const char fake_common_usage[];

/* Parses a decimal integer that must fill all of s. */
bool fake_parse_i64(const char *s, int64_t *out);

/* Serves until SIGTERM or SIGINT; returns the process exit status. */
int fake_run(const struct fake_opts *o, const struct fake_app *app);

int64_t fake_now_ms(void);  /* wall clock, epoch ms */
int64_t fake_mono_ms(void); /* monotonic clock, ms */
void fake_sleep_ms(int64_t ms);

/*
 * RFC 3339 timestamps. fake_parse_time() accepts YYYY-MM-DDTHH:MM:SS[.frac]
 * followed by Z or +hh:mm / -hh:mm, or by nothing (then *has_offset is false
 * and the time is read as UTC). Returns false when s is not such a timestamp.
 */
bool fake_parse_time(const char *s, int64_t *out_ms, bool *has_offset);
/* Formats ms at the given UTC offset (minutes); milliseconds only if with_ms. */
void fake_format_time(char *buf, size_t n, int64_t ms, int offset_min,
		      bool with_ms);
int64_t fake_days_from_civil(int64_t y, unsigned m, unsigned d);
void fake_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Floor division for negative times. */
int64_t fake_floordiv(int64_t a, int64_t b);

#endif

/* config.c - see config.h. */
#include "config.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

extern char **environ;

static const char *const known_keys[] = {
	"ETL_DATABASE_URL", "ETL_DATABASE_URL_FILE",
	"ETL_SOURCE_URL", "ETL_SOURCE_TOKEN", "ETL_SOURCE_TOKEN_FILE", "ETL_SOURCE_TZ",
	"ETL_SOURCE_PAGE_LIMIT", "ETL_HTTP_TIMEOUT", "ETL_HTTP_CONNECT_TIMEOUT",
	"ETL_HTTP_RETRIES", "ETL_HTTP_BACKOFF_MS", "ETL_HTTP_BACKOFF_MAX_MS",
	"ETL_HELIX_URL", "ETL_HELIX_API_KEY", "ETL_HELIX_API_KEY_FILE",
	"ETL_HELIX_EVENT_TYPE", "ETL_HELIX_CONCURRENCY", "ETL_HELIX_RATE",
	"ETL_HELIX_FOOTAGE_LINKS", "ETL_NOW", "ETL_METRICS_FILE",
	"ETL_STATEMENT_TIMEOUT", NULL,
};

int etl_config_known_key(const char *key)
{
	for (int i = 0; known_keys[i]; i++)
		if (strcmp(known_keys[i], key) == 0)
			return 1;
	return 0;
}

static void set_str(char **slot, const char *value)
{
	free(*slot);
	*slot = (value && *value) ? strdup(value) : NULL;
}

static int parse_int(const char *key, const char *value, int min, int max, int *out, etl_err *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end != '\0' || v < min || v > max)
		return etl_err_set(err, ETL_ECONFIG, "%s must be a whole number from %d to %d, not \"%s\"",
				   key, min, max, value);
	*out = (int)v;
	return 0;
}

static int parse_bool(const char *key, const char *value, int *out, etl_err *err)
{
	if (!strcmp(value, "1") || !strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcasecmp(value, "on"))
		*out = 1;
	else if (!strcmp(value, "0") || !strcasecmp(value, "false") || !strcasecmp(value, "no") ||
		 !strcasecmp(value, "off") || !*value)
		*out = 0;
	else
		return etl_err_set(err, ETL_ECONFIG, "%s must be 1 or 0, not \"%s\"", key, value);
	return 0;
}

/* Reads a secret from a file: the first line, without its newline.  Warns
 * when the file is readable by group or others, since cron hosts are shared. */
static int read_secret_file(const char *key, const char *path, char **out, etl_err *err)
{
	char buf[4096];
	struct stat st;
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return etl_err_set(err, ETL_ECONFIG, "%s names \"%s\", which cannot be read: %s",
				   key, path, strerror(errno));
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
		etl_warn("%s \"%s\" is readable by group or others; chmod 600 it", key, path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0])
		return etl_err_set(err, ETL_ECONFIG, "%s names \"%s\", which is empty", key, path);
	set_str(out, buf);
	etl_log_secret(buf);
	return 0;
}

/* Registers the password of a libpq URI or key=value string for redaction. */
static void redact_db_password(const char *url)
{
	const char *p;
	char pw[256];

	if (!url)
		return;
	if ((p = strstr(url, "://")) != NULL) {
		const char *at = strchr(p + 3, '@');
		const char *colon = strchr(p + 3, ':');
		if (at && colon && colon < at && (size_t)(at - colon - 1) < sizeof(pw)) {
			memcpy(pw, colon + 1, (size_t)(at - colon - 1));
			pw[at - colon - 1] = '\0';
			etl_log_secret(pw);
		}
	}
	if ((p = strstr(url, "password=")) != NULL) {
		size_t n = strcspn(p + 9, " ");
		if (n < sizeof(pw)) {
			memcpy(pw, p + 9, n);
			pw[n] = '\0';
			etl_log_secret(pw);
		}
	}
}

int etl_config_set(etl_config *c, const char *key, const char *value, etl_err *err)
{
	if (!strcmp(key, "ETL_DATABASE_URL")) {
		set_str(&c->database_url, value);
		redact_db_password(value);
	} else if (!strcmp(key, "ETL_DATABASE_URL_FILE")) {
		if (read_secret_file(key, value, &c->database_url, err) < 0)
			return -1;
		redact_db_password(c->database_url);
	} else if (!strcmp(key, "ETL_SOURCE_URL")) {
		size_t n;
		if (*value && strncmp(value, "http://", 7) && strncmp(value, "https://", 8))
			return etl_err_set(err, ETL_ECONFIG, "ETL_SOURCE_URL must start with http:// or https://, not \"%s\"", value);
		set_str(&c->source_url, value);
		while (c->source_url && (n = strlen(c->source_url)) > 0 && c->source_url[n - 1] == '/')
			c->source_url[n - 1] = '\0';
		if (c->source_url && !strstr(c->source_url, "://"))
			return etl_err_set(err, ETL_ECONFIG, "ETL_SOURCE_URL \"%s\" names no host", value);
	} else if (!strcmp(key, "ETL_SOURCE_TOKEN")) {
		set_str(&c->source_token, value);
		etl_log_secret(value);
	} else if (!strcmp(key, "ETL_SOURCE_TOKEN_FILE")) {
		return read_secret_file(key, value, &c->source_token, err);
	} else if (!strcmp(key, "ETL_SOURCE_TZ")) {
		set_str(&c->source_tz, *value ? value : "UTC");
	} else if (!strcmp(key, "ETL_SOURCE_PAGE_LIMIT")) {
		return parse_int(key, value, 1, 100000, &c->page_limit, err);
	} else if (!strcmp(key, "ETL_HTTP_TIMEOUT")) {
		return parse_int(key, value, 1, 3600, &c->http_timeout_s, err);
	} else if (!strcmp(key, "ETL_HTTP_CONNECT_TIMEOUT")) {
		return parse_int(key, value, 1, 600, &c->http_connect_timeout_s, err);
	} else if (!strcmp(key, "ETL_HTTP_RETRIES")) {
		return parse_int(key, value, 0, 100, &c->http_retries, err);
	} else if (!strcmp(key, "ETL_HTTP_BACKOFF_MS")) {
		return parse_int(key, value, 0, 600000, &c->http_backoff_ms, err);
	} else if (!strcmp(key, "ETL_HTTP_BACKOFF_MAX_MS")) {
		return parse_int(key, value, 0, 3600000, &c->http_backoff_max_ms, err);
	} else if (!strcmp(key, "ETL_HELIX_URL")) {
		if (*value && strncmp(value, "http://", 7) && strncmp(value, "https://", 8))
			return etl_err_set(err, ETL_ECONFIG, "ETL_HELIX_URL must start with http:// or https://, not \"%s\"", value);
		if (*value && !value[strcspn(value, ":") + 3])
			return etl_err_set(err, ETL_ECONFIG, "ETL_HELIX_URL \"%s\" names no host", value);
		set_str(&c->helix_url, *value ? value : "https://api.verkada.com");
	} else if (!strcmp(key, "ETL_HELIX_API_KEY")) {
		set_str(&c->helix_api_key, value);
		etl_log_secret(value);
	} else if (!strcmp(key, "ETL_HELIX_API_KEY_FILE")) {
		return read_secret_file(key, value, &c->helix_api_key, err);
	} else if (!strcmp(key, "ETL_HELIX_EVENT_TYPE")) {
		set_str(&c->helix_event_type, *value ? value : "Sales Transaction");
	} else if (!strcmp(key, "ETL_HELIX_CONCURRENCY")) {
		return parse_int(key, value, 1, 64, &c->helix_concurrency, err);
	} else if (!strcmp(key, "ETL_HELIX_RATE")) {
		char *end;
		double r;
		errno = 0;
		r = strtod(value, &end);
		if (errno || end == value || *end || !(r > 0) || r > 10000)
			return etl_err_set(err, ETL_ECONFIG, "ETL_HELIX_RATE must be a number of requests per second above 0, not \"%s\"", value);
		c->helix_rate = r;
	} else if (!strcmp(key, "ETL_HELIX_FOOTAGE_LINKS")) {
		return parse_bool(key, value, &c->helix_footage_links, err);
	} else if (!strcmp(key, "ETL_NOW")) {
		set_str(&c->now, value);
	} else if (!strcmp(key, "ETL_METRICS_FILE")) {
		set_str(&c->metrics_file, value);
	} else if (!strcmp(key, "ETL_STATEMENT_TIMEOUT")) {
		set_str(&c->statement_timeout, value);
	} else {
		return etl_err_set(err, ETL_ECONFIG, "unknown setting \"%s\"", key);
	}
	return 0;
}

static void set_defaults(etl_config *c)
{
	memset(c, 0, sizeof(*c));
	c->source_tz = strdup("UTC");
	c->page_limit = 1000;
	c->http_timeout_s = 60;
	c->http_connect_timeout_s = 10;
	c->http_retries = 6;
	c->http_backoff_ms = 500;
	c->http_backoff_max_ms = 30000;
	c->helix_url = strdup("https://api.verkada.com");
	c->helix_event_type = strdup("Sales Transaction");
	c->helix_concurrency = 4;
	c->helix_rate = 5.0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Parses KEY=value lines.  Blank lines and '#' comments are skipped, an
 * optional "export " prefix is allowed (so the file can also be sourced by a
 * shell), and one pair of matching quotes around the value is removed. */
static int load_file(etl_config *c, const char *path, etl_err *err)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	int lineno = 0, ret = 0;

	if (!f)
		return etl_err_set(err, ETL_ECONFIG, "cannot read config file \"%s\": %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *key, *val;
		size_t n;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			ret = etl_err_set(err, ETL_ECONFIG, "%s:%d: line too long", path, lineno);
			break;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		if (!strncmp(s, "export ", 7))
			s = trim(s + 7);
		eq = strchr(s, '=');
		if (!eq) {
			ret = etl_err_set(err, ETL_ECONFIG, "%s:%d: expected KEY=value", path, lineno);
			break;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		n = strlen(val);
		if (n >= 2 && (val[0] == '"' || val[0] == '\'') && val[n - 1] == val[0]) {
			val[n - 1] = '\0';
			val++;
		}
		if (!etl_config_known_key(key)) {
			ret = etl_err_set(err, ETL_ECONFIG, "%s:%d: unknown setting \"%s\"", path, lineno, key);
			break;
		}
		if (etl_config_set(c, key, val, err) < 0) {
			etl_err_prefix(err, "%s:%d", path, lineno);
			ret = -1;
			break;
		}
	}
	if (!ret && ferror(f))
		ret = etl_err_set(err, ETL_ECONFIG, "error reading config file \"%s\"", path);
	fclose(f);
	return ret;
}

/* Environment: known keys win over the file; a *_FILE variable and its plain
 * twin both set in the environment is ambiguous, so it is refused. */
static int load_env(etl_config *c, etl_err *err)
{
	for (int i = 0; known_keys[i]; i++) {
		const char *v = getenv(known_keys[i]);
		size_t n = strlen(known_keys[i]);

		if (!v)
			continue;
		if (n > 5 && !strcmp(known_keys[i] + n - 5, "_FILE")) {
			char plain[64];
			snprintf(plain, sizeof(plain), "%.*s", (int)(n - 5), known_keys[i]);
			if (getenv(plain))
				return etl_err_set(err, ETL_ECONFIG, "both %s and %s are set; unset one", plain, known_keys[i]);
		}
		if (etl_config_set(c, known_keys[i], v, err) < 0)
			return -1;
	}
	for (char **e = environ; *e; e++) {
		if (!strncmp(*e, "ETL_", 4)) {
			char key[128];
			size_t n = strcspn(*e, "=");
			if (n < sizeof(key)) {
				memcpy(key, *e, n);
				key[n] = '\0';
				if (!etl_config_known_key(key))
					etl_warn("ignoring unknown environment variable %s", key);
			}
		}
	}
	return 0;
}

int etl_config_load(etl_config *out, const char *file, etl_err *err)
{
	set_defaults(out);
	if ((file && load_file(out, file, err) < 0) || load_env(out, err) < 0) {
		etl_config_release(out);
		return -1;
	}
	return 0;
}

int etl_config_require(const etl_config *c, unsigned need, etl_err *err)
{
	if ((need & ETL_CONFIG_NEED_SOURCE) && !c->source_url) {
		etl_err_set(err, ETL_ECONFIG, "ETL_SOURCE_URL is not set");
		return etl_err_hint(err, "set ETL_SOURCE_URL to the retail API's base URL, in the environment or the --config file");
	}
	return 0;
}

int etl_config_helix_on(const etl_config *c)
{
	return c->helix_api_key != NULL;
}

void etl_config_release(etl_config *c)
{
	free(c->database_url);
	free(c->source_url);
	free(c->source_token);
	free(c->source_tz);
	free(c->helix_url);
	free(c->helix_api_key);
	free(c->helix_event_type);
	free(c->now);
	free(c->metrics_file);
	free(c->statement_timeout);
	memset(c, 0, sizeof(*c));
}

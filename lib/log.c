/* log.c - see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static etl_log_level current_level = ETL_LOG_WARN;
/* Grows: a long emit renews its Helix token every 25 minutes, and every
 * token ever issued to this process stays redacted. */
static char **secrets;
static int nsecrets, cap_secrets;

void etl_log_set_level(etl_log_level level) { current_level = level; }
etl_log_level etl_log_get_level(void) { return current_level; }

void etl_log_secret(const char *secret)
{
	if (!secret || strlen(secret) < 4)
		return;
	for (int i = 0; i < nsecrets; i++)
		if (strcmp(secrets[i], secret) == 0)
			return;
	if (nsecrets == cap_secrets) {
		int cap = cap_secrets ? 2 * cap_secrets : 8;
		char **p = realloc(secrets, (size_t)cap * sizeof(*p));
		if (!p)
			return;
		secrets = p;
		cap_secrets = cap;
	}
	secrets[nsecrets] = strdup(secret);
	if (secrets[nsecrets])
		nsecrets++;
}

void etl_log_release(void)
{
	for (int i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = cap_secrets = 0;
}

void etl_log_redact(char *dst, unsigned long dstsz, const char *src)
{
	static const char mark[] = "[redacted]";
	unsigned long o = 0;

	if (dstsz == 0)
		return;
	while (*src && o + 1 < dstsz) {
		int hit = 0;
		for (int i = 0; i < nsecrets; i++) {
			size_t n = strlen(secrets[i]);
			if (strncmp(src, secrets[i], n) == 0) {
				for (size_t k = 0; mark[k] && o + 1 < dstsz; k++)
					dst[o++] = mark[k];
				src += n;
				hit = 1;
				break;
			}
		}
		if (!hit)
			dst[o++] = *src++;
	}
	dst[o] = '\0';
}

void etl_log(etl_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	char raw[4096], clean[4096];
	va_list ap;

	if (level > current_level)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	etl_log_redact(clean, sizeof(clean), raw);
	fprintf(stderr, "etl: %s: %s\n", names[level], clean);
}

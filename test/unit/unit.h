/*
 * unit.h - the smallest test harness: CHECK() records a failure and goes
 * on; unit_done() prints "N passed, N failed" and returns the exit status.
 *
 *   int main(void) { CHECK(1 + 1 == 2); CHECK_STR("a", "a"); return unit_done(); }
 */
#ifndef ETL_UNIT_H
#define ETL_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_passed, unit_failed;

#define CHECK(cond) do { \
	if (cond) unit_passed++; \
	else { unit_failed++; fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_STR(want, got) do { \
	const char *w_ = (want), *g_ = (got); \
	if (w_ && g_ && strcmp(w_, g_) == 0) unit_passed++; \
	else { unit_failed++; fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__, \
		w_ ? w_ : "(null)", g_ ? g_ : "(null)"); } \
} while (0)

#define CHECK_INT(want, got) do { \
	long long w_ = (long long)(want), g_ = (long long)(got); \
	if (w_ == g_) unit_passed++; \
	else { unit_failed++; fprintf(stderr, "%s:%d: expected %lld, got %lld (%s)\n", __FILE__, __LINE__, w_, g_, #got); } \
} while (0)

static inline int unit_done(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

/* Reads a whole file (caller frees); NULL when it cannot. *len may be NULL. */
static inline char *unit_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			if (len)
				*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

#endif

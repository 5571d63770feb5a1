/* progress.c - see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_INTERVAL 0.25  /* seconds: at most four drawings a second */
#define FIRST_DRAW 0.5        /* seconds: work that ends sooner shows nothing */

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* v with thousands separators ("18,204"), so that big counts read at a glance. */
static void group(char *buf, size_t n, int64_t v)
{
	char digits[32], out[48];
	size_t len, j = 0;
	int neg = v < 0;
	unsigned long long u = neg ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	snprintf(digits, sizeof(digits), "%llu", u);
	len = strlen(digits);
	if (neg)
		out[j++] = '-';
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			out[j++] = ',';
		out[j++] = digits[i];
	}
	out[j] = '\0';
	snprintf(buf, n, "%s", out);
}

/* A short duration: "45s", "1m 05s", "2h 03m". */
static void duration(char *buf, size_t n, double secs)
{
	long long s = (long long)(secs + 0.5);

	if (s < 60)
		snprintf(buf, n, "%llds", s);
	else if (s < 3600)
		snprintf(buf, n, "%lldm %02llds", s / 60, s % 60);
	else
		snprintf(buf, n, "%lldh %02lldm", s / 3600, s / 60 % 60);
}

void etl_progress_format(char *buf, size_t n, const char *what, const char *unit, int64_t done,
			 int64_t total, int64_t records, double elapsed)
{
	char d[32], t[32], r[32], rate[32], eta[32];
	size_t len;

	if (n == 0)
		return;
	group(d, sizeof(d), done);
	group(r, sizeof(r), records);
	if (total >= 0) {
		int pct = total > 0 ? (int)(done * 100 / total) : 100;
		group(t, sizeof(t), total);
		snprintf(buf, n, "%s: %s/%s%s%s (%d%%), %s record%s", what, d, t, *unit ? " " : "", unit,
			 pct > 100 ? 100 : pct, r, records == 1 ? "" : "s");
	} else {
		snprintf(buf, n, "%s: %s%s%s, %s record%s", what, d, *unit ? " " : "", unit, r,
			 records == 1 ? "" : "s");
	}
	/* A rate over less than a second is noise. */
	if (elapsed >= 1.0) {
		group(rate, sizeof(rate), (int64_t)((double)records / elapsed + 0.5));
		len = strlen(buf);
		snprintf(buf + len, n - len, ", %s/s", rate);
	}
	if (total > 0 && done > 0 && done < total && elapsed >= 1.0) {
		duration(eta, sizeof(eta), elapsed * (double)(total - done) / (double)done);
		len = strlen(buf);
		snprintf(buf + len, n - len, ", ETA %s", eta);
	}
}

/* Columns of the terminal on stderr; a line wider than that would wrap,
 * and '\r' would then redraw only its last part. */
static size_t columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		return ws.ws_col;
	return 80;
}

static void draw(etl_progress *p, double now)
{
	char line[256];
	size_t len, cols = columns();

	etl_progress_format(line, sizeof(line), p->what, p->unit, p->done, p->total, p->records, now - p->started);
	len = strlen(line);
	if (len > cols - 1)
		line[len = cols - 1] = '\0';
	/* Spaces over what is left of a longer previous line, instead of an
	 * escape sequence: works on any terminal. */
	fprintf(stderr, "\r%s%*s", line, p->shown > len ? (int)(p->shown - len) : 0, "");
	if (p->shown > len)
		fprintf(stderr, "\r%s", line);
	fflush(stderr);
	p->shown = len;
	p->last_draw = now;
}

void etl_progress_start(etl_progress *p, const char *what, int64_t total, int enabled)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->what, sizeof(p->what), "%s", what ? what : "");
	p->total = total;
	p->active = enabled && isatty(STDERR_FILENO);
	p->started = monotonic();
}

void etl_progress_unit(etl_progress *p, const char *unit)
{
	snprintf(p->unit, sizeof(p->unit), "%s", unit ? unit : "");
}

void etl_progress_update(etl_progress *p, int64_t done, int64_t records)
{
	double now;

	p->done = done;
	p->records = records;
	if (!p->active)
		return;
	now = monotonic();
	if (now - p->started >= FIRST_DRAW && (p->last_draw == 0 || now - p->last_draw >= REDRAW_INTERVAL))
		draw(p, now);
}

void etl_progress_clear(etl_progress *p)
{
	if (!p->active || p->shown == 0)
		return;
	fprintf(stderr, "\r%*s\r", (int)p->shown, "");
	fflush(stderr);
	p->shown = 0;
	p->last_draw = 0;  /* the next update draws at once */
}

void etl_progress_end(etl_progress *p)
{
	etl_progress_clear(p);
	p->active = 0;
}

/* metrics.c - see metrics.h. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define METRICS_MAX 8192  /* the whole file; it is about 3 KB */

void etl_metrics_init(etl_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->helix_pending = -1;
	m->helix_failed = -1;
	m->quarantine_rows = -1;
}

void etl_metrics_set_counts(etl_metrics *m, const etl_run_counts *c)
{
	m->windows = c->windows;
	m->loaded = c->loaded;
	m->duplicates = c->duplicates;
	m->quarantined = c->quarantined;
	m->inserted = c->inserted;
	m->updated = c->updated;
	m->unchanged = c->unchanged;
	m->helix_sent = c->helix_sent;
	m->helix_updated = c->helix_updated;
	m->helix_failed_run = c->helix_failed;
}

/* An appender over a fixed buffer: once something does not fit, every later
 * call is a no-op and the result is -1. */
struct out {
	char *buf;
	size_t n, len;
	int overflow;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->buf + o->len, o->n - o->len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= o->n - o->len) {
		o->overflow = 1;
		return;
	}
	o->len += (size_t)k;
}

static void head(struct out *o, const char *name, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static double seconds(etl_time t)
{
	return (double)t / (double)ETL_USEC_PER_SEC;
}

int etl_metrics_format(char *buf, size_t n, const etl_metrics *m, double prev_success_s)
{
	struct out o = { buf, n, 0, 0 };
	double dur = seconds(m->finished - m->started);

	if (n == 0)
		return -1;
	buf[0] = '\0';
	/* Timestamps to the millisecond: Prometheus keeps float64 seconds. */
	head(&o, "etl_last_run_timestamp_seconds", "When the last etl run finished, in Unix time.");
	put(&o, "etl_last_run_timestamp_seconds %.3f\n", seconds(m->finished));
	if (m->exit_code == 0 || m->has_last_success || prev_success_s >= 0) {
		double s = seconds(m->finished);

		/* A failed run: the later of the two memories of the last
		 * success.  The file's is what Prometheus saw (the runs
		 * table's differs by the milliseconds between the two
		 * clocks); the table's is newer when a run succeeded without
		 * writing the file. */
		if (m->exit_code != 0) {
			s = m->has_last_success ? seconds(m->last_success) : -1;
			if (prev_success_s > s)
				s = prev_success_s;
		}
		head(&o, "etl_last_success_timestamp_seconds",
		     "When the last etl run that exited 0 finished, in Unix time.");
		put(&o, "etl_last_success_timestamp_seconds %.3f\n", s);
	}
	head(&o, "etl_last_run_duration_seconds", "How long the last etl run took.");
	put(&o, "etl_last_run_duration_seconds %.3f\n", dur < 0 ? 0.0 : dur);
	head(&o, "etl_last_run_exit_code", "The exit status of the last etl run: 0 ok, else see EXIT STATUS in etl(1).");
	put(&o, "etl_last_run_exit_code %d\n", m->exit_code);
	head(&o, "etl_last_run_success", "1 when the last etl run exited 0, else 0.");
	put(&o, "etl_last_run_success %d\n", m->exit_code == 0);
	head(&o, "etl_last_run_windows", "Hour windows the last etl run committed.");
	put(&o, "etl_last_run_windows %lld\n", (long long)m->windows);
	head(&o, "etl_last_run_records", "Records the last etl run fetched, by where they ended; they add up to the records fetched.");
	put(&o, "etl_last_run_records{outcome=\"loaded\"} %lld\n", (long long)m->loaded);
	put(&o, "etl_last_run_records{outcome=\"duplicate\"} %lld\n", (long long)m->duplicates);
	put(&o, "etl_last_run_records{outcome=\"quarantined\"} %lld\n", (long long)m->quarantined);
	head(&o, "etl_last_run_loaded_records", "Records the last etl run loaded, by what the load did; they add up to outcome=\"loaded\".");
	put(&o, "etl_last_run_loaded_records{change=\"inserted\"} %lld\n", (long long)m->inserted);
	put(&o, "etl_last_run_loaded_records{change=\"updated\"} %lld\n", (long long)m->updated);
	put(&o, "etl_last_run_loaded_records{change=\"unchanged\"} %lld\n", (long long)m->unchanged);
	head(&o, "etl_last_run_helix_events", "Helix events the last etl run sent, updated, or saw refused for good.");
	put(&o, "etl_last_run_helix_events{outcome=\"sent\"} %lld\n", (long long)m->helix_sent);
	put(&o, "etl_last_run_helix_events{outcome=\"updated\"} %lld\n", (long long)m->helix_updated);
	put(&o, "etl_last_run_helix_events{outcome=\"failed\"} %lld\n", (long long)m->helix_failed_run);
	if (m->has_watermark) {
		head(&o, "etl_watermark_timestamp_seconds", "The start of the next hour window etl run will load, in Unix time.");
		put(&o, "etl_watermark_timestamp_seconds %.0f\n", seconds(m->watermark));
		head(&o, "etl_watermark_lag_seconds", "How far the watermark was behind the clock when the last etl run ended.");
		put(&o, "etl_watermark_lag_seconds %.0f\n", seconds(m->clock - m->watermark));
	}
	if (m->helix_pending >= 0) {
		head(&o, "etl_helix_pending", "Helix outbox rows waiting to be sent (pending or inflight).");
		put(&o, "etl_helix_pending %lld\n", (long long)m->helix_pending);
	}
	if (m->helix_failed >= 0) {
		head(&o, "etl_helix_failed", "Helix outbox rows refused permanently; etl emit --retry-failed tries them again.");
		put(&o, "etl_helix_failed %lld\n", (long long)m->helix_failed);
	}
	if (m->quarantine_rows >= 0) {
		head(&o, "etl_quarantine_records", "Records in the quarantine table (see etl rejects).");
		put(&o, "etl_quarantine_records %lld\n", (long long)m->quarantine_rows);
	}
	return o.overflow ? -1 : (int)o.len;
}

int etl_metrics_fill_levels(etl_db *db, etl_metrics *m, etl_err *err)
{
	PGresult *res = NULL;
	int ret = -1;

	/* One statement so that the figures agree with each other. */
	res = etl_db_query(db,
		"SELECT (SELECT (extract(epoch FROM next_window) * 1000000)::bigint FROM watermark), "
		"       (SELECT count(*) FROM helix_outbox WHERE state IN ('pending', 'inflight')), "
		"       (SELECT count(*) FROM helix_outbox WHERE state = 'failed'), "
		"       (SELECT count(*) FROM quarantine), "
		"       (SELECT (extract(epoch FROM max(finished_at)) * 1000000)::bigint FROM runs "
		"         WHERE command = 'run' AND status = 'ok')",
		0, NULL, err);
	if (!res)
		goto cleanup;
	if (!PQgetisnull(res, 0, 0)) {
		m->has_watermark = 1;
		m->watermark = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	}
	m->helix_pending = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	m->helix_failed = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	m->quarantine_rows = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	if (!PQgetisnull(res, 0, 4)) {
		m->has_last_success = 1;
		m->last_success = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	}
	ret = 0;
cleanup:
	PQclear(res);
	return ret;
}

/* The etl_last_success_timestamp_seconds of an existing file, or -1. */
static double read_prev_success(const char *path)
{
	static const char key[] = "etl_last_success_timestamp_seconds ";
	char line[256];
	double v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, sizeof(key) - 1)) {
			char *end;
			double d = strtod(line + sizeof(key) - 1, &end);
			if (end != line + sizeof(key) - 1 && d >= 0)
				v = d;
			break;
		}
	}
	fclose(f);
	return v;
}

/* The directory part of path, for the temp file and the directory fsync. */
static void dir_of(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, n, ".");
	else if (slash == path)
		snprintf(out, n, "/");
	else
		snprintf(out, n, "%.*s", (int)(slash - path), path);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int etl_metrics_write(const char *path, const etl_metrics *m, etl_err *err)
{
	char text[METRICS_MAX], dir[4096], tmp[4200] = "";
	int fd = -1, dfd = -1, ret = -1, len;
	double prev = -1;

	if (!path || !*path)
		return etl_err_set(err, ETL_EIO, "no metrics file named");
	if (m->exit_code != 0)
		prev = read_prev_success(path);
	len = etl_metrics_format(text, sizeof(text), m, prev);
	if (len < 0) {
		etl_err_set(err, ETL_EINTERNAL, "the metrics do not fit in %d bytes", METRICS_MAX);
		goto cleanup;
	}
	dir_of(path, dir, sizeof(dir));
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp)) {
		etl_err_set(err, ETL_EIO, "metrics file name too long: \"%s\"", path);
		tmp[0] = '\0';
		goto cleanup;
	}
	/* In the same directory as path, so that rename() is atomic.  The
	 * textfile collector skips names not ending in .prom, so it never
	 * reads the temporary file. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		etl_err_set(err, ETL_EIO, "cannot create a metrics file in \"%s\": %s", dir, strerror(errno));
		tmp[0] = '\0';
		goto cleanup;
	}
	if (fchmod(fd, 0644) < 0 || write_all(fd, text, (size_t)len) < 0 || fsync(fd) < 0) {
		etl_err_set(err, ETL_EIO, "cannot write the metrics file \"%s\": %s", tmp, strerror(errno));
		goto cleanup;
	}
	if (close(fd) < 0) {
		fd = -1;
		etl_err_set(err, ETL_EIO, "cannot write the metrics file \"%s\": %s", tmp, strerror(errno));
		goto cleanup;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		etl_err_set(err, ETL_EIO, "cannot replace the metrics file \"%s\": %s", path, strerror(errno));
		goto cleanup;
	}
	tmp[0] = '\0';  /* renamed: nothing to remove any more */
	/* The rename is durable only once the directory is synced. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || (fsync(dfd) < 0 && errno != EINVAL)) {  /* EINVAL: a filesystem that cannot */
		etl_err_set(err, ETL_EIO, "cannot sync the directory \"%s\" of the metrics file: %s", dir, strerror(errno));
		goto cleanup;
	}
	ret = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (tmp[0])
		unlink(tmp);
	return ret;
}

int etl_metrics_record_run(const char *path, etl_db *db, etl_time started, etl_time clock, int exit_code,
			   const etl_run_counts *c, etl_err *err)
{
	etl_err ignored = ETL_ERR_INIT;
	etl_metrics m;

	etl_metrics_init(&m);
	m.started = started;
	m.clock = clock;
	m.exit_code = exit_code;
	if (c)
		etl_metrics_set_counts(&m, c);
	/* A run that failed because the database went away still leaves its
	 * exit code behind; the levels are then unknown and left out. */
	if (db)
		etl_metrics_fill_levels(db, &m, &ignored);
	if (etl_time_now(NULL, &m.finished) < 0)
		m.finished = started;
	return etl_metrics_write(path, &m, err);
}

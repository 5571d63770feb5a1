/*
 * test_metrics.c - the Prometheus textfile: its text, the carried-over last
 * success, and the atomic write (mode, no temp file left, errors).
 *
 * Also a helper for test/integration/test_ops_metrics.sh, which checks the
 * files with promtool:
 *   test_metrics --write PATH [--exit N] [--no-levels] [--db NOW]
 * --db writes through etl_metrics_record_run, reading the levels from the
 * database of ETL_DATABASE_URL with the run clock at NOW (RFC 3339).
 */
#include "metrics.h"
#include "unit.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 (INT64_C(1763716500) * ETL_USEC_PER_SEC)  /* 2025-11-21T09:15:00Z */

static void sample(etl_metrics *m, int exit_code, int levels)
{
	etl_metrics_init(m);
	m->started = T0;
	m->finished = T0 + 12 * ETL_USEC_PER_SEC + 250000;
	m->exit_code = exit_code;
	m->windows = 2;
	m->loaded = 90;
	m->duplicates = 3;
	m->quarantined = 7;
	m->inserted = 80;
	m->updated = 6;
	m->unchanged = 4;
	m->helix_sent = 50;
	m->helix_updated = 2;
	m->helix_failed_run = 1;
	if (levels) {
		m->has_watermark = 1;
		m->watermark = T0 - 15 * 60 * ETL_USEC_PER_SEC;  /* 09:00 */
		m->clock = T0;
		m->helix_pending = 4;
		m->helix_failed = 1;
		m->quarantine_rows = 17;
	}
}

static void test_set_counts(void)
{
	etl_run_counts c = { 3, 110, 100, 4, 6, 90, 7, 3, 20, 1, 2, 9 };
	etl_metrics m;

	etl_metrics_init(&m);
	CHECK_INT(-1, m.helix_pending);
	CHECK_INT(-1, m.helix_failed);
	CHECK_INT(-1, m.quarantine_rows);
	CHECK(!m.has_watermark && !m.has_last_success);
	etl_metrics_set_counts(&m, &c);
	CHECK_INT(3, m.windows);
	CHECK_INT(100, m.loaded);
	CHECK_INT(4, m.duplicates);
	CHECK_INT(6, m.quarantined);
	CHECK_INT(90, m.inserted);
	CHECK_INT(7, m.updated);
	CHECK_INT(3, m.unchanged);
	CHECK_INT(20, m.helix_sent);
	CHECK_INT(1, m.helix_updated);
	CHECK_INT(2, m.helix_failed_run);
	CHECK_INT(-1, m.helix_pending);  /* a level: not the run's to say */
}

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Files in dir other than . and .. */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_format(void)
{
	etl_metrics m;
	char buf[8192];

	sample(&m, 0, 1);
	CHECK(etl_metrics_format(buf, sizeof(buf), &m, -1) > 0);
	CHECK(has_line(buf, "# HELP etl_last_run_timestamp_seconds When the last etl run finished, in Unix time."));
	CHECK(has_line(buf, "# TYPE etl_last_run_timestamp_seconds gauge"));
	CHECK(has_line(buf, "etl_last_run_timestamp_seconds 1763716512.250"));
	CHECK(has_line(buf, "etl_last_success_timestamp_seconds 1763716512.250"));
	CHECK(has_line(buf, "etl_last_run_duration_seconds 12.250"));
	CHECK(has_line(buf, "etl_last_run_exit_code 0"));
	CHECK(has_line(buf, "etl_last_run_success 1"));
	CHECK(has_line(buf, "etl_last_run_windows 2"));
	CHECK(has_line(buf, "etl_last_run_records{outcome=\"loaded\"} 90"));
	CHECK(has_line(buf, "etl_last_run_records{outcome=\"duplicate\"} 3"));
	CHECK(has_line(buf, "etl_last_run_records{outcome=\"quarantined\"} 7"));
	CHECK(has_line(buf, "etl_last_run_loaded_records{change=\"inserted\"} 80"));
	CHECK(has_line(buf, "etl_last_run_loaded_records{change=\"updated\"} 6"));
	CHECK(has_line(buf, "etl_last_run_loaded_records{change=\"unchanged\"} 4"));
	CHECK(has_line(buf, "etl_last_run_helix_events{outcome=\"sent\"} 50"));
	CHECK(has_line(buf, "etl_last_run_helix_events{outcome=\"updated\"} 2"));
	CHECK(has_line(buf, "etl_last_run_helix_events{outcome=\"failed\"} 1"));
	CHECK(has_line(buf, "etl_watermark_timestamp_seconds 1763715600"));
	CHECK(has_line(buf, "etl_watermark_lag_seconds 900"));
	CHECK(has_line(buf, "etl_helix_pending 4"));
	CHECK(has_line(buf, "etl_helix_failed 1"));
	CHECK(has_line(buf, "etl_quarantine_records 17"));
	/* Every sample has its HELP and TYPE, and no counter pretends. */
	CHECK(strstr(buf, "counter") == NULL);
	CHECK(strstr(buf, "_total") == NULL);

	/* A failed run keeps the previous success it is given... */
	sample(&m, 69, 0);
	CHECK(etl_metrics_format(buf, sizeof(buf), &m, 1763712000.5) > 0);
	CHECK(has_line(buf, "etl_last_success_timestamp_seconds 1763712000.500"));
	CHECK(has_line(buf, "etl_last_run_success 0"));
	CHECK(has_line(buf, "etl_last_run_exit_code 69"));
	/* ...and unknown levels are left out, not written as 0. */
	CHECK(strstr(buf, "etl_watermark") == NULL);
	CHECK(strstr(buf, "etl_helix_pending") == NULL);
	CHECK(strstr(buf, "etl_helix_failed ") == NULL);
	CHECK(strstr(buf, "etl_quarantine_records") == NULL);
	/* The later of the caller's and the file's value wins. */
	m.has_last_success = 1;
	m.last_success = T0 - 3600 * ETL_USEC_PER_SEC;
	CHECK(etl_metrics_format(buf, sizeof(buf), &m, 1.0) > 0);
	CHECK(has_line(buf, "etl_last_success_timestamp_seconds 1763712900.000"));
	CHECK(etl_metrics_format(buf, sizeof(buf), &m, 1763712900.25) > 0);
	CHECK(has_line(buf, "etl_last_success_timestamp_seconds 1763712900.250"));
	/* A run that never succeeded has no last success at all. */
	m.has_last_success = 0;
	CHECK(etl_metrics_format(buf, sizeof(buf), &m, -1) > 0);
	CHECK(strstr(buf, "etl_last_success_timestamp_seconds") == NULL);

	/* Too small a buffer is an error, never a cut file. */
	CHECK_INT(-1, etl_metrics_format(buf, 100, &m, -1));
}

static void test_write(void)
{
	char dir[] = "/tmp/etl-test-metrics.XXXXXX", path[256], bad[300];
	etl_err err = ETL_ERR_INIT;
	etl_metrics m;
	struct stat st;
	char *text;
	mode_t old;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/etl.prom", dir);

	/* A strict umask must not make the file unreadable to node_exporter. */
	old = umask(077);
	sample(&m, 0, 1);
	CHECK(etl_metrics_write(path, &m, &err) == 0);
	umask(old);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK_INT(1, count_files(dir));
	text = unit_read_file(path, NULL);
	CHECK(text && has_line(text, "etl_last_success_timestamp_seconds 1763716512.250"));
	free(text);

	/* A failed run carries the last success over from the file it replaces. */
	sample(&m, 65, 0);
	m.started += 3600 * ETL_USEC_PER_SEC;
	m.finished += 3600 * ETL_USEC_PER_SEC;
	CHECK(etl_metrics_write(path, &m, &err) == 0);
	text = unit_read_file(path, NULL);
	CHECK(text && has_line(text, "etl_last_success_timestamp_seconds 1763716512.250"));
	CHECK(text && has_line(text, "etl_last_run_timestamp_seconds 1763720112.250"));
	CHECK(text && has_line(text, "etl_last_run_exit_code 65"));
	free(text);
	/* And again: still carried over, not lost after two failures. */
	CHECK(etl_metrics_write(path, &m, &err) == 0);
	text = unit_read_file(path, NULL);
	CHECK(text && has_line(text, "etl_last_success_timestamp_seconds 1763716512.250"));
	free(text);
	CHECK_INT(1, count_files(dir));

	/* A directory that does not exist: ETL_EIO naming it, nothing left. */
	snprintf(bad, sizeof(bad), "%s/nope/etl.prom", dir);
	etl_err_clear(&err);
	CHECK(etl_metrics_write(bad, &m, &err) == -1);
	CHECK_INT(ETL_EIO, err.code);
	CHECK(strstr(err.msg, "/nope") != NULL);
	/* The target is a directory: rename fails, and the temp file goes. */
	snprintf(bad, sizeof(bad), "%s/adir", dir);
	CHECK(mkdir(bad, 0755) == 0);
	etl_err_clear(&err);
	CHECK(etl_metrics_write(bad, &m, &err) == -1);
	CHECK_INT(ETL_EIO, err.code);
	CHECK_INT(2, count_files(dir));  /* etl.prom and adir, no temp file */
	rmdir(bad);
	CHECK(etl_metrics_write(NULL, &m, &err) == -1);

	unlink(path);
	rmdir(dir);
}

/* test_metrics --write PATH ...: see the top of this file. */
static int write_mode(int argc, char **argv)
{
	etl_err err = ETL_ERR_INIT;
	etl_metrics m;
	etl_db *db = NULL;
	const char *db_now = NULL;
	int exit_code = 0, levels = 1, ret = 1;

	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--exit") && i + 1 < argc)
			exit_code = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-levels"))
			levels = 0;
		else if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db_now = argv[++i];
	}
	sample(&m, exit_code, levels && !db_now);
	if (db_now) {
		/* The way `etl run` calls it: the counts, then the levels read
		 * from the database, written in one call. */
		etl_run_counts c = { m.windows, m.loaded + m.duplicates + m.quarantined, m.loaded, m.duplicates,
				     m.quarantined, m.inserted, m.updated, m.unchanged, m.helix_sent,
				     m.helix_updated, m.helix_failed_run, 0 };
		etl_time clock, started;

		etl_time_now(NULL, &started);
		started -= 12 * ETL_USEC_PER_SEC;
		if (etl_time_now(db_now, &clock) < 0) {
			etl_err_set(&err, ETL_EUSAGE, "bad --db time \"%s\"", db_now);
			goto cleanup;
		}
		if (etl_db_connect(&db, getenv("ETL_DATABASE_URL"), NULL, &err) < 0 ||
		    etl_metrics_record_run(argv[2], db, started, clock, exit_code, &c, &err) < 0)
			goto cleanup;
	} else if (etl_metrics_write(argv[2], &m, &err) < 0) {
		goto cleanup;
	}
	ret = 0;
cleanup:
	if (ret)
		fprintf(stderr, "test_metrics: %s\n", err.msg);
	etl_db_close(db);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--write"))
		return write_mode(argc, argv);
	test_set_counts();
	test_format();
	test_write();
	return unit_done();
}

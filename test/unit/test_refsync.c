/*
 * test_refsync.c - a driver for test/integration/test_refsync.sh: runs one
 * reference refresh (etl_refsync_all) against the database and the source
 * named by the environment (ETL_DATABASE_URL, ETL_SOURCE_URL, ETL_HTTP_*),
 * and prints its counts as one JSON object on stdout.
 *
 *   test_refsync                 refresh; exit status = the error's code
 *   test_refsync refdata K...    print 1/0 per key resolved by
 *                                etl_refdata_load: s:ID p:ID (prints the
 *                                store) c:ID i:ID r:CUR:YYYY-MM-DD
 *
 * It acts only with REFSYNC_TEST_DRIVER=1 in the environment (the integration
 * script sets it); run as a unit test it only says that it was skipped.
 */
#include "config.h"
#include "db.h"
#include "log.h"
#include "refsync.h"
#include "source.h"
#include "unit.h"

#include <curl/curl.h>
#include <inttypes.h>

static void print_stats(const etl_refsync_stats *st)
{
	printf("{");
	for (int i = 0; i < ETL_REF_COUNT; i++) {
		const etl_refsync_counts *c = &st->res[i];

		printf("%s\"%s\":{\"fetched\":%" PRId64 ",\"quarantined\":%" PRId64 ",\"duplicates\":%" PRId64
		       ",\"inserted\":%" PRId64 ",\"updated\":%" PRId64 ",\"restored\":%" PRId64
		       ",\"unchanged\":%" PRId64 ",\"soft_deleted\":%" PRId64 ",\"complete\":%s,\"attempted\":%s}",
		       i ? "," : "", etl_refsync_resource_name((etl_refsync_resource)i), c->fetched, c->quarantined,
		       c->duplicates, c->inserted, c->updated, c->restored, c->unchanged, c->soft_deleted,
		       c->complete ? "true" : "false", c->attempted ? "true" : "false");
	}
	printf(",\"elapsed_ms\":%.3f}\n", st->elapsed_ms);
}

static int refdata(etl_db *db, int argc, char **argv, etl_err *err)
{
	etl_refdata *ref = NULL;

	if (etl_refdata_load(db, &ref, err) < 0)
		return -1;
	for (int i = 2; i < argc; i++) {
		const char *k = argv[i], *v = k + 2;
		int64_t store = 0;
		etl_date d;
		int r = 0;

		if (k[0] == 's')
			r = etl_refdata_has_store(ref, strtoll(v, NULL, 10));
		else if (k[0] == 'p')
			r = etl_refdata_pos_store(ref, strtoll(v, NULL, 10), &store) ? (int)store : 0;
		else if (k[0] == 'c')
			r = etl_refdata_has_camera(ref, v);
		else if (k[0] == 'i')
			r = etl_refdata_has_item(ref, strtoll(v, NULL, 10));
		else if (k[0] == 'r' && strlen(v) > 4 && etl_date_parse(v + 4, &d) == 0) {
			char cur[4];
			memcpy(cur, v, 3);
			cur[3] = '\0';
			r = etl_refdata_has_rate(ref, cur, d);
		}
		printf("%s%d", i > 2 ? " " : "", r);
	}
	printf("\n");
	etl_refdata_free(ref);
	return 0;
}

int main(int argc, char **argv)
{
	etl_config cfg;
	etl_err err = ETL_ERR_INIT;
	etl_db *db = NULL;
	etl_source *src = NULL;
	etl_refsync_stats st;
	int ret = 1;

	/* an explicit opt-in: a developer's environment may name a real
	 * database and source, which a unit test run must not write to */
	if (!getenv("REFSYNC_TEST_DRIVER")) {
		printf("skipped: a driver for test/integration/test_refsync.sh (needs REFSYNC_TEST_DRIVER=1)\n");
		return 0;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	etl_log_set_level(getenv("TEST_VERBOSE") ? ETL_LOG_DEBUG : ETL_LOG_WARN);
	if (etl_config_load(&cfg, NULL, &err) < 0) {
		fprintf(stderr, "test_refsync: %s\n", err.msg);
		curl_global_cleanup();
		return err.code;
	}
	if (etl_db_connect(&db, cfg.database_url, NULL, &err) < 0)
		goto cleanup;
	if (argc > 1 && !strcmp(argv[1], "refdata")) {
		if (refdata(db, argc, argv, &err) == 0)
			ret = 0;
		goto cleanup;
	}
	if (etl_source_open(&src, &cfg, &err) < 0)
		goto cleanup;
	if (etl_refsync_all(db, src, 0, &st, &err) == 0)
		ret = 0;
	print_stats(&st);
	etl_refsync_log(&st);
cleanup:
	if (ret) {
		fprintf(stderr, "test_refsync: %s%s%s\n", err.msg, err.hint[0] ? "; " : "", err.hint);
		ret = err.code ? (int)err.code : 1;
	}
	etl_source_close(src);
	etl_db_close(db);
	etl_config_release(&cfg);
	etl_log_release();
	curl_global_cleanup();
	return ret;
}

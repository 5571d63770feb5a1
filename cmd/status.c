/*
 * status.c - etl status: the watermark and its lag, the last runs, the
 * quarantine and the Helix backlog; --format json for machines.
 */
#include "cmd.h"

#include <getopt.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char run_columns[] =
	"run_id, command, status, exit_code, "
	"to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	"to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	"windows, fetched, loaded, duplicates, quarantined, inserted, updated, unchanged, "
	"helix_sent, helix_updated, helix_failed, helix_pending, message";

/* Column names of run_columns, for JSON; NULL-terminated. */
static const char *const run_keys[] = {
	"run_id", "command", "status", "exit_code", "started_at", "finished_at",
	"windows", "fetched", "loaded", "duplicates", "quarantined", "inserted", "updated", "unchanged",
	"helix_sent", "helix_updated", "helix_failed", "helix_pending", "message", NULL,
};

static int is_count_column(int col)
{
	return col == 0 || col == 3 || (col >= 6 && col <= 17);
}

static cJSON *run_to_json(PGresult *res, int row)
{
	cJSON *o = cJSON_CreateObject();

	for (int c = 0; run_keys[c]; c++) {
		if (PQgetisnull(res, row, c))
			cJSON_AddNullToObject(o, run_keys[c]);
		else if (is_count_column(c))
			cJSON_AddNumberToObject(o, run_keys[c], (double)strtoll(PQgetvalue(res, row, c), NULL, 10));
		else
			cJSON_AddStringToObject(o, run_keys[c], PQgetvalue(res, row, c));
	}
	return o;
}

struct status {
	PGresult *head;  /* watermark, lag, quarantined, helix_pending, helix_failed */
	PGresult *runs;  /* the last runs, newest first */
};

static int load_status(etl_ctx *ctx, struct status *st, int nruns)
{
	char now[40], limit[16];
	const char *p1[] = { now };
	const char *p2[] = { limit };
	char sql[2048];

	etl_time_format(ctx->now, now, sizeof(now));
	snprintf(limit, sizeof(limit), "%d", nruns);
	st->head = etl_db_query(ctx->db,
		"SELECT to_char(w.next_window AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
		"       extract(epoch FROM ($1::timestamptz - w.next_window))::bigint, "
		"       (SELECT count(*) FROM quarantine), "
		"       (SELECT count(*) FROM helix_outbox WHERE state IN ('pending', 'inflight')), "
		"       (SELECT count(*) FROM helix_outbox WHERE state = 'failed') "
		"FROM (SELECT 1) one LEFT JOIN watermark w ON true", 1, p1, &ctx->err);
	if (!st->head)
		return -1;
	snprintf(sql, sizeof(sql), "SELECT %s FROM runs ORDER BY run_id DESC LIMIT $1", run_columns);
	st->runs = etl_db_query(ctx->db, sql, 1, p2, &ctx->err);
	return st->runs ? 0 : -1;
}

static long long head_count(const struct status *st, int col)
{
	return strtoll(PQgetvalue(st->head, 0, col), NULL, 10);
}

static int print_json(const struct status *st)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	if (PQgetisnull(st->head, 0, 0))
		cJSON_AddNullToObject(o, "watermark");
	else
		cJSON_AddStringToObject(o, "watermark", PQgetvalue(st->head, 0, 0));
	if (PQgetisnull(st->head, 0, 1))
		cJSON_AddNullToObject(o, "watermark_lag_seconds");
	else
		cJSON_AddNumberToObject(o, "watermark_lag_seconds", (double)head_count(st, 1));
	if (PQntuples(st->runs) > 0)
		cJSON_AddItemToObject(o, "last_run", run_to_json(st->runs, 0));
	else
		cJSON_AddNullToObject(o, "last_run");
	cJSON_AddNumberToObject(o, "helix_pending", (double)head_count(st, 3));
	cJSON_AddNumberToObject(o, "helix_failed", (double)head_count(st, 4));
	cJSON_AddNumberToObject(o, "quarantined", (double)head_count(st, 2));
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

static void print_lag(long long secs)
{
	if (secs < 0)
		printf("ahead of the clock by %llds", -secs);
	else if (secs < 3600)
		printf("%lldm behind", secs / 60);
	else
		printf("%lldh %lldm behind", secs / 3600, secs / 60 % 60);
}

static void print_table(const struct status *st)
{
	int n = PQntuples(st->runs);

	if (PQgetisnull(st->head, 0, 0)) {
		printf("watermark:    none (no window loaded yet)\n");
	} else {
		printf("watermark:    %s (", PQgetvalue(st->head, 0, 0));
		print_lag(head_count(st, 1));
		printf(")\n");
	}
	printf("quarantined:  %lld record%s\n", head_count(st, 2), head_count(st, 2) == 1 ? "" : "s");
	printf("helix:        %lld pending, %lld failed\n", head_count(st, 3), head_count(st, 4));
	if (n == 0) {
		printf("runs:         none yet\n");
		return;
	}
	printf("\n%6s  %-8s  %-7s  %-20s  %7s  %8s  %8s  %6s  %6s  %5s\n", "run", "command", "status", "started",
	       "windows", "fetched", "loaded", "dups", "quar", "exit");
	for (int r = 0; r < n; r++)
		printf("%6s  %-8s  %-7s  %-20s  %7s  %8s  %8s  %6s  %6s  %5s\n",
		       PQgetvalue(st->runs, r, 0), PQgetvalue(st->runs, r, 1), PQgetvalue(st->runs, r, 2),
		       PQgetvalue(st->runs, r, 4), PQgetvalue(st->runs, r, 6), PQgetvalue(st->runs, r, 7),
		       PQgetvalue(st->runs, r, 8), PQgetvalue(st->runs, r, 9), PQgetvalue(st->runs, r, 10),
		       PQgetisnull(st->runs, r, 3) ? "-" : PQgetvalue(st->runs, r, 3));
}

int cmd_status(int argc, char **argv, etl_ctx *ctx)
{
	struct status st = { NULL, NULL };
	int ret = 0;

	if (argc > 1)
		return cmd_usage_error(ctx, "unexpected argument \"%s\"", argv[1]);
	if (ctx->format == ETL_FMT_CSV)
		return cmd_usage_error(ctx, "etl status prints table or json, not csv");
	if (load_status(ctx, &st, 5) < 0) {
		ret = ctx->err.code;
		goto cleanup;
	}
	if (ctx->format == ETL_FMT_JSON) {
		if (print_json(&st) < 0) {
			etl_err_set(&ctx->err, ETL_EINTERNAL, "out of memory");
			ret = ETL_EINTERNAL;
		}
	} else {
		print_table(&st);
	}
cleanup:
	PQclear(st.head);
	PQclear(st.runs);
	return ret;
}

const struct option cmd_status_options[] = { { 0, 0, 0, 0 } };

/*
 * status.c - etl status: what an operator wants to know at a glance.  The
 * watermark and how far behind it is, the last success, the quarantine by
 * resource, the Helix backlog and its oldest row, and the last runs with
 * their counts and outcome; --format json for machines.
 *
 * It takes no lock, so it works while a run is going (that run shows as
 * "running").  Empty tables are normal on a new database and print as
 * "none"; nothing here writes.
 *
 * Clocks: the watermark's lag is measured against the run clock (--now,
 * ETL_NOW, or the real clock), like every window decision.  Ages of things
 * that happened in real time (a run's duration, a queued Helix event) are
 * measured against the database's own clock, which stamped them.
 */
#include "cmd.h"

#include <getopt.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_RUNS 5

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char run_columns[] =
	"run_id, command, status, exit_code, " TS("started_at") ", " TS("finished_at") ", "
	"windows, fetched, loaded, duplicates, quarantined, inserted, updated, unchanged, "
	"helix_sent, helix_updated, helix_failed, helix_pending, message, "
	"round(extract(epoch FROM coalesce(finished_at, now()) - started_at))::bigint";

/* Column names of run_columns, for JSON; NULL-terminated. */
static const char *const run_keys[] = {
	"run_id", "command", "status", "exit_code", "started_at", "finished_at",
	"windows", "fetched", "loaded", "duplicates", "quarantined", "inserted", "updated", "unchanged",
	"helix_sent", "helix_updated", "helix_failed", "helix_pending", "message", "duration_seconds", NULL,
};

enum {
	R_ID, R_COMMAND, R_STATUS, R_EXIT, R_STARTED, R_FINISHED, R_WINDOWS, R_FETCHED, R_LOADED,
	R_DUPS, R_QUAR, R_INSERTED, R_UPDATED, R_UNCHANGED, R_HSENT, R_HUPDATED, R_HFAILED, R_HPENDING,
	R_MESSAGE, R_DURATION,
};

/* The columns of the head query. */
enum {
	H_WATERMARK, H_LAG, H_QUARANTINED, H_PENDING, H_INFLIGHT, H_FAILED, H_OLDEST, H_OLDEST_AGE,
	H_LAST_SUCCESS, H_LAST_SUCCESS_RUN, H_LOCKED,
};

static int is_text_column(int col)
{
	return col == R_COMMAND || col == R_STATUS || col == R_STARTED || col == R_FINISHED || col == R_MESSAGE;
}

struct status {
	PGresult *head;        /* one row: the H_* columns */
	PGresult *quarantine;  /* resource, count; by resource */
	PGresult *runs;        /* the last runs, newest first */
};

static int load_status(etl_ctx *ctx, struct status *st)
{
	char now[40], limit[16];
	const char *p1[] = { now };
	const char *p2[] = { limit };
	char sql[2048];

	etl_time_format(ctx->now, now, sizeof(now));
	snprintf(limit, sizeof(limit), "%d", STATUS_RUNS);
	st->head = etl_db_query(ctx->db,
		"SELECT " TS("w.next_window") ", "
		"       extract(epoch FROM ($1::timestamptz - w.next_window))::bigint, "
		"       (SELECT count(*) FROM quarantine), "
		"       (SELECT count(*) FROM helix_outbox WHERE state IN ('pending', 'inflight')), "
		"       (SELECT count(*) FROM helix_outbox WHERE state = 'inflight'), "
		"       (SELECT count(*) FROM helix_outbox WHERE state = 'failed'), "
		"       " TS("o.queued_at") ", "
		"       round(extract(epoch FROM now() - o.queued_at))::bigint, "
		"       " TS("s.finished_at") ", s.run_id, "
		/* whether an etl holds the run lock tells a live 'running' row
		 * from one whose process died (the next run marks it killed) */
		"       EXISTS (SELECT 1 FROM pg_locks l WHERE " ETL_DB_LOCK_HELD ") "
		"FROM (SELECT 1) one "
		"LEFT JOIN watermark w ON true "
		"LEFT JOIN LATERAL (SELECT min(queued_at) AS queued_at FROM helix_outbox "
		"                    WHERE state IN ('pending', 'inflight')) o ON true "
		"LEFT JOIN LATERAL (SELECT run_id, finished_at FROM runs WHERE command = 'run' AND status = 'ok' "
		"                    ORDER BY finished_at DESC NULLS LAST LIMIT 1) s ON true",
		1, p1, &ctx->err);
	if (!st->head)
		return -1;
	st->quarantine = etl_db_query(ctx->db,
		"SELECT resource, count(*) FROM quarantine GROUP BY resource ORDER BY count(*) DESC, resource",
		0, NULL, &ctx->err);
	if (!st->quarantine)
		return -1;
	snprintf(sql, sizeof(sql), "SELECT %s FROM runs ORDER BY run_id DESC LIMIT $1", run_columns);
	st->runs = etl_db_query(ctx->db, sql, 1, p2, &ctx->err);
	return st->runs ? 0 : -1;
}

static long long head_count(const struct status *st, int col)
{
	return strtoll(PQgetvalue(st->head, 0, col), NULL, 10);
}

static int lock_held(const struct status *st)
{
	return PQgetvalue(st->head, 0, H_LOCKED)[0] == 't';
}

/* A run's status as a person should read it (the table only: JSON keeps
 * the runs table's own value, which machines may compare).  Only the
 * newest 'running' row can be live, and only while some etl holds the
 * lock; any other belongs to a process that died (the next run marks it
 * killed). */
static const char *run_status(const struct status *st, int row)
{
	const char *s = PQgetvalue(st->runs, row, R_STATUS);

	if (strcmp(s, "running"))
		return s;
	if (!lock_held(st))
		return "died";
	for (int r = 0; r < row; r++)
		if (!strcmp(PQgetvalue(st->runs, r, R_STATUS), "running"))
			return "died";
	return s;
}

static cJSON *run_to_json(const struct status *st, int row)
{
	cJSON *o = cJSON_CreateObject();

	for (int c = 0; run_keys[c]; c++) {
		if (PQgetisnull(st->runs, row, c))
			cJSON_AddNullToObject(o, run_keys[c]);
		else if (is_text_column(c))
			cJSON_AddStringToObject(o, run_keys[c], PQgetvalue(st->runs, row, c));
		else
			cJSON_AddNumberToObject(o, run_keys[c], (double)strtoll(PQgetvalue(st->runs, row, c), NULL, 10));
	}
	return o;
}

static void add_text_or_null(cJSON *o, const char *key, PGresult *res, int col)
{
	if (PQgetisnull(res, 0, col))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, PQgetvalue(res, 0, col));
}

static int print_json(const struct status *st)
{
	cJSON *o = cJSON_CreateObject(), *byres, *runs;
	char *text;

	add_text_or_null(o, "watermark", st->head, H_WATERMARK);
	if (PQgetisnull(st->head, 0, H_LAG))
		cJSON_AddNullToObject(o, "watermark_lag_seconds");
	else
		cJSON_AddNumberToObject(o, "watermark_lag_seconds", (double)head_count(st, H_LAG));
	if (PQntuples(st->runs) > 0)
		cJSON_AddItemToObject(o, "last_run", run_to_json(st, 0));
	else
		cJSON_AddNullToObject(o, "last_run");
	add_text_or_null(o, "last_success_at", st->head, H_LAST_SUCCESS);
	cJSON_AddNumberToObject(o, "helix_pending", (double)head_count(st, H_PENDING));
	cJSON_AddNumberToObject(o, "helix_inflight", (double)head_count(st, H_INFLIGHT));
	cJSON_AddNumberToObject(o, "helix_failed", (double)head_count(st, H_FAILED));
	add_text_or_null(o, "helix_oldest_pending_at", st->head, H_OLDEST);
	cJSON_AddNumberToObject(o, "quarantined", (double)head_count(st, H_QUARANTINED));
	byres = cJSON_AddObjectToObject(o, "quarantined_by_resource");
	for (int r = 0; byres && r < PQntuples(st->quarantine); r++)
		cJSON_AddNumberToObject(byres, PQgetvalue(st->quarantine, r, 0),
					(double)strtoll(PQgetvalue(st->quarantine, r, 1), NULL, 10));
	runs = cJSON_AddArrayToObject(o, "recent_runs");
	for (int r = 0; runs && r < PQntuples(st->runs); r++)
		cJSON_AddItemToArray(runs, run_to_json(st, r));
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

/* A duration as a person says it: "45s", "5m", "2h 5m", "3d 4h". */
static void human(char *buf, size_t n, long long secs)
{
	if (secs < 60)
		snprintf(buf, n, "%llds", secs);
	else if (secs < 3600)
		snprintf(buf, n, "%lldm", secs / 60);
	else if (secs < 86400)
		snprintf(buf, n, "%lldh %lldm", secs / 3600, secs / 60 % 60);
	else
		snprintf(buf, n, "%lldd %lldh", secs / 86400, secs / 3600 % 24);
}

/* "1m 02s" style for run durations, where seconds matter. */
static void took(char *buf, size_t n, long long secs)
{
	if (secs < 60)
		snprintf(buf, n, "%llds", secs);
	else if (secs < 3600)
		snprintf(buf, n, "%lldm %02llds", secs / 60, secs % 60);
	else
		snprintf(buf, n, "%lldh %02lldm", secs / 3600, secs / 60 % 60);
}

static void print_watermark(const struct status *st)
{
	char h[32];
	long long lag, hours;

	if (PQgetisnull(st->head, 0, H_WATERMARK)) {
		printf("watermark     none: no hour window loaded yet (the first etl run starts at --start, or the last complete hour)\n");
		return;
	}
	lag = head_count(st, H_LAG);
	hours = lag / 3600;
	printf("watermark     %s, ", PQgetvalue(st->head, 0, H_WATERMARK));
	if (lag < 0) {
		human(h, sizeof(h), -lag);
		printf("%s ahead of the clock (is the clock or --now right?)\n", h);
		return;
	}
	human(h, sizeof(h), lag);
	/* The watermark is the start of the next window: less than an hour
	 * behind means every complete hour is loaded. */
	if (hours == 0)
		printf("%s behind: up to date\n", h);
	else
		printf("%s behind: %lld complete hour%s not loaded yet\n", h, hours, hours == 1 ? "" : "s");
}

static void print_quarantine(const struct status *st)
{
	int n = PQntuples(st->quarantine);
	long long total = head_count(st, H_QUARANTINED);

	if (total == 0) {
		printf("quarantine    none\n");
		return;
	}
	printf("quarantine    %lld record%s:", total, total == 1 ? "" : "s");
	for (int r = 0; r < n; r++)
		printf("%s %s %s", r ? "," : "", PQgetvalue(st->quarantine, r, 0), PQgetvalue(st->quarantine, r, 1));
	printf(" (etl rejects lists them)\n");
}

static void print_helix(const struct status *st)
{
	long long pending = head_count(st, H_PENDING), inflight = head_count(st, H_INFLIGHT);
	long long failed = head_count(st, H_FAILED);
	char h[32];

	if (pending == 0 && failed == 0) {
		printf("helix         nothing waiting, none failed\n");
		return;
	}
	printf("helix         %lld pending (%lld inflight), %lld failed", pending, inflight, failed);
	if (!PQgetisnull(st->head, 0, H_OLDEST)) {
		human(h, sizeof(h), head_count(st, H_OLDEST_AGE) < 0 ? 0 : head_count(st, H_OLDEST_AGE));
		printf("; oldest pending queued %s ago", h);
	}
	if (failed > 0)
		printf(" (etl emit --retry-failed)");
	printf("\n");
}

static void print_runs(const struct status *st)
{
	int n = PQntuples(st->runs);

	if (n == 0) {
		printf("\nruns          none yet\n");
		return;
	}
	printf("\n%6s  %-8s  %-20s  %7s  %7s  %8s  %8s  %5s  %6s  %-15s  %s\n", "run", "command", "started",
	       "took", "windows", "fetched", "loaded", "dups", "quar", "helix sent/fail", "status");
	for (int r = 0; r < n; r++) {
		char t[32], hx[48], stat[48];
		const char *s = run_status(st, r);

		took(t, sizeof(t), strtoll(PQgetvalue(st->runs, r, R_DURATION), NULL, 10));
		snprintf(hx, sizeof(hx), "%s/%s", PQgetvalue(st->runs, r, R_HSENT), PQgetvalue(st->runs, r, R_HFAILED));
		if (!PQgetisnull(st->runs, r, R_EXIT) && strcmp(PQgetvalue(st->runs, r, R_EXIT), "0"))
			snprintf(stat, sizeof(stat), "%s (exit %s)", s, PQgetvalue(st->runs, r, R_EXIT));
		else
			snprintf(stat, sizeof(stat), "%s", s);
		printf("%6s  %-8s  %-20s  %7s  %7s  %8s  %8s  %5s  %6s  %-15s  %s\n",
		       PQgetvalue(st->runs, r, R_ID), PQgetvalue(st->runs, r, R_COMMAND),
		       PQgetvalue(st->runs, r, R_STARTED), t, PQgetvalue(st->runs, r, R_WINDOWS),
		       PQgetvalue(st->runs, r, R_FETCHED), PQgetvalue(st->runs, r, R_LOADED),
		       PQgetvalue(st->runs, r, R_DUPS), PQgetvalue(st->runs, r, R_QUAR), hx, stat);
	}
	/* The newest run's message when it did not succeed: usually the
	 * sentence that says what to do. */
	if (strcmp(run_status(st, 0), "ok") && !PQgetisnull(st->runs, 0, R_MESSAGE) &&
	    *PQgetvalue(st->runs, 0, R_MESSAGE))
		printf("\nrun %s %s: %s\n", PQgetvalue(st->runs, 0, R_ID), run_status(st, 0),
		       PQgetvalue(st->runs, 0, R_MESSAGE));
	else if (!strcmp(run_status(st, 0), "died"))
		printf("\nrun %s died without finishing; the next run marks it killed and carries on\n",
		       PQgetvalue(st->runs, 0, R_ID));
}

static void print_last_success(const struct status *st)
{
	if (PQgetisnull(st->head, 0, H_LAST_SUCCESS))
		printf("last success  none yet\n");
	else
		printf("last success  %s (run %s)\n", PQgetvalue(st->head, 0, H_LAST_SUCCESS),
		       PQgetvalue(st->head, 0, H_LAST_SUCCESS_RUN));
}

static void print_table(const struct status *st)
{
	print_watermark(st);
	print_last_success(st);
	print_quarantine(st);
	print_helix(st);
	print_runs(st);
}

int cmd_status(int argc, char **argv, etl_ctx *ctx)
{
	struct status st = { NULL, NULL, NULL };
	int ret = 0;

	if (argc > 1)
		return cmd_usage_error(ctx, "unexpected argument \"%s\"", argv[1]);
	if (ctx->format == ETL_FMT_CSV)
		return cmd_usage_error(ctx, "etl status prints table or json, not csv");
	if (load_status(ctx, &st) < 0) {
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
	PQclear(st.quarantine);
	PQclear(st.runs);
	return ret;
}

const struct option cmd_status_options[] = { { 0, 0, 0, 0 } };

/*
 * rejects.c - etl rejects: the quarantine (contract section 2).
 *
 *   etl rejects [list] [--resource R] [--limit N]   the quarantined records,
 *       oldest first; --format json prints the contract's array of
 *       {"resource", "key", "reasons", "raw", "quarantined_at"}
 *   etl rejects replay [--dry-run]   validates the quarantined sales again
 *       against the reference data the database holds now and loads those
 *       that pass (lib/load.c, etl_load_replay); takes the run lock.  With
 *       --dry-run the replay is rolled back and nothing is sent to Helix;
 *       its summary says what would have happened.
 */
#include "cmd.h"
#include "load.h"
#include "output.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rejects_opts {
	const char *resource;  /* NULL = every resource */
	long limit;            /* 0 = no limit */
	int replay;
	int dry_run;           /* replay --dry-run */
};

static const char *const resources[] = { "sales", "stores", "pos", "cameras", "items", "exchange_rates", NULL };

static int known_resource(const char *r)
{
	for (int i = 0; resources[i]; i++)
		if (!strcmp(resources[i], r))
			return 1;
	return 0;
}

static int parse_rejects_options(int argc, char **argv, etl_ctx *ctx, struct rejects_opts *o)
{
	int ch, listed = 0;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", cmd_rejects_options, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (!known_resource(optarg))
				return cmd_usage_error(ctx, "--resource must be sales, stores, pos, cameras, items "
						       "or exchange_rates, not \"%s\"", optarg);
			o->resource = optarg;
			listed = 1;
			break;
		case 'l':
			if (cmd_parse_long(ctx, "--limit", optarg, 1, 1000000000L, &o->limit))
				return ETL_EUSAGE;
			listed = 1;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case ':':
			return cmd_usage_error(ctx, "option \"%s\" needs a value", argv[optind - 1]);
		default:
			return cmd_usage_error(ctx, "unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind < argc && !strcmp(argv[optind], "replay"))
		o->replay = 1;
	else if (optind < argc && strcmp(argv[optind], "list") != 0)
		return cmd_usage_error(ctx, "unknown action \"%s\": use list or replay", argv[optind]);
	if (optind < argc)
		optind++;
	if (optind < argc)
		return cmd_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
	if (o->replay && listed)
		return cmd_usage_error(ctx, "--resource and --limit belong to etl rejects list");
	if (!o->replay && o->dry_run)
		return cmd_usage_error(ctx, "--dry-run belongs to etl rejects replay");
	return 0;
}

/* ---- list -------------------------------------------------------------- */

#define QUARANTINED_AT "to_char(quarantined_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* JSON: the contract's five keys, reasons as an array and raw as the
 * record itself (jsonb keeps its numbers exactly). */
static const etl_output_column json_columns[] = {
	{ "resource", ETL_OUT_TEXT }, { "key", ETL_OUT_TEXT }, { "reasons", ETL_OUT_JSON },
	{ "raw", ETL_OUT_JSON }, { "quarantined_at", ETL_OUT_TEXT },
};
#define JSON_SELECT \
	"SELECT resource, record_key, to_json(reasons)::text, raw::text, " QUARANTINED_AT \
	" FROM quarantine WHERE ($1::text IS NULL OR resource = $1)" \
	" ORDER BY quarantine_id LIMIT $2::bigint"

/* Table and CSV: one line per record; CSV carries the raw record too. */
static const etl_output_column text_columns[] = {
	{ "id", ETL_OUT_INT }, { "quarantined_at", ETL_OUT_TEXT }, { "resource", ETL_OUT_TEXT },
	{ "key", ETL_OUT_TEXT }, { "reasons", ETL_OUT_TEXT }, { "raw", ETL_OUT_JSON },
};
#define TEXT_SELECT \
	"SELECT quarantine_id, " QUARANTINED_AT ", resource, record_key, array_to_string(reasons, ' ')," \
	" raw::text FROM quarantine WHERE ($1::text IS NULL OR resource = $1)" \
	" ORDER BY quarantine_id LIMIT $2::bigint"

/* CSV and JSON are streamed from a cursor, a batch at a time, so that a
 * large quarantine is listed in bounded memory; the table needs every row
 * for its widths and reads them at once (list a large quarantine as CSV,
 * or with --limit). */
#define BATCH 1000
#define STR(x) #x
#define XSTR(x) STR(x)

static int rejects_stream(etl_ctx *ctx, const char *declare_sql, const char *const *params,
			  etl_output_format fmt, const etl_output_column *cols, size_t ncols)
{
	etl_output_stream st;
	PGresult *res;
	int ret = -1, n;

	if (etl_db_begin(ctx->db, &ctx->err) < 0)
		return ctx->err.code;
	if (etl_db_exec(ctx->db, declare_sql, 2, params, &ctx->err) < 0 ||
	    etl_output_stream_begin(&st, stdout, fmt, cols, ncols, &ctx->err) < 0)
		goto done;
	do {
		res = etl_db_query(ctx->db, "FETCH " XSTR(BATCH) " FROM rejects_list", 0, NULL, &ctx->err);
		if (!res)
			goto done;  /* what was printed stays; the exit status says it is not all */
		n = PQntuples(res);
		etl_output_stream_pg(&st, res);
		PQclear(res);
	} while (n == BATCH);
	ret = etl_output_stream_end(&st, &ctx->err);
done:
	etl_db_rollback(ctx->db);  /* read only: nothing to keep */
	return ret < 0 ? ctx->err.code : 0;
}

static int rejects_list(etl_ctx *ctx, const struct rejects_opts *o)
{
	char limit[24];
	const char *p[] = { o->resource, o->limit > 0 ? limit : NULL };
	int json = ctx->format == ETL_FMT_JSON, csv = ctx->format == ETL_FMT_CSV;
	PGresult *res;
	int rc;

	snprintf(limit, sizeof(limit), "%ld", o->limit);
	if (json)
		return rejects_stream(ctx, "DECLARE rejects_list NO SCROLL CURSOR FOR " JSON_SELECT, p,
				      ETL_OUTPUT_JSON, json_columns, 5);
	if (csv)
		return rejects_stream(ctx, "DECLARE rejects_list NO SCROLL CURSOR FOR " TEXT_SELECT, p,
				      ETL_OUTPUT_CSV, text_columns, 6);
	res = etl_db_query(ctx->db, TEXT_SELECT, 2, p, &ctx->err);
	if (!res)
		return ctx->err.code;
	/* the table leaves the raw record out: it would not fit a line */
	rc = etl_output_write_pg(stdout, ETL_OUTPUT_TABLE, text_columns, 5, res, &ctx->err);
	PQclear(res);
	return rc < 0 ? ctx->err.code : 0;
}

/* ---- replay ------------------------------------------------------------ */

static void print_replay(const etl_ctx *ctx, const etl_run_counts *c, int dry_run)
{
	char *json;

	if (ctx->format == ETL_FMT_JSON) {
		if ((json = dry_run ? etl_run_counts_json_dry_run(c) : etl_run_counts_json(c)))
			printf("%s\n", json);
		free(json);
		return;
	}
	if (dry_run)
		printf("dry run, nothing changed: replaying %lld quarantined sale%s would load %lld (%lld inserted, "
		       "%lld updated, %lld unchanged), drop %lld superseded or duplicate, and leave %lld "
		       "quarantined\n",
		       (long long)c->fetched, c->fetched == 1 ? "" : "s", (long long)c->loaded,
		       (long long)c->inserted, (long long)c->updated, (long long)c->unchanged,
		       (long long)c->duplicates, (long long)c->quarantined);
	else
		printf("replayed %lld quarantined sale%s: %lld loaded (%lld inserted, %lld updated, %lld unchanged), "
		       "%lld superseded or duplicate, %lld still quarantined\n",
		       (long long)c->fetched, c->fetched == 1 ? "" : "s", (long long)c->loaded,
		       (long long)c->inserted, (long long)c->updated, (long long)c->unchanged,
		       (long long)c->duplicates, (long long)c->quarantined);
}

static int rejects_replay(etl_ctx *ctx, int dry_run)
{
	etl_load_job job = { 0 };
	unsigned flags = ETL_LOAD_HELIX | (dry_run ? ETL_LOAD_DRY_RUN : 0);
	int ret = -1;

	/* replay writes sales: never beside another etl */
	if (etl_db_lock(ctx->db, &ctx->err) < 0)
		return ctx->err.code;
	if (etl_load_job_start(&job, ctx->db, &ctx->cfg, "rejects replay", flags, &ctx->err) == 0)
		ret = etl_load_replay(job.loader, &job.total, &ctx->err);
	ret = ret == 0 ? 0 : (ctx->err.code ? (int)ctx->err.code : ETL_EINTERNAL);
	/* also when only the Helix sending after the commit failed */
	if (ret == 0 || job.total.fetched > 0)
		print_replay(ctx, &job.total, dry_run);
	etl_load_job_end(&job, ret, &ctx->err);
	return ret;
}

int cmd_rejects(int argc, char **argv, etl_ctx *ctx)
{
	struct rejects_opts o;
	int ret = parse_rejects_options(argc, argv, ctx, &o);

	if (ret != 0)
		return ret;
	return o.replay ? rejects_replay(ctx, o.dry_run) : rejects_list(ctx, &o);
}

const struct option cmd_rejects_options[] = {
	{ "resource", required_argument, NULL, 'r' },
	{ "limit", required_argument, NULL, 'l' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ 0, 0, 0, 0 },
};

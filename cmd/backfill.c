/*
 * backfill.c - etl backfill --from DATE --to DATE [--emit]: loads whole UTC
 * days, from and to inclusive, one transaction per day, through the same
 * load path as etl run, leaving the watermark alone (contract section 3).
 * Queues Helix events only with --emit.
 */
#include "cmd.h"
#include "load.h"
#include "window.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

struct day_range {
	etl_time since, until, cursor;
};

static int next_day(void *arg, etl_window *out)
{
	struct day_range *r = arg;

	return etl_window_next(r->since, r->until, ETL_USEC_PER_DAY, &r->cursor, out);
}

static int parse_date_opt(etl_ctx *ctx, const char *opt, const char *value, etl_date *out)
{
	if (etl_date_parse(value, out) < 0)
		return cmd_usage_error(ctx, "%s needs a date such as 2026-11-21, not \"%s\"", opt, value);
	return 0;
}

static int parse_backfill_options(int argc, char **argv, etl_ctx *ctx, struct day_range *r, int *emit)
{
	int ch, has_from = 0, has_to = 0;
	etl_date from = 0, to = 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", cmd_backfill_options, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (parse_date_opt(ctx, "--from", optarg, &from))
				return ETL_EUSAGE;
			has_from = 1;
			break;
		case 't':
			if (parse_date_opt(ctx, "--to", optarg, &to))
				return ETL_EUSAGE;
			has_to = 1;
			break;
		case 'e':
			*emit = 1;
			break;
		case ':':
			return cmd_usage_error(ctx, "option \"%s\" needs a value", argv[optind - 1]);
		default:
			return cmd_usage_error(ctx, "unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
	if (!has_from || !has_to)
		return cmd_usage_error(ctx, "etl backfill needs both --from and --to");
	if (etl_window_days(from, to, &r->since, &r->until) < 0)
		return cmd_usage_error(ctx, "--from must not be after --to");
	r->cursor = r->since;
	return 0;
}

int cmd_backfill(int argc, char **argv, etl_ctx *ctx)
{
	struct day_range r = { 0, 0, 0 };
	etl_load_job job = { 0 };
	unsigned flags = ETL_LOAD_JOB_SOURCE | ETL_LOAD_JOB_REFRESH;
	char *json;
	int emit = 0, ret;

	if ((ret = parse_backfill_options(argc, argv, ctx, &r, &emit)) != 0)
		return ret;
	if (ctx->format == ETL_FMT_CSV)
		return cmd_usage_error(ctx, "etl backfill prints nothing, or json with --format json");
	if (emit)
		flags |= ETL_LOAD_HELIX;
	ret = etl_load_job_start(&job, ctx->db, &ctx->cfg, "backfill", flags, &ctx->err);
	if (ret == 0)
		ret = etl_load_windows(job.loader, next_day, &r, &job.total, &ctx->err);
	ret = ret == 0 ? 0 : (ctx->err.code ? (int)ctx->err.code : ETL_EINTERNAL);
	if (job.run_id > 0 && ctx->format == ETL_FMT_JSON && (json = etl_run_counts_json(&job.total))) {
		printf("%s\n", json);
		free(json);
	}
	etl_load_job_end(&job, ret, &ctx->err);
	return ret;
}

const struct option cmd_backfill_options[] = {
	{ "from", required_argument, NULL, 'f' },
	{ "to", required_argument, NULL, 't' },
	{ "emit", no_argument, NULL, 'e' },
	{ 0, 0, 0, 0 },
};

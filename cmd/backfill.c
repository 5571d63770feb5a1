/*
 * backfill.c - etl backfill --from DATE --to DATE [--emit] [--dry-run]
 * [--max-reject-ratio R]: loads whole UTC days, from and to inclusive, one
 * transaction per day, through the same load path as etl run, leaving the
 * watermark alone (contract section 3).  Queues Helix events only with
 * --emit.  --dry-run rolls every day back and sends nothing (a summary on
 * stderr, or "dry_run": true in the JSON); on a terminal, without -v or -q,
 * a progress line counts the days and records.
 */
#include "cmd.h"
#include "load.h"
#include "progress.h"
#include "window.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

/* The days to load; given counts the days handed out, total the job's
 * sums so far (for the progress line). */
struct day_range {
	etl_time since, until, cursor;
	etl_progress *progress;
	const etl_run_counts *total;
	int64_t given;
};

static int next_day(void *arg, etl_window *out)
{
	struct day_range *r = arg;
	int more = etl_window_next(r->since, r->until, ETL_USEC_PER_DAY, &r->cursor, out);

	/* called once the day before has been added to *total */
	etl_progress_update(r->progress, r->given, r->total->fetched);
	r->given += more == 1;
	return more;
}

static void on_page(void *arg, int64_t fetched)
{
	struct day_range *r = arg;

	etl_progress_update(r->progress, r->given - 1, r->total->fetched + fetched);
}

struct backfill_opts {
	int emit, dry_run;
	int64_t max_reject_ppb;  /* -1 = no limit */
};

static int parse_date_opt(etl_ctx *ctx, const char *opt, const char *value, etl_date *out)
{
	if (etl_date_parse(value, out) < 0)
		return cmd_usage_error(ctx, "%s needs a date such as 2026-11-21, not \"%s\"", opt, value);
	return 0;
}

static int parse_backfill_options(int argc, char **argv, etl_ctx *ctx, struct day_range *r,
				  struct backfill_opts *o)
{
	int ch, has_from = 0, has_to = 0;
	etl_date from = 0, to = 0;

	o->emit = o->dry_run = 0;
	o->max_reject_ppb = -1;
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
			o->emit = 1;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case 'R':
			if (etl_load_parse_ratio(optarg, &o->max_reject_ppb) < 0)
				return cmd_usage_error(ctx, "--max-reject-ratio needs a fraction from 0 to 1 "
						       "(at most 9 decimals) such as 0.2, not \"%s\"", optarg);
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
	struct day_range r = { 0, 0, 0, NULL, NULL, 0 };
	struct backfill_opts o;
	etl_load_job job = { 0 };
	etl_progress progress;
	unsigned flags = ETL_LOAD_JOB_SOURCE | ETL_LOAD_JOB_REFRESH;
	int ret;

	if ((ret = parse_backfill_options(argc, argv, ctx, &r, &o)) != 0)
		return ret;
	if (ctx->format == ETL_FMT_CSV)
		return cmd_usage_error(ctx, "etl backfill prints nothing, or json with --format json");
	if (o.emit)
		flags |= ETL_LOAD_HELIX;
	if (o.dry_run)
		flags |= ETL_LOAD_DRY_RUN;
	etl_progress_start(&progress, "backfill", (r.until - r.since) / ETL_USEC_PER_DAY,
			   !ctx->quiet && !ctx->verbose);
	etl_progress_unit(&progress, "days");
	r.progress = &progress;
	r.total = &job.total;
	ret = etl_load_job_start(&job, ctx->db, &ctx->cfg, "backfill", flags, &ctx->err);
	if (ret == 0) {
		etl_loader_set_max_reject(job.loader, o.max_reject_ppb);
		etl_loader_set_page_hook(job.loader, on_page, &r);
		ret = etl_load_windows(job.loader, next_day, &r, &job.total, &ctx->err);
	}
	etl_progress_end(&progress);
	ret = ret == 0 ? 0 : (ctx->err.code ? (int)ctx->err.code : ETL_EINTERNAL);
	if (job.run_id > 0)
		cmd_print_counts(ctx, &job.total, o.dry_run, ret);
	etl_load_job_end(&job, ret, &ctx->err);
	return ret;
}

const struct option cmd_backfill_options[] = {
	{ "from", required_argument, NULL, 'f' },
	{ "to", required_argument, NULL, 't' },
	{ "emit", no_argument, NULL, 'e' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "max-reject-ratio", required_argument, NULL, 'R' },
	{ 0, 0, 0, 0 },
};

/*
 * fetch.c - etl fetch --since T --until T [--emit] [--dry-run]
 * [--max-reject-ratio R]: loads an explicit range through the same load path
 * as etl run, one transaction per hour window, leaving the watermark alone
 * (contract section 3).
 *
 * A range that does not start or end on the hour is allowed: its first and
 * last windows are the partial hours.  Queues Helix events only with --emit.
 * --dry-run rolls every window back and sends nothing (a summary on stderr,
 * or "dry_run": true in the JSON); on a terminal, without -v or -q, a
 * progress line counts the windows.
 */
#include "cmd.h"
#include "load.h"
#include "log.h"
#include "progress.h"
#include "window.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

/* Windows of [since, until) cut every step, for etl_load_windows; given
 * counts the windows handed out, total the job's sums so far (for the
 * progress line). */
struct window_range {
	etl_time since, until, step, cursor;
	etl_progress *progress;
	const etl_run_counts *total;
	int64_t given;
};

static int next_in_range(void *arg, etl_window *out)
{
	struct window_range *r = arg;
	int more = etl_window_next(r->since, r->until, r->step, &r->cursor, out);

	/* called once the window before has been added to *total */
	etl_progress_update(r->progress, r->given, r->total->fetched);
	r->given += more == 1;
	return more;
}

static void on_page(void *arg, int64_t fetched)
{
	struct window_range *r = arg;

	etl_progress_update(r->progress, r->given - 1, r->total->fetched + fetched);
}

/* How many windows the range holds (the partial first and last included). */
static int64_t count_windows(const struct window_range *r)
{
	etl_time cursor = r->since;
	etl_window w;
	int64_t n = 0;

	while (etl_window_next(r->since, r->until, r->step, &cursor, &w) == 1)
		n++;
	return n;
}

static int parse_time_opt(etl_ctx *ctx, const char *opt, const char *value, etl_time *out)
{
	if (etl_time_parse(value, NULL, out) < 0)
		return cmd_usage_error(ctx, "%s needs an RFC 3339 timestamp such as 2026-11-21T09:00:00Z, not \"%s\"",
				       opt, value);
	return 0;
}

struct fetch_opts {
	int emit, dry_run;
	int64_t max_reject_ppb;  /* -1 = no limit */
};

static int parse_fetch_options(int argc, char **argv, etl_ctx *ctx, struct window_range *r,
			       struct fetch_opts *o)
{
	int ch, has_since = 0, has_until = 0;

	o->emit = o->dry_run = 0;
	o->max_reject_ppb = -1;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", cmd_fetch_options, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (parse_time_opt(ctx, "--since", optarg, &r->since))
				return ETL_EUSAGE;
			has_since = 1;
			break;
		case 'u':
			if (parse_time_opt(ctx, "--until", optarg, &r->until))
				return ETL_EUSAGE;
			has_until = 1;
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
	if (!has_since || !has_until)
		return cmd_usage_error(ctx, "etl fetch needs both --since and --until");
	if (r->since >= r->until)
		return cmd_usage_error(ctx, "--since must be before --until");
	r->step = ETL_USEC_PER_HOUR;
	r->cursor = r->since;
	return 0;
}

int cmd_fetch(int argc, char **argv, etl_ctx *ctx)
{
	struct window_range r = { 0, 0, 0, 0, NULL, NULL, 0 };
	struct fetch_opts o;
	etl_load_job job = { 0 };
	etl_progress progress;
	unsigned flags = ETL_LOAD_JOB_SOURCE | ETL_LOAD_JOB_REFRESH;
	int ret;

	if ((ret = parse_fetch_options(argc, argv, ctx, &r, &o)) != 0)
		return ret;
	if (ctx->format == ETL_FMT_CSV)
		return cmd_usage_error(ctx, "etl fetch prints nothing, or json with --format json");
	if (o.emit)
		flags |= ETL_LOAD_HELIX;
	if (o.dry_run)
		flags |= ETL_LOAD_DRY_RUN;
	etl_progress_start(&progress, "fetch", count_windows(&r), !ctx->quiet && !ctx->verbose);
	etl_progress_unit(&progress, "windows");
	r.progress = &progress;
	r.total = &job.total;
	ret = etl_load_job_start(&job, ctx->db, &ctx->cfg, "fetch", flags, &ctx->err);
	if (ret == 0) {
		etl_loader_set_max_reject(job.loader, o.max_reject_ppb);
		etl_loader_set_page_hook(job.loader, on_page, &r);
		ret = etl_load_windows(job.loader, next_in_range, &r, &job.total, &ctx->err);
	}
	etl_progress_end(&progress);
	ret = ret == 0 ? 0 : (ctx->err.code ? (int)ctx->err.code : ETL_EINTERNAL);
	if (job.run_id > 0)
		cmd_print_counts(ctx, &job.total, o.dry_run, ret);
	etl_load_job_end(&job, ret, &ctx->err);
	return ret;
}

const struct option cmd_fetch_options[] = {
	{ "since", required_argument, NULL, 's' },
	{ "until", required_argument, NULL, 'u' },
	{ "emit", no_argument, NULL, 'e' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "max-reject-ratio", required_argument, NULL, 'R' },
	{ 0, 0, 0, 0 },
};

/*
 * run.c - etl run: the hourly cron job (contract section 3).
 *
 * Refreshes the reference snapshots (also when no window is due), then
 * loads the due hour windows oldest first, each in its own transaction
 * (lib/load.c), sending Helix events after each commit.  Silent on success;
 * -v logs a line per window; --format json prints the run's counts.
 */
#include "cmd.h"
#include "load.h"
#include "log.h"
#include "window.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

struct run_opts {
	int has_start;
	etl_time start;
	long max_windows;
	long lookback;
};

/* Windows from an array, for etl_load_windows. */
struct window_list {
	const etl_window *w;
	size_t n, next;
};

static int next_listed(void *arg, etl_window *out)
{
	struct window_list *l = arg;

	if (l->next >= l->n)
		return 0;
	*out = l->w[l->next++];
	return 1;
}

static int parse_run_options(int argc, char **argv, etl_ctx *ctx, struct run_opts *o)
{
	int ch;

	o->has_start = 0;
	o->max_windows = ETL_WINDOW_MAX_WINDOWS_DEFAULT;
	o->lookback = 0;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", cmd_run_options, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (etl_time_parse(optarg, NULL, &o->start) < 0)
				return cmd_usage_error(ctx, "--start needs an RFC 3339 timestamp such as "
						       "2026-11-21T09:00:00Z, not \"%s\"", optarg);
			o->has_start = 1;
			break;
		case 'm':
			if (cmd_parse_long(ctx, "--max-windows", optarg, 1, ETL_WINDOW_MAX_WINDOWS_LIMIT,
					   &o->max_windows))
				return ETL_EUSAGE;
			break;
		case 'l':
			if (cmd_parse_long(ctx, "--lookback", optarg, 0, ETL_WINDOW_LOOKBACK_LIMIT, &o->lookback))
				return ETL_EUSAGE;
			break;
		case ':':
			return cmd_usage_error(ctx, "option \"%s\" needs a value", argv[optind - 1]);
		default:
			return cmd_usage_error(ctx, "unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
	return 0;
}

/* The windows due now: a plan from the watermark (window.h).  *out is
 * malloc'd (caller frees). */
static int plan_windows(etl_ctx *ctx, const struct run_opts *o, etl_window **out, size_t *n)
{
	etl_run_plan_in in;
	size_t cap, nl;
	char wm[40];

	*out = NULL;
	*n = 0;
	in.has_start = o->has_start;
	in.start = o->start;
	in.now = ctx->now;
	in.max_windows = (int)o->max_windows;
	in.lookback = (int)o->lookback;
	if (etl_load_watermark(ctx->db, &in.has_watermark, &in.watermark, &ctx->err) < 0)
		return -1;
	if (in.has_watermark && o->has_start) {
		etl_time_format(in.watermark, wm, sizeof(wm));
		etl_info("--start is ignored: the watermark (%s) says where to go on", wm);
	}
	cap = etl_window_run_cap(&in);
	*out = calloc(cap ? cap : 1, sizeof(**out));
	if (!*out)
		return etl_err_set(&ctx->err, ETL_EINTERNAL, "out of memory");
	if (etl_window_plan_run(&in, *out, cap, n, &nl) < 0)
		return etl_err_set(&ctx->err, ETL_EINTERNAL, "cannot plan the windows");
	etl_debug("%zu window(s) due, %zu of them re-read (--lookback)", *n, nl);
	return 0;
}

/* Prints the counts as one JSON object on stdout (--format json). */
static void print_counts(const etl_ctx *ctx, const etl_run_counts *c)
{
	char *json;

	if (ctx->format != ETL_FMT_JSON)
		return;
	json = etl_run_counts_json(c);
	if (json)
		printf("%s\n", json);
	free(json);
}

int cmd_run(int argc, char **argv, etl_ctx *ctx)
{
	struct run_opts o;
	etl_load_job job = { 0 };
	struct window_list list = { NULL, 0, 0 };
	etl_window *windows = NULL;
	int ret;

	if ((ret = parse_run_options(argc, argv, ctx, &o)) != 0)
		return ret;
	if (ctx->format == ETL_FMT_CSV)
		return cmd_usage_error(ctx, "etl run prints nothing, or json with --format json");
	ret = -1;
	if (etl_load_job_start(&job, ctx->db, &ctx->cfg, "run",
			       ETL_LOAD_JOB_SOURCE | ETL_LOAD_JOB_REFRESH | ETL_LOAD_WATERMARK | ETL_LOAD_HELIX,
			       &ctx->err) < 0)
		goto done;
	if (plan_windows(ctx, &o, &windows, &list.n) < 0)
		goto done;
	list.w = windows;
	ret = etl_load_windows(job.loader, next_listed, &list, &job.total, &ctx->err);
done:
	ret = ret == 0 ? 0 : (ctx->err.code ? (int)ctx->err.code : ETL_EINTERNAL);
	if (job.run_id > 0)
		print_counts(ctx, &job.total);
	etl_load_job_end(&job, ret, &ctx->err);
	free(windows);
	return ret;
}

const struct option cmd_run_options[] = {
	{ "start", required_argument, NULL, 's' },
	{ "max-windows", required_argument, NULL, 'm' },
	{ "lookback", required_argument, NULL, 'l' },
	{ 0, 0, 0, 0 },
};

/*
 * run.c - etl run: the hourly cron job (contract section 3).
 *
 * Refreshes the reference snapshots (also when no window is due), then
 * loads the due hour windows oldest first, each in its own transaction
 * (lib/load.c), sending Helix events after each commit.  Silent on success;
 * -v logs a line per window; --format json prints the run's counts.
 *
 * --dry-run rolls every window back and sends nothing (a summary on stderr,
 * or "dry_run": true in the JSON); --max-reject-ratio R stops the run with
 * 65 at a window that would quarantine more than R of its records;
 * --metrics-file (or ETL_METRICS_FILE) gets the Prometheus textfile at the
 * end, on success and failure, not after a dry run.
 */
#include "cmd.h"
#include "load.h"
#include "log.h"
#include "metrics.h"
#include "window.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

struct run_opts {
	int has_start;
	etl_time start;
	long max_windows;
	long lookback;
	int dry_run;
	int64_t max_reject_ppb;    /* -1 = no limit */
	const char *metrics_file;  /* --metrics-file, NULL = ETL_METRICS_FILE */
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
	o->dry_run = 0;
	o->max_reject_ppb = -1;
	o->metrics_file = NULL;
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
		case 'n':
			o->dry_run = 1;
			break;
		case 'R':
			if (cmd_parse_reject_ratio(ctx, optarg, &o->max_reject_ppb))
				return ETL_EUSAGE;
			break;
		case 'M':
			if (!*optarg)
				return cmd_usage_error(ctx, "--metrics-file needs a file name");
			o->metrics_file = optarg;
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

/* The Prometheus textfile, when one is named; a file that cannot be
 * written is a warning, the run's own exit status stands. */
static void record_metrics(etl_ctx *ctx, const char *path, etl_time started, int ret, const etl_run_counts *c)
{
	etl_err err = ETL_ERR_INIT;

	if (!path || !*path)
		return;
	if (etl_metrics_record_run(path, ctx->db, started, ctx->now, ret, c, &err) < 0)
		etl_warn("the run's metrics were not written: %s", err.msg);
}

int cmd_run(int argc, char **argv, etl_ctx *ctx)
{
	struct run_opts o;
	etl_load_job job = { 0 };
	etl_run_counts total;
	struct window_list list = { NULL, 0, 0 };
	etl_window *windows = NULL;
	etl_time started;
	unsigned flags = ETL_LOAD_JOB_SOURCE | ETL_LOAD_JOB_REFRESH | ETL_LOAD_WATERMARK | ETL_LOAD_HELIX;
	int ret;

	/* the real clock, not --now: the metrics are compared with time() */
	if (etl_time_now(NULL, &started) < 0)
		started = ctx->now;
	if ((ret = parse_run_options(argc, argv, ctx, &o)) != 0)
		return ret;
	if (ctx->format == ETL_FMT_CSV)
		return cmd_usage_error(ctx, "etl run prints nothing, or json with --format json");
	if (o.dry_run)
		flags |= ETL_LOAD_DRY_RUN;
	ret = -1;
	if (etl_load_job_start(&job, ctx->db, &ctx->cfg, "run", flags, &ctx->err) < 0)
		goto done;
	etl_loader_set_max_reject(job.loader, o.max_reject_ppb);
	if (plan_windows(ctx, &o, &windows, &list.n) < 0)
		goto done;
	list.w = windows;
	ret = etl_load_windows(job.loader, next_listed, &list, &job.total, &ctx->err);
done:
	ret = ret == 0 ? 0 : (ctx->err.code ? (int)ctx->err.code : ETL_EINTERNAL);
	if (job.run_id > 0)
		cmd_print_counts(ctx, &job.total, o.dry_run, ret);
	total = job.total;  /* etl_load_job_end clears the job */
	etl_load_job_end(&job, ret, &ctx->err);
	/* after the runs row is closed: the metrics read the last success there */
	if (!o.dry_run)
		record_metrics(ctx, o.metrics_file ? o.metrics_file : ctx->cfg.metrics_file, started, ret, &total);
	free(windows);
	return ret;
}

const struct option cmd_run_options[] = {
	{ "start", required_argument, NULL, 's' },
	{ "max-windows", required_argument, NULL, 'm' },
	{ "lookback", required_argument, NULL, 'l' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "max-reject-ratio", required_argument, NULL, 'R' },
	{ "metrics-file", required_argument, NULL, 'M' },
	{ 0, 0, 0, 0 },
};

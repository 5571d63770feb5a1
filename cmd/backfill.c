/*
 * backfill.c - etl backfill --from DATE --to DATE [--emit] [--dry-run]
 * [--max-reject-ratio R]: loads whole UTC days, from and to inclusive, one
 * transaction per day, through the same load path as etl run, leaving the
 * watermark alone (contract section 3).  Queues Helix events only with
 * --emit.  --dry-run rolls every day back and sends nothing (a summary on
 * stderr, or "dry_run": true in the JSON); on a terminal, without -v or -q,
 * a progress line counts the days and records.  The load itself is
 * cmd_load_range's (cmd/etl.c), shared with etl fetch.
 */
#include "cmd.h"
#include "window.h"

#include <getopt.h>

static int parse_date_opt(etl_ctx *ctx, const char *opt, const char *value, void *out)
{
	if (etl_date_parse(value, out) < 0)
		return cmd_usage_error(ctx, "%s needs a date such as 2026-11-21, not \"%s\"", opt, value);
	return 0;
}

int cmd_backfill(int argc, char **argv, etl_ctx *ctx)
{
	struct cmd_range_opts o;
	etl_date from = 0, to = 0;
	etl_time since, until;
	int ret;

	if ((ret = cmd_range_args(argc, argv, ctx, cmd_backfill_options, parse_date_opt, &from, &to, &o)) != 0)
		return ret;
	if (etl_window_days(from, to, &since, &until) < 0)
		return cmd_usage_error(ctx, "--from must not be after --to");
	return cmd_load_range(ctx, "backfill", since, until, ETL_USEC_PER_DAY, "days", &o);
}

const struct option cmd_backfill_options[] = {
	{ "from", required_argument, NULL, 'L' },
	{ "to", required_argument, NULL, 'H' },
	CMD_RANGE_OPTIONS,
	{ 0, 0, 0, 0 },
};

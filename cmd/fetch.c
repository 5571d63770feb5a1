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
 * progress line counts the windows.  The load itself is cmd_load_range's
 * (cmd/etl.c), shared with etl backfill.
 */
#include "cmd.h"

#include <getopt.h>

static int parse_time_opt(etl_ctx *ctx, const char *opt, const char *value, void *out)
{
	if (etl_time_parse(value, NULL, out) < 0)
		return cmd_usage_error(ctx, "%s needs an RFC 3339 timestamp such as 2026-11-21T09:00:00Z, not \"%s\"",
				       opt, value);
	return 0;
}

int cmd_fetch(int argc, char **argv, etl_ctx *ctx)
{
	struct cmd_range_opts o;
	etl_time since = 0, until = 0;
	int ret;

	if ((ret = cmd_range_args(argc, argv, ctx, cmd_fetch_options, parse_time_opt, &since, &until, &o)) != 0)
		return ret;
	if (since >= until)
		return cmd_usage_error(ctx, "--since must be before --until");
	return cmd_load_range(ctx, "fetch", since, until, ETL_USEC_PER_HOUR, "windows", &o);
}

const struct option cmd_fetch_options[] = {
	{ "since", required_argument, NULL, 'L' },
	{ "until", required_argument, NULL, 'H' },
	CMD_RANGE_OPTIONS,
	{ 0, 0, 0, 0 },
};

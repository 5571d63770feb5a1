/*
 * emit.c - etl emit [--retry-failed]: sends what waits in the Helix outbox
 * (contract section 4).  `etl run` sends after each window itself; emit is
 * for a backlog left by a run that could not reach Helix, and for trying
 * the failed events again after their cause was fixed.
 *
 * Silent on success (cron); -v prints one summary line on stderr;
 * --format json prints {"helix_sent", "helix_updated", "helix_failed",
 * "helix_pending"} on stdout, also when sending stopped on an error.
 * Exit status: 0 (events that Helix refused for good are marked failed and
 * counted, not an error), 69 Helix or PostgreSQL unavailable after retries,
 * 78 Helix not configured, the key refused (401) or without Helix
 * permission (403), or an event type of that name with another schema.
 */
#include "cmd.h"
#include "helix.h"
#include "log.h"
#include "progress.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

/* --token-ttl S is a test knob, not in the help: renew the token after S
 * seconds instead of 25 minutes, to exercise renewal in a short test. */
const struct option cmd_emit_options[] = {
	{ "retry-failed", no_argument, NULL, 'r' },
	{ "token-ttl", required_argument, NULL, 't' },
	{ 0, 0, 0, 0 },
};

/* The sender learns how many events it will send only once it starts. */
static void show_progress(void *arg, const etl_helix_stats *st, int64_t total)
{
	etl_progress *p = arg;
	int64_t done = st->sent + st->updated + st->failed;

	p->total = total;
	etl_progress_update(p, done, done);
}

int cmd_emit(int argc, char **argv, etl_ctx *ctx)
{
	etl_helix_stats st = { 0, 0, 0, 0 };
	etl_progress progress;
	int ch, retry_failed = 0, ret;
	long ttl = 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", cmd_emit_options, NULL)) != -1) {
		switch (ch) {
		case 'r':
			retry_failed = 1;
			break;
		case 't':
			if (cmd_parse_long(ctx, "--token-ttl", optarg, 1, 86400, &ttl))
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
	if (ctx->format == ETL_FMT_CSV)
		return cmd_usage_error(ctx, "etl emit prints --format json or nothing, not csv");
	if (!etl_config_helix_on(&ctx->cfg)) {
		etl_err_set(&ctx->err, ETL_ECONFIG, "Helix is not configured, so there is nothing to send");
		etl_err_hint(&ctx->err, "set ETL_HELIX_API_KEY (or ETL_HELIX_API_KEY_FILE) and ETL_HELIX_URL");
		return ETL_ECONFIG;
	}
	if (ttl > 0)
		etl_helix_set_token_ttl((int)ttl);

	/* A live line on a terminal only: never in cron, with -q or -v. */
	etl_progress_start(&progress, "emit", -1, !ctx->quiet && !ctx->verbose);
	etl_progress_unit(&progress, "events");
	etl_helix_set_progress(show_progress, &progress);
	if (etl_helix_send(ctx->db, &ctx->cfg, retry_failed, &st, &ctx->err) < 0)
		ret = ctx->err.code != ETL_OK ? (int)ctx->err.code : ETL_EINTERNAL;
	else
		ret = 0;
	etl_helix_set_progress(NULL, NULL);
	etl_progress_end(&progress);

	if (ctx->format == ETL_FMT_JSON)
		printf("{\"helix_sent\": %" PRId64 ", \"helix_updated\": %" PRId64 ", \"helix_failed\": %" PRId64
		       ", \"helix_pending\": %" PRId64 "}\n", st.sent, st.updated, st.failed, st.pending);
	etl_info("emit: %" PRId64 " sent, %" PRId64 " updated, %" PRId64 " failed, %" PRId64 " pending",
		 st.sent, st.updated, st.failed, st.pending);
	return ret;
}

/*
 * etl.c - main: the subcommand table and the setup each subcommand asks for.
 *
 * Like git.c: each row names a command, the function that runs it, and what
 * it needs (configuration of the source, a database connection with a
 * current schema, the run lock).  main() parses the common options, does
 * that setup, calls the command, then checks stdout was written.
 */
#include "cmd.h"
#include "load.h"
#include "log.h"
#include "migrate.h"
#include "progress.h"
#include "runlog.h"
#include "window.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEED_DB      (1u << 0) /* connect, and refuse an old schema */
#define NEED_LOCK    (1u << 1) /* take the run lock (exit 75 when held) */
#define NEED_SOURCE  (1u << 2) /* ETL_SOURCE_URL must be set */
#define ANY_SCHEMA   (1u << 3) /* with NEED_DB: do not check the schema version */

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv, etl_ctx *ctx);
	const struct option *options; /* the command's own long options */
	unsigned flags;
	const char *summary;
	const char *usage;   /* options after "etl NAME" */
	const char *help;    /* options and examples */
	/* Optional: checks the arguments before any setup, so that a bad value
	 * is a usage error (64) even with no database. */
	int (*check)(int argc, char **argv, etl_ctx *ctx);
};

static const struct cmd commands[] = {
	{ "migrate", cmd_migrate, cmd_migrate_options, NEED_DB | ANY_SCHEMA, "create or upgrade the database schema",
	  "",
	  "Applies the schema migrations this etl carries that the database lacks,\n"
	  "each in one transaction.  Safe to run again: a current schema is left alone.\n"
	  "Run it as the database owner after installing a new etl.\n\n"
	  "Example:\n  ETL_DATABASE_URL=postgresql:///retail etl migrate\n", NULL },
	{ "run", cmd_run, cmd_run_options, NEED_DB | NEED_LOCK | NEED_SOURCE, "refresh reference data, load due hour windows, send Helix events",
	  "[--start T] [--max-windows N] [--lookback N] [--dry-run] [--max-reject-ratio R] [--metrics-file PATH]",
	  "The hourly cron job.  Refreshes the reference snapshots, then loads each\n"
	  "hour window [W, W+1h) from the watermark up to the last complete hour,\n"
	  "oldest first, one transaction per window, then sends queued Helix events.\n"
	  "Silent on success unless -v.\n\n"
	  "Options:\n"
	  "  --start T             first window on a database with no watermark (RFC 3339)\n"
	  "  --max-windows N       at most N windows this invocation (default 24)\n"
	  "  --lookback N          also re-read the N hours before the watermark\n"
	  "  --dry-run             load each window up to its commit, then roll back; send nothing\n"
	  "                        to Helix, leave the reference data and the metrics file alone,\n"
	  "                        and say on stderr what would have loaded\n"
	  "  --max-reject-ratio R  roll back and exit 65 when a window quarantines more than R (0-1)\n"
	  "                        of the records it fetched; the windows before it stay committed\n"
	  "  --metrics-file PATH   write Prometheus metrics there (also ETL_METRICS_FILE)\n"
	  "  --format json         print the run's counts as one JSON object\n\n"
	  "Examples:\n  etl run\n  etl run --start 2026-11-20T00:00:00Z -v\n  etl run --lookback 3 --format json\n"
	  "  etl run --dry-run -v\n  etl run --max-reject-ratio 0.2 --metrics-file /var/lib/prometheus/node-exporter/etl.prom\n", NULL },
	{ "fetch", cmd_fetch, cmd_fetch_options, NEED_DB | NEED_LOCK | NEED_SOURCE, "load an explicit time range without moving the watermark",
	  "--since T --until T [--emit] [--dry-run] [--max-reject-ratio R]",
	  "Loads the sales of [since, until) hour by hour, leaving the watermark alone.\n"
	  "Queues no Helix events unless --emit.  On a terminal it shows a progress line.\n\n"
	  "Options:\n"
	  "  --since T, --until T  the range (RFC 3339); partial hours at either end are allowed\n"
	  "  --emit                queue (and send) Helix events for the sales it loads\n"
	  "  --dry-run             load each window up to its commit, then roll back; send\n"
	  "                        nothing, and say on stderr what would have loaded\n"
	  "  --max-reject-ratio R  roll back and exit 65 when a window quarantines more than R (0-1)\n"
	  "  --format json         print the counts as one JSON object\n\n"
	  "Examples:\n  etl fetch --since 2026-11-20T00:00:00Z --until 2026-11-20T06:00:00Z\n"
	  "  etl fetch --since 2026-11-20T00:00:00Z --until 2026-11-20T06:00:00Z --dry-run -v\n", NULL },
	{ "backfill", cmd_backfill, cmd_backfill_options, NEED_DB | NEED_LOCK | NEED_SOURCE, "load whole days without moving the watermark",
	  "--from DATE --to DATE [--emit] [--dry-run] [--max-reject-ratio R]",
	  "Loads the sales of each UTC day from --from to --to inclusive, one day at\n"
	  "a time, leaving the watermark alone.  Queues no Helix events unless --emit.\n"
	  "On a terminal it shows a progress line (days, records, rate, time left).\n\n"
	  "Options:\n"
	  "  --from DATE, --to DATE  the days (YYYY-MM-DD, UTC), both included\n"
	  "  --emit                  queue (and send) Helix events for the sales it loads\n"
	  "  --dry-run               load each day up to its commit, then roll back; send\n"
	  "                          nothing, and say on stderr what would have loaded\n"
	  "  --max-reject-ratio R    roll back and exit 65 when a day quarantines more than R (0-1)\n"
	  "  --format json           print the counts as one JSON object\n\n"
	  "Examples:\n  etl backfill --from 2026-11-01 --to 2026-11-07\n"
	  "  etl backfill --from 2026-11-01 --to 2026-11-07 --dry-run --format json\n", NULL },
	{ "emit", cmd_emit, cmd_emit_options, NEED_DB | NEED_LOCK, "send pending Helix events",
	  "[--retry-failed]",
	  "Sends the Helix events and updates that wait in the outbox.\n\n"
	  "Options:\n  --retry-failed   also try again the events that failed permanently\n\n"
	  "Example:\n  etl emit --retry-failed -v\n", NULL },
	{ "status", cmd_status, cmd_status_options, NEED_DB, "show the watermark, recent runs, quarantine and Helix backlog",
	  "[--format table|json]",
	  "Example:\n  etl status\n  etl status --format json\n", NULL },
	{ "rejects", cmd_rejects, cmd_rejects_options, NEED_DB, "list quarantined records, or replay them",
	  "[list] [--resource R] [--limit N] | replay [--dry-run]",
	  "Lists the quarantined records with their reasons, or (replay) validates them\n"
	  "again against today's reference data and loads those that now pass.\n"
	  "replay --dry-run rolls the replay back, sends nothing to Helix, and prints\n"
	  "what it would have loaded.\n\n"
	  "Examples:\n  etl rejects --format json\n  etl rejects replay --dry-run\n  etl rejects replay\n", NULL },
	{ "report", cmd_report, cmd_report_options, NEED_DB, "run a canned report",
	  "NAME [--from DATE] [--to DATE] [--tz ZONE] [--limit N] [report options]",
	  "Reports: top-customers [--marketing], order-value --by day|week|month|total,\n"
	  "sales-by-province [--province P], sales-by-store [--store ID], top-items,\n"
	  "transactions [--store ID] [--customer ID] [--offset N], customer --id ID,\n"
	  "summary [--country CC].\n"
	  "Days are cut in --tz (default UTC); --from/--to are inclusive (default: the\n"
	  "7 days ending today); customer covers all time.  --limit N caps the rows\n"
	  "(defaults: top-customers 5, top-items 10, transactions 100, else all).\n"
	  "Money is in USD at each sale's rate, rounded half away from zero.\n\n"
	  "Examples:\n  etl report top-customers --limit 10\n"
	  "  etl report order-value --by week --from 2026-11-01 --to 2026-11-30 --format csv\n",
	  cmd_report_check },
	{ "version", cmd_version, cmd_version_options, 0, "print the version", "", "Example:\n  etl version\n", NULL },
	{ "help", cmd_help, cmd_help_options, 0, "show help for etl or a subcommand", "[COMMAND]", "Example:\n  etl help run\n", NULL },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char common_usage[] = "[--config FILE] [--format table|csv|json] [-v] [-q] [--now T]";

static const struct cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void print_usage_line(FILE *f, const struct cmd *c)
{
	if (c)
		fprintf(f, "usage: etl %s %s%s%s\n", c->name, c->usage, *c->usage ? " " : "", common_usage);
	else
		fprintf(f, "usage: etl COMMAND [options]   (etl help lists the commands)\n");
}

void cmd_print_help(const char *name)
{
	const struct cmd *c = find_command(name);

	if (!c)
		return;
	print_usage_line(stdout, c);
	printf("\n%s: %s\n\n%s", c->name, c->summary, c->help);
	printf("\nCommon options:\n"
	       "  --config FILE   read KEY=value settings from FILE (the environment wins)\n"
	       "  --format F      table (default), csv or json\n"
	       "  -v, -vv         say more on stderr; -q says only errors\n"
	       "  --now T         act as if the clock read T (RFC 3339), also ETL_NOW\n");
}

static void print_overview(void)
{
	printf("usage: etl COMMAND [options]\n\n"
	       "etl loads the retailer's sales and reference data into PostgreSQL, sends\n"
	       "paid sales to Verkada Helix, and runs the canned reports.\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-9s %s\n", commands[i].name, commands[i].summary);
	printf("\n'etl help COMMAND' or 'etl COMMAND --help' shows a command's options.\n"
	       "Exit status: 0 ok, 64 usage, 65 unusable source data, 69 a server unavailable,\n"
	       "75 another run holds the lock, 78 bad configuration or old schema.\n");
}

int cmd_usage_error(etl_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->err.msg, sizeof(ctx->err.msg), fmt, ap);
	va_end(ap);
	ctx->err.code = ETL_EUSAGE;
	snprintf(ctx->err.hint, sizeof(ctx->err.hint), "see 'etl help %s'", ctx->name ? ctx->name : "");
	return ETL_EUSAGE;
}

void cmd_print_counts(const etl_ctx *ctx, const etl_run_counts *c, int dry_run, int ret)
{
	char line[512], *json;

	if (ctx->format == ETL_FMT_JSON) {
		if ((json = dry_run ? etl_run_counts_json_dry_run(c) : etl_run_counts_json(c)))
			printf("%s\n", json);
		free(json);
	} else if (dry_run && ret == 0 && !ctx->quiet) {
		etl_run_counts_describe(line, sizeof(line), c);
		fprintf(stderr, "etl: dry run (rolled back, nothing sent to Helix, reference data not "
			"refreshed): %s\n", line);
	}
}

/* ---- fetch and backfill: a range of windows ---------------------------- */

/* The name of the option whose getopt value is val ("since"). */
static const char *option_name(const struct option *options, int val)
{
	for (; options->name; options++)
		if (options->val == val)
			return options->name;
	return "?";
}

int cmd_range_args(int argc, char **argv, etl_ctx *ctx, const struct option *options, cmd_bound_fn parse_bound,
		   void *lo, void *hi, struct cmd_range_opts *o)
{
	int ch, has_lo = 0, has_hi = 0;
	char opt[64];

	o->emit = o->dry_run = 0;
	o->max_reject_ppb = -1;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", options, NULL)) != -1) {
		switch (ch) {
		case 'L':
		case 'H':
			snprintf(opt, sizeof(opt), "--%s", option_name(options, ch));
			if (parse_bound(ctx, opt, optarg, ch == 'L' ? lo : hi))
				return ETL_EUSAGE;
			*(ch == 'L' ? &has_lo : &has_hi) = 1;
			break;
		case 'e':
			o->emit = 1;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case 'R':
			if (cmd_parse_reject_ratio(ctx, optarg, &o->max_reject_ppb))
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
	if (!has_lo || !has_hi)
		return cmd_usage_error(ctx, "etl %s needs both --%s and --%s", argv[0], option_name(options, 'L'),
				       option_name(options, 'H'));
	return 0;
}

/* The windows of a range, for etl_load_windows; given counts the windows
 * handed out, total the job's sums so far (for the progress line). */
struct range {
	etl_time since, until, step, cursor;
	etl_progress *progress;
	const etl_run_counts *total;
	int64_t given;
};

static int next_in_range(void *arg, etl_window *out)
{
	struct range *r = arg;
	int more = etl_window_next(r->since, r->until, r->step, &r->cursor, out);

	/* called once the window before has been added to *total */
	etl_progress_update(r->progress, r->given, r->total->fetched);
	r->given += more == 1;
	return more;
}

static void on_range_page(void *arg, int64_t fetched)
{
	struct range *r = arg;

	etl_progress_update(r->progress, r->given - 1, r->total->fetched + fetched);
}

/* How many windows the range holds (the partial first and last included). */
static int64_t count_windows(const struct range *r)
{
	etl_time cursor = r->since;
	etl_window w;
	int64_t n = 0;

	while (etl_window_next(r->since, r->until, r->step, &cursor, &w) == 1)
		n++;
	return n;
}

int cmd_load_range(etl_ctx *ctx, const char *command, etl_time since, etl_time until, etl_time step,
		   const char *unit, const struct cmd_range_opts *o)
{
	struct range r = { since, until, step, since, NULL, NULL, 0 };
	etl_load_job job = { 0 };
	etl_progress progress;
	unsigned flags = ETL_LOAD_JOB_SOURCE | ETL_LOAD_JOB_REFRESH;
	int ret;

	if (ctx->format == ETL_FMT_CSV)
		return cmd_usage_error(ctx, "etl %s prints nothing, or json with --format json", command);
	if (o->emit)
		flags |= ETL_LOAD_HELIX;
	if (o->dry_run)
		flags |= ETL_LOAD_DRY_RUN;
	etl_progress_start(&progress, command, count_windows(&r), !ctx->quiet && !ctx->verbose);
	etl_progress_unit(&progress, unit);
	r.progress = &progress;
	r.total = &job.total;
	ret = etl_load_job_start(&job, ctx->db, &ctx->cfg, command, flags, &ctx->err);
	if (ret == 0) {
		etl_loader_set_max_reject(job.loader, o->max_reject_ppb);
		etl_loader_set_page_hook(job.loader, on_range_page, &r);
		ret = etl_load_windows(job.loader, next_in_range, &r, &job.total, &ctx->err);
	}
	etl_progress_end(&progress);
	ret = ret == 0 ? 0 : (ctx->err.code ? (int)ctx->err.code : ETL_EINTERNAL);
	if (job.run_id > 0)
		cmd_print_counts(ctx, &job.total, o->dry_run, ret);
	etl_load_job_end(&job, ret, &ctx->err);
	return ret;
}

int cmd_parse_long(etl_ctx *ctx, const char *opt, const char *value, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < min || v > max)
		return cmd_usage_error(ctx, "%s needs a whole number from %ld to %ld, not \"%s\"", opt, min, max, value);
	*out = v;
	return 0;
}

int cmd_parse_reject_ratio(etl_ctx *ctx, const char *value, int64_t *ppb)
{
	if (etl_load_parse_ratio(value, ppb) < 0)
		return cmd_usage_error(ctx, "--max-reject-ratio needs a fraction from 0 to 1 "
				       "(at most 9 decimals) such as 0.2, not \"%s\"", value);
	return 0;
}

int cmd_version(int argc, char **argv, etl_ctx *ctx)
{
	if (argc > 1)
		return cmd_usage_error(ctx, "unexpected argument \"%s\"", argv[1]);
	printf("etl %s (libcurl %s, libpq %d, schema %d)\n", ETL_VERSION,
	       curl_version_info(CURLVERSION_NOW)->version, PQlibVersion(), etl_migrate_latest());
	return 0;
}

int cmd_help(int argc, char **argv, etl_ctx *ctx)
{
	if (argc < 2) {
		print_overview();
		return 0;
	}
	if (!find_command(argv[1]))
		return cmd_usage_error(ctx, "unknown command \"%s\"", argv[1]);
	cmd_print_help(argv[1]);
	return 0;
}

/* Common options, accepted before or after the subcommand.  Returns the
 * number of argv entries consumed (1 or 2), 0 when arg is not one, -1 on a
 * usage error. */
static int take_common_option(etl_ctx *ctx, int argc, char **argv, int i, int *help)
{
	static const char *const with_value[] = { "--config", "--format", "--now", NULL };
	const char *a = argv[i];

	if (!strcmp(a, "-h") || !strcmp(a, "--help"))
		return *help = 1, 1;
	if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
		return ctx->quiet = 1, 1;
	if (!strcmp(a, "--verbose") || (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1))) {
		ctx->verbose += a[1] == '-' ? 1 : (int)strlen(a + 1);
		return 1;
	}
	for (int k = 0; with_value[k]; k++) {
		size_t n = strlen(with_value[k]);
		const char *v;
		int used;

		if (strncmp(a, with_value[k], n) || (a[n] != '\0' && a[n] != '='))
			continue;
		if (a[n] == '=') {
			v = a + n + 1;
			used = 1;
		} else if (i + 1 < argc) {
			v = argv[i + 1];
			used = 2;
		} else {
			cmd_usage_error(ctx, "%s needs a value", with_value[k]);
			return -1;
		}
		if (k == 0) {
			ctx->config_file = v;
		} else if (k == 1) {
			if (!strcmp(v, "table")) ctx->format = ETL_FMT_TABLE;
			else if (!strcmp(v, "csv")) ctx->format = ETL_FMT_CSV;
			else if (!strcmp(v, "json")) ctx->format = ETL_FMT_JSON;
			else {
				cmd_usage_error(ctx, "--format must be table, csv or json, not \"%s\"", v);
				return -1;
			}
			ctx->format_given = 1;
		} else {
			free(ctx->cfg.now);  /* options win over the environment */
			ctx->cfg.now = NULL;
			if (!(ctx->cfg.now = strdup(v)))
				return -1;
		}
		return used;
	}
	return 0;
}

/* Splits argv into the common options and the subcommand's own argv (which
 * keeps argv[0] = the subcommand).  The --now value is kept aside because
 * the configuration is loaded only after the options are known. */
static int parse_args(etl_ctx *ctx, int argc, char **argv, char ***cmd_argv, int *cmd_argc,
		      int *help, char **now_opt)
{
	char **out = calloc((size_t)argc + 1, sizeof(char *));
	int n = 0, rest = 0;

	if (!out)
		return -1;
	for (int i = 1; i < argc; i++) {
		int used;

		if (rest) {
			out[n++] = argv[i];
			continue;
		}
		if (!strcmp(argv[i], "--")) {  /* the rest belongs to the subcommand */
			rest = 1;
			if (n > 0)
				out[n++] = argv[i];
			continue;
		}
		used = take_common_option(ctx, argc, argv, i, help);
		if (used < 0) {
			free(out);
			return -1;
		}
		if (used == 0) {
			out[n++] = argv[i];
			continue;
		}
		i += used - 1;
	}
	*now_opt = ctx->cfg.now;  /* set by take_common_option, if at all */
	ctx->cfg.now = NULL;
	*cmd_argv = out;
	*cmd_argc = n;
	return 0;
}

/* Takes ownership of now_opt. */
static int setup(etl_ctx *ctx, const struct cmd *c, char *now_opt)
{
	etl_err *err = &ctx->err;

	if (etl_config_load(&ctx->cfg, ctx->config_file, err) < 0) {
		free(now_opt);
		return -1;
	}
	if (now_opt) {
		free(ctx->cfg.now);
		ctx->cfg.now = now_opt;
		if (etl_time_now(now_opt, &ctx->now) < 0) {
			cmd_usage_error(ctx, "--now needs an RFC 3339 timestamp such as 2026-11-21T10:00:00Z, not \"%s\"", now_opt);
			return -1;
		}
	} else if (etl_time_now(ctx->cfg.now, &ctx->now) < 0) {
		etl_err_set(err, ETL_ECONFIG, "ETL_NOW must be an RFC 3339 timestamp such as 2026-11-21T10:00:00Z, not \"%s\"", ctx->cfg.now);
		return -1;
	}
	if ((c->flags & NEED_SOURCE) && etl_config_require(&ctx->cfg, ETL_CONFIG_NEED_SOURCE, err) < 0)
		return -1;
	if (c->flags & NEED_DB) {
		if (etl_db_connect(&ctx->db, ctx->cfg.database_url, ctx->cfg.statement_timeout, err) < 0)
			return -1;
		if (!(c->flags & ANY_SCHEMA) && etl_db_check_schema(ctx->db, err) < 0)
			return -1;
		if ((c->flags & NEED_LOCK) && etl_db_lock(ctx->db, err) < 0)
			return -1;
	}
	return 0;
}

/* Checks the command's own options before any setup, so that a typo is a
 * usage error (64) even on a host with no database or configuration.  The
 * command parses them again itself; getopt is cheap. */
static int check_options(etl_ctx *ctx, const struct cmd *c, int argc, char **argv)
{
	int ch, ret = 0;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":", c->options, NULL)) != -1) {
		if (ch == '?') {
			ret = cmd_usage_error(ctx, "unknown option \"%s\"", argv[optind - 1]);
			break;
		}
		if (ch == ':') {
			ret = cmd_usage_error(ctx, "option \"%s\" needs a value", argv[optind - 1]);
			break;
		}
	}
	optind = 0;  /* glibc: 0 makes the command's own getopt start afresh */
	return ret;
}

static void print_error(const etl_ctx *ctx)
{
	const etl_err *e = &ctx->err;

	if (e->msg[0])
		etl_error("%s", e->msg);
	else
		etl_error("%s failed (%s)", ctx->name ? ctx->name : "etl", etl_code_name(e->code));
	if (e->hint[0])
		etl_log(ETL_LOG_ERROR, "hint: %s", e->hint);
}

int main(int argc, char **argv)
{
	etl_ctx ctx;
	const struct cmd *c = NULL;
	char **cargv = NULL, *now_opt = NULL;
	int cargc = 0, help = 0, ret;

	memset(&ctx, 0, sizeof(ctx));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "etl: error: cannot initialise libcurl\n");
		return ETL_EINTERNAL;
	}
	if (parse_args(&ctx, argc, argv, &cargv, &cargc, &help, &now_opt) < 0) {
		print_error(&ctx);
		print_usage_line(stderr, NULL);
		ret = ctx.err.code ? (int)ctx.err.code : ETL_EINTERNAL;
		goto cleanup;
	}
	etl_log_set_level(ctx.quiet ? ETL_LOG_ERROR :
			  ctx.verbose >= 2 ? ETL_LOG_DEBUG : ctx.verbose == 1 ? ETL_LOG_INFO : ETL_LOG_WARN);
	if (cargc == 0) {
		if (help) {
			print_overview();
			ret = 0;
		} else {
			etl_error("no command given");
			print_usage_line(stderr, NULL);
			ret = ETL_EUSAGE;
		}
		goto cleanup;
	}
	ctx.name = cargv[0];
	c = find_command(cargv[0]);
	if (!c) {
		etl_error("unknown command \"%s\"; 'etl help' lists the commands", cargv[0]);
		print_usage_line(stderr, NULL);
		ret = ETL_EUSAGE;
		goto cleanup;
	}
	if (help) {
		cmd_print_help(c->name);
		ret = 0;
		goto cleanup;
	}
	if (check_options(&ctx, c, cargc, cargv) != 0) {
		print_error(&ctx);
		print_usage_line(stderr, c);
		ret = ETL_EUSAGE;
		goto cleanup;
	}
	if (c->check && c->check(cargc, cargv, &ctx) != 0) {
		print_error(&ctx);
		print_usage_line(stderr, c);
		ret = ETL_EUSAGE;
		goto cleanup;
	}
	if (setup(&ctx, c, now_opt) < 0) {
		now_opt = NULL;  /* owned by ctx.cfg now, or freed with it */
		print_error(&ctx);
		if (ctx.err.code == ETL_EUSAGE)
			print_usage_line(stderr, c);
		ret = ctx.err.code ? (int)ctx.err.code : ETL_EINTERNAL;
		goto cleanup;
	}
	now_opt = NULL;
	ret = c->fn(cargc, cargv, &ctx);
	if (ret != 0) {
		if (!ctx.err.code)
			ctx.err.code = (etl_code)ret;
		print_error(&ctx);
		if (ret == ETL_EUSAGE)
			print_usage_line(stderr, c);
	}
cleanup:
	/* Like git: a command whose output could not be written failed. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (ret == 0) {
			fprintf(stderr, "etl: error: cannot write the output: %s\n", strerror(errno));
			ret = ETL_EIO;
		}
	}
	free(now_opt);
	free(cargv);
	etl_db_close(ctx.db);
	etl_config_release(&ctx.cfg);
	etl_log_release();
	curl_global_cleanup();
	return ret;
}

const struct option cmd_version_options[] = { { 0, 0, 0, 0 } };
const struct option cmd_help_options[] = { { 0, 0, 0, 0 } };

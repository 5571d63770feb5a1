/*
 * cmd.h - what every subcommand gets from cmd/etl.c.
 *
 * cmd/etl.c parses the common options, loads the configuration, connects to
 * the database and takes the lock as the subcommand's table flags ask, then
 * calls cmd_<name>(argc, argv, ctx) with argv[0] the subcommand's name and
 * only the subcommand's own options left.  A subcommand returns an exit
 * status (contract section 7); when it is not 0 it has filled ctx->err, which
 * cmd/etl.c prints.  Only cmd/ writes to stdout.
 */
#ifndef ETL_CMD_H
#define ETL_CMD_H

#include <getopt.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "error.h"
#include "timeutil.h"

typedef enum etl_format { ETL_FMT_TABLE, ETL_FMT_CSV, ETL_FMT_JSON } etl_format;

typedef struct etl_ctx {
	etl_config cfg;
	etl_db *db;          /* connected when the command has NEED_DB */
	etl_time now;        /* --now, ETL_NOW, or the clock */
	etl_format format;   /* --format, default table */
	int format_given;    /* whether --format was on the command line */
	int verbose;         /* -v count */
	int quiet;           /* -q */
	const char *config_file;
	const char *name;    /* the subcommand */
	etl_err err;
} etl_ctx;

/* Prints "etl NAME: <message>" and the subcommand's usage line to stderr,
 * fills ctx->err, and returns ETL_EUSAGE (64). */
int cmd_usage_error(etl_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct etl_run_counts;
/* The counts of run, fetch and backfill: --format json on stdout (marked
 * "dry_run": true in a dry run, printed also after a failure), or a dry
 * run's one-line summary on stderr; nothing otherwise (cron). */
void cmd_print_counts(const etl_ctx *ctx, const struct etl_run_counts *c, int dry_run, int ret);

/* fetch and backfill: the options they share, and the load of a range. */
struct cmd_range_opts {
	int emit;                /* --emit: queue and send Helix events */
	int dry_run;             /* --dry-run */
	int64_t max_reject_ppb;  /* --max-reject-ratio, in parts per 10^9; -1 = no limit */
};
/* The shared options, for the command's getopt_long table. */
#define CMD_RANGE_OPTIONS \
	{ "emit", no_argument, NULL, 'e' }, \
	{ "dry-run", no_argument, NULL, 'n' }, \
	{ "max-reject-ratio", required_argument, NULL, 'R' }
/* Parses the command line of fetch and backfill: the two bounds of the
 * range, options 'L' (the first) and 'H' (the last) of the command's table,
 * each read by parse_bound into *lo or *hi, both required; then the shared
 * options into o.  Returns 0, or ETL_EUSAGE after cmd_usage_error. */
typedef int (*cmd_bound_fn)(etl_ctx *ctx, const char *opt, const char *value, void *out);
int cmd_range_args(int argc, char **argv, etl_ctx *ctx, const struct option *options, cmd_bound_fn parse_bound,
		   void *lo, void *hi, struct cmd_range_opts *o);
/* Loads [since, until) in windows cut every step (a partial first and last
 * window included), one transaction each, through one load job recorded as
 * command; the progress line counts unit ("windows", "days").  Prints the
 * counts (cmd_print_counts) and returns the exit status. */
int cmd_load_range(etl_ctx *ctx, const char *command, etl_time since, etl_time until, etl_time step,
		   const char *unit, const struct cmd_range_opts *o);

/* Prints the subcommand's full help (usage, options, examples) to stdout. */
void cmd_print_help(const char *name);

/* Parses a whole decimal number option value; on error calls cmd_usage_error. */
int cmd_parse_long(etl_ctx *ctx, const char *opt, const char *value, long min, long max, long *out);
/* Parses --max-reject-ratio's value into parts per 10^9 (etl_load_parse_ratio);
 * on error calls cmd_usage_error. */
int cmd_parse_reject_ratio(etl_ctx *ctx, const char *value, int64_t *ppb);

/* Each command's long options (terminated by a zero entry), defined in its
 * own file and used both by cmd/etl.c's early check and by the command. */

extern const struct option cmd_migrate_options[], cmd_run_options[], cmd_fetch_options[],
	cmd_backfill_options[], cmd_emit_options[], cmd_status_options[], cmd_rejects_options[],
	cmd_report_options[], cmd_version_options[], cmd_help_options[];

int cmd_migrate(int argc, char **argv, etl_ctx *ctx);
int cmd_run(int argc, char **argv, etl_ctx *ctx);
int cmd_fetch(int argc, char **argv, etl_ctx *ctx);
int cmd_backfill(int argc, char **argv, etl_ctx *ctx);
int cmd_emit(int argc, char **argv, etl_ctx *ctx);
int cmd_status(int argc, char **argv, etl_ctx *ctx);
int cmd_rejects(int argc, char **argv, etl_ctx *ctx);
int cmd_report(int argc, char **argv, etl_ctx *ctx);
/* Checks a report's arguments before any connection (exit 64 even when the
 * database is down); 0 or ETL_EUSAGE with ctx->err filled. */
int cmd_report_check(int argc, char **argv, etl_ctx *ctx);
int cmd_version(int argc, char **argv, etl_ctx *ctx);
int cmd_help(int argc, char **argv, etl_ctx *ctx);

#endif

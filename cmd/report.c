/*
 * report.c - etl report NAME: parses and checks the options, works out the
 * default range (the last 7 days ending today in --tz), runs the report
 * (lib/report.h) and prints it (lib/output.h).
 */
#include "cmd.h"
#include "output.h"
#include "report.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

enum {
	OPT_FROM = 256, OPT_TO, OPT_TZ, OPT_LIMIT, OPT_MARKETING, OPT_BY, OPT_PROVINCE,
	OPT_STORE, OPT_CUSTOMER, OPT_OFFSET, OPT_ID, OPT_COUNTRY,
};

const struct option cmd_report_options[] = {
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "tz", required_argument, NULL, OPT_TZ },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "marketing", no_argument, NULL, OPT_MARKETING },
	{ "by", required_argument, NULL, OPT_BY },
	{ "province", required_argument, NULL, OPT_PROVINCE },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "customer", required_argument, NULL, OPT_CUSTOMER },
	{ "offset", required_argument, NULL, OPT_OFFSET },
	{ "id", required_argument, NULL, OPT_ID },
	{ "country", required_argument, NULL, OPT_COUNTRY },
	{ 0, 0, 0, 0 },
};

/* Which report option each command-line option is; 0 = every report. */
static const struct {
	int opt;
	unsigned bit;
	const char *name;
} option_bits[] = {
	{ OPT_FROM, ETL_REPORT_OPT_RANGE, "--from" },
	{ OPT_TO, ETL_REPORT_OPT_RANGE, "--to" },
	{ OPT_TZ, 0, "--tz" },
	{ OPT_LIMIT, 0, "--limit" },
	{ OPT_MARKETING, ETL_REPORT_OPT_MARKETING, "--marketing" },
	{ OPT_BY, ETL_REPORT_OPT_BY, "--by" },
	{ OPT_PROVINCE, ETL_REPORT_OPT_PROVINCE, "--province" },
	{ OPT_STORE, ETL_REPORT_OPT_STORE, "--store" },
	{ OPT_CUSTOMER, ETL_REPORT_OPT_CUSTOMER, "--customer" },
	{ OPT_OFFSET, ETL_REPORT_OPT_OFFSET, "--offset" },
	{ OPT_ID, ETL_REPORT_OPT_ID, "--id" },
	{ OPT_COUNTRY, ETL_REPORT_OPT_COUNTRY, "--country" },
};

#define NOPTION_BITS (sizeof(option_bits) / sizeof(option_bits[0]))

/* The reports that take option bit, for messages. */
static void reports_taking(unsigned bit, char *buf, size_t n)
{
	static const char *const names[] = {
		"top-customers", "order-value", "sales-by-province", "sales-by-store",
		"top-items", "transactions", "customer", "summary",
	};
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const etl_report *r = etl_report_find(names[i]);

		if (r && (r->options & bit)) {
			snprintf(buf + len, n - len, "%s%s", len ? ", " : "", names[i]);
			len = strlen(buf);
		}
	}
}

static int parse_date(etl_ctx *ctx, const char *opt, const char *value, etl_date *out)
{
	int y, m, d;

	if (etl_date_parse(value, out) < 0)
		return cmd_usage_error(ctx, "%s needs a date YYYY-MM-DD such as 2026-11-21, not \"%s\"", opt, value);
	etl_date_to_ymd(*out, &y, &m, &d);
	if (y < 1)
		return cmd_usage_error(ctx, "%s needs a year from 0001 to 9999, not \"%s\"", opt, value);
	return 0;
}

static int need_text(etl_ctx *ctx, const char *opt, const char *value, const char **out)
{
	if (!*value)
		return cmd_usage_error(ctx, "%s needs a value, not an empty string", opt);
	*out = value;
	return 0;
}

static int range_error(etl_ctx *ctx, const etl_report_params *p, int have_to)
{
	char a[16], b[16];

	etl_date_format(p->from, a, sizeof(a));
	etl_date_format(p->to, b, sizeof(b));
	return cmd_usage_error(ctx, "--from %s is after --to %s%s; give a range that ends on or after its start",
			       a, b, have_to ? "" : " (today)");
}

static etl_output_format output_format(etl_format f)
{
	return f == ETL_FMT_CSV ? ETL_OUTPUT_CSV : f == ETL_FMT_JSON ? ETL_OUTPUT_JSON : ETL_OUTPUT_TABLE;
}

/* What the command line says, checked as far as it can be without the
 * database. */
struct report_args {
	etl_report_params p;
	const etl_report *r;
	int have_from, have_to;
};

static int parse_args(int argc, char **argv, etl_ctx *ctx, struct report_args *a)
{
	etl_report_params *p = &a->p;
	const char *name;
	unsigned given = 0;  /* bit k: option_bits[k] was given */
	int ch;
	char list[256];

	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", cmd_report_options, NULL)) != -1) {
		long v;

		switch (ch) {
		case OPT_FROM:
			if (parse_date(ctx, "--from", optarg, &p->from))
				return ETL_EUSAGE;
			a->have_from = 1;
			break;
		case OPT_TO:
			if (parse_date(ctx, "--to", optarg, &p->to))
				return ETL_EUSAGE;
			a->have_to = 1;
			break;
		case OPT_TZ:
			if (need_text(ctx, "--tz", optarg, &p->tz))
				return ETL_EUSAGE;
			if (!etl_tz_valid(p->tz))
				return cmd_usage_error(ctx, "--tz \"%s\" is not a time zone this machine knows (e.g. Europe/London)", p->tz);
			break;
		case OPT_LIMIT:
			if (cmd_parse_long(ctx, "--limit", optarg, 0, LONG_MAX, &v))
				return ETL_EUSAGE;
			p->limit = v;
			break;
		case OPT_MARKETING:
			p->marketing = 1;
			break;
		case OPT_BY:
			if (!etl_report_by_valid(optarg))
				return cmd_usage_error(ctx, "--by must be day, week, month or total, not \"%s\"", optarg);
			p->by = optarg;
			break;
		case OPT_PROVINCE:
			if (need_text(ctx, "--province", optarg, &p->province))
				return ETL_EUSAGE;
			break;
		case OPT_STORE:
			if (cmd_parse_long(ctx, "--store", optarg, 0, LONG_MAX, &p->store))
				return ETL_EUSAGE;
			p->has_store = 1;
			break;
		case OPT_CUSTOMER:
			if (need_text(ctx, "--customer", optarg, &p->customer))
				return ETL_EUSAGE;
			break;
		case OPT_OFFSET:
			if (cmd_parse_long(ctx, "--offset", optarg, 0, LONG_MAX, &p->offset))
				return ETL_EUSAGE;
			break;
		case OPT_ID:
			if (need_text(ctx, "--id", optarg, &p->id))
				return ETL_EUSAGE;
			break;
		case OPT_COUNTRY:
			if (need_text(ctx, "--country", optarg, &p->country))
				return ETL_EUSAGE;
			break;
		case ':':
			return cmd_usage_error(ctx, "option \"%s\" needs a value", argv[optind - 1]);
		default:
			return cmd_usage_error(ctx, "unknown option \"%s\"", argv[optind - 1]);
		}
		for (size_t k = 0; k < NOPTION_BITS; k++)
			if (option_bits[k].opt == ch)
				given |= 1u << k;
	}
	if (optind >= argc)
		return cmd_usage_error(ctx, "name a report: %s", etl_report_names());
	name = argv[optind];
	if (optind + 1 < argc)
		return cmd_usage_error(ctx, "unexpected argument \"%s\" after the report name", argv[optind + 1]);
	if (!(a->r = etl_report_find(name)))
		return cmd_usage_error(ctx, "unknown report \"%s\"; the reports are %s", name, etl_report_names());
	for (size_t k = 0; k < NOPTION_BITS; k++) {
		unsigned bit = option_bits[k].bit;

		if ((given & (1u << k)) && bit && !(a->r->options & bit)) {
			reports_taking(bit, list, sizeof(list));
			if (bit == ETL_REPORT_OPT_RANGE)
				return cmd_usage_error(ctx, "%s does not apply to the %s report, which covers all time",
						       option_bits[k].name, a->r->name);
			return cmd_usage_error(ctx, "%s does not apply to the %s report (only to %s)",
					       option_bits[k].name, a->r->name, list);
		}
	}
	if ((a->r->required & ETL_REPORT_OPT_BY) && !p->by)
		return cmd_usage_error(ctx, "the order-value report needs --by day, week, month or total");
	if ((a->r->required & ETL_REPORT_OPT_ID) && !p->id)
		return cmd_usage_error(ctx, "the customer report needs --id CUSTOMER_ID");
	if (a->have_from && a->have_to && p->from > p->to)
		return range_error(ctx, p, 1);
	return 0;
}

int cmd_report_check(int argc, char **argv, etl_ctx *ctx)
{
	struct report_args a = { ETL_REPORT_PARAMS_INIT, NULL, 0, 0 };

	return parse_args(argc, argv, ctx, &a);
}

int cmd_report(int argc, char **argv, etl_ctx *ctx)
{
	struct report_args a = { ETL_REPORT_PARAMS_INIT, NULL, 0, 0 };
	etl_report_params *p = &a.p;
	PGresult *res = NULL;
	etl_date today;
	int ret = 0;

	if ((ret = parse_args(argc, argv, ctx, &a)) != 0)
		return ret;
	/* The zone is checked with PostgreSQL too, which also says what day it
	 * is there: the default range is the 7 days ending today. */
	if (etl_report_today(ctx->db, ctx->now, p->tz, &today, &ctx->err) < 0)
		return ctx->err.code;
	if (!a.have_to)
		p->to = today;
	if (!a.have_from) {
		p->from = p->to - 6;
		if (p->from < etl_date_from_ymd(1, 1, 1))
			p->from = etl_date_from_ymd(1, 1, 1);
	}
	if (p->from > p->to)
		return range_error(ctx, p, a.have_to);

	if (etl_report_run(ctx->db, a.r, p, &res, &ctx->err) < 0) {
		ret = ctx->err.code;
		goto cleanup;
	}
	if (etl_output_write_pg(stdout, output_format(ctx->format), a.r->columns, a.r->ncolumns, res, &ctx->err) < 0)
		ret = ctx->err.code;
cleanup:
	PQclear(res);
	return ret;
}

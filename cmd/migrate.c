/* migrate.c - etl migrate: create or upgrade the schema. */
#include "cmd.h"

#include <getopt.h>
#include "log.h"
#include "migrate.h"

#include <stdio.h>

int cmd_migrate(int argc, char **argv, etl_ctx *ctx)
{
	int applied = 0, version = 0;

	if (argc > 1)
		return cmd_usage_error(ctx, "unexpected argument \"%s\"", argv[1]);
	if (etl_migrate(ctx->db, &applied, &ctx->err) < 0)
		return ctx->err.code;
	if (etl_db_schema_version(ctx->db, &version, &ctx->err) < 0)
		return ctx->err.code;
	if (applied)
		etl_info("schema now at version %d (%d migration%s applied)", version, applied, applied == 1 ? "" : "s");
	else
		etl_info("schema already at version %d; nothing to do", version);
	return 0;
}

const struct option cmd_migrate_options[] = { { 0, 0, 0, 0 } };

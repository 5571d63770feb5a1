/* rejects.c - etl rejects (not built yet: see the open issues). */
#include "cmd.h"

#include <getopt.h>

int cmd_rejects(int argc, char **argv, etl_ctx *ctx)
{
	(void)argc;
	(void)argv;
	etl_err_set(&ctx->err, ETL_EINTERNAL, "etl rejects is not implemented in this build yet");
	return ETL_EINTERNAL;
}

/* Accepts anything until the command is built. */
const struct option cmd_rejects_options[] = { { 0, 0, 0, 0 } };

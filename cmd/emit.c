/* emit.c - etl emit (not built yet: see the open issues). */
#include "cmd.h"

#include <getopt.h>

int cmd_emit(int argc, char **argv, etl_ctx *ctx)
{
	(void)argc;
	(void)argv;
	etl_err_set(&ctx->err, ETL_EINTERNAL, "etl emit is not implemented in this build yet");
	return ETL_EINTERNAL;
}

/* Accepts anything until the command is built. */
const struct option cmd_emit_options[] = { { 0, 0, 0, 0 } };

/* error.c - see error.h. */
#include "error.h"

#include <stdio.h>
#include <string.h>

int etl_err_set(etl_err *err, etl_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->hint[0] = '\0';
	return -1;
}

int etl_err_hint(etl_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
	return -1;
}

int etl_err_prefix(etl_err *err, const char *fmt, ...)
{
	char prefix[512];
	char old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return -1;
}

void etl_err_clear(etl_err *err)
{
	if (!err)
		return;
	err->code = ETL_OK;
	err->msg[0] = '\0';
	err->hint[0] = '\0';
}

const char *etl_code_name(etl_code code)
{
	switch (code) {
	case ETL_OK: return "ok";
	case ETL_EUSAGE: return "usage";
	case ETL_EDATA: return "data";
	case ETL_EINTERNAL: return "internal";
	case ETL_EUNAVAIL: return "unavailable";
	case ETL_EIO: return "io";
	case ETL_ELOCKED: return "locked";
	case ETL_ECONFIG: return "config";
	}
	return "unknown";
}

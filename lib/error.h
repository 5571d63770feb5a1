/*
 * error.h - the one error type of etl.
 *
 * Library functions report failure by returning -1 (or NULL) and filling an
 * etl_err the caller owns.  The code doubles as the process exit status
 * (contract section 7), so cmd/ can `return err.code` after printing it.
 * The message is one plain sentence; the hint says what to do about it.
 */
#ifndef ETL_ERROR_H
#define ETL_ERROR_H

#include <stdarg.h>

typedef enum etl_code {
	ETL_OK = 0,
	ETL_EUSAGE = 64,    /* bad command line */
	ETL_EDATA = 65,     /* the source sent data that cannot be used at all */
	ETL_EINTERNAL = 70, /* a bug or an impossible state */
	ETL_EUNAVAIL = 69,  /* source, Helix or PostgreSQL unavailable after retries */
	ETL_EIO = 74,       /* a local file could not be written */
	ETL_ELOCKED = 75,   /* another run holds the lock */
	ETL_ECONFIG = 78,   /* bad or missing configuration, schema too old */
} etl_code;

typedef struct etl_err {
	etl_code code;
	char msg[1024];  /* what went wrong: one sentence, no final newline */
	char hint[512];  /* what to do about it, may be empty */
} etl_err;

#define ETL_ERR_INIT { ETL_OK, "", "" }

/* Sets code and message (printf-style); clears the hint.  Returns -1 so that
 * `return etl_err_set(err, ...)` reads naturally.  err may be NULL. */
int etl_err_set(etl_err *err, etl_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets the hint of an error already set.  Returns -1. */
int etl_err_hint(etl_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefixes the message with context ("loading window ...: <old message>"). */
int etl_err_prefix(etl_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void etl_err_clear(etl_err *err);

/* A short name for a code: "usage", "data", "unavailable", ... (static). */
const char *etl_code_name(etl_code code);

#endif

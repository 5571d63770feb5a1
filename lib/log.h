/*
 * log.h - diagnostics on stderr.
 *
 * Data goes to stdout (cmd/ only); everything else comes here.  The default
 * level is WARN so that a successful cron run prints nothing; -v raises it to
 * INFO, -vv to DEBUG, -q lowers it to ERROR.
 *
 * Secrets: every string registered with etl_log_secret() is replaced by
 * "[redacted]" in every line written, as a last line of defence; code must
 * still never pass a secret to the log on purpose.
 */
#ifndef ETL_LOG_H
#define ETL_LOG_H

typedef enum etl_log_level {
	ETL_LOG_ERROR = 0,
	ETL_LOG_WARN = 1,
	ETL_LOG_INFO = 2,
	ETL_LOG_DEBUG = 3,
} etl_log_level;

void etl_log_set_level(etl_log_level level);
etl_log_level etl_log_get_level(void);

/* Registers a secret to redact (copied; strings shorter than 4 bytes are
 * ignored, they would redact ordinary words).  Safe to call repeatedly. */
void etl_log_secret(const char *secret);
/* Frees the registered secrets (at exit, for leak checkers). */
void etl_log_release(void);

/* Copies src to dst (size dstsz) with every registered secret redacted. */
void etl_log_redact(char *dst, unsigned long dstsz, const char *src);

void etl_log(etl_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define etl_error(...) etl_log(ETL_LOG_ERROR, __VA_ARGS__)
#define etl_warn(...)  etl_log(ETL_LOG_WARN, __VA_ARGS__)
#define etl_info(...)  etl_log(ETL_LOG_INFO, __VA_ARGS__)
#define etl_debug(...) etl_log(ETL_LOG_DEBUG, __VA_ARGS__)

#endif

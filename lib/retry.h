/*
 * retry.h - when to try a failed request again, shared by the source reader
 * and the Helix sender.
 *
 * Exponential backoff with full jitter: attempt n (1 = the first retry)
 * waits a random time in [base * 2^(n-1) / 2, base * 2^(n-1)], capped at
 * cap_ms; a server's Retry-After (seconds) wins when it is longer.
 */
#ifndef ETL_RETRY_H
#define ETL_RETRY_H

#include <stdint.h>

/* Milliseconds to wait before retry number attempt (>= 1).  retry_after_ms
 * is the server's Retry-After in ms, or -1 when it sent none. */
int64_t etl_retry_delay_ms(int attempt, int base_ms, int cap_ms, int64_t retry_after_ms);

/* Parses a Retry-After header value: delta-seconds, or an HTTP date
 * (relative to now_s, epoch seconds).  Returns milliseconds, or -1 when the
 * value is absent or malformed. */
int64_t etl_retry_after_ms(const char *value, int64_t now_s);

/* Whether an HTTP status is worth retrying: 429 and every 5xx.  (Network
 * errors and malformed 200 bodies are transient too; callers decide those.) */
int etl_retry_status_transient(long status);

/* Sleeps ms milliseconds (interrupted sleeps resume). */
void etl_sleep_ms(int64_t ms);

#endif

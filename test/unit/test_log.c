/* test_log.c - secret redaction, including many secrets (token renewals). */
#include "log.h"
#include "unit.h"

int main(void)
{
	char out[512], secret[32], line[64];

	etl_log_secret("api-key-0123");
	etl_log_secret("abc");  /* too short to redact: would hide ordinary words */
	for (int i = 0; i < 100; i++) {
		snprintf(secret, sizeof(secret), "token-%03d-xyz", i);
		etl_log_secret(secret);
	}
	etl_log_redact(out, sizeof(out), "key api-key-0123 abc");
	CHECK_STR("key [redacted] abc", out);
	for (int i = 0; i < 100; i += 33) {
		snprintf(line, sizeof(line), "renewed token-%03d-xyz ok", i);
		etl_log_redact(out, sizeof(out), line);
		CHECK_STR("renewed [redacted] ok", out);
	}
	etl_log_redact(out, 8, "api-key-0123");  /* cut to the buffer, never overflowing */
	CHECK(strlen(out) == 7);
	etl_log_release();
	etl_log_redact(out, sizeof(out), "api-key-0123");
	CHECK_STR("api-key-0123", out);
	return unit_done();
}

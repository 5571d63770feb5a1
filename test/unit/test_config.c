/* test_config.c - precedence, files, validation and secret redaction. */
#include "config.h"
#include "log.h"
#include "unit.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/etl-test-config.XXXXXX";

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void test_defaults(void)
{
	etl_config c;
	etl_err err = ETL_ERR_INIT;

	CHECK(etl_config_load(&c, NULL, &err) == 0);
	CHECK(c.source_url == NULL);
	CHECK_STR("UTC", c.source_tz);
	CHECK_INT(1000, c.page_limit);
	CHECK_INT(4, c.helix_concurrency);
	CHECK(c.helix_rate == 5.0);
	CHECK_STR("Sales Transaction", c.helix_event_type);
	CHECK(!etl_config_helix_on(&c));
	CHECK(etl_config_require(&c, ETL_CONFIG_NEED_SOURCE, &err) < 0);
	CHECK_INT(ETL_ECONFIG, err.code);
	CHECK(strstr(err.msg, "ETL_SOURCE_URL") != NULL);
	etl_config_release(&c);
}

static void test_precedence(void)
{
	etl_config c;
	etl_err err = ETL_ERR_INIT;
	const char *f = write_file("p.conf",
		"# comment\n\nETL_SOURCE_URL=http://file/\nexport ETL_SOURCE_TZ=\"Europe/London\"\n"
		"ETL_HELIX_CONCURRENCY = 2\n", 0600);

	setenv("ETL_SOURCE_URL", "http://env", 1);
	CHECK(etl_config_load(&c, f, &err) == 0);
	CHECK_STR("http://env", c.source_url);        /* environment wins over the file */
	CHECK_STR("Europe/London", c.source_tz);      /* the file fills the rest */
	CHECK_INT(2, c.helix_concurrency);
	CHECK(etl_config_set(&c, "ETL_SOURCE_URL", "http://option//", &err) == 0);
	CHECK_STR("http://option", c.source_url);     /* options win; trailing / dropped */
	etl_config_release(&c);
	unsetenv("ETL_SOURCE_URL");
}

static void test_errors(void)
{
	etl_config c;
	etl_err err = ETL_ERR_INIT;

	CHECK(etl_config_load(&c, write_file("bad1.conf", "ETL_SOURCE_URL\n", 0600), &err) < 0);
	CHECK_INT(ETL_ECONFIG, err.code);
	CHECK(strstr(err.msg, ":1:") != NULL);
	CHECK(etl_config_load(&c, write_file("bad2.conf", "ETL_SORCE_URL=x\n", 0600), &err) < 0);
	CHECK(strstr(err.msg, "ETL_SORCE_URL") != NULL);
	CHECK(etl_config_load(&c, write_file("bad3.conf", "ETL_HELIX_CONCURRENCY=lots\n", 0600), &err) < 0);
	CHECK(strstr(err.msg, "ETL_HELIX_CONCURRENCY") != NULL);
	CHECK(etl_config_load(&c, write_file("bad4.conf", "ETL_HELIX_RATE=0\n", 0600), &err) < 0);
	CHECK(etl_config_load(&c, write_file("bad5.conf", "ETL_SOURCE_URL=ftp://x\n", 0600), &err) < 0);
	CHECK(etl_config_load(&c, write_file("bad6.conf", "ETL_SOURCE_URL=http://\n", 0600), &err) < 0);
	CHECK(strstr(err.msg, "no host") != NULL);
	CHECK(etl_config_load(&c, write_file("bad7.conf", "ETL_HELIX_URL=https://\n", 0600), &err) < 0);
	CHECK(etl_config_load(&c, "/nonexistent/etl.conf", &err) < 0);
	CHECK_INT(ETL_ECONFIG, err.code);
	setenv("ETL_HELIX_API_KEY", "k1234567", 1);
	setenv("ETL_HELIX_API_KEY_FILE", "/nonexistent", 1);
	CHECK(etl_config_load(&c, NULL, &err) < 0);   /* both set: ambiguous */
	CHECK(strstr(err.msg, "ETL_HELIX_API_KEY") != NULL);
	unsetenv("ETL_HELIX_API_KEY");
	unsetenv("ETL_HELIX_API_KEY_FILE");
}

static void test_secrets(void)
{
	etl_config c;
	etl_err err = ETL_ERR_INIT;
	char out[256];
	const char *keyfile = write_file("key", "helix-secret-123\n", 0600);

	setenv("ETL_HELIX_API_KEY_FILE", keyfile, 1);
	setenv("ETL_SOURCE_TOKEN", "source-secret-456", 1);
	setenv("ETL_DATABASE_URL", "postgresql://etl:db-secret-789@localhost/retail", 1);
	CHECK(etl_config_load(&c, NULL, &err) == 0);
	CHECK_STR("helix-secret-123", c.helix_api_key);
	CHECK(etl_config_helix_on(&c));
	etl_log_redact(out, sizeof(out), "key helix-secret-123 token source-secret-456 url postgresql://etl:db-secret-789@localhost");
	CHECK(strstr(out, "secret") == NULL);
	CHECK(strstr(out, "[redacted]") != NULL);
	etl_config_release(&c);
	unsetenv("ETL_HELIX_API_KEY_FILE");
	unsetenv("ETL_SOURCE_TOKEN");
	unsetenv("ETL_DATABASE_URL");
	etl_log_release();
}

int main(void)
{
	for (const char *const *e = (const char *const[]){ "ETL_SOURCE_URL", "ETL_SOURCE_TZ", "ETL_HELIX_API_KEY", "ETL_NOW", NULL }; *e; e++)
		unsetenv(*e);
	if (!mkdtemp(tmpdir))
		return 2;
	test_defaults();
	test_precedence();
	test_errors();
	test_secrets();
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return unit_done();
}

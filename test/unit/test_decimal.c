/* test_decimal.c - exact decimal parsing, formatting and rounding. */
#include "decimal.h"
#include "unit.h"

#define BOTH (ETL_DEC_JSON | ETL_DEC_PLAIN)

static void check_cents(const char *s, int syntax, int want_rc, int64_t want)
{
	int64_t got = -12345;
	int rc = etl_decimal_to_cents(s, syntax, &got);

	if (rc != want_rc)
		fprintf(stderr, "to_cents(\"%s\")\n", s);
	CHECK_INT(want_rc, rc);
	if (want_rc == ETL_DEC_OK)
		CHECK_INT(want, got);
}

static void check_int(const char *s, int want_rc, int64_t want)
{
	int64_t got = -12345;
	int rc = etl_decimal_to_int64(s, &got);

	if (rc != want_rc)
		fprintf(stderr, "to_int64(\"%s\")\n", s);
	CHECK_INT(want_rc, rc);
	if (want_rc == ETL_DEC_OK)
		CHECK_INT(want, got);
}

static void check_canon(const char *s, int syntax, const char *want, int want_sign)
{
	char buf[64];
	int sign = 99, rc = etl_decimal_canonical(s, syntax, buf, sizeof(buf), &sign);

	if (!want) {
		CHECK(rc != ETL_DEC_OK);
		return;
	}
	CHECK_INT(ETL_DEC_OK, rc);
	CHECK_STR(want, buf);
	CHECK_INT(want_sign, sign);
}

static void check_fmt(int64_t cents, const char *want)
{
	char buf[ETL_DEC_CENTS_BUF];

	etl_decimal_format_cents(cents, buf, sizeof(buf));
	CHECK_STR(want, buf);
}

static void check_round(const char *s, int scale, const char *want)
{
	char buf[64];
	int rc = etl_decimal_round(s, scale, buf, sizeof(buf));

	if (!want) {
		CHECK(rc != ETL_DEC_OK);
		return;
	}
	CHECK_INT(ETL_DEC_OK, rc);
	CHECK_STR(want, buf);
}

static void test_cents(void)
{
	check_cents("0", BOTH, 0, 0);
	check_cents("0.1", BOTH, 0, 10);
	check_cents("104.35", BOTH, 0, 10435);
	check_cents("104.5", BOTH, 0, 10450);
	check_cents("1e2", ETL_DEC_JSON, 0, 10000);
	check_cents("1E+2", ETL_DEC_JSON, 0, 10000);
	check_cents("1.045e2", ETL_DEC_JSON, 0, 10450);
	check_cents("10450e-2", ETL_DEC_JSON, 0, 10450);
	check_cents("1e-2", ETL_DEC_JSON, 0, 1);
	check_cents("1e-3", ETL_DEC_JSON, ETL_DEC_ESCALE, 0);
	check_cents("0e999999999999999999999", ETL_DEC_JSON, 0, 0);
	check_cents("1e999999999999999999999", ETL_DEC_JSON, ETL_DEC_ERANGE, 0);
	check_cents("1e-999999999999999999999", ETL_DEC_JSON, ETL_DEC_ESCALE, 0);
	check_cents("1.005", BOTH, ETL_DEC_ESCALE, 0);
	check_cents("1.500", BOTH, 0, 150);		/* places by value */
	check_cents("1.50000000000000000000000000", BOTH, 0, 150);
	check_cents("-0.00", BOTH, 0, 0);
	check_cents("-0.05", BOTH, 0, -5);
	check_cents("-3", ETL_DEC_PLAIN, 0, -300);
	check_cents("92233720368547758.07", BOTH, 0, INT64_MAX);
	check_cents("92233720368547758.08", BOTH, ETL_DEC_ERANGE, 0);
	check_cents("-92233720368547758.08", BOTH, 0, INT64_MIN);
	check_cents("-92233720368547758.09", BOTH, ETL_DEC_ERANGE, 0);
	check_cents("99999999999999999999999", BOTH, ETL_DEC_ERANGE, 0);
	check_cents("000000000000000000000000001.25", ETL_DEC_PLAIN, 0, 125);
	/* strictness */
	check_cents("", BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents(NULL, BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents("1.", BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents(".5", BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents("+1", BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents("-", BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents(" 1", BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents("1 ", BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents("1,5", BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents("1e2", ETL_DEC_PLAIN, ETL_DEC_ESYNTAX, 0);
	check_cents("1e", ETL_DEC_JSON, ETL_DEC_ESYNTAX, 0);
	check_cents("1e+", ETL_DEC_JSON, ETL_DEC_ESYNTAX, 0);
	check_cents("0x10", BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents("NaN", BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents("01.50", ETL_DEC_PLAIN, 0, 150);
	check_cents("01.50", ETL_DEC_JSON, ETL_DEC_ESYNTAX, 0);
	check_cents("01e2", BOTH, ETL_DEC_ESYNTAX, 0);
	check_cents("-01", ETL_DEC_JSON, ETL_DEC_ESYNTAX, 0);
}

static void test_int(void)
{
	check_int("0", 0, 0);
	check_int("-0", 0, 0);
	check_int("123", 0, 123);
	check_int("-42", 0, -42);
	check_int("9223372036854775807", 0, INT64_MAX);
	check_int("-9223372036854775808", 0, INT64_MIN);
	check_int("9223372036854775808", ETL_DEC_ERANGE, 0);
	check_int("-9223372036854775809", ETL_DEC_ERANGE, 0);
	check_int("123456789012345678901234567890", ETL_DEC_ERANGE, 0);
	check_int("12.0", ETL_DEC_ESYNTAX, 0);
	check_int("1e2", ETL_DEC_ESYNTAX, 0);
	check_int("012", ETL_DEC_ESYNTAX, 0);
	check_int("", ETL_DEC_ESYNTAX, 0);
	check_int("-", ETL_DEC_ESYNTAX, 0);
	check_int("+1", ETL_DEC_ESYNTAX, 0);
}

static void test_canonical(void)
{
	char small[4];

	check_canon("1.0832", BOTH, "1.0832", 1);
	check_canon("1.08320", BOTH, "1.0832", 1);
	check_canon("0001.5", ETL_DEC_PLAIN, "1.5", 1);
	check_canon("100", BOTH, "100", 1);
	check_canon("100.000", BOTH, "100", 1);
	check_canon("1e2", ETL_DEC_JSON, "100", 1);
	check_canon("1.5e-3", ETL_DEC_JSON, "0.0015", 1);
	check_canon("12345e-2", ETL_DEC_JSON, "123.45", 1);
	check_canon("0.000", BOTH, "0", 0);
	check_canon("-0.0", BOTH, "0", 0);
	check_canon("-0.05", BOTH, "-0.05", -1);
	check_canon("-1.2E1", ETL_DEC_JSON, "-12", -1);
	check_canon("1.", BOTH, NULL, 0);
	check_canon("1e2", ETL_DEC_PLAIN, NULL, 0);
	check_canon("1e999999", ETL_DEC_JSON, NULL, 0);	/* does not fit the buffer */
	CHECK_INT(ETL_DEC_ERANGE, etl_decimal_canonical("1234", BOTH, small, sizeof(small), NULL));
	CHECK_STR("123", small);
}

static void test_format(void)
{
	check_fmt(0, "0.00");
	check_fmt(5, "0.05");
	check_fmt(-5, "-0.05");
	check_fmt(10450, "104.50");
	check_fmt(-10450, "-104.50");
	check_fmt(100, "1.00");
	check_fmt(INT64_MAX, "92233720368547758.07");
	check_fmt(INT64_MIN, "-92233720368547758.08");
}

static void test_round(void)
{
	char small[5];

	check_round("2.345", 2, "2.35");
	check_round("-2.345", 2, "-2.35");
	check_round("2.344999", 2, "2.34");
	check_round("1.005", 2, "1.01");
	check_round("0.995", 2, "1.00");
	check_round("9.995", 2, "10.00");
	check_round("-9.995", 2, "-10.00");
	check_round("999.999", 2, "1000.00");
	check_round("-0.004", 2, "0.00");
	check_round("-0.005", 2, "-0.01");
	check_round("0.0049999", 2, "0.00");
	check_round("0.00000001", 2, "0.00");
	check_round("7", 2, "7.00");
	check_round("7", 0, "7");
	check_round("0.5", 0, "1");
	check_round("0.49", 0, "0");
	check_round("-0.5", 0, "-1");
	check_round("2.5", 0, "3");
	check_round("1e2", 2, "100.00");
	check_round("1.2345e1", 2, "12.35");
	check_round("0", 4, "0.0000");
	check_round("1234.5678", 4, "1234.5678");
	check_round("01.50", 1, "1.5");
	check_round("113.1944000000", 2, "113.19");
	check_round("123456789012345678901234567890.125", 2, "123456789012345678901234567890.13");
	check_round("abc", 2, NULL);
	check_round("1", -1, NULL);
	check_round("1", ETL_DEC_MAX_SCALE + 1, NULL);
	CHECK_INT(ETL_DEC_ERANGE, etl_decimal_round("123.456", 2, small, sizeof(small)));
	CHECK_INT(ETL_DEC_OK, etl_decimal_round("1.456", 2, small, sizeof(small)));
	CHECK_STR("1.46", small);
	CHECK_INT(ETL_DEC_ERANGE, etl_decimal_round("-1.456", 2, small, sizeof(small)));
	CHECK_INT(ETL_DEC_OK, etl_decimal_round("1234.4", 0, small, sizeof(small)));
	CHECK_STR("1234", small);
	CHECK_INT(ETL_DEC_OK, etl_decimal_round("-99.6", 0, small, sizeof(small)));
	CHECK_STR("-100", small);
	CHECK_INT(ETL_DEC_ERANGE, etl_decimal_round("9999.6", 0, small, sizeof(small)));
}

int main(void)
{
	test_cents();
	test_int();
	test_canonical();
	test_format();
	test_round();
	return unit_done();
}

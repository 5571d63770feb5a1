/* test_output.c - the output module: CSV quoting, table alignment, JSON types. */
#include "output.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

/* Writes cells in fmt to memory; returns the text (caller frees). */
static char *render(etl_output_format fmt, const etl_output_column *cols, size_t ncols, size_t nrows,
		    const char *const *cells)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	etl_err err = ETL_ERR_INIT;

	if (!f)
		return NULL;
	CHECK_INT(0, etl_output_write_strings(f, fmt, cols, ncols, nrows, cells, &err));
	fclose(f);
	return buf;
}

#define CHECK_RENDER(want, fmt, cols, nrows, cells) do { \
	char *got_ = render(fmt, cols, sizeof(cols) / sizeof(cols[0]), nrows, cells); \
	CHECK_STR(want, got_); \
	free(got_); \
} while (0)

static void test_csv(void)
{
	static const etl_output_column cols[] = {
		{ "id", ETL_OUT_INT }, { "name", ETL_OUT_TEXT }, { "usd", ETL_OUT_MONEY }, { "ok", ETL_OUT_BOOL },
	};
	static const char *const cells[] = {
		"1", "plain", "1.09", "t",
		"2", "comma, inside", "0.00", "f",
		"3", "say \"hi\"", "10.50", NULL,
		"4", "two\nlines", NULL, "true",
		"5", "cr\rhere", "1.00", "false",
		"6", "", "2.00", "t",
		"7", " spaced ", "3.00", "t",
	};

	CHECK_RENDER("id,name,usd,ok\r\n"
		     "1,plain,1.09,true\r\n"
		     "2,\"comma, inside\",0.00,false\r\n"
		     "3,\"say \"\"hi\"\"\",10.50,\r\n"
		     "4,\"two\nlines\",,true\r\n"
		     "5,\"cr\rhere\",1.00,false\r\n"
		     "6,,2.00,true\r\n"
		     "7, spaced ,3.00,true\r\n",
		     ETL_OUTPUT_CSV, cols, 7, cells);
	/* No rows: the header alone. */
	CHECK_RENDER("id,name,usd,ok\r\n", ETL_OUTPUT_CSV, cols, 0, cells);
}

static void test_csv_header_quoting(void)
{
	static const etl_output_column cols[] = { { "a,b", ETL_OUT_TEXT }, { "c", ETL_OUT_TEXT } };
	static const char *const cells[] = { "x", "y" };

	CHECK_RENDER("\"a,b\",c\r\nx,y\r\n", ETL_OUTPUT_CSV, cols, 1, cells);
}

static void test_table(void)
{
	static const etl_output_column cols[] = {
		{ "store_id", ETL_OUT_INT }, { "store_name", ETL_OUT_TEXT }, { "orders", ETL_OUT_INT },
		{ "revenue_usd", ETL_OUT_MONEY },
	};
	static const char *const cells[] = {
		"1", "London Oxford St", "5", "361.59",
		"12", "Boise", "1234567", "7.00",
	};

	CHECK_RENDER("store_id  store_name         orders  revenue_usd\n"
		     "       1  London Oxford St        5       361.59\n"
		     "      12  Boise             1234567         7.00\n",
		     ETL_OUTPUT_TABLE, cols, 2, cells);
	CHECK_RENDER("store_id  store_name  orders  revenue_usd\n", ETL_OUTPUT_TABLE, cols, 0, cells);
}

static void test_table_edges(void)
{
	/* Text last: no trailing blanks; NULL prints as nothing; UTF-8 counts
	 * characters; control characters become blanks. */
	static const etl_output_column cols[] = {
		{ "n", ETL_OUT_INT }, { "province", ETL_OUT_TEXT }, { "email", ETL_OUT_TEXT },
	};
	static const char *const cells[] = {
		"1", "Île-de-France", "a@example.com",
		"22", "Idaho", NULL,
		"3", NULL, "x\ty",
		"4", "trail  ", "",
	};

	CHECK_RENDER(" n  province       email\n"
		     " 1  Île-de-France  a@example.com\n"
		     "22  Idaho\n"
		     " 3                 x y\n"
		     " 4  trail\n",
		     ETL_OUTPUT_TABLE, cols, 4, cells);
}

static void test_json(void)
{
	static const etl_output_column cols[] = {
		{ "rank", ETL_OUT_INT }, { "email", ETL_OUT_TEXT }, { "revenue_usd", ETL_OUT_MONEY },
		{ "rate", ETL_OUT_NUMBER }, { "ok", ETL_OUT_BOOL }, { "raw", ETL_OUT_JSON },
	};
	static const char *const cells[] = {
		"1", "a\"b\\c\n\x01", "1234.50", "1.0850", "t", "{\"x\": [1, 2]}",
		"-2", NULL, "0.00", "-1e3", "false", NULL,
		"abc", "Île", NULL, "1.", "maybe", "",
	};

	CHECK_RENDER("[\n"
		     "  {\"rank\": 1, \"email\": \"a\\\"b\\\\c\\n\\u0001\", \"revenue_usd\": \"1234.50\", \"rate\": 1.0850, \"ok\": true, \"raw\": {\"x\": [1, 2]}},\n"
		     "  {\"rank\": -2, \"email\": null, \"revenue_usd\": \"0.00\", \"rate\": -1e3, \"ok\": false, \"raw\": null},\n"
		     /* Not valid for their types: strings, never broken JSON. */
		     "  {\"rank\": \"abc\", \"email\": \"Île\", \"revenue_usd\": null, \"rate\": \"1.\", \"ok\": \"maybe\", \"raw\": \"\"}\n"
		     "]\n",
		     ETL_OUTPUT_JSON, cols, 3, cells);
	CHECK_RENDER("[]\n", ETL_OUTPUT_JSON, cols, 0, cells);
}

static void test_json_numbers(void)
{
	static const etl_output_column cols[] = { { "n", ETL_OUT_INT }, { "x", ETL_OUT_NUMBER } };
	/* Big counts stay exact (no double in between). */
	static const char *const cells[] = {
		"9007199254740993", "01",
		"-", "0.5e+7",
		"", "-0",
	};

	CHECK_RENDER("[\n"
		     "  {\"n\": 9007199254740993, \"x\": \"01\"},\n"
		     "  {\"n\": \"-\", \"x\": 0.5e+7},\n"
		     "  {\"n\": \"\", \"x\": -0}\n"
		     "]\n",
		     ETL_OUTPUT_JSON, cols, 3, cells);
}

static void test_format_parse(void)
{
	etl_output_format f = ETL_OUTPUT_TABLE;

	CHECK(etl_output_format_parse("json", &f) == 0 && f == ETL_OUTPUT_JSON);
	CHECK(etl_output_format_parse("csv", &f) == 0 && f == ETL_OUTPUT_CSV);
	CHECK(etl_output_format_parse("table", &f) == 0 && f == ETL_OUTPUT_TABLE);
	CHECK(etl_output_format_parse("xml", &f) < 0);
}

static void test_write_error(void)
{
	static const etl_output_column cols[] = { { "a", ETL_OUT_TEXT } };
	static const char *const cells[] = { "x" };
	etl_err err = ETL_ERR_INIT;
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		return;  /* not Linux: nothing to check */
	setvbuf(f, NULL, _IONBF, 0);
	CHECK(etl_output_write_strings(f, ETL_OUTPUT_CSV, cols, 1, 1, cells, &err) < 0);
	CHECK_INT(ETL_EIO, err.code);
	fclose(f);
}

static const char *strings_cell(void *arg, size_t row, size_t col)
{
	const char *const *cells = arg;

	return cells[row * 3 + col];
}

/* The stream, in batches of `batch` rows, writes exactly what one write of
 * all the rows does: every format it takes, every row count from 0 to 5. */
static void test_stream(void)
{
	static const etl_output_column cols[] = {
		{ "id", ETL_OUT_INT }, { "name", ETL_OUT_TEXT }, { "raw", ETL_OUT_JSON },
	};
	static const char *const cells[] = {
		"1", "a,b", "{\"x\": 1}",
		"2", NULL, "[1, 2]",
		"3", "say \"hi\"", NULL,
		"4", "two\nlines", "true",
		"5", "", "0.10",
	};
	static const etl_output_format fmts[] = { ETL_OUTPUT_CSV, ETL_OUTPUT_JSON };
	etl_output_stream st;
	etl_err err = ETL_ERR_INIT;

	for (size_t f = 0; f < 2; f++) {
		for (size_t nrows = 0; nrows <= 5; nrows++) {
			char *want = render(fmts[f], cols, 3, nrows, cells);

			for (size_t batch = 1; batch <= 3; batch++) {
				char *buf = NULL;
				size_t len = 0;
				FILE *out = open_memstream(&buf, &len);

				if (!out)
					continue;
				CHECK_INT(0, etl_output_stream_begin(&st, out, fmts[f], cols, 3, &err));
				for (size_t r = 0; r < nrows; r += batch) {
					size_t n = nrows - r < batch ? nrows - r : batch;

					etl_output_stream_rows(&st, n, strings_cell, (void *)(cells + r * 3));
				}
				if (nrows == 0)
					etl_output_stream_rows(&st, 0, strings_cell, (void *)cells);  /* an empty batch */
				CHECK_INT(0, etl_output_stream_end(&st, &err));
				fclose(out);
				CHECK_STR(want, buf);
				free(buf);
			}
			free(want);
		}
	}
	/* a table cannot be streamed */
	CHECK(etl_output_stream_begin(&st, stdout, ETL_OUTPUT_TABLE, cols, 3, &err) < 0);
	CHECK_INT(ETL_EINTERNAL, err.code);
}

int main(void)
{
	test_csv();
	test_csv_header_quoting();
	test_table();
	test_table_edges();
	test_json();
	test_json_numbers();
	test_format_parse();
	test_write_error();
	test_stream();
	return unit_done();
}

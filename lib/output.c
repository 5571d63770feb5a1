/* output.c - see output.h. */
#include "output.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int right_aligned(etl_output_type t)
{
	return t == ETL_OUT_INT || t == ETL_OUT_MONEY || t == ETL_OUT_NUMBER;
}

/* Whether s is "-?[0-9]+". */
static int is_integer(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return 0;
	return strspn(s, "0123456789") == strlen(s);
}

/* Whether s is one JSON number literal (RFC 8259 grammar). */
static int is_json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		s += strspn(s, "0123456789");
	else
		return 0;
	if (*s == '.') {
		size_t n = strspn(++s, "0123456789");
		if (!n)
			return 0;
		s += n;
	}
	if (*s == 'e' || *s == 'E') {
		size_t n;
		s++;
		if (*s == '+' || *s == '-')
			s++;
		n = strspn(s, "0123456789");
		if (!n)
			return 0;
		s += n;
	}
	return *s == '\0';
}

/* 1 for true, 0 for false, -1 when s is neither. */
static int bool_value(const char *s)
{
	if (!strcmp(s, "t") || !strcmp(s, "true"))
		return 1;
	if (!strcmp(s, "f") || !strcmp(s, "false"))
		return 0;
	return -1;
}

/* The text a cell shows in table and csv. */
static const char *plain_text(etl_output_type type, const char *s)
{
	if (!s)
		return "";
	if (type == ETL_OUT_BOOL) {
		int b = bool_value(s);
		if (b >= 0)
			return b ? "true" : "false";
	}
	return s;
}

/* Width in characters of UTF-8 text: every byte but continuation bytes. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* A line of the table being built: the text, then trailing blanks cut. */
struct line {
	char *buf;
	size_t len, cap;
};

static int line_reserve(struct line *l, size_t more)
{
	char *p;
	size_t cap;

	if (l->len + more + 1 <= l->cap)
		return 0;
	cap = l->cap ? l->cap : 128;
	while (cap < l->len + more + 1)
		cap *= 2;
	if (!(p = realloc(l->buf, cap)))
		return -1;
	l->buf = p;
	l->cap = cap;
	return 0;
}

/* Appends n blanks, then s with control characters shown as blanks (a
 * table row is one line). */
static int line_add(struct line *l, size_t n, const char *s)
{
	size_t slen = strlen(s);

	if (line_reserve(l, n + slen) < 0)
		return -1;
	memset(l->buf + l->len, ' ', n);
	l->len += n;
	for (size_t i = 0; i < slen; i++) {
		unsigned char ch = (unsigned char)s[i];
		l->buf[l->len++] = ch < 0x20 || ch == 0x7F ? ' ' : (char)ch;
	}
	return 0;
}

static void line_flush(FILE *out, struct line *l)
{
	while (l->len > 0 && l->buf[l->len - 1] == ' ')
		l->len--;
	fwrite(l->buf, 1, l->len, out);
	putc('\n', out);
	l->len = 0;
}

static int write_table(FILE *out, const etl_output_column *cols, size_t ncols, size_t nrows,
		       etl_output_cell_fn cell, void *arg, etl_err *err)
{
	size_t *width = calloc(ncols ? ncols : 1, sizeof(size_t));
	struct line line = { NULL, 0, 0 };
	int ret = 0;

	if (!width || line_reserve(&line, 0) < 0) {
		ret = etl_err_set(err, ETL_EINTERNAL, "out of memory");
		goto cleanup;
	}
	for (size_t c = 0; c < ncols; c++)
		width[c] = text_width(cols[c].name);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++) {
			size_t w = text_width(plain_text(cols[c].type, cell(arg, r, c)));
			if (w > width[c])
				width[c] = w;
		}
	/* Line 0 is the header, line r the row r - 1. */
	for (size_t r = 0; r <= nrows; r++) {
		size_t owed = 0;  /* blanks of the previous column's left alignment */

		for (size_t c = 0; c < ncols; c++) {
			const char *s = r == 0 ? cols[c].name : plain_text(cols[c].type, cell(arg, r - 1, c));
			size_t w = text_width(s), gap = owed + (c ? 2 : 0);

			if (right_aligned(cols[c].type)) {
				gap += width[c] - w;
				owed = 0;
			} else {
				owed = width[c] - w;
			}
			if (line_add(&line, gap, s) < 0) {
				ret = etl_err_set(err, ETL_EINTERNAL, "out of memory");
				goto cleanup;
			}
		}
		line_flush(out, &line);
	}
cleanup:
	free(line.buf);
	free(width);
	return ret;
}

static void put_csv_field(FILE *out, const char *s)
{
	if (!s[strcspn(s, ",\"\r\n")]) {
		fputs(s, out);
		return;
	}
	putc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', out);
		putc(*s, out);
	}
	putc('"', out);
}

static void write_csv_header(FILE *out, const etl_output_column *cols, size_t ncols)
{
	for (size_t c = 0; c < ncols; c++) {
		if (c)
			putc(',', out);
		put_csv_field(out, cols[c].name);
	}
	fputs("\r\n", out);
}

static void write_csv_rows(FILE *out, const etl_output_column *cols, size_t ncols, size_t nrows,
			   etl_output_cell_fn cell, void *arg)
{
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			if (c)
				putc(',', out);
			put_csv_field(out, plain_text(cols[c].type, cell(arg, r, c)));
		}
		fputs("\r\n", out);
	}
}

static void put_json_string(FILE *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	putc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\b': fputs("\\b", out); break;
		case '\f': fputs("\\f", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (ch < 0x20 || ch == 0x7F) {
				fputs("\\u00", out);
				putc(hex[ch >> 4], out);
				putc(hex[ch & 15], out);
			} else {
				putc(ch, out);
			}
		}
	}
	putc('"', out);
}

static void put_json_value(FILE *out, etl_output_type type, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	switch (type) {
	case ETL_OUT_INT:
		if (is_integer(s)) {
			fputs(s, out);
			return;
		}
		break;
	case ETL_OUT_NUMBER:
		if (is_json_number(s)) {
			fputs(s, out);
			return;
		}
		break;
	case ETL_OUT_BOOL:
		if (bool_value(s) >= 0) {
			fputs(bool_value(s) ? "true" : "false", out);
			return;
		}
		break;
	case ETL_OUT_JSON:
		/* Trusted to be JSON: it comes from a jsonb column or a
		 * serialiser, not from free text. */
		if (*s) {
			fputs(s, out);
			return;
		}
		break;
	case ETL_OUT_TEXT:
	case ETL_OUT_MONEY:
		break;
	}
	put_json_string(out, s);
}

/* JSON rows, written after `before` earlier ones: "[\n  {...}" for the
 * first, ",\n  {...}" for the others; json_end closes the array. */
static void write_json_rows(FILE *out, const etl_output_column *cols, size_t ncols, size_t nrows,
			    etl_output_cell_fn cell, void *arg, size_t before)
{
	for (size_t r = 0; r < nrows; r++) {
		fputs(before + r == 0 ? "[\n  {" : ",\n  {", out);
		for (size_t c = 0; c < ncols; c++) {
			if (c)
				fputs(", ", out);
			put_json_string(out, cols[c].name);
			fputs(": ", out);
			put_json_value(out, cols[c].type, cell(arg, r, c));
		}
		putc('}', out);
	}
}

static void write_json_end(FILE *out, size_t rows)
{
	fputs(rows ? "\n]\n" : "[]\n", out);
}

int etl_output_write(FILE *out, etl_output_format fmt, const etl_output_column *cols, size_t ncols,
		     size_t nrows, etl_output_cell_fn cell, void *arg, etl_err *err)
{
	switch (fmt) {
	case ETL_OUTPUT_TABLE:
		if (write_table(out, cols, ncols, nrows, cell, arg, err) < 0)
			return -1;
		break;
	case ETL_OUTPUT_CSV:
		write_csv_header(out, cols, ncols);
		write_csv_rows(out, cols, ncols, nrows, cell, arg);
		break;
	case ETL_OUTPUT_JSON:
		write_json_rows(out, cols, ncols, nrows, cell, arg, 0);
		write_json_end(out, nrows);
		break;
	}
	if (ferror(out))
		return etl_err_set(err, ETL_EIO, "cannot write the output");
	return 0;
}

static const char *pg_cell(void *arg, size_t row, size_t col)
{
	const PGresult *res = arg;

	if (PQgetisnull(res, (int)row, (int)col))
		return NULL;
	return PQgetvalue(res, (int)row, (int)col);
}

int etl_output_write_pg(FILE *out, etl_output_format fmt, const etl_output_column *cols, size_t ncols,
			const PGresult *res, etl_err *err)
{
	if ((size_t)PQnfields(res) < ncols)
		return etl_err_set(err, ETL_EINTERNAL, "the query returned %d columns, %zu expected",
				   PQnfields(res), ncols);
	/* PQgetvalue takes a non-const PGresult, though it does not change it. */
	return etl_output_write(out, fmt, cols, ncols, (size_t)PQntuples(res), pg_cell, (void *)(uintptr_t)res, err);
}

/* ---- streaming ---------------------------------------------------------- */

int etl_output_stream_begin(etl_output_stream *s, FILE *out, etl_output_format fmt,
			    const etl_output_column *cols, size_t ncols, etl_err *err)
{
	memset(s, 0, sizeof(*s));
	if (fmt == ETL_OUTPUT_TABLE)
		return etl_err_set(err, ETL_EINTERNAL, "a table cannot be streamed");
	s->out = out;
	s->fmt = fmt;
	s->cols = cols;
	s->ncols = ncols;
	if (fmt == ETL_OUTPUT_CSV)
		write_csv_header(out, cols, ncols);
	return 0;
}

void etl_output_stream_rows(etl_output_stream *s, size_t nrows, etl_output_cell_fn cell, void *arg)
{
	if (s->fmt == ETL_OUTPUT_CSV)
		write_csv_rows(s->out, s->cols, s->ncols, nrows, cell, arg);
	else
		write_json_rows(s->out, s->cols, s->ncols, nrows, cell, arg, s->rows);
	s->rows += nrows;
}

void etl_output_stream_pg(etl_output_stream *s, const PGresult *res)
{
	etl_output_stream_rows(s, (size_t)PQntuples(res), pg_cell, (void *)(uintptr_t)res);
}

int etl_output_stream_end(etl_output_stream *s, etl_err *err)
{
	if (s->fmt == ETL_OUTPUT_JSON)
		write_json_end(s->out, s->rows);
	if (ferror(s->out))
		return etl_err_set(err, ETL_EIO, "cannot write the output");
	return 0;
}

struct strings {
	const char *const *cells;
	size_t ncols;
};

static const char *strings_cell(void *arg, size_t row, size_t col)
{
	const struct strings *s = arg;

	return s->cells[row * s->ncols + col];
}

int etl_output_write_strings(FILE *out, etl_output_format fmt, const etl_output_column *cols, size_t ncols,
			     size_t nrows, const char *const *cells, etl_err *err)
{
	struct strings s = { cells, ncols };

	return etl_output_write(out, fmt, cols, ncols, nrows, strings_cell, &s, err);
}

int etl_output_format_parse(const char *s, etl_output_format *out)
{
	if (!strcmp(s, "table"))
		*out = ETL_OUTPUT_TABLE;
	else if (!strcmp(s, "csv"))
		*out = ETL_OUTPUT_CSV;
	else if (!strcmp(s, "json"))
		*out = ETL_OUTPUT_JSON;
	else
		return -1;
	return 0;
}

/*
 * output.h - rows of text cells printed as an aligned table, RFC 4180 CSV or
 * a JSON array of objects, for the reports, `etl rejects` and anything else
 * that prints a result set.
 *
 * The caller describes the columns (name and type) and supplies the cells as
 * text through a callback (or a PGresult, or a row-major string array); a
 * NULL cell is SQL NULL.  The module writes to a FILE * it is given and never
 * to stdout on its own.  The formats:
 *
 *   table  a header line, then one line per row; columns separated by two
 *          spaces, INT/MONEY/NUMBER right-aligned, the rest left-aligned
 *          (widths in UTF-8 characters), no trailing blanks; NULL prints as
 *          nothing; CR, LF, TAB and other control characters print as a space.
 *   csv    a header row of the names, then the rows; every record ends in
 *          CRLF (RFC 4180); a field holding a comma, a double quote, CR or
 *          LF is quoted, its quotes doubled; NULL is an empty field.
 *   json   an array of objects, one per row, keys the column names in column
 *          order: TEXT and MONEY as strings, INT and NUMBER as JSON numbers,
 *          BOOL as true/false, JSON cells embedded as they are, NULL as null.
 *          A cell that is not valid for its type (an INT cell "abc") is
 *          written as a string rather than as broken JSON.  An empty result
 *          is "[]".  The output ends with a newline.
 *
 * Each format prints just the header (table, csv) or "[]" (json) when there
 * are no rows.
 */
#ifndef ETL_OUTPUT_H
#define ETL_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "error.h"

typedef enum etl_output_format {
	ETL_OUTPUT_TABLE,
	ETL_OUTPUT_CSV,
	ETL_OUTPUT_JSON,
} etl_output_format;

typedef enum etl_output_type {
	ETL_OUT_TEXT,    /* left-aligned; JSON string */
	ETL_OUT_INT,     /* a count or id: right-aligned; JSON integer (text "-?[0-9]+") */
	ETL_OUT_MONEY,   /* decimal text printed as given ("1234.50"): right-aligned; JSON string */
	ETL_OUT_NUMBER,  /* any JSON number literal: right-aligned; JSON number */
	ETL_OUT_BOOL,    /* "t"/"true"/"f"/"false" (PostgreSQL or JSON): printed true/false */
	ETL_OUT_JSON,    /* a JSON value as text: embedded as is in JSON, plain text elsewhere */
} etl_output_type;

typedef struct etl_output_column {
	const char *name;      /* header and JSON key (borrowed) */
	etl_output_type type;
} etl_output_column;

/* Returns the text of one cell (borrowed; it must stay valid until the
 * write returns) or NULL for SQL NULL. */
typedef const char *(*etl_output_cell_fn)(void *arg, size_t row, size_t col);

/* Writes nrows rows of ncols columns to out in format fmt.  Returns 0, or -1
 * with ETL_EIO in err when out reports a write error, ETL_EINTERNAL when
 * memory runs out. */
int etl_output_write(FILE *out, etl_output_format fmt, const etl_output_column *cols, size_t ncols,
		     size_t nrows, etl_output_cell_fn cell, void *arg, etl_err *err);

/* The same for a query result: column i of res is cols[i]; res must have at
 * least ncols columns (extra columns are not printed).  res stays the
 * caller's. */
int etl_output_write_pg(FILE *out, etl_output_format fmt, const etl_output_column *cols, size_t ncols,
			const PGresult *res, etl_err *err);

/* The same for a row-major array of nrows * ncols cells (NULL entries are
 * SQL NULL), borrowed. */
int etl_output_write_strings(FILE *out, etl_output_format fmt, const etl_output_column *cols, size_t ncols,
			     size_t nrows, const char *const *cells, etl_err *err);

/* The same output written in parts, for a result too large to hold at once
 * (read from a cursor a batch at a time): begin, any number of batches,
 * end.  The bytes are exactly those of one etl_output_write of all the
 * rows.  CSV and JSON only: an aligned table needs every row before its
 * first line.  The stream borrows out and cols until end. */
typedef struct etl_output_stream {
	FILE *out;
	etl_output_format fmt;   /* ETL_OUTPUT_CSV or ETL_OUTPUT_JSON */
	const etl_output_column *cols;
	size_t ncols;
	size_t rows;             /* written so far */
} etl_output_stream;

/* Starts the stream (the CSV header).  Returns 0, or -1 with
 * ETL_EINTERNAL in err for the table format. */
int etl_output_stream_begin(etl_output_stream *s, FILE *out, etl_output_format fmt,
			    const etl_output_column *cols, size_t ncols, etl_err *err);
/* Writes the rows of one batch; a query result's as etl_output_write_pg. */
void etl_output_stream_rows(etl_output_stream *s, size_t nrows, etl_output_cell_fn cell, void *arg);
void etl_output_stream_pg(etl_output_stream *s, const PGresult *res);
/* Ends the stream.  Returns 0, or -1 with ETL_EIO in err when out reported
 * a write error at any point. */
int etl_output_stream_end(etl_output_stream *s, etl_err *err);

/* Parses "table", "csv" or "json".  Returns 0, or -1 for anything else. */
int etl_output_format_parse(const char *s, etl_output_format *out);

#endif

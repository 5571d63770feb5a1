/*
 * decimal.h - exact decimal text: money as int64 cents, rates as canonical
 * decimal text, rounding half away from zero.  No double is ever involved.
 *
 * Two syntaxes are accepted, chosen per call with a bit mask:
 *
 *   ETL_DEC_JSON   a JSON number literal, exactly the RFC 8259 grammar:
 *                  -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 *                  ("1.045e2" is 104.5; "01", "1.", ".5", "+1" are refused)
 *   ETL_DEC_PLAIN  a decimal string as an API writes money: -?[0-9]+(\.[0-9]+)?
 *                  (leading zeros allowed: "01.50" is 1.5; no exponent, no
 *                  '+', no spaces, no "1." or ".5", not empty)
 *
 * Decimal places are counted by value, not by text: "1.500" has the value
 * 1.5 and so fits in cents; "-0.00" is zero and not negative.
 *
 * Every function returns ETL_DEC_OK (0) or one of the negative ETL_DEC_E*
 * codes and writes nothing useful on error.  Buffers are always
 * NUL-terminated when n > 0.
 */
#ifndef ETL_DECIMAL_H
#define ETL_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#define ETL_DEC_JSON  1
#define ETL_DEC_PLAIN 2

#define ETL_DEC_OK       0
#define ETL_DEC_ESYNTAX -1  /* not a decimal in the syntax asked for */
#define ETL_DEC_ESCALE  -2  /* more decimal places than allowed */
#define ETL_DEC_ERANGE  -3  /* does not fit int64, or the output buffer */

/* Enough for any int64 cents value formatted: "-92233720368547758.08". */
#define ETL_DEC_CENTS_BUF 24

/* The largest scale etl_decimal_round() accepts. */
#define ETL_DEC_MAX_SCALE 1000

/* Parses s (syntax: ETL_DEC_JSON and/or ETL_DEC_PLAIN) into cents.
 * ETL_DEC_ESCALE when the value has more than 2 decimal places,
 * ETL_DEC_ERANGE when it does not fit int64 cents. */
int etl_decimal_to_cents(const char *s, int syntax, int64_t *out);

/* Parses an integer: a JSON integer literal (-?(0|[1-9][0-9]*), no fraction
 * and no exponent, so "12.0" and "1e2" are ETL_DEC_ESYNTAX) into int64.
 * ETL_DEC_ERANGE beyond int64. */
int etl_decimal_to_int64(const char *s, int64_t *out);

/* Writes the canonical text of decimal s into out (size n): no leading
 * zeros, no trailing fractional zeros, no exponent, no point when the value
 * is whole, "0" for any zero ("1.0832", "104.5", "100", "-0.05").  *sign
 * (may be NULL) gets -1, 0 or 1.  ETL_DEC_ERANGE when out is too small. */
int etl_decimal_canonical(const char *s, int syntax, char *out, size_t n, int *sign);

/* Writes cents as a decimal with exactly 2 places: 10450 -> "104.50",
 * -5 -> "-0.05", 0 -> "0.00".  n of ETL_DEC_CENTS_BUF always suffices;
 * a smaller buffer gets a truncated string. */
void etl_decimal_format_cents(int64_t cents, char *out, size_t n);

/* Rounds decimal in (either syntax) half away from zero to exactly scale
 * places (0 <= scale <= ETL_DEC_MAX_SCALE) and writes it with exactly scale
 * places: ("2.345", 2) -> "2.35", ("-2.345", 2) -> "-2.35",
 * ("-0.004", 2) -> "0.00", ("7", 2) -> "7.00", ("0.5", 0) -> "1".
 * ETL_DEC_ESYNTAX also for a scale out of range, ETL_DEC_ERANGE when out
 * is too small. */
int etl_decimal_round(const char *in, int scale, char *out, size_t n);

#endif

/*
 * json.h - cJSON with exact numbers.
 *
 * cJSON keeps a number only as a double, which cannot hold 0.1 or 104.35
 * exactly.  etl_json_parse() also keeps each number's literal text: it is
 * stored in the number item's valuestring (cJSON_Delete frees it with the
 * item; cJSON itself ignores valuestring for numbers), so money is read from
 * the text and never from valuedouble.
 */
#ifndef ETL_JSON_H
#define ETL_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Parses len bytes of text (need not be NUL-terminated).  Returns the root
 * (owned by the caller: cJSON_Delete) or NULL when the text is not one
 * complete JSON value; then *error_offset (when not NULL) gets the byte
 * offset where parsing stopped. */
cJSON *etl_json_parse(const char *text, size_t len, size_t *error_offset);

/* The literal text of a number item as it appeared in the input ("104.50",
 * "1e2"), or NULL when item is not a number or was not made by
 * etl_json_parse.  Borrowed from the item. */
const char *etl_json_number_text(const cJSON *item);

/* The length of the well-formed UTF-8 sequence at p (1-4), or 0 when p does
 * not start one; then *bad gets the length of its maximal ill-formed subpart
 * (at least 1), the unit that Unicode replaces by one U+FFFD.  Well-formed
 * is Unicode's Table 3-7 (no overlong forms, no surrogates, nothing above
 * U+10FFFF): exactly what PostgreSQL accepts in text and jsonb.  p must be
 * NUL-terminated; NUL is never a continuation byte, so this never reads
 * past the end. */
size_t etl_utf8_seq(const unsigned char *p, size_t *bad);

/* Whether the NUL-terminated s is well-formed UTF-8 (as etl_utf8_seq). */
int etl_utf8_valid(const char *s);

/* Prints item compactly with every number as its original literal (caller
 * frees with free()).  NULL on out of memory. */
char *etl_json_print(const cJSON *item);

#endif

/*
 * validate.h - the rules of contract sections 1 and 2 for every record, with
 * every reason found (not only the first) as the contract's codes.
 *
 * Validation is pure: it reads a cJSON record (parsed by etl_json_parse,
 * so numbers carry their exact text) and the reference data known now, and
 * fills an out-struct whose strings are BORROWED from the record (valid as
 * long as the record is).  Money is int64 cents: amounts have at most 2
 * decimals, so cents are exact; no double is ever involved.
 */
#ifndef ETL_VALIDATE_H
#define ETL_VALIDATE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "timeutil.h"

/* ---- reasons ---------------------------------------------------------- */

/* The reasons found for one record, in the order the rules are checked.
 * Owns its strings.  Initialise with ETL_REASONS_INIT, etl_reasons_clear()
 * between records, etl_reasons_release() at the end. */
typedef struct etl_reasons {
	char **codes;
	int n, cap;
} etl_reasons;
#define ETL_REASONS_INIT { NULL, 0, 0 }

/* Appends a code (copied) unless already present.  Returns 0, -1 on OOM. */
int etl_reasons_add(etl_reasons *r, const char *code);
void etl_reasons_clear(etl_reasons *r);
void etl_reasons_release(etl_reasons *r);

/* ---- reference data --------------------------------------------------- */

/* What validation of sales needs to know of the reference data: the store,
 * POS (with its store), camera and item ids that exist (soft-deleted ones
 * included: they still resolve for historical sales), and per currency the
 * earliest date it has a rate (USD always resolves).  Hash sets; owned by the
 * caller: etl_refdata_free(). */
typedef struct etl_refdata etl_refdata;

etl_refdata *etl_refdata_new(void);
void etl_refdata_free(etl_refdata *ref);
int etl_refdata_add_store(etl_refdata *ref, int64_t store_id);
int etl_refdata_add_pos(etl_refdata *ref, int64_t pos_id, int64_t store_id);
int etl_refdata_add_camera(etl_refdata *ref, const char *camera_id);
int etl_refdata_add_item(etl_refdata *ref, int64_t item_id);
/* Records that currency has a rate on date (keeps the earliest per currency). */
int etl_refdata_add_rate(etl_refdata *ref, const char *currency, etl_date date);

int etl_refdata_has_store(const etl_refdata *ref, int64_t store_id);
/* 1 when pos_id exists; *store_id gets its store. */
int etl_refdata_pos_store(const etl_refdata *ref, int64_t pos_id, int64_t *store_id);
int etl_refdata_has_camera(const etl_refdata *ref, const char *camera_id);
int etl_refdata_has_item(const etl_refdata *ref, int64_t item_id);
/* 1 when currency has a rate on or before date (USD always). */
int etl_refdata_has_rate(const etl_refdata *ref, const char *currency, etl_date date);

/* ---- sales ------------------------------------------------------------ */

typedef struct etl_line {
	int64_t item_id;
	int64_t quantity;
	int64_t unit_price_cents;
} etl_line;

/* A valid sale.  Strings and cJSON pointers are borrowed from the record;
 * lines is owned (etl_sale_release()). */
typedef struct etl_sale {
	const char *transaction_id;
	etl_time transaction_date;
	int has_updated_at;
	etl_time updated_at;
	int64_t store_id, pos_id;
	const char *camera_id;          /* NULL when absent or null */
	const char *customer_id;        /* NULL = anonymous walk-in */
	const char *email, *first_name, *last_name; /* NULL when absent */
	int accepts_marketing;          /* -1 absent, 0 false, 1 true */
	const cJSON *billing_address;   /* NULL when absent or null */
	const cJSON *shipping_address;
	const char *billing_province, *billing_country; /* NULL when absent */
	char currency[4];
	const char *financial_status;
	int64_t total_amount_cents, total_discounts_cents, total_tax_cents;
	int64_t units;                  /* sum of quantities */
	etl_line *lines;
	int nlines;
} etl_sale;

void etl_sale_release(etl_sale *sale);

/* The half-open window [since, until) the sale was asked for, or NULL for no
 * window check. */
typedef struct etl_window {
	etl_time since, until;
} etl_window;

/* Validates one sale against every rule of contract section 1 (types,
 * required fields, formats, references, exchange-rate availability, the
 * total consistency rule) and the window (out_of_window).  source_tz is the
 * zone of timestamps with no offset (ETL_SOURCE_TZ).
 * Returns 0 when valid (*out filled, release it), 1 when invalid (reasons
 * filled, *out released), -1 on out of memory. */
int etl_validate_sale(const cJSON *rec, const etl_refdata *ref, const etl_window *win,
		      const char *source_tz, etl_sale *out, etl_reasons *reasons);

/* The record's key for the quarantine: its transaction_id (or the reference
 * record's id: store_id, pos_id, camera_id, item_id, "currency:date") when it
 * is present and usable, else NULL.  Writes into buf. */
const char *etl_record_key(const char *resource, const cJSON *rec, char *buf, size_t n);

/* ---- reference records ------------------------------------------------- */

/* Each validates one reference record (required fields, types, formats) and,
 * where ref is not NULL, its references to other reference data (a POS's
 * store, a camera's store and POS).  Returns 0 valid, 1 invalid (reasons
 * filled), -1 OOM.  Strings borrowed from rec. */
typedef struct etl_store_rec {
	int64_t store_id;
	const char *name, *address, *city, *province, *country, *phone, *email;
} etl_store_rec;
typedef struct etl_pos_rec {
	int64_t pos_id, store_id;
	const char *name;
} etl_pos_rec;
typedef struct etl_camera_rec {
	const char *camera_id, *name, *model, *status;
	int64_t store_id;   /* 0 when absent */
	int has_store, has_pos;
	int64_t pos_id;
} etl_camera_rec;
typedef struct etl_item_rec {
	int64_t item_id;
	const char *sku, *name, *currency;
	char price[64];     /* exact decimal text, "" when absent */
	int has_quantity;
	int64_t quantity;
} etl_item_rec;
typedef struct etl_rate_rec {
	etl_date date;
	char currency[4];
	char rate_to_usd[64]; /* exact decimal text, > 0 */
} etl_rate_rec;

int etl_validate_store(const cJSON *rec, etl_store_rec *out, etl_reasons *reasons);
int etl_validate_pos(const cJSON *rec, const etl_refdata *ref, etl_pos_rec *out, etl_reasons *reasons);
int etl_validate_camera(const cJSON *rec, const etl_refdata *ref, etl_camera_rec *out, etl_reasons *reasons);
int etl_validate_item(const cJSON *rec, etl_item_rec *out, etl_reasons *reasons);
int etl_validate_rate(const cJSON *rec, etl_rate_rec *out, etl_reasons *reasons);

#endif

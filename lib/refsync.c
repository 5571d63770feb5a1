/* refsync.c - see refsync.h.
 *
 * One transaction for the whole refresh.  Per resource: for every page,
 * validate each record, stage the valid ones (and the keys of the invalid
 * ones) with one COPY into a temp table and the invalid ones into the
 * quarantine; then one statement that upserts from the staging table and,
 * when the snapshot was complete, soft-deletes what it no longer lists;
 * and (only when some were quarantined) one statement that drops quarantine
 * rows identical to older ones.  An unchanged snapshot costs one request,
 * one COPY and one statement per resource, and rewrites no row.
 */
#include "refsync.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copybuf.h"
#include "log.h"
#include "quarantine.h"

/* The staging table, for this session: one for every resource (one CREATE
 * costs about a millisecond and a half of catalog work; five would be most
 * of an idle refresh).  res is the resource (etl_refsync_resource), seq the
 * fetch order (the last duplicate wins), k the key and v1.. the values as
 * text, cast when upserted.  valid = false rows carry only the key of a
 * record that failed validation: the snapshot lists it, so its stored row
 * must not be soft-deleted.  Rows go away at the commit (the whole refresh
 * is one transaction).  BEGIN goes in the same round trip. */
static const char create_sql[] =
	"BEGIN;"
	"CREATE TEMP TABLE IF NOT EXISTS refsync_stage (res smallint NOT NULL, seq bigint NOT NULL,"
	" valid boolean NOT NULL, k text NOT NULL, v1 text, v2 text, v3 text, v4 text, v5 text,"
	" v6 text, v7 text) ON COMMIT DELETE ROWS";

/*
 * The upserts.  src: the last record of each valid key; old: whether the
 * stored row was soft-deleted (read in the same snapshot as the upsert, so
 * before it); up: the rows written (only those whose content changed or
 * that come back).  The result: inserted, updated, restored, distinct keys.
 *
 * Rows already as the snapshot says are filtered out before the INSERT, not
 * only by the DO UPDATE's WHERE: ON CONFLICT locks every conflicting row,
 * and a row lock writes the row's page and WAL.  So an unchanged snapshot
 * writes nothing durable and its commit waits for no WAL flush.  The WHERE
 * stays, for rows that change between the two.
 */
/* After a complete snapshot ($1 true): the stored rows it does not list
 * (valid or not) are soft-deleted; those already soft-deleted are left
 * alone.  In the upsert's statement: one round trip, and the two touch
 * disjoint rows (listed / not listed).  Keys compare as text (the staged
 * ones are canonical, written from integers), so no cast meets another
 * resource's key. */
#define SOFT_DELETE(table, res, key) \
	", del AS (UPDATE " table " t SET deleted_at = now(), updated_at = now()" \
	"  WHERE $1::boolean AND t.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM refsync_stage s" \
	"  WHERE s.res = " res " AND s.k = t." key "::text) RETURNING 1)"

/* The result: inserted, updated, restored, distinct keys, soft-deleted. */
#define UPSERT_TAIL(key, deleted) \
	" SELECT count(*) FILTER (WHERE up.ins)," \
	" count(*) FILTER (WHERE NOT up.ins AND NOT coalesce(old.was_deleted, false))," \
	" count(*) FILTER (WHERE NOT up.ins AND coalesce(old.was_deleted, false))," \
	" (SELECT count(*) FROM src), " deleted \
	" FROM up LEFT JOIN old USING (" key ")"

static const char upsert_stores[] =
	"WITH src AS (SELECT DISTINCT ON (k) k::bigint AS store_id, v1 AS name, v2 AS address,"
	"  v3 AS city, v4 AS province, v5 AS country, v6 AS phone, v7 AS email"
	"  FROM refsync_stage WHERE res = 0 AND valid ORDER BY k, seq DESC),"
	" old AS (SELECT t.store_id, t.deleted_at IS NOT NULL AS was_deleted"
	"  FROM stores t JOIN src USING (store_id)),"
	" up AS (INSERT INTO stores AS t (store_id, name, address, city, province, country, phone, email)"
	"  SELECT store_id, name, address, city, province, country, phone, email FROM src"
	"  WHERE NOT EXISTS (SELECT 1 FROM stores t WHERE t.store_id = src.store_id AND t.deleted_at IS NULL"
	"  AND (t.name, t.address, t.city, t.province, t.country, t.phone, t.email) IS NOT DISTINCT FROM"
	"  (src.name, src.address, src.city, src.province, src.country, src.phone, src.email))"
	"  ON CONFLICT (store_id) DO UPDATE SET name = excluded.name, address = excluded.address,"
	"  city = excluded.city, province = excluded.province, country = excluded.country,"
	"  phone = excluded.phone, email = excluded.email, deleted_at = NULL, updated_at = now()"
	"  WHERE (t.name, t.address, t.city, t.province, t.country, t.phone, t.email)"
	"  IS DISTINCT FROM (excluded.name, excluded.address, excluded.city, excluded.province,"
	"  excluded.country, excluded.phone, excluded.email) OR t.deleted_at IS NOT NULL"
	"  RETURNING t.store_id, (t.xmax = 0) AS ins)"
	SOFT_DELETE("stores", "0", "store_id")
	UPSERT_TAIL("store_id", "(SELECT count(*) FROM del)");

static const char upsert_pos[] =
	"WITH src AS (SELECT DISTINCT ON (k) k::bigint AS pos_id, v1::bigint AS store_id, v2 AS name"
	"  FROM refsync_stage WHERE res = 1 AND valid ORDER BY k, seq DESC),"
	" old AS (SELECT t.pos_id, t.deleted_at IS NOT NULL AS was_deleted"
	"  FROM pos t JOIN src USING (pos_id)),"
	" up AS (INSERT INTO pos AS t (pos_id, store_id, name) SELECT pos_id, store_id, name FROM src"
	"  WHERE NOT EXISTS (SELECT 1 FROM pos t WHERE t.pos_id = src.pos_id AND t.deleted_at IS NULL"
	"  AND (t.store_id, t.name) IS NOT DISTINCT FROM (src.store_id, src.name))"
	"  ON CONFLICT (pos_id) DO UPDATE SET store_id = excluded.store_id, name = excluded.name,"
	"  deleted_at = NULL, updated_at = now()"
	"  WHERE (t.store_id, t.name) IS DISTINCT FROM (excluded.store_id, excluded.name)"
	"  OR t.deleted_at IS NOT NULL"
	"  RETURNING t.pos_id, (t.xmax = 0) AS ins)"
	SOFT_DELETE("pos", "1", "pos_id")
	UPSERT_TAIL("pos_id", "(SELECT count(*) FROM del)");

static const char upsert_cameras[] =
	"WITH src AS (SELECT DISTINCT ON (k) k AS camera_id, v1 AS name, v2::bigint AS store_id,"
	"  v3::bigint AS pos_id, v4 AS model, coalesce(v5, 'active') AS status"
	"  FROM refsync_stage WHERE res = 2 AND valid ORDER BY k, seq DESC),"
	" old AS (SELECT t.camera_id, t.deleted_at IS NOT NULL AS was_deleted"
	"  FROM cameras t JOIN src USING (camera_id)),"
	" up AS (INSERT INTO cameras AS t (camera_id, name, store_id, pos_id, model, status)"
	"  SELECT camera_id, name, store_id, pos_id, model, status FROM src"
	"  WHERE NOT EXISTS (SELECT 1 FROM cameras t WHERE t.camera_id = src.camera_id AND t.deleted_at IS NULL"
	"  AND (t.name, t.store_id, t.pos_id, t.model, t.status) IS NOT DISTINCT FROM"
	"  (src.name, src.store_id, src.pos_id, src.model, src.status))"
	"  ON CONFLICT (camera_id) DO UPDATE SET name = excluded.name, store_id = excluded.store_id,"
	"  pos_id = excluded.pos_id, model = excluded.model, status = excluded.status,"
	"  deleted_at = NULL, updated_at = now()"
	"  WHERE (t.name, t.store_id, t.pos_id, t.model, t.status) IS DISTINCT FROM"
	"  (excluded.name, excluded.store_id, excluded.pos_id, excluded.model, excluded.status)"
	"  OR t.deleted_at IS NOT NULL"
	"  RETURNING t.camera_id, (t.xmax = 0) AS ins)"
	SOFT_DELETE("cameras", "2", "camera_id")
	UPSERT_TAIL("camera_id", "(SELECT count(*) FROM del)");

static const char upsert_items[] =
	"WITH src AS (SELECT DISTINCT ON (k) k::bigint AS item_id, v1 AS sku, v2 AS name,"
	"  v3::numeric AS price, v4 AS currency, v5::integer AS quantity"
	"  FROM refsync_stage WHERE res = 3 AND valid ORDER BY k, seq DESC),"
	" old AS (SELECT t.item_id, t.deleted_at IS NOT NULL AS was_deleted"
	"  FROM items t JOIN src USING (item_id)),"
	" up AS (INSERT INTO items AS t (item_id, sku, name, price, currency, quantity)"
	"  SELECT item_id, sku, name, price, currency, quantity FROM src"
	"  WHERE NOT EXISTS (SELECT 1 FROM items t WHERE t.item_id = src.item_id AND t.deleted_at IS NULL"
	"  AND (t.sku, t.name, t.price, t.currency, t.quantity) IS NOT DISTINCT FROM"
	"  (src.sku, src.name, src.price, src.currency, src.quantity))"
	"  ON CONFLICT (item_id) DO UPDATE SET sku = excluded.sku, name = excluded.name,"
	"  price = excluded.price, currency = excluded.currency, quantity = excluded.quantity,"
	"  deleted_at = NULL, updated_at = now()"
	"  WHERE (t.sku, t.name, t.price, t.currency, t.quantity) IS DISTINCT FROM"
	"  (excluded.sku, excluded.name, excluded.price, excluded.currency, excluded.quantity)"
	"  OR t.deleted_at IS NOT NULL"
	"  RETURNING t.item_id, (t.xmax = 0) AS ins)"
	SOFT_DELETE("items", "3", "item_id")
	UPSERT_TAIL("item_id", "(SELECT count(*) FROM del)");

/* Rates are never soft-deleted: "old" is there only to share the tail. */
static const char upsert_rates[] =
	"WITH src AS (SELECT DISTINCT ON (k, v1) k AS currency, v1::date AS date, v2::numeric AS rate_to_usd"
	"  FROM refsync_stage WHERE res = 4 AND valid ORDER BY k, v1, seq DESC),"
	" old AS (SELECT currency, date, false AS was_deleted FROM src WHERE false),"
	" up AS (INSERT INTO exchange_rates AS t (currency, date, rate_to_usd)"
	"  SELECT currency, date, rate_to_usd FROM src"
	"  WHERE NOT EXISTS (SELECT 1 FROM exchange_rates t WHERE t.currency = src.currency"
	"  AND t.date = src.date AND t.rate_to_usd = src.rate_to_usd)"
	"  ON CONFLICT (currency, date) DO UPDATE SET rate_to_usd = excluded.rate_to_usd,"
	"  updated_at = now() WHERE t.rate_to_usd IS DISTINCT FROM excluded.rate_to_usd"
	"  RETURNING t.currency, t.date, (t.xmax = 0) AS ins)"
	UPSERT_TAIL("currency, date", "0");


/* A reference snapshot lists the same bad record every hour: drop the
 * quarantine rows this transaction added that are identical (resource, key,
 * raw) to an older one.  txid_current() % 2^32 is this transaction's xid as
 * xmin shows it (txid_current carries an epoch in its high bits). */
static const char dedupe_quarantine_sql[] =
	"DELETE FROM quarantine q WHERE q.resource = $1"
	" AND q.xmin::text = (txid_current() % 4294967296)::text"
	" AND EXISTS (SELECT 1 FROM quarantine o WHERE o.resource = q.resource"
	" AND (o.record_key = q.record_key OR (o.record_key IS NULL AND q.record_key IS NULL))"
	" AND o.raw = q.raw AND o.quarantine_id < q.quarantine_id"
	" AND o.xmin::text <> (txid_current() % 4294967296)::text)";

struct refsync;

/* One resource: its name, staging table and statements, and how a valid
 * record becomes a staged row. */
struct spec {
	const char *name;
	const char *copy_sql;
	const char *upsert_sql;
	int soft_delete;         /* the upsert soft-deletes what is not listed ($1) */
	int int_key;             /* the key is a bigint (else text) */
	int nvals;               /* staged values after res, seq, valid and the key */
	/* validates rec; when valid, stages its row and adds it to the
	 * reference data.  0 valid, 1 invalid (reasons filled), -1 OOM */
	int (*stage)(struct refsync *r, const cJSON *rec, etl_reasons *reasons);
};

/* The state of one refresh. */
struct refsync {
	etl_db *db;
	etl_refdata *ref;          /* DB + what this refresh has seen valid */
	const struct spec *spec;
	int res;                   /* spec's etl_refsync_resource */
	etl_refsync_counts *counts;
	etl_copybuf stage;
	etl_quarantine q;
	etl_reasons reasons;
	int64_t seq;
	int page_failed;           /* on_page failed: ours, not the source's */
};

static void row_start(struct refsync *r, int valid)
{
	etl_copybuf_int(&r->stage, r->res);
	etl_copybuf_int(&r->stage, ++r->seq);
	etl_copybuf_raw(&r->stage, valid ? "t" : "f");
}

static void opt_int(etl_copybuf *b, int has, int64_t v)
{
	if (has)
		etl_copybuf_int(b, v);
	else
		etl_copybuf_null(b);
}

static int stage_store(struct refsync *r, const cJSON *rec, etl_reasons *reasons)
{
	etl_store_rec s;
	int v = etl_validate_store(rec, &s, reasons);

	if (v != 0)
		return v;
	row_start(r, 1);
	etl_copybuf_int(&r->stage, s.store_id);
	etl_copybuf_str(&r->stage, s.name);
	etl_copybuf_str(&r->stage, s.address);
	etl_copybuf_str(&r->stage, s.city);
	etl_copybuf_str(&r->stage, s.province);
	etl_copybuf_str(&r->stage, s.country);
	etl_copybuf_str(&r->stage, s.phone);
	etl_copybuf_str(&r->stage, s.email);
	etl_copybuf_end_row(&r->stage);
	return etl_refdata_add_store(r->ref, s.store_id) < 0 ? -1 : 0;
}

static int stage_pos(struct refsync *r, const cJSON *rec, etl_reasons *reasons)
{
	etl_pos_rec p;
	int v = etl_validate_pos(rec, r->ref, &p, reasons);

	if (v != 0)
		return v;
	row_start(r, 1);
	etl_copybuf_int(&r->stage, p.pos_id);
	etl_copybuf_int(&r->stage, p.store_id);
	etl_copybuf_str(&r->stage, p.name);
	etl_copybuf_end_row(&r->stage);
	return etl_refdata_add_pos(r->ref, p.pos_id, p.store_id) < 0 ? -1 : 0;
}

static int stage_camera(struct refsync *r, const cJSON *rec, etl_reasons *reasons)
{
	etl_camera_rec c;
	int v = etl_validate_camera(rec, r->ref, &c, reasons);

	if (v != 0)
		return v;
	row_start(r, 1);
	etl_copybuf_str(&r->stage, c.camera_id);
	etl_copybuf_str(&r->stage, c.name);
	opt_int(&r->stage, c.has_store, c.store_id);
	opt_int(&r->stage, c.has_pos, c.pos_id);
	etl_copybuf_str(&r->stage, c.model);
	etl_copybuf_str(&r->stage, c.status);
	etl_copybuf_end_row(&r->stage);
	return etl_refdata_add_camera(r->ref, c.camera_id) < 0 ? -1 : 0;
}

static int stage_item(struct refsync *r, const cJSON *rec, etl_reasons *reasons)
{
	etl_item_rec it;
	int v = etl_validate_item(rec, &it, reasons);

	if (v != 0)
		return v;
	/* items.quantity is an integer column: a larger stock count would fail
	 * the whole refresh at the upsert, so it is this record's fault */
	if (it.has_quantity && (it.quantity < INT32_MIN || it.quantity > INT32_MAX))
		return etl_reasons_add(reasons, "bad_value:quantity") < 0 ? -1 : 1;
	row_start(r, 1);
	etl_copybuf_int(&r->stage, it.item_id);
	etl_copybuf_str(&r->stage, it.sku);
	etl_copybuf_str(&r->stage, it.name);
	etl_copybuf_str(&r->stage, it.price[0] ? it.price : NULL);
	etl_copybuf_str(&r->stage, it.currency);
	opt_int(&r->stage, it.has_quantity, it.quantity);
	etl_copybuf_end_row(&r->stage);
	return etl_refdata_add_item(r->ref, it.item_id) < 0 ? -1 : 0;
}

static int stage_rate(struct refsync *r, const cJSON *rec, etl_reasons *reasons)
{
	etl_rate_rec rt;
	char date[16];
	int v = etl_validate_rate(rec, &rt, reasons);

	if (v != 0)
		return v;
	etl_date_format(rt.date, date, sizeof(date));
	row_start(r, 1);
	etl_copybuf_str(&r->stage, rt.currency);
	etl_copybuf_str(&r->stage, date);
	etl_copybuf_str(&r->stage, rt.rate_to_usd);
	etl_copybuf_end_row(&r->stage);
	return etl_refdata_add_rate(r->ref, rt.currency, rt.date) < 0 ? -1 : 0;
}

static const struct spec specs[ETL_REF_COUNT] = {
	[ETL_REF_STORES] = { "stores",
		"COPY refsync_stage (res, seq, valid, k, v1, v2, v3, v4, v5, v6, v7) FROM STDIN",
		upsert_stores, 1, 1, 7, stage_store },
	[ETL_REF_POS] = { "pos",
		"COPY refsync_stage (res, seq, valid, k, v1, v2) FROM STDIN",
		upsert_pos, 1, 1, 2, stage_pos },
	[ETL_REF_CAMERAS] = { "cameras",
		"COPY refsync_stage (res, seq, valid, k, v1, v2, v3, v4, v5) FROM STDIN",
		upsert_cameras, 1, 0, 5, stage_camera },
	[ETL_REF_ITEMS] = { "items",
		"COPY refsync_stage (res, seq, valid, k, v1, v2, v3, v4, v5) FROM STDIN",
		upsert_items, 1, 1, 5, stage_item },
	[ETL_REF_RATES] = { "exchange_rates",
		"COPY refsync_stage (res, seq, valid, k, v1, v2) FROM STDIN",
		upsert_rates, 0, 0, 2, stage_rate },
};

const char *etl_refsync_resource_name(etl_refsync_resource r)
{
	return (unsigned)r < ETL_REF_COUNT ? specs[r].name : "?";
}

/* Stages the key of an invalid record, when it has a usable one, so that
 * its stored row is not soft-deleted: the snapshot does list it. */
static void stage_listed_key(struct refsync *r, const char *key)
{
	long long v;
	char *end;

	if (!key || !r->spec->soft_delete)
		return;
	if (r->spec->int_key) {
		errno = 0;
		v = strtoll(key, &end, 10);
		if (errno || end == key || *end)
			return;
		row_start(r, 0);
		etl_copybuf_int(&r->stage, v);
	} else {
		row_start(r, 0);
		etl_copybuf_str(&r->stage, key);
	}
	for (int i = 0; i < r->spec->nvals; i++)
		etl_copybuf_null(&r->stage);
	etl_copybuf_end_row(&r->stage);
}

/* The page callback: validate, stage, quarantine; one COPY for the page's
 * valid rows and one for its quarantined records. */
static int on_page(void *arg, const cJSON *data, etl_err *err)
{
	struct refsync *r = arg;
	const cJSON *rec;
	char keybuf[256];

	/* until the page is through, a return is a failure of ours */
	r->page_failed = 1;
	cJSON_ArrayForEach(rec, data) {
		int v;

		r->counts->fetched++;
		etl_reasons_clear(&r->reasons);
		v = r->spec->stage(r, rec, &r->reasons);
		if (v < 0)
			return etl_err_set(err, ETL_EINTERNAL, "out of memory validating %s", r->spec->name);
		if (v == 0)
			continue;
		/* the quarantine requires a reason; a validator that found the
		 * record invalid always gives one, this is a guard */
		if (r->reasons.n == 0 && etl_reasons_add(&r->reasons, "bad_type:record") < 0)
			return etl_err_set(err, ETL_EINTERNAL, "out of memory validating %s", r->spec->name);
		const char *key = etl_record_key(r->spec->name, rec, keybuf, sizeof(keybuf));
		if (etl_quarantine_add(&r->q, r->spec->name, key, &r->reasons, rec, err) < 0)
			return -1;
		r->counts->quarantined++;
		stage_listed_key(r, key);
	}
	if (etl_copybuf_send(&r->stage, r->db, r->spec->copy_sql, err) < 0)
		return etl_err_prefix(err, "staging %s", r->spec->name);
	if (etl_quarantine_flush(&r->q, err) < 0)
		return -1;
	r->page_failed = 0;
	return 0;
}

static int64_t col_int(PGresult *res, int col)
{
	return strtoll(PQgetvalue(res, 0, col), NULL, 10);
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * Refreshes one resource inside the caller's transaction.  Returns 0 when
 * the snapshot was read whole and written; 1 when the source failed
 * part-way (*serr set): what was read is written, nothing soft-deleted;
 * -1 on a database or memory failure (err set: the transaction is void).
 */
static int refresh_one(struct refsync *r, etl_source *src, etl_err *serr, etl_err *err)
{
	const struct spec *sp = r->spec;
	etl_refsync_counts *c = r->counts;
	const char *params[1] = { sp->name };
	const char *complete[1];
	PGresult *res = NULL;
	int fetched_ok, ret = -1;
	double t0 = mono_ms(), t1, t2;

	c->attempted = 1;
	r->seq = 0;
	r->page_failed = 0;
	fetched_ok = etl_source_fetch(src, sp->name, NULL, NULL, on_page, r, serr) == 0;
	t1 = mono_ms();
	if (!fetched_ok && r->page_failed) {
		/* the failure was ours (a COPY, out of memory), not the source's */
		*err = *serr;
		goto cleanup;
	}
	c->complete = fetched_ok;
	complete[0] = fetched_ok ? "true" : "false";
	/* what was staged is upserted even when the source failed part-way:
	 * those records are good, and the next run rereads them anyway; only a
	 * complete snapshot soft-deletes */
	res = etl_db_query(r->db, sp->upsert_sql, sp->soft_delete ? 1 : 0, complete, err);
	if (!res) {
		etl_err_prefix(err, "updating %s", sp->name);
		goto cleanup;
	}
	c->inserted = col_int(res, 0);
	c->updated = col_int(res, 1);
	c->restored = col_int(res, 2);
	c->unchanged = col_int(res, 3) - c->inserted - c->updated - c->restored;
	c->duplicates = c->fetched - c->quarantined - col_int(res, 3);
	c->soft_deleted = col_int(res, 4);
	PQclear(res);
	res = NULL;
	t2 = mono_ms();
	if (c->quarantined > 0 && etl_db_exec(r->db, dedupe_quarantine_sql, 1, params, err) < 0)
		goto cleanup;
	etl_debug("reference %s: fetch and stage %.1f ms, upsert %.1f ms, quarantine %.1f ms", sp->name, t1 - t0,
		  t2 - t1, mono_ms() - t2);
	if (!fetched_ok) {
		/* the source's message names the resource and page already */
		ret = 1;
		goto cleanup;
	}
	ret = 0;
cleanup:
	PQclear(res);
	etl_copybuf_reset(&r->stage);
	etl_copybuf_reset(&r->q.buf);
	c->elapsed_ms = mono_ms() - t0;
	return ret;
}

int etl_refsync_all(etl_db *db, etl_source *src, int64_t run_id, etl_refsync_stats *stats, etl_err *err)
{
	etl_refsync_stats local;
	etl_err serr = ETL_ERR_INIT;
	struct refsync r;
	PGresult *res = NULL;
	double t0 = mono_ms(), t1;
	int ret = -1, in_tx = 0, rc = 0;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	memset(&r, 0, sizeof(r));
	r.db = db;
	etl_quarantine_init(&r.q, db, run_id);

	/* BEGIN and the staging tables in one round trip (PQexec runs several
	 * statements; etl_db_exec's extended protocol runs one) */
	res = PQexec(etl_db_conn(db), create_sql);
	in_tx = PQtransactionStatus(etl_db_conn(db)) != PQTRANS_IDLE;
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		etl_db_fail(db, res, "creating the reference staging tables", err);
		goto cleanup;
	}
	PQclear(res);
	res = NULL;
	/* POS and cameras must name a store / POS that the database knows
	 * (soft-deleted included) or that this refresh has seen valid */
	if (etl_refdata_load(db, &r.ref, err) < 0)
		goto cleanup;
	etl_debug("reference data: staging tables and reference ids loaded in %.1f ms", mono_ms() - t0);

	for (int i = 0; i < ETL_REF_COUNT && rc == 0; i++) {
		r.spec = &specs[i];
		r.res = i;
		r.counts = &stats->res[i];
		rc = refresh_one(&r, src, &serr, err);
		if (rc < 0)
			goto cleanup;
	}
	/* also after a source failure: the records read are kept (nothing of
	 * that snapshot soft-deleted), and the caller stops on the error */
	t1 = mono_ms();
	if (etl_db_commit(db, err) < 0) {
		in_tx = 0;
		goto cleanup;
	}
	in_tx = 0;
	etl_debug("reference data: committed in %.1f ms", mono_ms() - t1);
	if (rc > 0) {
		*err = serr;
		goto cleanup;
	}
	ret = 0;
cleanup:
	PQclear(res);
	if (in_tx)
		etl_db_rollback(db);
	etl_refdata_free(r.ref);
	etl_copybuf_release(&r.stage);
	etl_quarantine_release(&r.q);
	etl_reasons_release(&r.reasons);
	stats->elapsed_ms = mono_ms() - t0;
	return ret;
}

void etl_refsync_log(const etl_refsync_stats *stats)
{
	for (int i = 0; i < ETL_REF_COUNT; i++) {
		const etl_refsync_counts *c = &stats->res[i];

		if (!c->attempted)
			continue;
		etl_info("reference %s: %" PRId64 " fetched, %" PRId64 " inserted, %" PRId64 " updated, %" PRId64
			 " unchanged, %" PRId64 " restored, %" PRId64 " soft-deleted, %" PRId64 " duplicates, %" PRId64
			 " quarantined%s (%.1f ms)",
			 specs[i].name, c->fetched, c->inserted, c->updated, c->unchanged, c->restored,
			 c->soft_deleted, c->duplicates, c->quarantined,
			 c->complete ? "" : "; INCOMPLETE snapshot, nothing soft-deleted", c->elapsed_ms);
	}
}

/* ---- etl_refdata_load ---------------------------------------------------- */

static const char refdata_sql[] =
	"SELECT 's', store_id::text, NULL FROM stores"
	" UNION ALL SELECT 'p', pos_id::text, store_id::text FROM pos"
	" UNION ALL SELECT 'c', camera_id, NULL FROM cameras"
	" UNION ALL SELECT 'i', item_id::text, NULL FROM items"
	" UNION ALL SELECT 'r', currency::text, min(date)::text FROM exchange_rates GROUP BY currency";

static int parse_i64(const char *s, int64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || end == s || *end ? -1 : 0;
}

int etl_refdata_load(etl_db *db, etl_refdata **out, etl_err *err)
{
	etl_refdata *ref = NULL;
	PGresult *res = NULL;
	int ret = -1;

	*out = NULL;
	ref = etl_refdata_new();
	if (!ref) {
		etl_err_set(err, ETL_EINTERNAL, "out of memory loading the reference data");
		goto cleanup;
	}
	res = etl_db_query(db, refdata_sql, 0, NULL, err);
	if (!res) {
		etl_err_prefix(err, "loading the reference data");
		goto cleanup;
	}
	for (int i = 0, n = PQntuples(res); i < n; i++) {
		const char *kind = PQgetvalue(res, i, 0), *a = PQgetvalue(res, i, 1), *b = PQgetvalue(res, i, 2);
		int64_t id = 0, id2 = 0;
		etl_date d;
		int rc = 0;

		switch (kind[0]) {
		case 's':
			rc = parse_i64(a, &id) < 0 ? -2 : etl_refdata_add_store(ref, id);
			break;
		case 'p':
			rc = parse_i64(a, &id) < 0 || parse_i64(b, &id2) < 0 ? -2 : etl_refdata_add_pos(ref, id, id2);
			break;
		case 'c':
			rc = etl_refdata_add_camera(ref, a);
			break;
		case 'i':
			rc = parse_i64(a, &id) < 0 ? -2 : etl_refdata_add_item(ref, id);
			break;
		case 'r':
			rc = etl_date_parse(b, &d) < 0 ? -2 : etl_refdata_add_rate(ref, a, d);
			break;
		default:
			rc = -2;
		}
		if (rc == -2) {
			etl_err_set(err, ETL_EINTERNAL, "unexpected reference row from the database: %s %s %s", kind, a, b);
			goto cleanup;
		}
		if (rc < 0) {
			etl_err_set(err, ETL_EINTERNAL, "out of memory loading the reference data");
			goto cleanup;
		}
	}
	*out = ref;
	ref = NULL;
	ret = 0;
cleanup:
	PQclear(res);
	etl_refdata_free(ref);
	return ret;
}

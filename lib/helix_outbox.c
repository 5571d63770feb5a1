/*
 * helix_outbox.c - the outbox in SQL: etl_helix_enqueue() (set-based, inside
 * the window's transaction) and the sender's one-row state changes.
 * See helix.h and helix_outbox.h.
 */
#include "helix.h"
#include "helix_outbox.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- enqueue ------------------------------------------------------------ */

/*
 * What each changed sale of the window wants, computed once.  The
 * attributes follow contract section 4: strings cut to 200 characters
 * (characters, as left() counts them, not bytes), total as an exact JSON
 * number that always has a fraction ("104.5", "100.0") so that a strict
 * server reads a float, items as an integer.  Null attributes are left out
 * rather than sent as null, which the schema's types would refuse.
 * ON COMMIT DROP: nothing of it outlives the window.
 */
static const char sql_want_create[] =
	"CREATE TEMP TABLE IF NOT EXISTS helix_want ("
	" transaction_id text PRIMARY KEY,"
	" camera_id text,"
	" base_ms bigint NOT NULL,"
	" eligible boolean NOT NULL,"
	" attributes jsonb NOT NULL"
	") ON COMMIT DROP";

static const char sql_want_fill[] =
	"INSERT INTO helix_want (transaction_id, camera_id, base_ms, eligible, attributes) "
	"SELECT t.transaction_id, t.camera_id,"
	" (extract(epoch FROM date_trunc('milliseconds', t.transaction_date)) * 1000)::bigint,"
	" t.camera_id IS NOT NULL AND t.financial_status = 'paid',"
	" jsonb_strip_nulls(jsonb_build_object("
	"  'transaction_id', left(t.transaction_id, 200),"
	"  'total', CASE WHEN scale(trim_scale(t.total_amount)) = 0"
	"           THEN round(t.total_amount, 1) ELSE trim_scale(t.total_amount) END,"
	"  'currency', left(rtrim(t.currency), 200),"
	"  'store', left(s.name, 200),"
	"  'pos', left(p.name, 200),"
	"  'items', coalesce((SELECT sum(l.quantity) FROM line_items l"
	"                     WHERE l.transaction_id = t.transaction_id), t.units),"
	"  'status', t.financial_status)) "
	"FROM window_changed w "
	"JOIN transactions t ON t.transaction_id = w.transaction_id "
	"LEFT JOIN stores s ON s.store_id = t.store_id "
	"LEFT JOIN pos p ON p.pos_id = t.pos_id";

/* A row no request ever went out for ('pending' or 'failed', nothing sent)
 * is dropped when its sale no longer wants an event, and also when the
 * sale's camera or date moved: it is then queued afresh below, at its new
 * slot.  Rows that may exist on the server keep their triple for ever. */
static const char sql_drop_unsent[] =
	"DELETE FROM helix_outbox o USING helix_want w "
	"WHERE o.transaction_id = w.transaction_id"
	" AND o.sent_attributes IS NULL AND o.state IN ('pending', 'failed')"
	" AND (NOT w.eligible OR o.camera_id IS DISTINCT FROM w.camera_id"
	"      OR coalesce(o.base_ms, o.time_ms) <> w.base_ms)";

/* New attributes for rows that stay.  An event known to exist becomes an
 * update (a PATCH, never a second event), or 'sent' again when the change
 * was undone; an 'inflight' row stays inflight with its op: the GET that
 * resolves it compares with these new attributes and patches if needed. */
static const char sql_update[] =
	"UPDATE helix_outbox o SET"
	" attributes = w.attributes,"
	" run_id = $1,"
	" updated_at = now(),"
	" op = CASE WHEN o.state = 'inflight' THEN o.op"
	"           WHEN o.sent_attributes IS NULL THEN 'create' ELSE 'update' END,"
	" state = CASE WHEN o.state = 'inflight' THEN 'inflight'"
	"              WHEN o.sent_attributes = w.attributes THEN 'sent' ELSE 'pending' END,"
	" attempts = CASE WHEN o.state = 'inflight' THEN o.attempts ELSE 0 END,"
	" last_error = CASE WHEN o.state = 'inflight' THEN o.last_error END "
	"FROM helix_want w "
	"WHERE o.transaction_id = w.transaction_id AND o.attributes IS DISTINCT FROM w.attributes";

/*
 * New rows, in one statement for the usual case.  On each camera the new
 * sales are placed greedily in (time, transaction_id) order, each at the
 * first free millisecond at or after its own: slot_i = max(base_i,
 * slot_{i-1} + 1), which is rn_i + max over j <= i of (base_j - rn_j), a
 * running max.  That ignores rows queued earlier, so on a camera where a
 * slot computed this way is already taken, only the sales before the first
 * such one are inserted here; the rest go through sql_insert_one, one by
 * one in the same order (rare: it takes two sales in one millisecond).
 * transaction_id order is byte order (COLLATE "C"), whatever the database's
 * collation, so the result does not depend on the server's locale.
 */
static const char sql_insert_set[] =
	"WITH c AS ("
	" SELECT w.transaction_id, w.camera_id, w.base_ms, w.attributes,"
	"  row_number() OVER (PARTITION BY w.camera_id"
	"                     ORDER BY w.base_ms, w.transaction_id COLLATE \"C\") AS rn"
	" FROM helix_want w"
	" WHERE w.eligible"
	"  AND NOT EXISTS (SELECT 1 FROM helix_outbox o WHERE o.transaction_id = w.transaction_id)"
	"), s AS ("
	" SELECT c.*, rn + max(base_ms - rn) OVER (PARTITION BY camera_id ORDER BY rn) AS slot FROM c"
	"), blocked AS ("
	" SELECT s.camera_id, min(s.rn) AS first_rn FROM s"
	" WHERE EXISTS (SELECT 1 FROM helix_outbox o WHERE o.camera_id = s.camera_id AND o.time_ms = s.slot)"
	" GROUP BY s.camera_id"
	") "
	"INSERT INTO helix_outbox (transaction_id, camera_id, time_ms, base_ms, attributes, run_id) "
	"SELECT s.transaction_id, s.camera_id, s.slot, s.base_ms, s.attributes, $1 "
	"FROM s LEFT JOIN blocked b ON b.camera_id = s.camera_id "
	"WHERE b.first_rn IS NULL OR s.rn < b.first_rn";

static const char sql_left_over[] =
	"SELECT w.transaction_id FROM helix_want w "
	"WHERE w.eligible"
	" AND NOT EXISTS (SELECT 1 FROM helix_outbox o WHERE o.transaction_id = w.transaction_id) "
	"ORDER BY w.camera_id COLLATE \"C\", w.base_ms, w.transaction_id COLLATE \"C\"";

/* The first free millisecond at or after the sale's own on its camera: it
 * is either base_ms itself or one past a taken slot (the classic first-gap
 * query, an index range scan on UNIQUE (camera_id, time_ms)). */
static const char sql_insert_one[] =
	"INSERT INTO helix_outbox (transaction_id, camera_id, time_ms, base_ms, attributes, run_id) "
	"SELECT w.transaction_id, w.camera_id,"
	" (SELECT min(x.t) FROM (SELECT w.base_ms AS t"
	"                        UNION ALL"
	"                        SELECT o.time_ms + 1 FROM helix_outbox o"
	"                        WHERE o.camera_id = w.camera_id AND o.time_ms >= w.base_ms) x"
	"  WHERE NOT EXISTS (SELECT 1 FROM helix_outbox o2"
	"                    WHERE o2.camera_id = w.camera_id AND o2.time_ms = x.t)),"
	" w.base_ms, w.attributes, $2 "
	"FROM helix_want w WHERE w.transaction_id = $1";

/* Runs one statement and adds the rows it touched to *count. */
static int exec_count(etl_db *db, const char *sql, int nparams, const char *const *params,
		      const char *what, int64_t *count, etl_err *err)
{
	PGresult *res = etl_db_query(db, sql, nparams, params, err);

	if (!res)
		return etl_err_prefix(err, "queueing Helix events (%s): ", what);
	*count += strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

int etl_helix_enqueue(etl_db *db, int64_t run_id, etl_err *err)
{
	char run[24];
	const char *p_run[1] = { NULL };
	PGresult *left = NULL;
	int64_t changed = 0, ignored = 0;
	int ret = -1;

	if (PQtransactionStatus(etl_db_conn(db)) != PQTRANS_INTRANS) {
		etl_err_set(err, ETL_EINTERNAL, "etl_helix_enqueue was called outside the window's transaction");
		return -1;
	}
	if (run_id > 0) {
		snprintf(run, sizeof(run), "%" PRId64, run_id);
		p_run[0] = run;
	}
	if (exec_count(db, sql_want_create, 0, NULL, "work table", &ignored, err) < 0 ||
	    exec_count(db, "TRUNCATE helix_want", 0, NULL, "work table", &ignored, err) < 0 ||
	    exec_count(db, sql_want_fill, 0, NULL, "attributes", &ignored, err) < 0 ||
	    exec_count(db, sql_drop_unsent, 0, NULL, "withdrawn sales", &changed, err) < 0 ||
	    exec_count(db, sql_update, 1, p_run, "changed sales", &changed, err) < 0 ||
	    exec_count(db, sql_insert_set, 1, p_run, "new sales", &changed, err) < 0)
		goto cleanup;
	left = etl_db_query(db, sql_left_over, 0, NULL, err);
	if (!left) {
		etl_err_prefix(err, "queueing Helix events (shared milliseconds): ");
		goto cleanup;
	}
	for (int i = 0; i < PQntuples(left); i++) {
		const char *p[2] = { PQgetvalue(left, i, 0), p_run[0] };

		if (exec_count(db, sql_insert_one, 2, p, "shared milliseconds", &changed, err) < 0)
			goto cleanup;
	}
	if (PQntuples(left) > 0)
		etl_debug("helix: %d sales moved past a millisecond already taken on their camera",
			  PQntuples(left));
	ret = changed > INT32_MAX ? INT32_MAX : (int)changed;
cleanup:
	PQclear(left);
	return ret;
}

int etl_helix_backlog(etl_db *db, int64_t *pending, int64_t *failed, etl_err *err)
{
	PGresult *res = etl_db_query(db,
		"SELECT count(*) FILTER (WHERE state IN ('pending', 'inflight')),"
		" count(*) FILTER (WHERE state = 'failed') "
		"FROM helix_outbox WHERE state <> 'sent'", 0, NULL, err);

	if (!res)
		return etl_err_prefix(err, "counting the Helix outbox: ");
	if (pending)
		*pending = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (failed)
		*failed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return 0;
}

/* ---- the sender's side -------------------------------------------------- */

void etl_helix_row_release(etl_helix_row *r)
{
	if (!r)
		return;
	free(r->tid);
	free(r->camera);
	free(r->uid);
	free(r->attributes);
	free(r->queued_at);
	memset(r, 0, sizeof(*r));
}

void etl_helix_cursor_release(etl_helix_cursor *c)
{
	free(c->queued_at);
	free(c->tid);
	memset(c, 0, sizeof(*c));
}

int etl_helix_outbox_prepare(etl_db *db, int retry_failed, etl_err *err)
{
	if (retry_failed &&
	    etl_db_exec(db, "UPDATE helix_outbox SET attempts = 0, updated_at = now(),"
			    /* A row some request went out for may exist on the
			     * server whatever the answer said: GET it first. */
			    " state = CASE WHEN event_type_uid IS NULL THEN 'pending' ELSE 'inflight' END "
			    "WHERE state = 'failed'", 0, NULL, err) < 0)
		return etl_err_prefix(err, "retrying failed Helix events: ");
	if (etl_db_exec(db, "UPDATE helix_outbox SET state = 'sent', updated_at = now() "
			    "WHERE state = 'pending' AND sent_attributes = attributes", 0, NULL, err) < 0)
		return etl_err_prefix(err, "preparing the Helix outbox: ");
	return 0;
}

int etl_helix_outbox_work(etl_db *db, int64_t *events, int64_t *footage, etl_err *err)
{
	PGresult *res = etl_db_query(db,
		"SELECT (SELECT count(*) FROM helix_outbox WHERE state IN ('pending', 'inflight')),"
		" (SELECT count(*) FROM helix_outbox WHERE footage_due)", 0, NULL, err);

	if (!res)
		return etl_err_prefix(err, "reading the Helix outbox: ");
	*events = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*footage = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return 0;
}

static char *dup_or_null(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

/* Copies a result of the column list ROW_COLUMNS into rows. */
#define ROW_COLUMNS \
	"transaction_id, camera_id, event_type_uid, attributes::text, queued_at::text, time_ms," \
	" state = 'inflight', op = 'update', sent_attributes IS NOT NULL"

static int rows_from(PGresult *res, etl_helix_row **out, size_t *n, etl_err *err)
{
	size_t count = (size_t)PQntuples(res);
	etl_helix_row *rows = NULL;

	*out = NULL;
	*n = 0;
	if (count == 0)
		return 0;
	rows = calloc(count, sizeof(*rows));
	if (!rows)
		return etl_err_set(err, ETL_EINTERNAL, "out of memory reading the Helix outbox");
	for (size_t i = 0; i < count; i++) {
		etl_helix_row *r = &rows[i];
		int k = (int)i;

		r->tid = dup_or_null(res, k, 0);
		r->camera = dup_or_null(res, k, 1);
		r->uid = dup_or_null(res, k, 2);
		r->attributes = dup_or_null(res, k, 3);
		r->queued_at = dup_or_null(res, k, 4);
		r->time_ms = strtoll(PQgetvalue(res, k, 5), NULL, 10);
		r->inflight = PQgetvalue(res, k, 6)[0] == 't';
		r->update = PQgetvalue(res, k, 7)[0] == 't';
		r->confirmed = PQgetvalue(res, k, 8)[0] == 't';
		if (!r->tid || !r->camera || !r->attributes || !r->queued_at ||
		    (PQgetisnull(res, k, 2) == 0 && !r->uid)) {
			for (size_t j = 0; j <= i; j++)
				etl_helix_row_release(&rows[j]);
			free(rows);
			return etl_err_set(err, ETL_EINTERNAL, "out of memory reading the Helix outbox");
		}
	}
	*out = rows;
	*n = count;
	return 0;
}

int etl_helix_outbox_fetch(etl_db *db, etl_helix_cursor *cursor, int limit,
			   etl_helix_row **out, size_t *n, etl_err *err)
{
	/* Keyset, not OFFSET: the rows before the cursor change state while
	 * the sender works, and a row it holds must never come back. */
	static const char first[] =
		"SELECT " ROW_COLUMNS " FROM helix_outbox "
		"WHERE state IN ('pending', 'inflight') "
		"ORDER BY (state <> 'inflight')::int, queued_at, transaction_id COLLATE \"C\" LIMIT $1";
	static const char next[] =
		"SELECT " ROW_COLUMNS " FROM helix_outbox "
		"WHERE state IN ('pending', 'inflight')"
		" AND ((state <> 'inflight')::int, queued_at, transaction_id COLLATE \"C\")"
		"     > ($2::int, $3::timestamptz, $4::text COLLATE \"C\") "
		"ORDER BY (state <> 'inflight')::int, queued_at, transaction_id COLLATE \"C\" LIMIT $1";
	char lim[16], phase[4];
	const char *p[4] = { lim, phase, cursor->queued_at, cursor->tid };
	PGresult *res;
	int ret;

	snprintf(lim, sizeof(lim), "%d", limit);
	snprintf(phase, sizeof(phase), "%d", cursor->phase);
	res = cursor->started ? etl_db_query(db, next, 4, p, err) : etl_db_query(db, first, 1, p, err);
	if (!res)
		return etl_err_prefix(err, "reading the Helix outbox: ");
	ret = rows_from(res, out, n, err);
	if (ret == 0 && *n > 0) {
		const etl_helix_row *last = &(*out)[*n - 1];
		char *qa = strdup(last->queued_at), *tid = strdup(last->tid);

		if (!qa || !tid) {
			free(qa);
			free(tid);
			ret = etl_err_set(err, ETL_EINTERNAL, "out of memory reading the Helix outbox");
		} else {
			free(cursor->queued_at);
			free(cursor->tid);
			cursor->queued_at = qa;
			cursor->tid = tid;
			cursor->phase = last->inflight ? 0 : 1;
			cursor->started = 1;
		}
	}
	PQclear(res);
	return ret;
}

int etl_helix_outbox_fetch_footage(etl_db *db, char **after_tid, int limit,
				   etl_helix_row **out, size_t *n, etl_err *err)
{
	static const char sql[] =
		"SELECT " ROW_COLUMNS " FROM helix_outbox "
		"WHERE footage_due AND state = 'sent'"
		" AND ($2::text IS NULL OR transaction_id COLLATE \"C\" > $2::text COLLATE \"C\") "
		"ORDER BY transaction_id COLLATE \"C\" LIMIT $1";
	char lim[16];
	const char *p[2] = { lim, *after_tid };
	PGresult *res;
	int ret;

	snprintf(lim, sizeof(lim), "%d", limit);
	res = etl_db_query(db, sql, 2, p, err);
	if (!res)
		return etl_err_prefix(err, "reading the Helix outbox: ");
	ret = rows_from(res, out, n, err);
	if (ret == 0 && *n > 0) {
		char *tid = strdup((*out)[*n - 1].tid);

		if (!tid) {
			ret = etl_err_set(err, ETL_EINTERNAL, "out of memory reading the Helix outbox");
		} else {
			free(*after_tid);
			*after_tid = tid;
		}
	}
	PQclear(res);
	return ret;
}

/* A text[] literal of the n strings: {"a","b"}, each quoted and escaped, so
 * that a transaction_id such as NULL stays a string.  Caller frees. */
static char *text_array(const char *const *v, size_t n)
{
	size_t len = 3;
	char *buf, *o;

	for (size_t i = 0; i < n; i++)
		len += 2 * strlen(v[i]) + 3;
	buf = malloc(len);
	if (!buf)
		return NULL;
	o = buf;
	*o++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*o++ = ',';
		*o++ = '"';
		for (const char *s = v[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				*o++ = '\\';
			*o++ = *s;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return buf;
}

int etl_helix_outbox_mark_inflight(etl_db *db, const char *const *tids, size_t n,
				   const char *uid, etl_err *err)
{
	char *arr = text_array(tids, n);
	const char *p[2] = { arr, uid };
	PGresult *res = NULL;
	int ret = -1;

	if (!arr)
		return etl_err_set(err, ETL_EINTERNAL, "out of memory marking Helix events in flight");
	res = etl_db_query(db,
		"UPDATE helix_outbox SET state = 'inflight', event_type_uid = coalesce(event_type_uid, $2),"
		" attempts = attempts + 1, updated_at = now() "
		"WHERE transaction_id = ANY($1::text[]) AND state IN ('pending', 'inflight')", 2, p, err);
	if (!res) {
		etl_err_prefix(err, "marking Helix events in flight: ");
		goto cleanup;
	}
	if (strtoull(PQcmdTuples(res), NULL, 10) != n) {
		etl_err_set(err, ETL_EINTERNAL, "marking Helix events in flight: %s of %zu rows changed",
			    PQcmdTuples(res), n);
		goto cleanup;
	}
	ret = 0;
cleanup:
	PQclear(res);
	free(arr);
	return ret;
}

/* Written into the statements that record an outcome: their commit need
 * not wait for the disk.  If the server crashes and loses one, the row is
 * still 'inflight' (that mark was a durable commit) and the next send GETs
 * the triple: the cost is one request, never a second event.  Local to the
 * statement's own transaction (set_config(..., true)). */
#define ASYNC_COMMIT " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit "

/* One row's UPDATE or DELETE by transaction_id; "what" names it for the message. */
static int exec_row(etl_db *db, const char *sql, int nparams, const char *const *p,
		    const char *what, etl_err *err)
{
	if (etl_db_exec(db, sql, nparams, p, err) < 0)
		return etl_err_prefix(err, "%s (transaction %s): ", what, p[0]);
	return 0;
}

int etl_helix_outbox_mark_sent(etl_db *db, const char *tid, int footage, etl_err *err)
{
	const char *p[2] = { tid, footage ? "true" : "false" };

	return exec_row(db,
		"UPDATE helix_outbox SET state = 'sent', sent_attributes = attributes, sent_at = now(),"
		" last_error = NULL, updated_at = now(),"
		" footage_due = footage_due OR ($2::boolean AND footage_url IS NULL)"
		ASYNC_COMMIT "WHERE transaction_id = $1", 2, p, "recording a sent Helix event", err);
}

int etl_helix_outbox_mark_failed(etl_db *db, const char *tid, const char *message, etl_err *err)
{
	const char *p[2] = { tid, message };

	return exec_row(db,
		"UPDATE helix_outbox SET state = 'failed', last_error = left($2, 1000), updated_at = now()"
		ASYNC_COMMIT "WHERE transaction_id = $1", 2, p, "recording a failed Helix event", err);
}

int etl_helix_outbox_mark_pending(etl_db *db, const char *tid, etl_err *err)
{
	const char *p[1] = { tid };

	return exec_row(db,
		"UPDATE helix_outbox SET state = 'pending', updated_at = now() "
		"WHERE transaction_id = $1 AND state = 'inflight'", 1, p, "requeueing a Helix event", err);
}

int etl_helix_outbox_delete(etl_db *db, const char *tid, etl_err *err)
{
	const char *p[1] = { tid };

	return exec_row(db, "DELETE FROM helix_outbox WHERE transaction_id = $1 AND sent_attributes IS NULL",
			1, p, "dropping a Helix event no longer wanted", err);
}

int etl_helix_outbox_compare(etl_db *db, const char *tid, const char *server_attrs,
			     int *found, int *equal, int *confirmed, int *wanted, etl_err *err)
{
	const char *p[2] = { tid, server_attrs };
	PGresult *res = etl_db_query(db,
		"SELECT attributes = $2::jsonb, sent_attributes IS NOT NULL,"
		" coalesce(attributes->>'status' = 'paid', false) "
		"FROM helix_outbox WHERE transaction_id = $1", 2, p, err);

	if (!res)
		return etl_err_prefix(err, "comparing a Helix event (transaction %s): ", tid);
	*found = PQntuples(res) > 0;
	*equal = *confirmed = *wanted = 0;
	if (*found) {
		*equal = PQgetvalue(res, 0, 0)[0] == 't';
		*confirmed = PQgetvalue(res, 0, 1)[0] == 't';
		*wanted = PQgetvalue(res, 0, 2)[0] == 't';
	}
	PQclear(res);
	return 0;
}

int etl_helix_outbox_set_footage(etl_db *db, const char *tid, const char *url, etl_err *err)
{
	const char *p[2] = { tid, url };

	return exec_row(db,
		"UPDATE helix_outbox SET footage_url = coalesce($2, footage_url), footage_due = false"
		ASYNC_COMMIT "WHERE transaction_id = $1", 2, p, "storing a footage link", err);
}

int etl_helix_type_get(etl_db *db, const char *name, char **uid, etl_err *err)
{
	const char *p[1] = { name };
	PGresult *res = etl_db_query(db, "SELECT event_type_uid FROM helix_event_types WHERE name = $1",
				     1, p, err);

	*uid = NULL;
	if (!res)
		return etl_err_prefix(err, "reading the Helix event type: ");
	if (PQntuples(res) > 0 && !(*uid = strdup(PQgetvalue(res, 0, 0)))) {
		PQclear(res);
		return etl_err_set(err, ETL_EINTERNAL, "out of memory");
	}
	PQclear(res);
	return 0;
}

int etl_helix_type_put(etl_db *db, const char *name, const char *uid, const char *schema,
		       etl_err *err)
{
	const char *p[3] = { name, uid, schema };

	if (etl_db_exec(db,
		"INSERT INTO helix_event_types (name, event_type_uid, event_schema) VALUES ($1, $2, $3::jsonb) "
		"ON CONFLICT (name) DO UPDATE SET event_type_uid = EXCLUDED.event_type_uid,"
		" event_schema = EXCLUDED.event_schema", 3, p, err) < 0)
		return etl_err_prefix(err, "recording the Helix event type: ");
	return 0;
}

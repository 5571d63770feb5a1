/* runlog.c - see runlog.h. */
#include "runlog.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void etl_run_counts_add(etl_run_counts *a, const etl_run_counts *b)
{
	a->windows += b->windows;
	a->fetched += b->fetched;
	a->loaded += b->loaded;
	a->duplicates += b->duplicates;
	a->quarantined += b->quarantined;
	a->inserted += b->inserted;
	a->updated += b->updated;
	a->unchanged += b->unchanged;
	a->helix_sent += b->helix_sent;
	a->helix_updated += b->helix_updated;
	a->helix_failed += b->helix_failed;
	a->helix_pending += b->helix_pending;
}

int etl_run_counts_consistent(const etl_run_counts *c)
{
	return c->fetched == c->loaded + c->duplicates + c->quarantined &&
	       c->loaded == c->inserted + c->updated + c->unchanged;
}

char *etl_run_counts_json(const etl_run_counts *c)
{
	char *out = malloc(512);

	if (!out)
		return NULL;
	snprintf(out, 512,
		 "{\"windows\": %" PRId64 ", \"fetched\": %" PRId64 ", \"loaded\": %" PRId64
		 ", \"duplicates\": %" PRId64 ", \"quarantined\": %" PRId64 ", \"inserted\": %" PRId64
		 ", \"updated\": %" PRId64 ", \"unchanged\": %" PRId64 ", \"helix_sent\": %" PRId64
		 ", \"helix_updated\": %" PRId64 ", \"helix_failed\": %" PRId64
		 ", \"helix_pending\": %" PRId64 "}",
		 c->windows, c->fetched, c->loaded, c->duplicates, c->quarantined, c->inserted, c->updated,
		 c->unchanged, c->helix_sent, c->helix_updated, c->helix_failed, c->helix_pending);
	return out;
}

char *etl_run_counts_json_dry_run(const etl_run_counts *c)
{
	static const char mark[] = ", \"dry_run\": true}";
	char *json = etl_run_counts_json(c), *out;
	size_t len;

	if (!json)
		return NULL;
	len = strlen(json);  /* ends in '}' */
	out = realloc(json, len + sizeof(mark));
	if (!out) {
		free(json);
		return NULL;
	}
	memcpy(out + len - 1, mark, sizeof(mark));
	return out;
}

void etl_run_counts_describe(char *buf, size_t n, const etl_run_counts *c)
{
	snprintf(buf, n,
		 "%" PRId64 " window%s, %" PRId64 " record%s fetched: %" PRId64 " would load (%" PRId64
		 " new, %" PRId64 " changed, %" PRId64 " unchanged), %" PRId64 " duplicate%s, %" PRId64
		 " quarantined",
		 c->windows, c->windows == 1 ? "" : "s", c->fetched, c->fetched == 1 ? "" : "s", c->loaded,
		 c->inserted, c->updated, c->unchanged, c->duplicates, c->duplicates == 1 ? "" : "s",
		 c->quarantined);
}

int etl_runlog_start(etl_db *db, const char *command, int64_t *run_id, etl_err *err)
{
	char pid[24], host[256];
	const char *p[] = { command, pid, host };
	PGresult *res;

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	if (etl_db_exec(db,
		"UPDATE runs SET status = 'killed', finished_at = now(), "
		"       message = 'the process ended without finishing (killed, or its host went down)' "
		"WHERE status = 'running'", 0, NULL, err) < 0)
		return etl_err_prefix(err, "closing the rows of runs that died");
	res = etl_db_query(db,
		"INSERT INTO runs (command, pid, host) VALUES ($1, $2::integer, $3) RETURNING run_id",
		3, p, err);
	if (!res)
		return etl_err_prefix(err, "recording the run");
	*run_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* Writes the counts as decimal strings for parameters $2.. */
static void counts_text(const etl_run_counts *c, char buf[12][24])
{
	const int64_t v[12] = {
		c->windows, c->fetched, c->loaded, c->duplicates, c->quarantined, c->inserted,
		c->updated, c->unchanged, c->helix_sent, c->helix_updated, c->helix_failed, c->helix_pending,
	};

	for (int i = 0; i < 12; i++)
		snprintf(buf[i], 24, "%" PRId64, v[i]);
}

int etl_runlog_add_window(etl_db *db, int64_t run_id, const etl_run_counts *c, etl_err *err)
{
	char id[24], n[12][24];
	const char *p[9];

	snprintf(id, sizeof(id), "%" PRId64, run_id);
	counts_text(c, n);
	p[0] = id;
	for (int i = 0; i < 8; i++)
		p[i + 1] = n[i];
	return etl_db_exec(db,
		"UPDATE runs SET windows = windows + $2, fetched = fetched + $3, loaded = loaded + $4, "
		"       duplicates = duplicates + $5, quarantined = quarantined + $6, "
		"       inserted = inserted + $7, updated = updated + $8, unchanged = unchanged + $9 "
		"WHERE run_id = $1", 9, p, err);
}

int etl_runlog_finish(etl_db *db, int64_t run_id, const char *status, int exit_code, const char *message,
		      const etl_run_counts *c, etl_err *err)
{
	char id[24], code[16], n[12][24];
	const char *p[16];

	etl_db_rollback(db);
	if (!status)
		status = exit_code == 0 ? "ok" : "failed";
	snprintf(id, sizeof(id), "%" PRId64, run_id);
	snprintf(code, sizeof(code), "%d", exit_code);
	counts_text(c, n);
	p[0] = id;
	p[1] = status;
	p[2] = code;
	p[3] = message && *message ? message : NULL;
	for (int i = 0; i < 12; i++)
		p[i + 4] = n[i];
	return etl_db_exec(db,
		"UPDATE runs SET status = $2, exit_code = $3, message = $4, finished_at = now(), "
		"       windows = $5, fetched = $6, loaded = $7, duplicates = $8, quarantined = $9, "
		"       inserted = $10, updated = $11, unchanged = $12, helix_sent = $13, "
		"       helix_updated = $14, helix_failed = $15, helix_pending = $16 "
		"WHERE run_id = $1", 16, p, err);
}

/*
 * fake_helix.c: a fake of Verkada's Helix API (shared/helix.md) for tests
 * of etl's sink: tokens, event types, events keyed by (camera_id,
 * event_type_uid, time_ms), footage links, the devices list, the 5-second
 * rate limit and added latency. Duplicate POSTs of one event are accepted,
 * as the real API seems to, but counted so that tests can assert there
 * were none. See README.md for the options and the control API.
 */
#define _POSIX_C_SOURCE 200809L

#include "fake_common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ORG_ID "00000000-fake-4000-8000-000000000001"
#define MAX_ATTRS 10
#define MAX_ATTR_NAME 20
#define MAX_STRING 200
#define RATE_WINDOW_MS 5000

struct token {
	char value[40];
	int64_t expires; /* monotonic ms */
};

struct etype {
	char *uid, *name;
	cJSON *schema; /* {"attr": "string" | "integer" | "float" | "boolean"} */
};

struct event {
	char *camera, *uid;
	int64_t time_ms, creates, patches;
	cJSON *attrs;
	bool flagged, deleted;
	int64_t next; /* hash chain, -1 at the end */
};

struct stats {
	int64_t requests, rate_limited, duplicates, creates, patches, deletes;
	int64_t tokens_issued, unauthorized;
};

struct helix {
	const char *api_key;
	int64_t ttl_s, rate_limit, latency_ms, max_age_days, now_ms;
	bool now_set, cams_any;
	char **cams;
	size_t ncams;
	pthread_mutex_t lock; /* guards everything below */
	uint64_t rng;
	struct token *tokens;
	size_t ntokens;
	struct etype *types;
	size_t ntypes;
	struct event *events;
	size_t nevents, capevents, nlive;
	int64_t *buckets;
	size_t nbuckets;
	int64_t win_start, win_count;
	struct stats st;
};

/* -------------------------------------------------------------- helpers */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		abort();
	return q;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xrealloc(NULL, n), s, n);
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Not cryptographic: tokens and uids only need to be unguessable by
 * accident. Call with the lock held. */
static uint64_t rand64(struct helix *h)
{
	h->rng += 0x9e3779b97f4a7c15ULL;
	return mix64(h->rng);
}

static void new_uid(struct helix *h, char *out, size_t n)
{
	uint64_t a = rand64(h), b = rand64(h);

	snprintf(out, n, "%08llx-%04llx-4%03llx-%04llx-%012llx",
		 (unsigned long long)(a >> 32),
		 (unsigned long long)((a >> 16) & 0xffff),
		 (unsigned long long)(a & 0xfff),
		 (unsigned long long)(0x8000 | (b >> 50)),
		 (unsigned long long)(b & 0xffffffffffffULL));
}

/* Number of UTF-8 code points in s. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool json_is_integer(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble == (double)(int64_t)v->valuedouble;
}

static const char *str_field(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---------------------------------------------------------- event types */

static struct etype *type_by_uid(struct helix *h, const char *uid)
{
	for (size_t i = 0; uid && i < h->ntypes; i++)
		if (strcmp(h->types[i].uid, uid) == 0)
			return &h->types[i];
	return NULL;
}

static struct etype *type_by_name(struct helix *h, const char *name)
{
	for (size_t i = 0; name && i < h->ntypes; i++)
		if (strcmp(h->types[i].name, name) == 0)
			return &h->types[i];
	return NULL;
}

/* Checks a schema: <= 10 attributes, names <= 20 chars, known types. */
static bool schema_ok(const cJSON *schema, char *msg, size_t n)
{
	static const char *const types[] = { "string", "integer", "float",
					     "boolean" };
	const cJSON *a;
	int count = 0;

	if (!cJSON_IsObject(schema)) {
		snprintf(msg, n, "event_schema must be an object");
		return false;
	}
	cJSON_ArrayForEach(a, schema) {
		bool known = false;

		for (size_t k = 0; k < 4 && cJSON_IsString(a); k++)
			known |= strcmp(a->valuestring, types[k]) == 0;
		if (!known) {
			snprintf(msg, n, "Invalid type for attribute %s", a->string);
			return false;
		}
		if (utf8_len(a->string) > MAX_ATTR_NAME || !a->string[0]) {
			snprintf(msg, n, "Attribute name %s must be 1-%d characters",
				 a->string, MAX_ATTR_NAME);
			return false;
		}
		if (++count > MAX_ATTRS) {
			snprintf(msg, n, "At most %d attributes per event type",
				 MAX_ATTRS);
			return false;
		}
	}
	return true;
}

static cJSON *type_json(const struct etype *t)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "event_type_uid", t->uid);
	cJSON_AddStringToObject(o, "name", t->name);
	cJSON_AddItemToObject(o, "event_schema", cJSON_Duplicate(t->schema, 1));
	cJSON_AddStringToObject(o, "org_id", ORG_ID);
	return o;
}

static void type_create(struct helix *h, const cJSON *body,
			struct fake_resp *resp)
{
	const char *name = str_field(body, "name");
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(body, "event_schema");
	struct etype *t;
	char msg[256], uid[48];

	if (!name || !name[0]) {
		fake_resp_msg(resp, 400, "name is required");
		return;
	}
	if (!schema_ok(schema, msg, sizeof(msg))) {
		fake_resp_msg(resp, 400, "%s", msg);
		return;
	}
	if (type_by_name(h, name)) {
		fake_resp_msg(resp, 400, "Event type named '%s' already exists", name);
		return;
	}
	new_uid(h, uid, sizeof(uid));
	h->types = xrealloc(h->types, (h->ntypes + 1) * sizeof(*h->types));
	t = &h->types[h->ntypes++];
	t->uid = xstrdup(uid);
	t->name = xstrdup(name);
	t->schema = cJSON_Duplicate(schema, 1);
	fake_resp_json(resp, 200, type_json(t));
}

static void type_list(struct helix *h, const struct fake_req *req,
		      struct fake_resp *resp)
{
	const char *name = fake_arg(req, "name");
	const char *uid = fake_arg(req, "event_type_uid");
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(o, "event_types");

	for (size_t i = 0; i < h->ntypes; i++) {
		const struct etype *t = &h->types[i];

		if ((!name || strcmp(t->name, name) == 0) &&
		    (!uid || strcmp(t->uid, uid) == 0))
			cJSON_AddItemToArray(arr, type_json(t));
	}
	fake_resp_json(resp, 200, o);
}

/* PATCH: a new name (still unique) and/or a schema that replaces the old. */
static void type_update(struct helix *h, const struct fake_req *req,
			const cJSON *body, struct fake_resp *resp)
{
	struct etype *t = type_by_uid(h, fake_arg(req, "event_type_uid"));
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "name");
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(body, "event_schema");
	struct etype *other;
	char msg[256];

	if (!t) {
		fake_resp_msg(resp, 404, "Event type not found");
		return;
	}
	if (name && (!cJSON_IsString(name) || !name->valuestring[0])) {
		fake_resp_msg(resp, 400, "name must be a non-empty string");
		return;
	}
	if (schema && !schema_ok(schema, msg, sizeof(msg))) {
		fake_resp_msg(resp, 400, "%s", msg);
		return;
	}
	other = name ? type_by_name(h, name->valuestring) : NULL;
	if (other && other != t) {
		fake_resp_msg(resp, 400, "Event type named '%s' already exists",
			      name->valuestring);
		return;
	}
	if (name) {
		free(t->name);
		t->name = xstrdup(name->valuestring);
	}
	if (schema) {
		cJSON_Delete(t->schema);
		t->schema = cJSON_Duplicate(schema, 1);
	}
	fake_resp_take(resp, 200, xstrdup("{}"), 2);
}

/* --------------------------------------------------------------- events */

static uint64_t event_hash(const char *cam, const char *uid, int64_t t)
{
	uint64_t x = 1469598103934665603ULL;

	for (; *cam; cam++)
		x = (x ^ (unsigned char)*cam) * 1099511628211ULL;
	x = (x ^ '|') * 1099511628211ULL;
	for (; *uid; uid++)
		x = (x ^ (unsigned char)*uid) * 1099511628211ULL;
	return mix64(x ^ (uint64_t)t);
}

static struct event *event_find(struct helix *h, const char *cam,
				const char *uid, int64_t t)
{
	int64_t i;

	if (!h->nbuckets)
		return NULL;
	i = h->buckets[event_hash(cam, uid, t) % h->nbuckets];
	for (; i >= 0; i = h->events[i].next) {
		struct event *e = &h->events[i];

		if (e->time_ms == t && strcmp(e->camera, cam) == 0 &&
		    strcmp(e->uid, uid) == 0)
			return e;
	}
	return NULL;
}

static void bucket_link(struct helix *h, size_t i)
{
	struct event *e = &h->events[i];
	size_t b = event_hash(e->camera, e->uid, e->time_ms) % h->nbuckets;

	e->next = h->buckets[b];
	h->buckets[b] = (int64_t)i;
}

/* Keeps chains short: rebuilds the table at twice the size when full
 * (linking every live event); returns whether it did. */
static bool buckets_grow(struct helix *h)
{
	if (h->nevents <= h->nbuckets)
		return false;
	h->nbuckets = h->nbuckets ? h->nbuckets * 2 : 1024;
	h->buckets = xrealloc(h->buckets, h->nbuckets * sizeof(*h->buckets));
	for (size_t b = 0; b < h->nbuckets; b++)
		h->buckets[b] = -1;
	for (size_t i = 0; i < h->nevents; i++)
		if (!h->events[i].deleted)
			bucket_link(h, i);
	return true;
}

static struct event *event_add(struct helix *h, const char *cam,
			       const char *uid, int64_t t)
{
	struct event *e;

	if (h->nevents == h->capevents) {
		h->capevents = h->capevents ? h->capevents * 2 : 256;
		h->events = xrealloc(h->events, h->capevents * sizeof(*e));
	}
	e = &h->events[h->nevents++];
	memset(e, 0, sizeof(*e));
	e->camera = xstrdup(cam);
	e->uid = xstrdup(uid);
	e->time_ms = t;
	e->attrs = cJSON_CreateObject();
	h->nlive++;
	if (!buckets_grow(h))
		bucket_link(h, h->nevents - 1);
	return e;
}

/* Unlinks e from its chain; its slot stays, marked deleted. */
static void event_delete(struct helix *h, struct event *e)
{
	size_t i = (size_t)(e - h->events);
	int64_t *p = &h->buckets[event_hash(e->camera, e->uid, e->time_ms) %
				 h->nbuckets];

	while (*p >= 0 && (size_t)*p != i)
		p = &h->events[*p].next;
	if (*p >= 0)
		*p = e->next;
	e->deleted = true;
	cJSON_Delete(e->attrs);
	e->attrs = NULL;
	h->nlive--;
}

static bool camera_known(const struct helix *h, const char *cam)
{
	if (h->cams_any)
		return true;
	for (size_t i = 0; i < h->ncams; i++)
		if (strcmp(h->cams[i], cam) == 0)
			return true;
	return false;
}

/* Checks attribute values against the schema; any may be left out. */
static bool attrs_ok(const struct etype *t, const cJSON *attrs, char *msg,
		     size_t n)
{
	const cJSON *a;

	if (attrs && !cJSON_IsNull(attrs) && !cJSON_IsObject(attrs)) {
		snprintf(msg, n, "Wrong type for field attributes");
		return false;
	}
	cJSON_ArrayForEach(a, attrs) {
		const char *type = str_field(t->schema, a->string);
		bool ok;

		if (!type) {
			snprintf(msg, n, "Field %s is not in the event type schema",
				 a->string);
			return false;
		}
		if (strcmp(type, "string") == 0)
			ok = cJSON_IsString(a);
		else if (strcmp(type, "integer") == 0)
			ok = json_is_integer(a);
		else if (strcmp(type, "float") == 0)
			ok = cJSON_IsNumber(a);
		else
			ok = cJSON_IsBool(a);
		if (!ok) {
			snprintf(msg, n, "Wrong type for field %s", a->string);
			return false;
		}
		if (cJSON_IsString(a) && utf8_len(a->valuestring) > MAX_STRING) {
			snprintf(msg, n, "Field %s is longer than %d characters",
				 a->string, MAX_STRING);
			return false;
		}
	}
	return true;
}

/* Merges src's members into dst, replacing those of the same name. */
static void attrs_merge(cJSON *dst, const cJSON *src)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, src) {
		cJSON_DeleteItemFromObjectCaseSensitive(dst, a->string);
		cJSON_AddItemToObject(dst, a->string, cJSON_Duplicate(a, 1));
	}
}

/* Validates an event body; on success sets *type and *t. */
static bool event_body_ok(struct helix *h, const cJSON *body,
			  struct etype **type, int64_t *t, char *msg, size_t n)
{
	const char *cam = str_field(body, "camera_id");
	const cJSON *tm = cJSON_GetObjectItemCaseSensitive(body, "time_ms");
	const cJSON *fl = cJSON_GetObjectItemCaseSensitive(body, "flagged");
	int64_t now = h->now_set ? h->now_ms : fake_now_ms();

	if (!cam || !camera_known(h, cam)) {
		snprintf(msg, n, "Invalid camera_id");
		return false;
	}
	*type = type_by_uid(h, str_field(body, "event_type_uid"));
	if (!*type) {
		snprintf(msg, n, "Invalid event_type_uid");
		return false;
	}
	if (!json_is_integer(tm) || tm->valuedouble < 0) {
		snprintf(msg, n, "Wrong type for field time_ms");
		return false;
	}
	if (fl && !cJSON_IsBool(fl)) {
		snprintf(msg, n, "Wrong type for field flagged");
		return false;
	}
	*t = (int64_t)tm->valuedouble;
	if (h->max_age_days > 0 && *t < now - h->max_age_days * 86400000) {
		snprintf(msg, n, "Event is older than %lld days",
			 (long long)h->max_age_days);
		return false;
	}
	return attrs_ok(*type, cJSON_GetObjectItemCaseSensitive(body, "attributes"),
			msg, n);
}

/* POST of an existing triple: 200, the new attributes kept, and counted. */
static void event_create(struct helix *h, const cJSON *body,
			 struct fake_resp *resp)
{
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(body, "attributes");
	struct etype *type;
	struct event *e;
	char msg[300];
	int64_t t;

	if (!event_body_ok(h, body, &type, &t, msg, sizeof(msg))) {
		fake_resp_msg(resp, 400, "%s", msg);
		return;
	}
	e = event_find(h, str_field(body, "camera_id"), type->uid, t);
	if (e) {
		h->st.duplicates++;
		cJSON_Delete(e->attrs);
		e->attrs = cJSON_CreateObject();
	} else {
		e = event_add(h, str_field(body, "camera_id"), type->uid, t);
	}
	h->st.creates++;
	e->creates++;
	if (cJSON_IsObject(attrs))
		attrs_merge(e->attrs, attrs);
	e->flagged = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "flagged"));
	fake_resp_take(resp, 200, xstrdup("{}"), 2);
}

/* The event named by the query triple, or NULL after answering 400/404. */
static struct event *event_from_query(struct helix *h, const struct fake_req *req,
				      struct fake_resp *resp)
{
	const char *cam = fake_arg(req, "camera_id");
	const char *uid = fake_arg(req, "event_type_uid");
	const char *tm = fake_arg(req, "time_ms");
	struct event *e;
	int64_t t;

	if (!cam || !uid || !tm || !fake_parse_i64(tm, &t)) {
		fake_resp_msg(resp, 400,
			      "camera_id, event_type_uid and time_ms are required");
		return NULL;
	}
	e = event_find(h, cam, uid, t);
	if (!e)
		fake_resp_msg(resp, 404, "Event not found");
	return e;
}

static cJSON *event_json(const struct event *e, bool control)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "camera_id", e->camera);
	cJSON_AddStringToObject(o, "event_type_uid", e->uid);
	cJSON_AddNumberToObject(o, "time_ms", (double)e->time_ms);
	cJSON_AddItemToObject(o, "attributes", cJSON_Duplicate(e->attrs, 1));
	cJSON_AddBoolToObject(o, "flagged", e->flagged);
	if (control) {
		cJSON_AddNumberToObject(o, "creates", (double)e->creates);
		cJSON_AddNumberToObject(o, "patches", (double)e->patches);
	} else {
		cJSON_AddStringToObject(o, "org_id", ORG_ID);
	}
	return o;
}

/* PATCH merges the attributes sent into the stored ones (and may set
 * flagged); the values are checked against the schema like a create. */
static void event_patch(struct helix *h, const struct fake_req *req,
			const cJSON *body, struct fake_resp *resp)
{
	struct event *e = event_from_query(h, req, resp);
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(body, "attributes");
	const cJSON *fl = cJSON_GetObjectItemCaseSensitive(body, "flagged");
	char msg[300];

	if (!e)
		return;
	if (!attrs_ok(type_by_uid(h, e->uid), attrs, msg, sizeof(msg))) {
		fake_resp_msg(resp, 400, "%s", msg);
		return;
	}
	if (fl && !cJSON_IsBool(fl)) {
		fake_resp_msg(resp, 400, "Wrong type for field flagged");
		return;
	}
	if (cJSON_IsObject(attrs))
		attrs_merge(e->attrs, attrs);
	if (fl)
		e->flagged = cJSON_IsTrue(fl);
	e->patches++;
	h->st.patches++;
	fake_resp_take(resp, 200, xstrdup("{}"), 2);
}

static void events_route(struct helix *h, const struct fake_req *req,
			 const cJSON *body, struct fake_resp *resp)
{
	const char *m = req->method;
	struct event *e;

	if (strcmp(m, "POST") == 0) {
		event_create(h, body, resp);
	} else if (strcmp(m, "PATCH") == 0) {
		event_patch(h, req, body, resp);
	} else if (strcmp(m, "GET") == 0) {
		if ((e = event_from_query(h, req, resp)))
			fake_resp_json(resp, 200, event_json(e, false));
	} else if (strcmp(m, "DELETE") == 0) {
		if ((e = event_from_query(h, req, resp))) {
			event_delete(h, e);
			h->st.deletes++;
			fake_resp_take(resp, 200, xstrdup("{}"), 2);
		}
	} else {
		fake_resp_msg(resp, 404, "Not found");
	}
}

/* --------------------------------------------------------- footage, devices */

/* Reads the camera_id and an integer parameter; answers 400 on error. */
static bool footage_args(struct helix *h, const struct fake_req *req,
			 const char *name, const char **cam, int64_t *v,
			 struct fake_resp *resp)
{
	*cam = fake_arg(req, "camera_id");
	if (!*cam || !camera_known(h, *cam)) {
		fake_resp_msg(resp, 400, "Invalid camera_id");
		return false;
	}
	if (!fake_parse_i64(fake_arg(req, name), v)) {
		fake_resp_msg(resp, 400, "%s must be an integer", name);
		return false;
	}
	return true;
}

static void footage_link(struct helix *h, const struct fake_req *req,
			 struct fake_resp *resp, bool thumb)
{
	const char *cam;
	int64_t ts, exp = 3600;
	char url[512];
	cJSON *o;

	if (!footage_args(h, req, "timestamp", &cam, &ts, resp))
		return;
	if (thumb && fake_arg(req, "expiry") &&
	    !fake_parse_i64(fake_arg(req, "expiry"), &exp)) {
		fake_resp_msg(resp, 400, "expiry must be an integer");
		return;
	}
	snprintf(url, sizeof(url), "https://fake.helix/%s/%s/%lld",
		 thumb ? "thumbnails" : "footage", cam, (long long)ts);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "url", url);
	if (thumb) {
		cJSON_AddNumberToObject(o, "timestamp", (double)ts);
		cJSON_AddNumberToObject(o, "expiry", (double)exp);
	}
	fake_resp_json(resp, 200, o);
}

/* Pages through the --cameras list; page_token is the next offset. */
static void devices(struct helix *h, const struct fake_req *req,
		    struct fake_resp *resp)
{
	int64_t size = 100, off = 0;
	const char *ps = fake_arg(req, "page_size"), *pt = fake_arg(req, "page_token");
	cJSON *o, *arr;
	char tok[32];

	if ((ps && (!fake_parse_i64(ps, &size) || size < 1)) ||
	    (pt && *pt && (!fake_parse_i64(pt, &off) || off < 0))) {
		fake_resp_msg(resp, 400, "bad page_size or page_token");
		return;
	}
	if (size > 200)
		size = 200;
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "cameras");
	for (int64_t i = off; i < off + size && (size_t)i < h->ncams; i++) {
		cJSON *c = cJSON_CreateObject();
		char name[64];

		snprintf(name, sizeof(name), "Camera %lld", (long long)(i + 1));
		cJSON_AddStringToObject(c, "camera_id", h->cams[i]);
		cJSON_AddStringToObject(c, "name", name);
		cJSON_AddStringToObject(c, "site", "Fake Site");
		cJSON_AddStringToObject(c, "model", "CD52");
		cJSON_AddStringToObject(c, "status", "Live");
		cJSON_AddItemToArray(arr, c);
	}
	if ((size_t)(off + size) < h->ncams) {
		snprintf(tok, sizeof(tok), "%lld", (long long)(off + size));
		cJSON_AddStringToObject(o, "next_page_token", tok);
	} else {
		cJSON_AddNullToObject(o, "next_page_token");
	}
	fake_resp_json(resp, 200, o);
}

/* ------------------------------------------------------ auth, rate limit */

static void token_issue(struct helix *h, const struct fake_req *req,
			struct fake_resp *resp)
{
	const char *key = fake_header(req, "x-api-key");
	int64_t now = fake_mono_ms();
	struct token *t;
	size_t keep = 0;
	cJSON *o;

	if (!key || strcmp(key, h->api_key) != 0) {
		h->st.unauthorized++;
		fake_resp_msg(resp, 401, "Invalid API key");
		return;
	}
	for (size_t i = 0; i < h->ntokens; i++) /* forget expired tokens */
		if (h->tokens[i].expires > now)
			h->tokens[keep++] = h->tokens[i];
	h->ntokens = keep;
	h->tokens = xrealloc(h->tokens, (h->ntokens + 1) * sizeof(*t));
	t = &h->tokens[h->ntokens++];
	snprintf(t->value, sizeof(t->value), "%016llx%016llx",
		 (unsigned long long)rand64(h), (unsigned long long)rand64(h));
	t->expires = now + h->ttl_s * 1000;
	h->st.tokens_issued++;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", t->value);
	fake_resp_json(resp, 200, o);
}

static bool token_valid(struct helix *h, const char *value)
{
	int64_t now = fake_mono_ms();

	for (size_t i = 0; value && i < h->ntokens; i++)
		if (strcmp(h->tokens[i].value, value) == 0)
			return h->tokens[i].expires > now;
	return false;
}

/* Fixed 5-second windows, each starting at the first request after the
 * previous one ended, so that a burst of 26 quick requests always sees the
 * 26th refused. */
static bool rate_limited(struct helix *h)
{
	int64_t now = fake_mono_ms();

	if (h->rate_limit <= 0)
		return false;
	if (h->win_count == 0 || now - h->win_start >= RATE_WINDOW_MS) {
		h->win_start = now;
		h->win_count = 0;
	}
	if (h->win_count >= h->rate_limit)
		return true;
	h->win_count++;
	return false;
}

/* ---------------------------------------------------------------- routes */

#define P_TYPE "/cameras/v1/video_tagging/event_type"
#define P_EVENT "/cameras/v1/video_tagging/event"

static void route(struct helix *h, const struct fake_req *req,
		  const cJSON *body, struct fake_resp *resp)
{
	const char *p = req->path, *m = req->method;
	bool get = strcmp(m, "GET") == 0;

	if (strcmp(p, "/token") == 0 && strcmp(m, "POST") == 0) {
		token_issue(h, req, resp);
	} else if (!token_valid(h, fake_header(req, "x-verkada-auth"))) {
		h->st.unauthorized++;
		fake_resp_msg(resp, 401, "Unauthorized: missing or expired token");
	} else if (strcmp(p, P_TYPE) == 0 && strcmp(m, "POST") == 0) {
		type_create(h, body, resp);
	} else if (strcmp(p, P_TYPE) == 0 && get) {
		type_list(h, req, resp);
	} else if (strcmp(p, P_TYPE) == 0 && strcmp(m, "PATCH") == 0) {
		type_update(h, req, body, resp);
	} else if (strcmp(p, P_EVENT) == 0) {
		events_route(h, req, body, resp);
	} else if (strcmp(p, "/cameras/v1/footage/link") == 0 && get) {
		footage_link(h, req, resp, false);
	} else if (strcmp(p, "/cameras/v1/footage/thumbnails/link") == 0 && get) {
		footage_link(h, req, resp, true);
	} else if (strcmp(p, "/cameras/v1/devices") == 0 && get) {
		devices(h, req, resp);
	} else {
		fake_resp_msg(resp, 404, "Not found");
	}
}

static void helix_handle(void *ctx, const struct fake_req *req,
			 struct fake_resp *resp)
{
	struct helix *h = ctx;
	cJSON *body = NULL;
	bool limited;

	pthread_mutex_lock(&h->lock);
	h->st.requests++;
	limited = rate_limited(h);
	if (limited)
		h->st.rate_limited++;
	pthread_mutex_unlock(&h->lock);
	/* sleep outside the lock: concurrent requests wait concurrently */
	if (h->latency_ms > 0)
		fake_sleep_ms(h->latency_ms);
	if (limited) {
		fake_resp_msg(resp, 429, "rate limited");
		return;
	}
	if (req->body_len) {
		body = cJSON_ParseWithLength(req->body, req->body_len);
		if (!body) {
			fake_resp_msg(resp, 400, "Invalid JSON body");
			return;
		}
	}
	pthread_mutex_lock(&h->lock);
	route(h, req, body, resp);
	pthread_mutex_unlock(&h->lock);
	cJSON_Delete(body);
}

/* --------------------------------------------------------------- control */

static void control_events(struct helix *h, struct fake_resp *resp)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < h->nevents; i++)
		if (!h->events[i].deleted)
			cJSON_AddItemToArray(arr, event_json(&h->events[i], true));
	fake_resp_json(resp, 200, arr);
}

static void control_stats(struct helix *h, struct fake_resp *resp)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "requests", (double)h->st.requests);
	cJSON_AddNumberToObject(o, "rate_limited", (double)h->st.rate_limited);
	cJSON_AddNumberToObject(o, "duplicates", (double)h->st.duplicates);
	cJSON_AddNumberToObject(o, "events", (double)h->nlive);
	cJSON_AddNumberToObject(o, "creates", (double)h->st.creates);
	cJSON_AddNumberToObject(o, "patches", (double)h->st.patches);
	cJSON_AddNumberToObject(o, "deletes", (double)h->st.deletes);
	cJSON_AddNumberToObject(o, "tokens_issued", (double)h->st.tokens_issued);
	cJSON_AddNumberToObject(o, "unauthorized", (double)h->st.unauthorized);
	cJSON_AddNumberToObject(o, "event_types", (double)h->ntypes);
	fake_resp_json(resp, 200, o);
}

static void cams_clear(struct helix *h)
{
	for (size_t i = 0; i < h->ncams; i++)
		free(h->cams[i]);
	free(h->cams);
	h->cams = NULL;
	h->ncams = 0;
}

static void cams_add(struct helix *h, const char *id, size_t n)
{
	h->cams = xrealloc(h->cams, (h->ncams + 1) * sizeof(*h->cams));
	h->cams[h->ncams] = xrealloc(NULL, n + 1);
	memcpy(h->cams[h->ncams], id, n);
	h->cams[h->ncams++][n] = '\0';
}

/* POST /_control/cameras ["id", ...]: the known cameras (no more "any"). */
static void control_cameras(struct helix *h, const struct fake_req *req,
			    struct fake_resp *resp)
{
	cJSON *root = cJSON_Parse(req->body);
	const cJSON *v;

	cJSON_ArrayForEach(v, root) {
		if (!cJSON_IsString(v)) {
			cJSON_Delete(root);
			fake_resp_msg(resp, 400, "body must be an array of strings");
			return;
		}
	}
	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		fake_resp_msg(resp, 400, "body must be an array of strings");
		return;
	}
	cams_clear(h);
	cJSON_ArrayForEach(v, root)
		cams_add(h, v->valuestring, strlen(v->valuestring));
	h->cams_any = false;
	cJSON_Delete(root);
	fake_resp_msg(resp, 200, "%zu cameras", h->ncams);
}

static void control_now(struct helix *h, const struct fake_req *req,
			struct fake_resp *resp)
{
	cJSON *root = cJSON_Parse(req->body);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "now");
	int64_t ms = 0;

	if (cJSON_IsNull(v) ||
	    (cJSON_IsString(v) && fake_parse_time(v->valuestring, &ms, NULL))) {
		h->now_set = !cJSON_IsNull(v);
		h->now_ms = ms;
		fake_resp_msg(resp, 200, "clock set");
	} else {
		fake_resp_msg(resp, 400, "body must be {\"now\": RFC 3339 or null}");
	}
	cJSON_Delete(root);
}

static bool helix_control(void *ctx, const struct fake_req *req,
			  struct fake_resp *resp)
{
	struct helix *h = ctx;
	const char *p = req->path + strlen("/_control/");
	bool get = strcmp(req->method, "GET") == 0;
	bool post = strcmp(req->method, "POST") == 0;
	bool known = true;

	pthread_mutex_lock(&h->lock);
	if (get && strcmp(p, "events") == 0) {
		control_events(h, resp);
	} else if (get && strcmp(p, "stats") == 0) {
		control_stats(h, resp);
	} else if (post && strcmp(p, "expire-tokens") == 0) {
		int64_t now = fake_mono_ms();

		for (size_t i = 0; i < h->ntokens; i++)
			h->tokens[i].expires = now;
		fake_resp_msg(resp, 200, "%zu tokens expired", h->ntokens);
	} else if (post && strcmp(p, "cameras") == 0) {
		control_cameras(h, req, resp);
	} else if (post && strcmp(p, "now") == 0) {
		control_now(h, req, resp);
	} else {
		known = false;
	}
	pthread_mutex_unlock(&h->lock);
	return known;
}

/* Forgets events, event types, tokens, statistics and the rate window. */
static void helix_clear(struct helix *h)
{
	for (size_t i = 0; i < h->nevents; i++) {
		free(h->events[i].camera);
		free(h->events[i].uid);
		cJSON_Delete(h->events[i].attrs);
	}
	free(h->events);
	free(h->buckets);
	for (size_t i = 0; i < h->ntypes; i++) {
		free(h->types[i].uid);
		free(h->types[i].name);
		cJSON_Delete(h->types[i].schema);
	}
	free(h->types);
	free(h->tokens);
	h->events = NULL;
	h->buckets = NULL;
	h->types = NULL;
	h->tokens = NULL;
	h->nevents = h->capevents = h->nlive = h->nbuckets = 0;
	h->ntypes = h->ntokens = 0;
	h->win_count = 0;
	memset(&h->st, 0, sizeof(h->st));
}

static void helix_reset(void *ctx)
{
	struct helix *h = ctx;

	pthread_mutex_lock(&h->lock);
	helix_clear(h);
	pthread_mutex_unlock(&h->lock);
}

/* --------------------------------------------------------------- options */

static const char usage[] =
	"usage: fake_helix [options]\n"
	"  --api-key K          the key POST /token accepts (default test-key)\n"
	"  --token-ttl S        token lifetime in seconds (default 1800)\n"
	"  --rate-limit N       requests per 5 s window, 0 = off (default 25)\n"
	"  --latency-ms L       added to every answer (default 0)\n"
	"  --cameras ID,ID,...  known cameras (default: any camera)\n"
	"  --cameras-any        accept any camera id\n"
	"  --max-age-days D     refuse events older than D days (default off)\n"
	"  --now T              clock for --max-age-days (default real time)\n";

static void set_cameras(struct helix *h, const char *list)
{
	while (*list) {
		size_t n = strcspn(list, ",");

		if (n)
			cams_add(h, list, n);
		list += n + (list[n] == ',');
	}
	h->cams_any = false;
}

static int helix_opt(struct helix *h, int argc, char **argv, int *i,
		     bool *any_flag)
{
	const char *v;

#define OPT(name) (fake_opt(argc, argv, i, name, &v) == 1)
#define NUM(dst, min) (fake_parse_i64(v, &(dst)) && (dst) >= (min) ? 1 : -1)
	if (OPT("--api-key")) {
		h->api_key = v;
		return 1;
	}
	if (OPT("--token-ttl"))
		return NUM(h->ttl_s, 1);
	if (OPT("--rate-limit"))
		return NUM(h->rate_limit, 0);
	if (OPT("--latency-ms"))
		return NUM(h->latency_ms, 0);
	if (OPT("--max-age-days"))
		return NUM(h->max_age_days, 0);
	if (OPT("--now")) {
		h->now_set = true;
		return fake_parse_time(v, &h->now_ms, NULL) ? 1 : -1;
	}
	if (OPT("--cameras")) {
		set_cameras(h, v);
		return 1;
	}
	if (strcmp(argv[*i], "--cameras-any") == 0) {
		*any_flag = true;
		return 1;
	}
#undef NUM
#undef OPT
	return 0;
}

int main(int argc, char **argv)
{
	struct fake_opts o = { 0 };
	struct helix h;
	struct fake_app app = { "fake_helix", &h, helix_handle, helix_control,
				helix_reset };
	bool any = false;
	int ret = 64;

	memset(&h, 0, sizeof(h));
	h.api_key = "test-key";
	h.ttl_s = 1800;
	h.rate_limit = 25;
	h.cams_any = true;
	h.rng = (uint64_t)fake_now_ms() ^ ((uint64_t)getpid() << 32);
	pthread_mutex_init(&h.lock, NULL);
	for (int i = 1; i < argc; i++) {
		int r = fake_common_opt(argc, argv, &i, &o);

		if (r == 0)
			r = helix_opt(&h, argc, argv, &i, &any);
		if (r == 0 && strcmp(argv[i], "--help") == 0) {
			printf("%s%s", usage, fake_common_usage);
			ret = 0;
			goto cleanup;
		}
		if (r <= 0) {
			fprintf(stderr, "fake_helix: bad option '%s'\n%s%s", argv[i],
				usage, fake_common_usage);
			goto cleanup;
		}
	}
	if (any || h.ncams == 0)
		h.cams_any = true;
	ret = fake_run(&o, &app);
cleanup:
	helix_clear(&h);
	cams_clear(&h);
	pthread_mutex_destroy(&h.lock);
	return ret;
}

#include "audit_query.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

static cJSON *item_new(const PGresult *res, int r)
{
	cJSON *o = cJSON_CreateObject(), *detail;
	const char *actor = db_value(res, r, 4);
	long long id = strtoll(db_value(res, r, 0), NULL, 10);

	if (o == NULL || cJSON_AddNumberToObject(o, "id", (double)id) == NULL ||
	    json_add_string_or_null(o, "at", db_value(res, r, 1)) == NULL ||
	    json_add_string_or_null(o, "event", db_value(res, r, 2)) == NULL ||
	    json_add_string_or_null(o, "outcome", db_value(res, r, 3)) == NULL ||
	    (actor != NULL ? cJSON_AddNumberToObject(o, "actor_user_id", strtod(actor, NULL))
	                   : cJSON_AddNullToObject(o, "actor_user_id")) == NULL ||
	    json_add_string_or_null(o, "target", db_value(res, r, 5)) == NULL ||
	    json_add_string_or_null(o, "ip", db_value(res, r, 6)) == NULL ||
	    json_add_string_or_null(o, "request_id", db_value(res, r, 7)) == NULL)
		goto fail;
	/* Written by audit_record from cJSON, read back as PostgreSQL prints jsonb. */
	detail = cJSON_Parse(db_value(res, r, 8));
	if (detail == NULL)
		detail = cJSON_CreateObject();
	if (detail == NULL)
		goto fail;
	cJSON_AddItemToObject(o, "detail", detail);
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

cJSON *audit_query_json_new(struct db *db, const struct audit_filter *f, enum db_status *st)
{
	char limit[24];
	const char *params[6] = {f->event, f->user_id, f->name, f->before_id, f->since, limit};
	cJSON *body = NULL;
	PGresult *res;
	int n;

	/* One row more than asked tells whether another page follows. */
	snprintf(limit, sizeof limit, "%ld", f->limit + 1);
	/* The branches of a NULL filter fold away in a custom plan, which PostgreSQL picks while it is cheaper. */
	res = db_exec(db,
	              "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	              " event, outcome, actor_user_id, target, ip, request_id, detail::text"
	              " FROM audit_events"
	              " WHERE ($1::text IS NULL OR event = $1)"
	              " AND (($2::integer IS NULL AND $3::text IS NULL)"
	              "  OR actor_user_id = $2::integer OR target = $2::text OR target = $3::text)"
	              " AND ($4::bigint IS NULL OR id < $4::bigint)"
	              /* A date is UTC midnight, whatever the session's TimeZone (PGTZ) says. */
	              " AND ($5::timestamp IS NULL OR at >= $5::timestamp AT TIME ZONE 'UTC')"
	              " ORDER BY id DESC LIMIT $6::integer",
	              6, params, st);
	if (res == NULL)
		return NULL;
	*st = DB_ERROR;
	if ((body = db_items_new(res, (int)f->limit, item_new)) == NULL)
		goto fail;
	n = PQntuples(res);
	if ((n > f->limit ? cJSON_AddNumberToObject(body, "next_before_id",
	                                            strtod(db_value(res, (int)f->limit - 1, 0), NULL))
	                  : cJSON_AddNullToObject(body, "next_before_id")) == NULL)
		goto fail;
	PQclear(res);
	*st = DB_OK;
	return body;
fail:
	cJSON_Delete(body);
	PQclear(res);
	return NULL;
}

enum db_status audit_prune(struct db *db, long days, long *deleted)
{
	char d[24];
	const char *params[1] = {d};

	snprintf(d, sizeof d, "%ld", days);
	return db_run_count(db,
	                    "DELETE FROM audit_events WHERE at < now() - make_interval(days => $1::integer)",
	                    1, params, deleted);
}

bool audit_is_event_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == n;
}

/* An optional id 1..max: 1 given and valid, 0 absent, -1 malformed or out of range. */
static int query_id(const struct http_req *req, const char *name, long long max, char **out)
{
	long long v;
	char *end;
	int got = http_query_get(req, name, out);

	if (got != 1)
		return got;
	if ((*out)[0] < '1' || (*out)[0] > '9')
		return -1;
	v = strtoll(*out, &end, 10);
	return *end == '\0' && v > 0 && v <= max ? 1 : -1;
}

int audit_params_parse(const struct http_req *req, struct audit_params *p, const char **detail)
{
	static const char *const allowed[] = {"event", "user_id", "before_id", "limit", NULL};
	const char *q = req->query != NULL ? req->query : "";
	int got;

	memset(p, 0, sizeof *p);
	p->filter.limit = AUDIT_QUERY_LIMIT_DEFAULT;
	if (http_form_has_unknown(q, strlen(q), allowed)) {
		*detail = "Only event, user_id, before_id and limit may be given, once each.";
		return -1;
	}
	if ((got = http_query_get(req, "event", &p->event)) == -1 ||
	    /* Also keeps bytes that are not UTF-8 from PostgreSQL (a 500). */
	    (got == 1 && !audit_is_event_name(p->event))) {
		*detail = "event must be an event name.";
		return -1;
	}
	/* users.id is an integer column: a larger value would fail the query's cast (a 500). */
	if (query_id(req, "user_id", INT_MAX, &p->user_id) == -1 ||
	    query_id(req, "before_id", (1LL << 53) - 1, &p->before_id) == -1) {
		*detail = "user_id (up to 2147483647) and before_id must be positive integers.";
		return -1;
	}
	if ((got = http_query_get(req, "limit", &p->limit)) != 0 &&
	    (got == -1 || util_parse_long(p->limit, 1, AUDIT_QUERY_LIMIT_MAX, &p->filter.limit) == -1)) {
		*detail = "limit must be an integer from 1 to 200.";
		return -1;
	}
	p->filter.event = p->event;
	p->filter.user_id = p->user_id;
	p->filter.before_id = p->before_id;
	return 0;
}

void audit_params_cleanup(struct audit_params *p)
{
	free(p->event);
	free(p->user_id);
	free(p->before_id);
	free(p->limit);
	memset(p, 0, sizeof *p);
}

/*
 * audit_query — reading the audit log back: GET /api/admin/audit and
 * `farout-admin audit`. Newest first, keyset-paged by id (before_id), so a
 * page costs an index range scan however deep it is. Reads and prunes
 * audit_events, which lib/audit owns and writes.
 */
#ifndef FAROUT_AUDIT_QUERY_H
#define FAROUT_AUDIT_QUERY_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "http.h"

#define AUDIT_QUERY_LIMIT_DEFAULT 50
#define AUDIT_QUERY_LIMIT_MAX 200

/* Every field may be NULL (no filter); all borrowed. */
struct audit_filter {
	const char *event;     /* exactly this event */
	const char *user_id;   /* the user as actor or as target */
	const char *name;      /* or as the name typed (target), for `farout-admin audit --user` */
	const char *before_id; /* only ids below this one */
	const char *since;     /* only events at or after this timestamp (YYYY-MM-DD: UTC midnight) */
	long limit;            /* 1..AUDIT_QUERY_LIMIT_MAX */
};

/*
 * {"items": [{"id", "at", "event", "outcome", "actor_user_id", "target", "ip",
 * "request_id", "detail"}], "next_before_id": <id of the last item when more
 * follow, else null>}. Caller cJSON_Delete()s; NULL with *st saying why.
 */
cJSON *audit_query_json_new(struct db *, const struct audit_filter *, enum db_status *st);

/* The shape of an event name: 1-32 of [a-z_] (the API's filter and the CLI's --event). */
bool audit_is_event_name(const char *s);

/* GET /api/admin/audit's query string as a filter; the strings are owned here. */
struct audit_params {
	struct audit_filter filter;
	char *event, *user_id, *before_id, *limit;
};

/*
 * event (audit_is_event_name), user_id (1..INT_MAX, the range of
 * users.id), before_id (a positive integer) and limit (1..200, default 50),
 * each at most once and nothing else: 0, or -1 with *detail the 400's
 * sentence. Clean up with audit_params_cleanup either way.
 */
int audit_params_parse(const struct http_req *, struct audit_params *, const char **detail);
void audit_params_cleanup(struct audit_params *);

/* Deletes events older than days days; how many into *deleted. */
enum db_status audit_prune(struct db *, long days, long *deleted);

#endif

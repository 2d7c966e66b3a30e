/*
 * audit — the security event log (API.md "Audit log"), table audit_events in
 * farout_auth.
 *
 * A caller fills a struct audit_event (every pointer borrowed; nothing here
 * is kept or freed) and calls audit_record inside the transaction of the
 * change it records, so the change and its row commit or roll back together.
 * What goes in must never be a password, code, token, secret or hash: detail
 * holds names and reasons, not values. Owns the audit_events table (writes;
 * audit_query reads and prunes it).
 */
#ifndef FAROUT_AUDIT_H
#define FAROUT_AUDIT_H

#include <cjson/cJSON.h>

#include "db.h"
#include "http.h"

/* The longest target, ip and request id stored (longer ones are cut, at a UTF-8 boundary). */
#define AUDIT_TARGET_MAX 256
#define AUDIT_ADDR_MAX 64

struct audit_event {
	const char *event;         /* "login", "role_change", ... as in API.md */
	const char *outcome;       /* "ok" or the failure code */
	const char *actor_user_id; /* NULL when unknown */
	const char *target;        /* user id, member discord_id or the name typed; may be NULL */
	const char *ip;            /* may be NULL */
	const char *request_id;    /* nginx's $request_id; may be NULL */
	const cJSON *detail;       /* may be NULL ({} then) */
};

/* Fills ip and request_id from the request (pointers into req). */
void audit_from_req(struct audit_event *, const struct http_req *);

/* One INSERT on farout_auth.audit_events, in whatever transaction the caller has open. */
enum db_status audit_record(struct db *auth_db, const struct audit_event *);

/*
 * s cut to at most max bytes without splitting a UTF-8 sequence, into out
 * (out has room for max + 1 bytes). NULL stays NULL. Exposed for tests.
 */
const char *audit_clip(const char *s, char *out, size_t max);

#endif

/*
 * sessions — the rows of farout_auth.sessions, the allow-list of issued
 * tokens. Owns the sessions table (the look-up of a session's user is
 * users_find_by_session, since it returns a users row). auth issues the
 * tokens; this module only stores, lists, revokes and prunes their rows.
 *
 * A session is shown to people by its public_id (a random uuid kept beside
 * the jti), never by its jti: the list hands out nothing that could be turned
 * into a token. Ending writes revoked_at; the session look-up reads the row on
 * every request, so the next request with that token is refused on any
 * worker and host. Every function runs in whatever transaction is open.
 */
#ifndef FAROUT_SESSIONS_H
#define FAROUT_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "db.h"

#define SESSIONS_JTI_MAX 64 /* sessions.jti is varchar(64) */

#define SESSIONS_USER_AGENT_MAX 256 /* bytes of User-Agent a session keeps */

/* What a session records at sign-in (API.md "Sessions…"); each may be NULL. */
struct sessions_meta {
	const char *ip;
	const char *user_agent; /* valid UTF-8, at most SESSIONS_USER_AGENT_MAX bytes */
	const char *method;     /* "password" or "discord" */
};

/* A new live session jti of user_id until the Unix time expires_at; meta may be NULL. */
enum db_status sessions_insert(struct db *, const char *jti, const char *user_id,
                               int64_t expires_at, const struct sessions_meta *meta);
/* *live: session jti of user_id exists, is not revoked and has not expired. */
enum db_status sessions_is_live(struct db *, const char *user_id, const char *jti, bool *live);
/* Marks one session revoked (a no-op when it already is or does not exist). */
enum db_status sessions_revoke(struct db *, const char *user_id, const char *jti);
/* Marks every live session of a user revoked; how many into *revoked unless it is NULL. */
enum db_status sessions_revoke_all(struct db *, const char *user_id, long *revoked);
/*
 * Deletes sessions expired for over a day (the grace keeps them around for
 * whoever looks into a complaint): at most batch rows ("500"), every one
 * when batch is NULL. How many into *deleted unless it is NULL.
 */
enum db_status sessions_prune(struct db *, const char *batch, long *deleted);

/* A public id as the API shows it: a lower-case uuid (36 characters). */
bool sessions_is_public_id(const char *s);

/*
 * {"items": [{"id", "method", "created_at", "expires_at", "ip", "user_agent",
 * "current"}]}: user_id's live sessions, newest first; "current" marks the
 * one whose jti is current_jti (may be NULL). Caller cJSON_Delete()s. NULL
 * with *st saying why (DB_ERROR when out of memory).
 */
cJSON *sessions_list_json_new(struct db *, const char *user_id, const char *current_jti,
                              enum db_status *st);

/*
 * Ends user_id's live session public_id: *found false when it is no live
 * session of theirs; *was_current when it was the one of current_jti.
 */
enum db_status sessions_end_one(struct db *, const char *user_id, const char *public_id,
                                const char *current_jti, bool *found, bool *was_current);

/* Ends every live session of user_id but current_jti's; how many into *ended. */
enum db_status sessions_end_others(struct db *, const char *user_id, const char *current_jti,
                                   long *ended);

/*
 * user_id's live sessions for `farout-admin user sessions`: public_id,
 * created_at, expires_at, method, ip, user_agent, newest first. The caller
 * PQclear()s it; NULL with *st on failure.
 */
PGresult *sessions_roster(struct db *, const char *user_id, enum db_status *st);

#endif

/*
 * auth_events — the changes the auth routes make, each committed together
 * with its audit row (API.md "Audit log"): a sign-in's last_login, session
 * and row; a failure's throttle count and row; logout; ending sessions;
 * Discord sign-in and link. Owns no table: it orders the statements of
 * users, sessions, throttle and audit inside one farout_auth transaction.
 *
 * Every function takes the request for the row's address and request id and
 * returns DB_OK or the failing status (the transaction is rolled back then).
 */
#ifndef FAROUT_AUTH_EVENTS_H
#define FAROUT_AUTH_EVENTS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "db.h"
#include "discord.h"
#include "http.h"
#include "oauth.h"
#include "users.h"

/* One audit row for req, in whatever transaction is open. */
enum db_status auth_events_record(struct app *, const struct http_req *, const char *event,
                                  const char *outcome, const char *actor, const char *target,
                                  const cJSON *detail);

/*
 * A refused attempt: the throttle's failure count under key (none when key
 * is NULL) and the row of event with outcome commit together. A "login"
 * failure is also counted in the metrics.
 */
enum db_status auth_events_failure(struct app *, const struct http_req *, const char *key,
                                   const char *event, const char *outcome, const char *target);

/* throttle_allows with a row (outcome too_many_attempts) for the attempts it refuses. */
bool auth_events_throttle(struct app *, const struct http_req *, const struct user *u,
                          const char *name, const char *what, const char *event, char **key,
                          struct http_resp *);

/*
 * A password sign-in of u whose password was checked against verified_hash:
 * with u's row locked and its hash still verified_hash (else *stale, nothing
 * written: a password change committed during the check), last_login (and
 * new_hash unless NULL), the new session (*token, caller frees with
 * util_free_secret) and the login row.
 */
enum db_status auth_events_login(struct app *, const struct http_req *, struct user *u,
                                 const char *verified_hash, const char *new_hash, char **token,
                                 bool *stale);

/* Logout: the session revoked and the logout row. */
enum db_status auth_events_logout(struct app *, const struct http_req *, const char *user_id,
                                  const char *jti);

/* DELETE /api/auth/sessions/{id}: see sessions_end_one; a row when one was ended. */
enum db_status auth_events_end_session(struct app *, const struct http_req *, const char *user_id,
                                       const char *current_jti, const char *public_id,
                                       bool *found, bool *was_current);

/* DELETE /api/auth/sessions: every other live session of user_id ended, and one row. */
enum db_status auth_events_end_others(struct app *, const struct http_req *, const char *user_id,
                                      const char *current_jti, long *ended);

/*
 * The end of a Discord sign-in (discord_login) or link (discord_link) whose
 * user row is written in the open transaction: the session (*session, caller
 * frees) and the row, then COMMIT. OAUTH_OK, OAUTH_UNAVAILABLE or OAUTH_ERROR.
 */
enum oauth_result auth_events_discord_commit(struct app *, const struct http_req *,
                                             const struct user *u, const struct discord_user *du,
                                             bool link, char **session);

/* A failed Discord sign-in or link: its row on its own (nothing changed). */
void auth_events_discord_failure(struct app *, const struct http_req *, const char *link_user_id,
                                 const struct discord_user *du, enum oauth_result r);

#endif

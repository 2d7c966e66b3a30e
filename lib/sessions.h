/*
 * sessions — the rows of farout_auth.sessions, the allow-list of issued
 * tokens. Owns the sessions table (the look-up of a session's user is
 * users_find_by_session, since it returns a users row). auth issues the
 * tokens; this module only stores, revokes and prunes their rows.
 */
#ifndef FAROUT_SESSIONS_H
#define FAROUT_SESSIONS_H

#include <stdint.h>

#include "db.h"

#define SESSIONS_JTI_MAX 64 /* sessions.jti is varchar(64) */

/* A new live session jti of user_id until the Unix time expires_at. */
enum db_status sessions_insert(struct db *, const char *jti, const char *user_id,
                               int64_t expires_at);
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

#endif

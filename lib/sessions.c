#include "sessions.h"

#include <stdio.h>


enum db_status sessions_insert(struct db *db, const char *jti, const char *user_id,
                               int64_t expires_at)
{
	char exp[24];
	const char *params[3] = {jti, user_id, exp};

	snprintf(exp, sizeof exp, "%lld", (long long)expires_at);
	return db_run(db,
	              "INSERT INTO sessions (jti, user_id, expires_at) VALUES ($1, $2, to_timestamp($3))",
	              3, params);
}

enum db_status sessions_revoke(struct db *db, const char *user_id, const char *jti)
{
	const char *params[2] = {jti, user_id};

	return db_run(db,
	              "UPDATE sessions SET revoked_at = now()"
	              " WHERE jti = $1 AND user_id = $2 AND revoked_at IS NULL",
	              2, params);
}

enum db_status sessions_revoke_all(struct db *db, const char *user_id, long *revoked)
{
	const char *params[1] = {user_id};

	return db_run_count(db,
	                    "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
	                    1, params, revoked);
}

enum db_status sessions_prune(struct db *db, const char *batch, long *deleted)
{
	/* LIMIT NULL is no limit. */
	return db_run_count(db,
	                    "DELETE FROM sessions WHERE jti = ANY (ARRAY("
	                    "SELECT jti FROM sessions WHERE expires_at < now() - interval '1 day'"
	                    " LIMIT $1::bigint))",
	                    1, &batch, deleted);
}

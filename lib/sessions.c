#include "sessions.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

#define RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define LIVE "revoked_at IS NULL AND expires_at > now()"


enum db_status sessions_insert(struct db *db, const char *jti, const char *user_id,
                               int64_t expires_at, const struct sessions_meta *meta)
{
	char exp[24];
	const char *params[6] = {jti, user_id, exp, NULL, NULL, NULL};

	snprintf(exp, sizeof exp, "%lld", (long long)expires_at);
	if (meta != NULL) {
		params[3] = meta->ip;
		params[4] = meta->user_agent;
		params[5] = meta->method;
	}
	return db_run(db,
	              "INSERT INTO sessions (jti, user_id, expires_at, ip, user_agent, method)"
	              " VALUES ($1, $2, to_timestamp($3), $4, $5, $6)",
	              6, params);
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

bool sessions_is_public_id(const char *s)
{
	/* 8-4-4-4-12 hex digits, lower case, as PostgreSQL prints a uuid. */
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (s == NULL || strlen(s) != sizeof shape - 1)
		return false;
	for (size_t i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == '-' ? s[i] != '-'
		                    : !(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static cJSON *item_new(const PGresult *res, int r)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || json_add_string_or_null(o, "id", db_value(res, r, 0)) == NULL ||
	    json_add_string_or_null(o, "method", db_value(res, r, 1)) == NULL ||
	    json_add_string_or_null(o, "created_at", db_value(res, r, 2)) == NULL ||
	    json_add_string_or_null(o, "expires_at", db_value(res, r, 3)) == NULL ||
	    json_add_string_or_null(o, "ip", db_value(res, r, 4)) == NULL ||
	    json_add_string_or_null(o, "user_agent", db_value(res, r, 5)) == NULL ||
	    cJSON_AddBoolToObject(o, "current", db_bool(res, r, 6)) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *sessions_list_json_new(struct db *db, const char *user_id, const char *current_jti,
                              enum db_status *st)
{
	const char *params[2] = {user_id, current_jti};
	cJSON *body;
	PGresult *res;

	res = db_exec(db,
	              "SELECT public_id::text, method, " RFC3339("created_at") ", " RFC3339("expires_at")
	              ", ip, user_agent, jti IS NOT DISTINCT FROM $2"
	              " FROM sessions WHERE user_id = $1 AND " LIVE
	              " ORDER BY created_at DESC, public_id",
	              2, params, st);
	if (res == NULL)
		return NULL;
	body = db_items_new(res, -1, item_new);
	*st = body != NULL ? DB_OK : DB_ERROR;
	PQclear(res);
	return body;
}

enum db_status sessions_end_one(struct db *db, const char *user_id, const char *public_id,
                                const char *current_jti, bool *found, bool *was_current)
{
	const char *params[3] = {public_id, user_id, current_jti};
	enum db_status st;
	PGresult *res;

	*found = *was_current = false;
	if (!sessions_is_public_id(public_id))
		return DB_OK;
	res = db_exec(db,
	              "UPDATE sessions SET revoked_at = now()"
	              " WHERE public_id = $1::uuid AND user_id = $2 AND " LIVE
	              " RETURNING jti IS NOT DISTINCT FROM $3",
	              3, params, &st);
	if (res != NULL && PQntuples(res) == 1) {
		*found = true;
		*was_current = db_bool(res, 0, 0);
	}
	PQclear(res);
	return st;
}

enum db_status sessions_end_others(struct db *db, const char *user_id, const char *current_jti,
                                   long *ended)
{
	const char *params[2] = {user_id, current_jti};

	*ended = 0;
	return db_run_count(db,
	                    "UPDATE sessions SET revoked_at = now()"
	                    " WHERE user_id = $1 AND jti IS DISTINCT FROM $2 AND " LIVE,
	                    2, params, ended);
}

PGresult *sessions_roster(struct db *db, const char *user_id, enum db_status *st)
{
	const char *params[1] = {user_id};

	return db_exec(db,
	               "SELECT public_id::text, " RFC3339("created_at") ", " RFC3339("expires_at")
	               ", method, ip, user_agent FROM sessions"
	               " WHERE user_id = $1 AND " LIVE " ORDER BY created_at DESC",
	               1, params, st);
}

enum db_status sessions_is_live(struct db *db, const char *user_id, const char *jti, bool *live)
{
	const char *params[] = {jti, user_id};
	enum db_status st;
	PGresult *res = db_exec(db,
	                        "SELECT 1 FROM sessions WHERE jti = $1 AND user_id = $2::integer"
	                        " AND " LIVE,
	                        2, params, &st);

	*live = res != NULL && PQntuples(res) == 1;
	PQclear(res);
	return st;
}

#include "users.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

void user_cleanup(struct user *u)
{
	free(u->id);
	free(u->discord_id);
	free(u->username);
	free(u->discriminator);
	free(u->avatar);
	free(u->email);
	util_free_secret(u->hashed_password);
	free(u->role);
	free(u->created_at);
	free(u->last_login);
	memset(u, 0, sizeof *u);
}

/* A copy of the value, NULL for SQL NULL; *failed is set when strdup fails. */
static char *copy(const PGresult *res, int r, int c, bool *failed)
{
	const char *v = db_value(res, r, c);
	char *s;

	if (v == NULL)
		return NULL;
	s = strdup(v);
	if (s == NULL)
		*failed = true;
	return s;
}

int users_from_row(const PGresult *res, int r, int col0, struct user *u)
{
	bool failed = false;

	memset(u, 0, sizeof *u);
	u->id = copy(res, r, col0 + 0, &failed);
	u->discord_id = copy(res, r, col0 + 1, &failed);
	u->username = copy(res, r, col0 + 2, &failed);
	u->discriminator = copy(res, r, col0 + 3, &failed);
	u->avatar = copy(res, r, col0 + 4, &failed);
	u->email = copy(res, r, col0 + 5, &failed);
	u->hashed_password = copy(res, r, col0 + 6, &failed);
	u->role = copy(res, r, col0 + 7, &failed);
	u->must_change_password = db_bool(res, r, col0 + 8);
	u->is_active = db_bool(res, r, col0 + 9);
	u->created_at = copy(res, r, col0 + 10, &failed);
	u->last_login = copy(res, r, col0 + 11, &failed);
	/* id, username and role are NOT NULL columns: a row without them is not a user. */
	if (failed || u->id == NULL || u->username == NULL || u->role == NULL) {
		user_cleanup(u);
		return -1;
	}
	return 0;
}

/* The first row of res (if any) into u. */
static enum db_status first_row(PGresult *res, enum db_status st, struct user *u, bool *found)
{
	*found = false;
	if (st != DB_OK)
		return st;
	if (PQntuples(res) == 0)
		return DB_OK;
	if (PQnfields(res) < USERS_NCOLUMNS || users_from_row(res, 0, 0, u) == -1)
		return DB_ERROR;
	*found = true;
	return DB_OK;
}

/*
 * One statement for both ways in: an exact username wins over an email, and
 * an exact email over one that differs only in case (the unique index on
 * email is case-sensitive, so two such rows can exist).
 */
enum db_status users_find_login(struct db *db, const char *name, struct user *u, bool *found)
{
	const char *params[2] = {name, strchr(name, '@') != NULL ? "t" : "f"};
	enum db_status st;
	PGresult *res;

	memset(u, 0, sizeof *u);
	res = db_exec(db,
	              "SELECT " USERS_COLUMNS " FROM users u"
	              " WHERE u.username = $1 OR ($2::boolean AND lower(u.email) = lower($1))"
	              " ORDER BY u.username = $1 DESC, u.email = $1 DESC NULLS LAST, u.id LIMIT 1",
	              2, params, &st);
	st = first_row(res, st, u, found);
	PQclear(res);
	return st;
}

enum db_status users_find_by_id(struct db *db, const char *id, struct user *u, bool *found)
{
	const char *params[1] = {id};
	enum db_status st;
	PGresult *res;
	long n;

	memset(u, 0, sizeof *u);
	*found = false;
	/* Not an id at all: no such user, and no query error either. */
	if (util_parse_long(id, 1, 2147483647L, &n) == -1)
		return DB_OK;
	res = db_exec(db, "SELECT " USERS_COLUMNS " FROM users u WHERE u.id = $1", 1, params, &st);
	st = first_row(res, st, u, found);
	PQclear(res);
	return st;
}

/* Replaces *u by the first row of an UPDATE … RETURNING, when there is one. */
static enum db_status refresh(PGresult *res, enum db_status st, struct user *u, bool *updated)
{
	struct user fresh;

	*updated = false;
	if (st != DB_OK || PQntuples(res) == 0)
		return st;
	if (PQnfields(res) < USERS_NCOLUMNS || users_from_row(res, 0, 0, &fresh) == -1)
		return DB_ERROR;
	user_cleanup(u);
	*u = fresh;
	*updated = true;
	return DB_OK;
}

enum db_status users_record_login(struct db *db, struct user *u, const char *new_hash)
{
	const char *params[3] = {u->id, new_hash, u->hashed_password};
	enum db_status st;
	PGresult *res;
	bool updated;

	res = db_exec(db,
	              "UPDATE users AS u SET last_login = now(),"
	              " hashed_password = CASE WHEN $2::text IS NOT NULL AND u.hashed_password = $3"
	              "                        THEN $2 ELSE u.hashed_password END"
	              " WHERE u.id = $1 RETURNING " USERS_COLUMNS,
	              3, params, &st);
	st = refresh(res, st, u, &updated);
	PQclear(res);
	return st;
}

enum db_status users_set_password(struct db *db, struct user *u, const char *new_hash, bool *changed)
{
	const char *params[3] = {u->id, new_hash, u->hashed_password};
	enum db_status st;
	PGresult *res;

	res = db_exec(db,
	              "UPDATE users AS u SET hashed_password = $2, must_change_password = false"
	              " WHERE u.id = $1 AND u.hashed_password IS NOT DISTINCT FROM $3::text"
	              " RETURNING " USERS_COLUMNS,
	              3, params, &st);
	st = refresh(res, st, u, changed);
	PQclear(res);
	return st;
}

cJSON *users_to_json(const struct user *u)
{
	cJSON *o = cJSON_CreateObject();
	long id;
	bool ok;

	if (o == NULL || util_parse_long(u->id, 0, 2147483647L, &id) == -1)
		goto fail;
	ok = cJSON_AddNumberToObject(o, "id", (double)id) != NULL &&
	     json_add_string_or_null(o, "username", u->username) != NULL &&
	     json_add_string_or_null(o, "discord_id", u->discord_id) != NULL &&
	     json_add_string_or_null(o, "discriminator", u->discriminator) != NULL &&
	     json_add_string_or_null(o, "avatar", u->avatar) != NULL &&
	     json_add_string_or_null(o, "email", u->email) != NULL &&
	     json_add_string_or_null(o, "role", u->role) != NULL &&
	     cJSON_AddBoolToObject(o, "must_change_password", u->must_change_password) != NULL &&
	     cJSON_AddBoolToObject(o, "is_active", u->is_active) != NULL &&
	     json_add_string_or_null(o, "created_at", u->created_at) != NULL &&
	     json_add_string_or_null(o, "last_login", u->last_login) != NULL;
	if (ok)
		return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

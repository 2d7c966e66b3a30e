#include "users.h"

#include <limits.h>
#include <stdio.h>
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

/* Runs sql and takes its first row (if any) into u. */
static enum db_status one_user(struct db *db, const char *sql, int n, const char *const *params,
                               struct user *u, bool *found)
{
	enum db_status st;
	PGresult *res = db_exec(db, sql, n, params, &st);

	st = first_row(res, st, u, found);
	PQclear(res);
	return st;
}

/*
 * One statement for both ways in: an exact username wins over an email, and
 * an exact email over one that differs only in case (the unique index on
 * email is case-sensitive, so two such rows can exist).
 */
enum db_status users_find_login(struct db *db, const char *name, struct user *u, bool *found)
{
	const char *params[2] = {name, strchr(name, '@') != NULL ? "t" : "f"};

	memset(u, 0, sizeof *u);
	return one_user(db,
	                "SELECT " USERS_COLUMNS " FROM users u"
	                " WHERE u.username = $1 OR ($2::boolean AND lower(u.email) = lower($1))"
	                " ORDER BY u.username = $1 DESC, u.email = $1 DESC NULLS LAST, u.id LIMIT 1",
	                2, params, u, found);
}

enum db_status users_find_by_id(struct db *db, const char *id, struct user *u, bool *found)
{
	const char *params[1] = {id};
	long n;

	memset(u, 0, sizeof *u);
	*found = false;
	/* Not an id at all: no such user, and no query error either. */
	if (util_parse_long(id, 1, 2147483647L, &n) == -1)
		return DB_OK;
	return one_user(db, "SELECT " USERS_COLUMNS " FROM users u WHERE u.id = $1", 1, params, u,
	                found);
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

enum db_status users_lock_password(struct db *db, const char *id, const char *hash, bool *same)
{
	const char *params[2] = {id, hash};
	enum db_status st;
	PGresult *res = db_exec(db,
	                        "SELECT 1 FROM users WHERE id = $1::integer"
	                        " AND hashed_password = $2 FOR UPDATE",
	                        2, params, &st);

	*same = res != NULL && PQntuples(res) == 1;
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

enum db_status users_change_role(struct db *db, struct user *u, const char *from, const char *to,
                                 bool *changed)
{
	const char *params[3] = {u->id, from, to};
	enum db_status st;
	PGresult *res;

	res = db_exec(db,
	              "UPDATE users AS u SET role = $3 WHERE u.id = $1 AND u.role = $2"
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

/* ---- sessions' view of users ------------------------------------------------ */

enum db_status users_find_by_session(struct db *db, const char *jti, const char *user_id,
                                     struct user *u, bool *found)
{
	const char *params[2] = {jti, user_id};

	/* One indexed round trip: the session is live and its user is who the token names. */
	return one_user(db,
	                "SELECT " USERS_COLUMNS " FROM sessions s JOIN users u ON u.id = s.user_id"
	                " WHERE s.jti = $1 AND s.user_id = $2"
	                " AND s.revoked_at IS NULL AND s.expires_at > now()",
	                2, params, u, found);
}

/* ---- Discord accounts --------------------------------------------------------- */

/*
 * The email rule of API.md step 4 as SQL over parameter $E: Discord's
 * verified address unless another user has it (compared without case, as
 * mail systems do), else the row's own value. An account with a password
 * signs in with its email, so Discord sets that only while it has none.
 */
#define EMAIL_RULE(E)                                                                           \
	"email = CASE WHEN " E "::text IS NOT NULL "                                              \
	"AND (u.hashed_password IS NULL OR coalesce(u.email, '') = '') "                          \
	"AND NOT EXISTS (SELECT 1 FROM users o "                                                  \
	"WHERE lower(o.email) = lower(" E "::text) AND o.id <> u.id) THEN " E "::text "            \
	"ELSE u.email END"

enum db_status users_find_discord(struct db *db, const char *discord_id, char **id, bool *active,
                                  bool *found)
{
	const char *params[] = {discord_id};
	enum db_status st;
	PGresult *res = db_exec(db, "SELECT id::text, is_active FROM users WHERE discord_id = $1", 1,
	                        params, &st);

	*id = NULL;
	*active = *found = false;
	if (res == NULL)
		return st;
	if (PQntuples(res) == 1) {
		*active = db_bool(res, 0, 1);
		*found = true;
		if ((*id = strdup(PQgetvalue(res, 0, 0))) == NULL)
			st = DB_ERROR;
	}
	PQclear(res);
	return st;
}

enum db_status users_discord_refresh(struct db *db, const char *id, const struct users_discord *d,
                                     struct user *u, bool *found)
{
	const char *params[] = {id, d->discriminator, d->avatar, d->email};

	return one_user(db,
	                "UPDATE users AS u SET discriminator = $2::text, avatar = $3::text, "
	                EMAIL_RULE("$4") ", last_login = now() "
	                "WHERE u.id = $1::integer AND u.is_active "
	                "RETURNING " USERS_COLUMNS,
	                4, params, u, found);
}

enum db_status users_discord_insert(struct db *db, const char *username,
                                    const struct users_discord *d, struct user *u, bool *inserted)
{
	const char *params[] = {username, d->discord_id, d->discriminator, d->avatar, d->email};

	/*
	 * Names are compared without case: "Admin" must not pass for "admin"; and a
	 * name is never anyone's email, which would take over that email's sign-in.
	 */
	return one_user(db,
	                "INSERT INTO users AS u (username, discord_id, discriminator, avatar, email, "
	                "role, must_change_password, last_login) "
	                "SELECT $1::text, $2::text, $3::text, $4::text, "
	                "CASE WHEN $5::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users o "
	                "WHERE lower(o.email) = lower($5::text)) THEN $5::text END, "
	                "'member', false, now() "
	                "WHERE NOT EXISTS (SELECT 1 FROM users o "
	                "WHERE lower(o.username) = lower($1::text) OR lower(o.email) = lower($1::text)) "
	                "RETURNING " USERS_COLUMNS,
	                5, params, u, inserted);
}

enum db_status users_discord_owner(struct db *db, const char *discord_id, char **id)
{
	bool active, found;

	return users_find_discord(db, discord_id, id, &active, &found);
}

enum db_status users_discord_link(struct db *db, const char *user_id, const char *jti,
                                  const struct users_discord *d, struct user *u, bool *linked)
{
	const char *params[] = {user_id, d->discord_id, d->discriminator, d->avatar, d->email, jti};

	/* Only while the session that started the link (jti) is live: checked in the same statement. */
	return one_user(db,
	                "UPDATE users AS u SET discord_id = $2::text, discriminator = $3::text, "
	                "avatar = $4::text, "
	                EMAIL_RULE("$5") ", last_login = now() "
	                "WHERE u.id = $1::integer AND u.is_active AND NOT u.must_change_password "
	                "AND (u.discord_id IS NULL OR u.discord_id = $2::text) "
	                "AND EXISTS (SELECT 1 FROM sessions s WHERE s.jti = $6 AND s.user_id = u.id "
	                "AND s.revoked_at IS NULL AND s.expires_at > now()) "
	                "RETURNING " USERS_COLUMNS,
	                6, params, u, linked);
}

/* ---- the operators' statements (farout-admin) ------------------------------------ */

enum db_status users_id_by_name(struct db *db, const char *username, char id[USERS_ID_MAX],
                                bool *found)
{
	const char *const params[] = {username};
	enum db_status st;
	PGresult *res = db_exec(db, "SELECT id FROM users WHERE username = $1", 1, params, &st);

	*found = false;
	if (res != NULL && PQntuples(res) > 0) {
		snprintf(id, USERS_ID_MAX, "%s", PQgetvalue(res, 0, 0));
		*found = true;
	}
	PQclear(res);
	return st;
}

enum db_status users_taken(struct db *db, const char *username, const char *email,
                           bool *name_taken, bool *email_taken)
{
	const char *const params[] = {username, email};
	enum db_status st;
	PGresult *res = db_exec(db,
	                        "SELECT coalesce(bool_or(username = $1), false), coalesce(bool_or(email = $2), false)"
	                        " FROM users WHERE username = $1 OR email = $2",
	                        2, params, &st);

	*name_taken = *email_taken = false;
	if (res != NULL) {
		*name_taken = db_bool(res, 0, 0);
		*email_taken = db_bool(res, 0, 1);
	}
	PQclear(res);
	return st;
}

/* The INSERT of a local account; if_absent: nothing when it conflicts with an existing row. */
static PGresult *insert_local(struct db *db, const struct users_new *n, bool if_absent,
                              enum db_status *st)
{
	const char *params[5] = {n->username, n->email, n->hashed_password, n->role,
	                         n->must_change_password ? "true" : "false"};

	return db_exec(db,
	               if_absent ? "INSERT INTO users (username, email, hashed_password, role,"
	                           " must_change_password) VALUES ($1, $2, $3, $4, $5)"
	                           " ON CONFLICT DO NOTHING"
	                         : "INSERT INTO users (username, email, hashed_password, role,"
	                           " must_change_password) VALUES ($1, $2, $3, $4, $5) RETURNING id",
	               5, params, st);
}

enum db_status users_create(struct db *db, const struct users_new *n, char id[USERS_ID_MAX])
{
	enum db_status st;
	PGresult *res = insert_local(db, n, false, &st);

	if (res != NULL)
		snprintf(id, USERS_ID_MAX, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return st;
}

enum db_status users_seed(struct db *db, const struct users_new *n, bool *created)
{
	enum db_status st;
	PGresult *res = insert_local(db, n, true, &st);

	*created = res != NULL && db_affected(res) == 1;
	PQclear(res);
	return st;
}

enum db_status users_reset_password(struct db *db, const char *id, const char *hash,
                                    bool must_change)
{
	const char *params[3] = {id, hash, must_change ? "true" : "false"};

	return db_run(db,
	              "UPDATE users SET hashed_password = $2, must_change_password = $3 WHERE id = $1",
	              3, params);
}

enum db_status users_set_role(struct db *db, const char *username, const char *role,
                              char id[USERS_ID_MAX], char old_role[32], bool *found)
{
	const char *const params[] = {username, role};
	enum db_status st;
	PGresult *res = db_exec(db,
	                        "UPDATE users u SET role = $2 FROM (SELECT id, role FROM users"
	                        " WHERE username = $1 FOR UPDATE) old WHERE u.id = old.id"
	                        " RETURNING u.id, old.role",
	                        2, params, &st);

	*found = res != NULL && PQntuples(res) == 1;
	if (*found) {
		snprintf(id, USERS_ID_MAX, "%s", PQgetvalue(res, 0, 0));
		snprintf(old_role, 32, "%s", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return st;
}

enum db_status users_set_active(struct db *db, const char *id, bool active)
{
	const char *const params[] = {id, active ? "true" : "false"};

	return db_run(db, "UPDATE users SET is_active = $2 WHERE id = $1", 2, params);
}

PGresult *users_roster(struct db *db, enum db_status *st)
{
	return db_exec(db,
	               "SELECT id, username, email, role, "
	               "CASE WHEN is_active THEN 'yes' ELSE 'no' END, "
	               "CASE WHEN must_change_password THEN 'yes' ELSE 'no' END, discord_id, "
	               "to_char(last_login AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	               "FROM users ORDER BY id",
	               0, NULL, st);
}

/*
 * users — the rows of farout_auth.users and their JSON (API.md "User").
 *
 * A struct user owns its strings; user_cleanup frees them (the password hash
 * is wiped first). hashed_password never reaches JSON.
 */
#ifndef FAROUT_USERS_H
#define FAROUT_USERS_H

#include <stdbool.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "db.h"

/* The column list every SELECT uses, in the order users_from_row expects. */
#define USERS_COLUMNS                                                                      \
	"u.id, u.discord_id, u.username, u.discriminator, u.avatar, u.email, "            \
	"u.hashed_password, u.role, u.must_change_password, u.is_active, "                 \
	"to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "     \
	"to_char(u.last_login AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define USERS_NCOLUMNS 12

struct user {
	char *id; /* decimal text, as it goes into SQL parameters and JWT sub */
	char *discord_id;
	char *username;
	char *discriminator;
	char *avatar;
	char *email;
	char *hashed_password;
	char *role;
	bool must_change_password;
	bool is_active;
	char *created_at; /* RFC 3339 UTC */
	char *last_login;
};

void user_cleanup(struct user *);
/* Copies row r, columns col0 .. col0+USERS_NCOLUMNS-1, into u. 0 or -1 (out of memory). */
int users_from_row(const PGresult *, int r, int col0, struct user *u);

/* By exact username, or by email when the name holds '@' and no username matches. */
enum db_status users_find_login(struct db *, const char *name, struct user *u, bool *found);
enum db_status users_find_by_id(struct db *, const char *id, struct user *u, bool *found);

/*
 * A successful sign-in: sets last_login, and when new_hash is not NULL
 * replaces the password hash (only if it is still u->hashed_password, so a
 * concurrent change wins). u is refreshed from the updated row.
 */
enum db_status users_record_login(struct db *, struct user *u, const char *new_hash);
/*
 * Sets a new password hash and clears must_change_password, provided the
 * stored hash is still u->hashed_password (NULL: still none). *changed is
 * false when it was not (someone else changed it first); on success u is
 * refreshed from the updated row.
 */
enum db_status users_set_password(struct db *, struct user *u, const char *new_hash, bool *changed);

/* The API.md User object (never the hash). Caller cJSON_Deletes. */
cJSON *users_to_json(const struct user *);

#endif

/*
 * users — the rows of farout_auth.users and their JSON (API.md "User").
 * Owns the users table: every statement that reads or writes it is here
 * (the session look-up joins sessions to it; sessions.c owns the rest).
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
 * Locks user id's row (FOR UPDATE, until the open transaction ends) and says
 * whether its stored hash is still hash: a password login takes this lock
 * before it starts its session, so a password change either committed first
 * (*same false) or waits and then revokes the new session with the others.
 */
enum db_status users_lock_password(struct db *, const char *id, const char *hash, bool *same);
/*
 * Sets a new password hash and clears must_change_password, provided the
 * stored hash is still u->hashed_password (NULL: still none). *changed is
 * false when it was not (someone else changed it first); on success u is
 * refreshed from the updated row.
 */
enum db_status users_set_password(struct db *, struct user *u, const char *new_hash, bool *changed);

/* The user of a live session (jti, user_id): not revoked, not expired. */
enum db_status users_find_by_session(struct db *, const char *jti, const char *user_id,
                                     struct user *u, bool *found);

/* ---- Discord accounts (oauth.c runs the flow) ---- */

/* What a Discord sign-in writes; email is Discord's verified address or NULL. */
struct users_discord {
	const char *discord_id;
	const char *discriminator;
	const char *avatar;
	const char *email;
};

/* The user holding discord_id: *id (caller frees) and is_active. */
enum db_status users_find_discord(struct db *, const char *discord_id, char **id, bool *active,
                                  bool *found);
/* Refreshes an active returning user (tag, avatar, email rule, last_login); *found false when not active. */
enum db_status users_discord_refresh(struct db *, const char *id, const struct users_discord *,
                                     struct user *u, bool *found);
/*
 * A new member user named username, unless a user of that name in any case
 * exists (*inserted false). DB_CONFLICT when a unique index was lost to a race.
 */
enum db_status users_discord_insert(struct db *, const char *username, const struct users_discord *,
                                    struct user *u, bool *inserted);
/* The id of the user holding discord_id into *id (caller frees), NULL when none. */
enum db_status users_discord_owner(struct db *, const char *discord_id, char **id);
/*
 * Links discord_id to user_id, provided the user is active, needs no password
 * change, has no other Discord account and its session jti (the one that
 * started the link) is live; *linked false when the row no longer qualifies. DB_CONFLICT when the id or email was taken meanwhile.
 */
enum db_status users_discord_link(struct db *, const char *user_id, const char *jti,
                                  const struct users_discord *, struct user *u, bool *linked);

/* ---- local accounts (farout-admin and the migration seed) ---- */

#define USERS_ID_MAX 24 /* a decimal id with its NUL */

struct users_new {
	const char *username;
	const char *email; /* may be NULL */
	const char *hashed_password;
	const char *role;
	bool must_change_password;
};

/* The id of the user with exactly this username. */
enum db_status users_id_by_name(struct db *, const char *username, char id[USERS_ID_MAX],
                                bool *found);
/* Whether the username, or the email (NULL: never), is already used. */
enum db_status users_taken(struct db *, const char *username, const char *email,
                           bool *name_taken, bool *email_taken);
/* Inserts the user; its id into id. DB_CONFLICT when the name or email is taken. */
enum db_status users_create(struct db *, const struct users_new *, char id[USERS_ID_MAX]);
/* Inserts the user unless it conflicts with one that exists (*created false then). */
enum db_status users_seed(struct db *, const struct users_new *, bool *created);
/* An operator's new password for user id (no compare-and-set: the operator wins). */
enum db_status users_reset_password(struct db *, const char *id, const char *hash,
                                    bool must_change);
/* Sets the role of username; its id and the role it had into id and old_role (32 bytes). */
enum db_status users_set_role(struct db *, const char *username, const char *role,
                              char id[USERS_ID_MAX], char old_role[32], bool *found);
enum db_status users_set_active(struct db *, const char *id, bool active);
/*
 * Every user for `farout-admin user list`: id, username, email, role,
 * active (yes/no), must_change (yes/no), discord_id, last_login; never the
 * hash. The caller PQclear()s it; NULL with *st on failure.
 */
PGresult *users_roster(struct db *, enum db_status *st);

/*
 * Sets the role to `to` provided it is still `from` (so a concurrent change,
 * say to admin, wins). *changed says whether it was; then u is refreshed
 * from the updated row.
 */
enum db_status users_change_role(struct db *, struct user *u, const char *from, const char *to,
                                 bool *changed);

/* The API.md User object (never the hash). Caller cJSON_Deletes. */
cJSON *users_to_json(const struct user *);

#endif

/*
 * farout-admin — the operators' command line (API.md "farout-admin"): schema
 * migrations of both databases (migrate.c), local accounts, pruning expired
 * rows, and the member roster (admin-members.c over lib/members.c).
 *
 * Passwords come only from stdin, never from argv, and are wiped after use.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "admin.h"
#include "audit.h"
#include "auth.h"
#include "log.h"
#include "members.h"
#include "migrate.h"
#include "oauth.h"
#include "password.h"
#include "sessions.h"
#include "strength.h"
#include "throttle.h"
#include "totp_store.h"
#include "util.h"

#define PROG "farout-admin"
#define NAME_MAX_LEN 64
#define EMAIL_MAX_LEN 255
#define LINE_MAX_BYTES 1024
_Static_assert(LINE_MAX_BYTES - 2 > PASSWORD_MAX_BYTES, "a cut line must stay too long");


struct args {
	const char *name;  /* NAME */
	const char *value; /* ROLE of `user role` */
	const char *email;
	const char *role;
	bool keep;
	bool yes;
	int nrest; /* the arguments of a command that reads its own */
	char **rest;
};

enum { OPT_EMAIL = 1 << 0, OPT_ROLE = 1 << 1, OPT_KEEP = 1 << 2, OPT_YES = 1 << 3 };

struct command {
	const char *group;
	const char *verb; /* NULL for a command of one word */
	int npositional;
	unsigned options;
	bool reads_password;
	unsigned databases; /* 1 << TARGET_… */
	int (*run)(struct admin *, const struct args *);
	const char *synopsis;
	/* For a command that reads its own arguments: 0 when they are well-formed, else 2. */
	int (*check_own)(int argc, char **argv, FILE *err);
};

/* ---- messages ------------------------------------------------------------ */

/* ---- reading from stdin ------------------------------------------------------ */

static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void restore_tty_and_die(int sig)
{
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}


static int prompt_hidden(const char *prompt, char *buf, size_t cap, size_t *len)
{
	struct termios quiet;
	int rc;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
		quiet = saved_tty;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		signal(SIGINT, restore_tty_and_die);
		signal(SIGTERM, restore_tty_and_die);
		tty_changed = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	rc = admin_read_line(buf, cap, len);
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	tty_changed = 0;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	fputc('\n', stderr);
	return rc;
}

/*
 * The new password: one line of stdin, or asked twice without echo on a
 * terminal. A line longer than pw comes back cut to cap - 1 bytes, still too
 * long for any password, for the policy to refuse.
 */
static int read_password(const char *username, char *pw, size_t cap, size_t *len)
{
	char again[LINE_MAX_BYTES];
	size_t again_len = 0;
	char prompt[128];
	int got;

	if (!isatty(STDIN_FILENO)) {
		got = admin_read_line(pw, cap, len);
	} else {
		snprintf(prompt, sizeof prompt, "New password for %s: ", username);
		got = prompt_hidden(prompt, pw, cap, len);
		if (got == 1 && (prompt_hidden("Repeat it: ", again, sizeof again, &again_len) != 1 ||
		                 !util_ct_equal(pw, *len, again, again_len)))
			got = -2;
		util_wipe(again, sizeof again);
	}
	if (got == 0)
		return admin_fail("no password on stdin (it is read from there, one line)");
	if (got == -2)
		return admin_fail("the two passwords differ");
	return 0;
}

/* The whole chain from stdin to a $2b$ hash; *hash is freed with util_free_secret. */
static int new_password_hash(struct admin *a, const char *username, const char *email,
                             char **hash)
{
	char pw[LINE_MAX_BYTES];
	size_t len = 0;
	const char *weak;
	int rc = 1;

	*hash = NULL;
	if (read_password(username, pw, sizeof pw, &len) != 0)
		goto out;
	/* An operator cannot know the current password: that part of the rule is left out. */
	if ((weak = strength_check(pw, len, username, email, NULL)) != NULL) {
		admin_fail("%s", weak);
		goto out;
	}
	*hash = password_hash_new(pw, len, a->cfg.bcrypt_cost);
	rc = *hash == NULL ? admin_fail("could not hash the password") : 0;
out:
	util_wipe(pw, sizeof pw);
	return rc;
}

static bool confirmed(void)
{
	char line[64];
	size_t len;
	bool ok;

	fflush(stdout);
	fputs("This drops every table of farout_auth and farout and all their data. "
	      "Type \"yes\" to continue: ",
	      stderr);
	fflush(stderr);
	ok = admin_read_line(line, sizeof line, &len) == 1 && strcmp(line, "yes") == 0;
	/* A terminal echoed the Enter; piped answers leave the prompt's line open. */
	if (!isatty(STDIN_FILENO))
		fputc('\n', stderr);
	return ok;
}

/* ---- migrate (migrate.c does the work) ---------------------------------------- */

static int cmd_migrate_up(struct admin *a, const struct args *args)
{
	(void)args;
	return migrate_up(a);
}

static int cmd_migrate_down(struct admin *a, const struct args *args)
{
	return migrate_down(a, args->yes ? NULL : confirmed);
}

static int cmd_migrate_status(struct admin *a, const struct args *args)
{
	(void)args;
	return migrate_status(a);
}

/* ---- users ------------------------------------------------------------------- */

static bool is_valid_name(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= NAME_MAX_LEN &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool is_valid_email(const char *email)
{
	const char *at = strchr(email, '@');
	size_t n = strlen(email);

	if (n > EMAIL_MAX_LEN || at == NULL || at == email || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || !util_is_utf8(email, n))
		return false;
	for (const char *p = email; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static int check_name(const char *name)
{
	if (!is_valid_name(name))
		return admin_usage_error("invalid user name \"%s\": 1-%d characters of A-Z a-z 0-9 . _ -",
		                   name, NAME_MAX_LEN);
	return 0;
}

static int check_role(const char *role)
{
	enum role r;

	if (auth_role_parse(role, &r) == -1)
		return admin_usage_error("invalid role \"%s\": one of member, officer, admin", role);
	return 0;
}

/* Before anything else: a clear word when migrations were never run. */
static int require_users(struct admin *a)
{
	int exists = admin_table_exists(&a->db[TARGET_AUTH], "users");

	if (exists == 0)
		return admin_fail("%s has no users table; run `farout-admin migrate up` first",
		                  admin_db_name(&a->db[TARGET_AUTH]));
	return exists < 0 ? 1 : 0;
}

/* Tokens of the user stop working at once: their sessions are the allow-list. */
static int revoke_sessions(struct db *db, const char *user_id, long *revoked)
{
	enum db_status st;
	int exists = admin_table_exists(db, "sessions");

	/* Accounts can be managed before the migration that creates sessions. */
	*revoked = 0;
	if (exists <= 0)
		return -exists;
	st = sessions_revoke_all(db, user_id, revoked);
	return st == DB_OK ? 0 : admin_db_failed(db, st, "revoking sessions");
}

/* Whether the name or the email is taken: 0 when neither, else 1 with the message. */
static int check_taken(struct db *db, const char *name, const char *email)
{
	bool name_taken = false, email_taken = false;
	enum db_status st = users_taken(db, name, email, &name_taken, &email_taken);

	if (st != DB_OK)
		return admin_db_failed(db, st, "looking up the user");
	if (name_taken || (email_taken && email == NULL))
		return admin_fail("user \"%s\" already exists", name);
	if (email_taken)
		return admin_fail("email \"%s\" is already used by another user", email);
	return 0;
}

static int cmd_user_add(struct admin *a, const struct args *args)
{
	struct db *db = &a->db[TARGET_AUTH];
	struct users_new n = {args->name, args->email, NULL, args->role != NULL ? args->role : "member",
	                      !args->keep};
	char id[USERS_ID_MAX];
	struct audit_event ev = {"user_add", "ok", NULL, NULL, NULL, NULL, NULL};
	cJSON *detail = NULL;
	char *hash = NULL;
	enum db_status st;
	int rc;

	if ((rc = require_users(a)) != 0 || (rc = check_taken(db, args->name, args->email)) != 0 ||
	    (rc = new_password_hash(a, args->name, args->email, &hash)) != 0)
		goto out;
	n.hashed_password = hash;
	if ((st = db_begin(db)) != DB_OK) {
		rc = admin_db_failed(db, st, "creating the user");
		goto out;
	}
	st = users_create(db, &n, id);
	if (st != DB_OK) {
		db_rollback(db);
		rc = st == DB_CONFLICT ? check_taken(db, args->name, args->email)
		                       : admin_db_failed(db, st, "creating the user");
		goto out;
	}
	ev.target = id;
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(detail, "username", args->name) == NULL ||
	    cJSON_AddStringToObject(detail, "role", n.role) == NULL ||
	    cJSON_AddStringToObject(detail, "via", "farout-admin") == NULL)
		st = DB_ERROR;
	ev.detail = detail;
	if (st != DB_OK || (st = audit_record(db, &ev)) != DB_OK || (st = db_commit(db)) != DB_OK) {
		db_rollback(db);
		rc = admin_db_failed(db, st, "creating the user");
		goto out;
	}
	printf("✓ User \"%s\" created (id %s, role %s%s)\n", args->name, id, n.role,
	       args->keep ? "" : ", must change the password at first login");
out:
	cJSON_Delete(detail);
	util_free_secret(hash);
	return rc;
}

/* One change of a user row: a new password hash, else is_active. */
struct user_write {
	const char *id;
	const char *hash; /* NULL: set is_active */
	bool must_change;
	bool active;
};

static enum db_status write_user(struct db *db, const struct user_write *w)
{
	if (w->hash != NULL)
		return users_reset_password(db, w->id, w->hash, w->must_change);
	return users_set_active(db, w->id, w->active);
}

/*
 * The change, when revoke the revocation of the user's sessions, and the
 * audit row of event, in one transaction: all of it or nothing. The operator
 * at the console is no user: the row has no actor and says "via": "farout-admin".
 */
static int update_user(struct db *db, const struct user_write *w, bool revoke, long *revoked,
                       const char *what, const char *event)
{
	struct audit_event ev = {event, "ok", NULL, w->id, NULL, NULL, NULL};
	cJSON *detail = NULL;
	enum db_status st;
	int rc = 1;

	*revoked = 0;
	if ((st = db_begin(db)) != DB_OK || (st = write_user(db, w)) != DB_OK) {
		rc = admin_db_failed(db, st, what);
		goto out;
	}
	if (revoke && revoke_sessions(db, w->id, revoked) != 0)
		goto out;
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(detail, "via", "farout-admin") == NULL ||
	    (revoke && cJSON_AddNumberToObject(detail, "sessions_ended", (double)*revoked) == NULL)) {
		rc = admin_fail("out of memory");
		goto out;
	}
	ev.detail = detail;
	if ((st = audit_record(db, &ev)) != DB_OK || (st = db_commit(db)) != DB_OK) {
		rc = admin_db_failed(db, st, what);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		db_rollback(db);
	cJSON_Delete(detail);
	return rc;
}

static int cmd_user_passwd(struct admin *a, const struct args *args)
{
	char id[USERS_ID_MAX];
	struct user_write w = {id, NULL, !args->keep, true};
	char *hash = NULL;
	long revoked = 0;
	struct user u = {0};
	bool found = false;
	int rc;

	if ((rc = require_users(a)) != 0 || (rc = admin_user_id(a, args->name, id)) != 0)
		goto out;
	/* The strength rule counts the email's local part as one of the user's own words. */
	if (users_find_by_id(&a->db[TARGET_AUTH], id, &u, &found) != DB_OK || !found) {
		rc = admin_fail("could not read user \"%s\"", args->name);
		goto out;
	}
	if ((rc = new_password_hash(a, args->name, u.email, &hash)) != 0)
		goto out;
	w.hash = hash;
	rc = update_user(&a->db[TARGET_AUTH], &w, true, &revoked, "setting the password",
	                 "password_change");
	if (rc == 0)
		printf("✓ Password of \"%s\" set%s; %ld session(s) revoked\n", args->name,
		       args->keep ? "" : " (must be changed at next login)", revoked);
out:
	user_cleanup(&u);
	util_free_secret(hash);
	return rc;
}

static int cmd_user_role(struct admin *a, const struct args *args)
{
	struct db *db = &a->db[TARGET_AUTH];
	char id[USERS_ID_MAX], old_role[32];
	bool found = false;
	cJSON *detail = NULL;
	struct audit_event ev = {"role_change", "ok", NULL, id, NULL, NULL, NULL};
	enum db_status st;
	int rc;

	if ((rc = require_users(a)) != 0)
		return rc;
	if ((st = db_begin(db)) != DB_OK)
		return admin_db_failed(db, st, "changing the role");
	/* Roles are read from the database at every request: no session needs revoking. */
	st = users_set_role(db, args->name, args->value, id, old_role, &found);
	if (st != DB_OK) {
		rc = admin_db_failed(db, st, "changing the role");
		goto out;
	}
	if (!found) {
		rc = admin_fail("user \"%s\" does not exist", args->name);
		goto out;
	}
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(detail, "from", old_role) == NULL ||
	    cJSON_AddStringToObject(detail, "to", args->value) == NULL ||
	    cJSON_AddStringToObject(detail, "via", "farout-admin") == NULL) {
		rc = admin_fail("out of memory");
		goto out;
	}
	ev.detail = detail;
	if ((st = audit_record(db, &ev)) != DB_OK || (st = db_commit(db)) != DB_OK) {
		rc = admin_db_failed(db, st, "recording the role change");
		goto out;
	}
	printf("✓ \"%s\" is now %s\n", args->name, args->value);
out:
	if (rc != 0)
		db_rollback(db);
	cJSON_Delete(detail);
	return rc;
}

static int set_active(struct admin *a, const struct args *args, bool active)
{
	char id[USERS_ID_MAX];
	struct user_write w = {id, NULL, false, active};
	long revoked = 0;
	int rc;

	if ((rc = require_users(a)) != 0 || (rc = admin_user_id(a, args->name, id)) != 0 ||
	    (rc = update_user(&a->db[TARGET_AUTH], &w, !active, &revoked, "updating the user",
	                      active ? "user_enable" : "user_disable")) != 0)
		return rc;
	if (active)
		printf("✓ \"%s\" enabled\n", args->name);
	else
		printf("✓ \"%s\" disabled; %ld session(s) revoked\n", args->name, revoked);
	return 0;
}

static int cmd_user_disable(struct admin *a, const struct args *args)
{
	return set_active(a, args, false);
}

static int cmd_user_enable(struct admin *a, const struct args *args)
{
	return set_active(a, args, true);
}

/* Width on a terminal: code points of valid UTF-8, bytes otherwise. */
static size_t display_len(const char *s)
{
	size_t n = strlen(s);
	return util_is_utf8(s, n) ? util_utf8_len(s) : n;
}

/* Values come from Discord too: no control character reaches the terminal. */
static void print_cell(const char *s, size_t width, bool last)
{
	size_t w = display_len(s);

	for (const char *p = s; *p != '\0'; p++)
		putchar(((unsigned char)*p < ' ' || *p == 0x7f) ? '?' : *p);
	if (last) {
		putchar('\n');
		return;
	}
	for (; w < width + 2; w++)
		putchar(' ');
}

static int cmd_user_list(struct admin *a, const struct args *args)
{
	static const char *const header[] = {"id",          "username",   "email",     "role",
	                                     "active",      "must_change", "discord_id", "last_login"};
	enum { NCOLS = UTIL_ARRAY_LEN(header) };
	struct db *db = &a->db[TARGET_AUTH];
	size_t width[NCOLS];
	enum db_status st;
	PGresult *res;
	int rc;

	(void)args;
	if ((rc = require_users(a)) != 0)
		return rc;
	res = users_roster(db, &st);
	if (res == NULL)
		return admin_db_failed(db, st, "listing users");
	for (int c = 0; c < NCOLS; c++) {
		width[c] = strlen(header[c]);
		for (int r = 0; r < PQntuples(res); r++) {
			const char *v = db_value(res, r, c);
			size_t w = display_len(v != NULL ? v : "-");
			if (w > width[c])
				width[c] = w;
		}
	}
	for (int c = 0; c < NCOLS; c++)
		print_cell(header[c], width[c], c == NCOLS - 1);
	for (int r = 0; r < PQntuples(res); r++)
		for (int c = 0; c < NCOLS; c++) {
			const char *v = db_value(res, r, c);
			print_cell(v != NULL ? v : "-", width[c], c == NCOLS - 1);
		}
	PQclear(res);
	return 0;
}

/* ---- totp-reset ------------------------------------------------------------------ */

/* For a lost phone: the user signs in with the password alone again and may set up anew. */
static int cmd_user_totp_reset(struct admin *a, const struct args *args)
{
	struct db *db = &a->db[TARGET_AUTH];
	char id[USERS_ID_MAX];
	struct audit_event ev = {"totp_disable", "ok", NULL, id, NULL, NULL, NULL};
	cJSON *detail;
	bool removed = false;
	enum db_status st;
	int rc, exists;

	if ((rc = require_users(a)) != 0 || (rc = admin_user_id(a, args->name, id)) != 0)
		return rc;
	exists = admin_table_exists(db, "user_totp");
	if (exists < 0)
		return 1;
	if (exists == 0)
		return admin_fail("%s has no user_totp table; run `farout-admin migrate up` first",
		                  admin_db_name(db));
	/* The audit row says an operator did it: no actor, detail {"reset": true}. */
	detail = cJSON_CreateObject();
	ev.detail = detail;
	st = detail != NULL && cJSON_AddTrueToObject(detail, "reset") != NULL ? db_begin(db) : DB_ERROR;
	if (st == DB_OK)
		st = totp_store_remove(db, id, &removed);
	rc = admin_commit_audited(db, st, removed ? &ev : NULL, "turning two-factor sign-in off");
	cJSON_Delete(detail);
	if (rc != 0)
		return rc;
	if (removed)
		printf("✓ two-factor sign-in of \"%s\" turned off (secret and recovery codes deleted)\n",
		       args->name);
	else
		printf("✓ \"%s\" had no two-factor sign-in; nothing to do\n", args->name);
	return 0;
}

/* ---- prune -------------------------------------------------------------------- */

/*
 * Expired rows nobody can use any more. Sessions stay a day past expiry so a
 * token refused as expired is still told apart from one never issued; OAuth
 * states likewise outlive their signed 600 s lifetime by a wide margin.
 */
static const struct {
	const char *table;
	enum db_status (*prune)(struct db *, const char *batch, long *deleted); /* its owner's */
} prunable[] = {
	{"sessions", sessions_prune},
	{"login_attempts", throttle_prune},
	{"oauth_states", oauth_states_prune},
	{"mfa_tokens", totp_store_prune},
};

static int cmd_prune(struct admin *a, const struct args *args)
{
	struct db *db = &a->db[TARGET_AUTH];
	enum db_status st;
	long deleted = 0;

	(void)args;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(prunable); i++) {
		int has = admin_column_exists(db, prunable[i].table, "expires_at");

		if (has < 0)
			return 1;
		if (has == 0) {
			printf("%s: skipped (no such table with an expires_at column)\n", prunable[i].table);
			continue;
		}
		st = prunable[i].prune(db, NULL, &deleted);
		if (st != DB_OK)
			return admin_db_failed(db, st, prunable[i].table);
		printf("%s: %ld expired row(s) deleted\n", prunable[i].table, deleted);
	}
	return admin_audit_prune(a);
}

/* ---- sessions and the audit log (db/admin-accountability.c) ------------------------------ */

static int cmd_user_sessions(struct admin *a, const struct args *args)
{
	int rc = require_users(a);

	return rc != 0 ? rc : admin_user_sessions(a, args->name);
}

static int cmd_user_logout(struct admin *a, const struct args *args)
{
	int rc = require_users(a);

	return rc != 0 ? rc : admin_user_logout(a, args->name);
}

static int cmd_audit(struct admin *a, const struct args *args)
{
	return admin_audit(a, args->nrest, args->rest);
}

/* ---- members (admin-members.c) ---------------------------------- */

static int cmd_members(struct admin *a, const struct args *args)
{
	return admin_members(a, args->nrest, args->rest, stdout, stderr);
}

/* ---- the command line ------------------------------------------------------------ */

#define BOTH ((1u << TARGET_AUTH) | (1u << TARGET_APP))
#define AUTH (1u << TARGET_AUTH)

static const struct command commands[] = {
	{"migrate", "up", 0, 0, false, BOTH, cmd_migrate_up, "migrate up", NULL},
	{"migrate", "down", 0, OPT_YES, false, BOTH, cmd_migrate_down, "migrate down [--yes]", NULL},
	{"migrate", "status", 0, 0, false, BOTH, cmd_migrate_status, "migrate status", NULL},
	{"user", "add", 1, OPT_EMAIL | OPT_ROLE | OPT_KEEP, true, AUTH, cmd_user_add,
	 "user add NAME [--email E] [--role R] [--keep]", NULL},
	{"user", "passwd", 1, OPT_KEEP, true, AUTH, cmd_user_passwd, "user passwd NAME [--keep]",
	 NULL},
	{"user", "role", 2, 0, false, AUTH, cmd_user_role, "user role NAME ROLE", NULL},
	{"user", "disable", 1, 0, false, AUTH, cmd_user_disable, "user disable NAME", NULL},
	{"user", "enable", 1, 0, false, AUTH, cmd_user_enable, "user enable NAME", NULL},
	{"user", "list", 0, 0, false, AUTH, cmd_user_list, "user list", NULL},
	{"user", "sessions", 1, 0, false, AUTH, cmd_user_sessions, "user sessions NAME", NULL},
	{"user", "logout", 1, 0, false, AUTH, cmd_user_logout, "user logout NAME", NULL},
	{"audit", NULL, 0, 0, false, AUTH, cmd_audit,
	 "audit [--user NAME] [--event E] [--since YYYY-MM-DD] [--limit N]",
	 admin_audit_usage},
	{"user", "totp-reset", 1, 0, false, AUTH, cmd_user_totp_reset, "user totp-reset NAME", NULL},
	{"prune", NULL, 0, 0, false, AUTH, cmd_prune, "prune", NULL},
	{"members", NULL, 0, 0, false, BOTH, cmd_members,
	 "members list | set-rank DISCORD_ID RANK | import FILE.json", admin_members_usage},
};

static void print_help(void)
{
	fputs("usage: " PROG " COMMAND\n"
	      "\n"
	      "Schema of both databases (AUTH_DATABASE_URL: farout_auth, DATABASE_URL: farout):\n"
	      "  migrate up              apply pending migrations; seeds the default admin once\n"
	      "                          (admin / Admin123!, must be changed at first login)\n"
	      "  migrate down [--yes]    roll back every migration: drops all tables and data;\n"
	      "                          asks for \"yes\" on stdin unless --yes\n"
	      "  migrate status          applied and pending migrations per database\n"
	      "\n"
	      "Local accounts (farout_auth.users):\n"
	      "  user add NAME [--email E] [--role R] [--keep]\n"
	      "                          create a user (role member unless R)\n"
	      "  user passwd NAME [--keep]\n"
	      "                          set a new password and revoke the user's sessions\n"
	      "  user role NAME ROLE     ROLE is member, officer or admin\n"
	      "  user disable NAME       refuse sign-in and revoke every session\n"
	      "  user enable NAME        allow sign-in again\n"
	      "  user list               every user (never the password hash)\n"
	      "  user sessions NAME      the user's live sessions (id, times, method, address, agent)\n"
	      "  user logout NAME        end every session of the user\n"
	      "  audit [--user NAME] [--event E] [--since YYYY-MM-DD] [--limit N]\n"
	      "                          security events, newest first (50 unless N)\n"
	      "  user totp-reset NAME    turn the user's two-factor sign-in off (a lost phone)\n"
	      "  prune                   delete expired sessions, login counters, OAuth states,\n"
	      "                          two-factor sign-ins in progress, and audit events\n"
	      "                          older than AUDIT_RETENTION_DAYS (365)\n"
	      "\n"
	      "Member roster (farout.members):\n"
	      "  members list            discord_id, rank, display_name (tab-separated)\n"
	      "  members set-rank DISCORD_ID RANK\n"
	      "  members import FILE.json\n"
	      "                          a JSON array of members: each created, or updated\n"
	      "                          when its discord_id exists; all or nothing\n"
	      "\n"
	      "NAME is 1-64 characters of A-Z a-z 0-9 . _ - ; E one address with one @.\n"
	      "Passwords are read only from stdin, one line (asked twice, without echo, on a\n"
	      "terminal), never from the command line: 10-72 bytes, not containing NAME in\n"
	      "any case. A password set here must be changed at the next login unless --keep.\n"
	      "\n"
	      "Environment: DATABASE_URL, AUTH_DATABASE_URL, BCRYPT_COST (12),\n"
	      "AUDIT_RETENTION_DAYS (365), and\n"
	      "FAROUT_MIGRATIONS_DIR (default: migrations/ beside this program, else\n"
	      "../share/farout-auth/migrations).\n"
	      "Exit status: 0 done, 1 failed or not confirmed, 2 usage error.\n",
	      stdout);
}

static const struct command *find_command(const char *group, const char *verb, bool *group_known)
{
	*group_known = false;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(commands); i++) {
		if (strcmp(commands[i].group, group) != 0)
			continue;
		*group_known = true;
		if (commands[i].verb == NULL || (verb != NULL && strcmp(commands[i].verb, verb) == 0))
			return &commands[i];
	}
	return NULL;
}

/* "--name VALUE" or "--name=VALUE"; NULL with *bad set when the value is missing. */
static const char *option_value(const char *arg, const char *name, int *i, int argc, char **argv,
                                bool *matched)
{
	size_t n = strlen(name);

	*matched = false;
	if (strncmp(arg, name, n) != 0 || (arg[n] != '\0' && arg[n] != '='))
		return NULL;
	*matched = true;
	if (arg[n] == '=')
		return arg + n + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int parse_args(const struct command *cmd, int argc, char **argv, struct args *out)
{
	const char *positional[2] = {NULL, NULL};
	int npos = 0;
	bool options_done = false, matched;

	memset(out, 0, sizeof *out);
	if (cmd->check_own != NULL) {
		out->nrest = argc;
		out->rest = argv;
		return cmd->check_own(argc, argv, stderr);
	}
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *v;

		if (options_done || arg[0] != '-' || arg[1] == '\0') {
			if (npos >= cmd->npositional)
				return cmd->reads_password
				               ? admin_usage_error("unexpected argument: passwords are read from "
				                             "stdin, never from the command line")
				               : admin_usage_error("unexpected argument \"%s\" (usage: " PROG " %s)",
				                             arg, cmd->synopsis);
			positional[npos++] = arg;
		} else if (strcmp(arg, "--") == 0) {
			options_done = true;
		} else if ((cmd->options & OPT_KEEP) && strcmp(arg, "--keep") == 0) {
			out->keep = true;
		} else if ((cmd->options & OPT_YES) && strcmp(arg, "--yes") == 0) {
			out->yes = true;
		} else if ((cmd->options & OPT_EMAIL) &&
		           ((v = option_value(arg, "--email", &i, argc, argv, &matched)) != NULL || matched)) {
			if (v == NULL)
				return admin_usage_error("--email needs a value");
			out->email = v;
		} else if ((cmd->options & OPT_ROLE) &&
		           ((v = option_value(arg, "--role", &i, argc, argv, &matched)) != NULL || matched)) {
			if (v == NULL)
				return admin_usage_error("--role needs a value");
			out->role = v;
		} else {
			/* Only the name: the value may be a password typed where it does not belong. */
			return admin_usage_error("unknown option \"%.*s\" (usage: " PROG " %s)",
			                   (int)strcspn(arg, "="), arg, cmd->synopsis);
		}
	}
	if (npos < cmd->npositional)
		return admin_usage_error("missing argument (usage: " PROG " %s)", cmd->synopsis);
	out->name = positional[0];
	out->value = positional[1];
	if (out->name != NULL && check_name(out->name) != 0)
		return ADMIN_EXIT_USAGE;
	if (out->value != NULL && check_role(out->value) != 0)
		return ADMIN_EXIT_USAGE;
	if (out->role != NULL && check_role(out->role) != 0)
		return ADMIN_EXIT_USAGE;
	if (out->email != NULL && !is_valid_email(out->email))
		return admin_usage_error("invalid email \"%s\": one @, no spaces, at most %d characters",
		                   out->email, EMAIL_MAX_LEN);
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct admin a;
	struct args args;
	char err[512];
	bool group_known;
	int first, rc;

	log_init(PROG);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	                  strcmp(argv[1], "help") == 0)) {
		print_help();
		return 0;
	}
	if (argc < 2)
		return admin_usage_error("missing command (see " PROG " --help)");
	cmd = find_command(argv[1], argc >= 3 ? argv[2] : NULL, &group_known);
	if (cmd == NULL && !group_known)
		return admin_usage_error("unknown command \"%s\" (see " PROG " --help)", argv[1]);
	if (cmd == NULL && argc < 3)
		return admin_usage_error("%s needs a subcommand (see " PROG " --help)", argv[1]);
	if (cmd == NULL)
		return admin_usage_error("unknown command \"%s %s\" (see " PROG " --help)", argv[1], argv[2]);
	first = cmd->verb != NULL ? 3 : 2;
	if ((rc = parse_args(cmd, argc - first, argv + first, &args)) != 0)
		return rc;

	if (config_load(&a.cfg, CONFIG_NEED_DB, err, sizeof err) != 0)
		return admin_fail("%s", err);
	db_init(&a.db[TARGET_AUTH], a.cfg.auth_database_url, "auth");
	db_init(&a.db[TARGET_APP], a.cfg.database_url, "app");
	/* One run, each statement once: preparing would only add round trips. */
	a.db[TARGET_AUTH].prepared = a.db[TARGET_APP].prepared = false;
	rc = 0;
	for (int t = 0; t < TARGET__MAX && rc == 0; t++)
		if (cmd->databases & (1u << t))
			rc = admin_connect(&a, (enum target)t);
	if (rc == 0)
		rc = cmd->run(&a, &args);
	for (int t = 0; t < TARGET__MAX; t++)
		db_cleanup(&a.db[t]);
	config_cleanup(&a.cfg);
	fflush(stdout);
	return rc;
}

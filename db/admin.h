/*
 * admin — what the files of farout-admin share: its configuration and its
 * two database connections, one-line messages on stderr, the small schema
 * checks both the migrations and the account commands make, and reading one
 * line of stdin. admin.c defines all of it; farout-admin.c, migrate.c and
 * the command files use it. It owns no table.
 */
#ifndef FAROUT_ADMIN_H
#define FAROUT_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "audit.h"
#include "config.h"
#include "db.h"
#include "users.h"

enum target { TARGET_AUTH, TARGET_APP, TARGET__MAX };

/* The variable naming each database: "AUTH_DATABASE_URL", "DATABASE_URL". */
extern const char *const admin_target_variable[TARGET__MAX];

struct admin {
	struct config cfg;
	struct db db[TARGET__MAX]; /* connected by main() before any command runs */
};

#define ADMIN_EXIT_USAGE 2

/* "farout-admin: " and one line on stderr; returns 1, the exit status of a failed command. */
int admin_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, returning ADMIN_EXIT_USAGE (2), for a malformed command line. */
int admin_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* admin_fail for a db_exec/db_run failure of st while doing what. */
int admin_db_failed(const struct db *, enum db_status st, const char *what);
/*
 * Ends the transaction open on db: while st is DB_OK, records ev (unless
 * NULL) and commits; on any failure rolls back. 0, or admin_db_failed's status.
 */
int admin_commit_audited(struct db *, enum db_status st, const struct audit_event *ev,
                         const char *what);
/* in folded onto one line (libpq's messages span several) into out. */
void admin_one_line(const char *in, char *out, size_t outlen);
/*
 * Opens database t now (not lazily), so a failure is reported in one line
 * naming its variable; migrations need the PGconn for whole sections anyway.
 * 0, or 1 after the message.
 */
int admin_connect(struct admin *, enum target t);
/* The database's real name once connected ("farout_auth"), else "auth"/"app". */
const char *admin_db_name(const struct db *);
/* 1 when public.table exists, 0 when not, -1 on error (already reported). */
int admin_table_exists(struct db *, const char *table);
/* The id of the user called name into id, 0; or 1 after saying it does not exist (or the query failed). */
int admin_user_id(struct admin *, const char *name, char id[USERS_ID_MAX]);
/* 1 when public.table has the column, 0 when not, -1 on error (already reported). */
int admin_column_exists(struct db *, const char *table, const char *column);

/*
 * One line from fd 0 into buf without the trailing "\n" or "\r\n", read a
 * byte at a time so nothing after the line is consumed. Returns 1 for a line,
 * 0 at end of input with nothing read, -1 when the line is longer than buf.
 */
int admin_read_line(char *buf, size_t cap, size_t *len);

/*
 * The operators' `farout-admin members …` commands (admin-members.c), on
 * both open databases (the writes' audit rows go to farout_auth, as the
 * API's member_create / member_update rows, with "via": "farout-admin"):
 *   list                      every member: discord_id, rank, display_name (tab-separated)
 *   set-rank DISCORD_ID RANK
 *   import FILE.json          an array of objects shaped like the POST body; each is
 *                             created, or its given fields updated when the discord_id
 *                             exists; all or nothing, in one transaction
 * argv[0] is the subcommand. Results go to out, one clear line per failure to
 * err. Returns the exit status: 0 success, 1 failure, 2 usage. The database
 * is touched only for a well-formed command.
 */
int admin_members(struct admin *, int argc, char **argv, FILE *out, FILE *err);
/* 0 when argv is one of the forms above, else the usage line on err and 2 (before any config). */
int admin_members_usage(int argc, char **argv, FILE *err);

/*
 * db/admin-accountability.c — sessions and the audit log: `user sessions
 * NAME`, `user logout NAME`, `audit [--user NAME] [--event E] [--since
 * YYYY-MM-DD] [--limit N]`, and the audit part of `prune`.
 */
int admin_user_sessions(struct admin *, const char *name);
int admin_user_logout(struct admin *, const char *name);
/* The audit command's own arguments: 0 when well-formed, else 2 after a line on err. */
int admin_audit_usage(int argc, char **argv, FILE *err);
int admin_audit(struct admin *, int argc, char **argv);
/* prune's share: audit events older than AUDIT_RETENTION_DAYS. 0, or 1 after a message. */
int admin_audit_prune(struct admin *);


#endif

/*
 * admin — what the files of farout-admin share: its configuration and its
 * two database connections, one-line messages on stderr, and the small
 * schema checks both the migrations and the account commands make.
 * farout-admin.c defines all of it; migrate.c uses it.
 */
#ifndef FAROUT_ADMIN_H
#define FAROUT_ADMIN_H

#include <stddef.h>

#include <libpq-fe.h>

#include "config.h"
#include "db.h"

enum target { TARGET_AUTH, TARGET_APP, TARGET__MAX };

/* The variable naming each database: "AUTH_DATABASE_URL", "DATABASE_URL". */
extern const char *const admin_target_variable[TARGET__MAX];

struct admin {
	struct config cfg;
	struct db db[TARGET__MAX]; /* connected by main() before any command runs */
};

/* "farout-admin: " and one line on stderr; returns 1, the exit status of a failed command. */
int admin_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* admin_fail for a db_exec/db_run failure of st while doing what. */
int admin_db_failed(const struct db *, enum db_status st, const char *what);
/* in folded onto one line (libpq's messages span several) into out. */
void admin_one_line(const char *in, char *out, size_t outlen);
/* The database's real name once connected ("farout_auth"), else "auth"/"app". */
const char *admin_db_name(const struct db *);
/* 1 when public.table exists, 0 when not, -1 on error (already reported). */
int admin_table_exists(struct db *, const char *table);
/* The row count of an INSERT/UPDATE/DELETE result. */
long admin_affected_rows(PGresult *);

#endif

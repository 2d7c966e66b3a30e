/*
 * migrate — farout-admin's schema migrations of both databases.
 *
 * Migrations are NNN_name.up.sql files with an optional NNN_name.down.sql,
 * split into sections by `-- @database auth|app` lines; a `-- @done TEXT` line
 * is what is printed once its section is applied. Each section runs whole
 * (dollar-quoted functions included) in its own transaction, serialised by an
 * advisory lock and recorded in that database's schema_migrations, which is
 * created on first use. Applying 001 to the auth database also seeds the
 * default admin (admin / Admin123!, must change it at first login) unless a
 * user of that name exists.
 *
 * The files are read from $FAROUT_MIGRATIONS_DIR, else migrations/ beside the
 * executable, else ../share/farout-auth/migrations beside it, else the source
 * tree's when run from build/VARIANT/db. Both connections of the admin must be
 * open. Each call prints its progress on stdout, a failure in one line on
 * stderr, and returns the exit status: 0 done, 1 failed.
 *
 * Owns schema_migrations in both databases (and the DDL of every table);
 * the seed row of users goes through users_seed.
 */
#ifndef FAROUT_MIGRATE_H
#define FAROUT_MIGRATE_H

#include <stdbool.h>

#include "admin.h"

/* Applies every pending section, in version order and file order within a version. */
int migrate_up(struct admin *);
/*
 * Rolls back every applied migration, newest first. Asks confirm (NULL: the
 * operator already said yes) only once every applied migration is known to
 * have a down file, and before anything is dropped.
 */
int migrate_down(struct admin *, bool (*confirm)(void));
/* Each database's applied and pending migrations, and records without a file. */
int migrate_status(struct admin *);

#endif

/*
 * db — one lazy, persistent libpq connection per database per process.
 *
 * The connection opens on first use and is re-opened after the server went
 * away, so a restarted PostgreSQL costs the requests in flight a 503, never
 * the worker. Every value goes in as a text parameter ($1, $2, …); there is no
 * call that takes SQL built from input.
 *
 * Statements are named prepared statements: the first db_exec of a given SQL
 * text on a connection prepares it (PQprepare), later ones only bind and
 * execute it (PQexecPrepared), so PostgreSQL parses and plans it once per
 * connection instead of once per call. The table of prepared statements
 * belongs to the connection: a reconnect empties it, and so does SQLSTATE
 * 26000 (the server lost them, e.g. a pooler's DISCARD ALL), after which the
 * call is retried unnamed when no transaction was open. With
 * db->prepared = false (DB_PREPARED_STATEMENTS=off) every statement is
 * unnamed (PQexecParams), as transaction-mode PgBouncer 1.18 requires: it
 * cannot follow protocol-level prepared statements across server connections.
 *
 * Owns no table: every statement belongs to the module of its table.
 */
#ifndef FAROUT_DB_H
#define FAROUT_DB_H

#include <stdbool.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

enum db_status {
	DB_OK,
	DB_UNAVAILABLE, /* could not connect, or the connection broke: answer 503 */
	DB_CONFLICT,    /* a unique constraint refused the row (SQLSTATE 23505) */
	DB_ERROR,       /* anything else the server refused: a bug, answer 500 */
};

/* Statements prepared per connection; past this many, the rest run unnamed. */
#define DB_MAX_PREPARED 64

struct db_prepared {
	unsigned long hash; /* of the SQL text */
	char *sql;          /* a copy of the text, owned */
	char name[40];      /* farout_<pid>_<sequence>: never reused by one process */
};

struct db {
	const char *url;  /* borrowed from the config */
	const char *name; /* for log lines: "auth" or "app" */
	PGconn *conn;
	bool prepared;    /* named prepared statements (db_init: true) */
	int nprepared;    /* entries of stmts in use, all prepared on conn */
	unsigned long sequence;
	struct db_prepared stmts[DB_MAX_PREPARED];
};

/* Prepared statements on; set db->prepared = false afterwards for unnamed ones. */
void db_init(struct db *, const char *url, const char *name);
void db_cleanup(struct db *);

/*
 * Runs sql with n text parameters (NULL values are SQL NULL). Returns the
 * result (the caller PQclear()s it) or NULL with *status saying why; on
 * success *status is DB_OK. status may be NULL.
 */
PGresult *db_exec(struct db *, const char *sql, int n, const char *const *values,
                  enum db_status *status);
/* Like db_exec for statements whose rows are not needed. */
enum db_status db_run(struct db *, const char *sql, int n, const char *const *values);
/* db_run that also tells how many rows it changed (into *affected unless NULL; 0 on failure). */
enum db_status db_run_count(struct db *, const char *sql, int n, const char *const *values,
                            long *affected);

/* BEGIN / COMMIT / ROLLBACK; rollback is safe to call on a broken connection. */
enum db_status db_begin(struct db *);
enum db_status db_commit(struct db *);
void db_rollback(struct db *);

/* A cheap round trip: true when the database answers. */
bool db_ping(struct db *);

/* Value of row r, column c, or NULL when SQL NULL. */
const char *db_value(const PGresult *, int r, int c);
bool db_bool(const PGresult *, int r, int c);

/*
 * {"items": [row(res, 0), …]}: the first max rows of res (all when max < 0),
 * each made into a JSON object by row. NULL when out of memory or when row
 * returns NULL; the caller cJSON_Delete()s the result.
 */
typedef cJSON *(*db_row_json)(const PGresult *, int r);
cJSON *db_items_new(const PGresult *, int max, db_row_json row);
/* The row count of an INSERT/UPDATE/DELETE result; 0 for NULL. */
long db_affected(const PGresult *);

#endif

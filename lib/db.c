#include "db.h"

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

void db_init(struct db *db, const char *url, const char *name)
{
	db->url = url;
	db->name = name;
	db->conn = NULL;
	db->prepared = true;
	db->nprepared = 0;
	db->sequence = 0;
}

/* The server no longer has our statements (new connection, SQLSTATE 26000). */
static void forget_prepared(struct db *db)
{
	for (int i = 0; i < db->nprepared; i++) {
		free(db->stmts[i].sql);
		db->stmts[i].sql = NULL;
	}
	db->nprepared = 0;
}

void db_cleanup(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	forget_prepared(db);
}

static void drop(struct db *db)
{
	PQfinish(db->conn);
	db->conn = NULL;
	forget_prepared(db);
}

/*
 * An idle connection has nothing to read unless the server is hanging up: a
 * shutdown or restart sends "terminating connection" and then closes. We
 * never LISTEN, so readable-while-idle means the connection is finished, and
 * finding that out before sending keeps a dead connection from costing a
 * request its answer.
 */
static void notice_hangup(struct db *db)
{
	struct pollfd p = {.fd = PQsocket(db->conn), .events = POLLIN | POLLRDHUP};

	if (p.fd < 0 || PQstatus(db->conn) != CONNECTION_OK) {
		drop(db);
		return;
	}
	if (poll(&p, 1, 0) > 0 && PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		drop(db);
}

static int connect_db(struct db *db)
{
	if (db->conn != NULL) {
		notice_hangup(db);
		if (db->conn != NULL)
			return 0;
	}
	if (db->url == NULL)
		return -1;
	db->conn = PQconnectdb(db->url);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		/* libpq's message names host and database, never the password. */
		log_warn("db %s: connect failed: %s", db->name, PQerrorMessage(db->conn));
		drop(db);
		return -1;
	}
	return 0;
}

/* FNV-1a: the statement table is looked up by the SQL text, not by where it lives. */
static unsigned long text_hash(const char *s)
{
	unsigned long h = 14695981039346656037UL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211UL;
	return h;
}

/*
 * The statement prepared for sql on this connection, preparing it the first
 * time; NULL when it is to run unnamed instead (the table is full, or the
 * server refused to prepare it: the unnamed run then reports why).
 */
static const struct db_prepared *find_or_prepare(struct db *db, const char *sql, int n)
{
	unsigned long h = text_hash(sql);
	struct db_prepared *p;
	PGresult *res;
	bool ok;

	for (int i = 0; i < db->nprepared; i++)
		if (db->stmts[i].hash == h && strcmp(db->stmts[i].sql, sql) == 0)
			return &db->stmts[i];
	if (db->nprepared == DB_MAX_PREPARED)
		return NULL;
	p = &db->stmts[db->nprepared];
	/* The pid keeps two workers' statements apart should a pooler ever mix their sessions. */
	snprintf(p->name, sizeof p->name, "farout_%ld_%lu", (long)getpid(), db->sequence++);
	res = PQprepare(db->conn, p->name, sql, n, NULL);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok || (p->sql = strdup(sql)) == NULL)
		return NULL;
	p->hash = h;
	db->nprepared++;
	return p;
}

/*
 * Runs sql once; on the outcome classifies into *st (DB_OK leaves the result
 * to the caller). A statement the server no longer knows (26000) empties the
 * table and, outside a transaction, is run again unnamed.
 */
static PGresult *exec_once(struct db *db, const char *sql, int n, const char *const *values,
                           bool may_prepare, enum db_status *st)
{
	const struct db_prepared *p = NULL;
	PGresult *res;
	const char *state;

	if (may_prepare && db->prepared)
		p = find_or_prepare(db, sql, n);
	if (p != NULL)
		res = PQexecPrepared(db->conn, p->name, n, values, NULL, NULL, 0);
	else
		res = PQexecParams(db->conn, sql, n, NULL, values, NULL, NULL, 0);
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		*st = DB_OK;
		return res;
	default:
		break;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		log_warn("db %s: connection lost: %s", db->name, PQerrorMessage(db->conn));
		drop(db);
		*st = DB_UNAVAILABLE;
	} else if (p != NULL && state != NULL && strcmp(state, "26000") == 0) {
		log_warn("db %s: the server lost our prepared statements; preparing again"
		         " (behind a transaction-mode pooler set DB_PREPARED_STATEMENTS=off)",
		         db->name);
		forget_prepared(db);
		PQclear(res);
		if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
			return exec_once(db, sql, n, values, false, st);
		*st = DB_UNAVAILABLE; /* the transaction is lost; the client may try again */
		return NULL;
	} else if (state != NULL && strcmp(state, "23505") == 0) {
		*st = DB_CONFLICT;
	} else if (state != NULL && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)) {
		*st = DB_UNAVAILABLE; /* connection exception / operator intervention */
		drop(db);
	} else {
		*st = DB_ERROR;
		log_error("db %s: query failed (%s): %s", db->name, state ? state : "?",
		          PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	}
	PQclear(res);
	return NULL;
}

static PGresult *exec_sql(struct db *db, const char *sql, int n, const char *const *values,
                          bool may_prepare, enum db_status *status)
{
	enum db_status st = DB_UNAVAILABLE;
	PGresult *res = NULL;

	if (connect_db(db) == 0)
		res = exec_once(db, sql, n, values, may_prepare, &st);
	if (st == DB_UNAVAILABLE)
		metrics_db_unavailable(db->name);
	if (status != NULL)
		*status = st;
	return res;
}

PGresult *db_exec(struct db *db, const char *sql, int n, const char *const *values,
                  enum db_status *status)
{
	return exec_sql(db, sql, n, values, true, status);
}

enum db_status db_run(struct db *db, const char *sql, int n, const char *const *values)
{
	enum db_status st;
	PGresult *res = db_exec(db, sql, n, values, &st);

	PQclear(res);
	return st;
}

/* Transaction control: nothing to plan, so never worth a prepared statement. */
static enum db_status run_unnamed(struct db *db, const char *sql)
{
	enum db_status st;

	PQclear(exec_sql(db, sql, 0, NULL, false, &st));
	return st;
}

enum db_status db_begin(struct db *db)
{
	return run_unnamed(db, "BEGIN");
}

enum db_status db_commit(struct db *db)
{
	return run_unnamed(db, "COMMIT");
}

void db_rollback(struct db *db)
{
	if (db->conn != NULL && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		run_unnamed(db, "ROLLBACK");
}

bool db_ping(struct db *db)
{
	return db_run(db, "SELECT 1", 0, NULL) == DB_OK;
}

const char *db_value(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

enum db_status db_run_count(struct db *db, const char *sql, int n, const char *const *values,
                            long *affected)
{
	enum db_status st;
	PGresult *res = db_exec(db, sql, n, values, &st);

	if (affected != NULL)
		*affected = db_affected(res);
	PQclear(res);
	return st;
}

long db_affected(const PGresult *res)
{
	long n = 0;

	if (res == NULL || util_parse_long(PQcmdTuples((PGresult *)res), 0, LONG_MAX, &n) == -1)
		n = 0;
	return n;
}

bool db_bool(const PGresult *res, int r, int c)
{
	const char *v = db_value(res, r, c);
	return v != NULL && v[0] == 't';
}

cJSON *db_items_new(const PGresult *res, int max, db_row_json row)
{
	cJSON *body = cJSON_CreateObject(), *items;
	int n = PQntuples(res);

	if (max >= 0 && max < n)
		n = max;
	if (body == NULL || (items = cJSON_AddArrayToObject(body, "items")) == NULL)
		goto fail;
	for (int r = 0; r < n; r++) {
		cJSON *item = row(res, r);
		if (item == NULL)
			goto fail;
		cJSON_AddItemToArray(items, item);
	}
	return body;
fail:
	cJSON_Delete(body);
	return NULL;
}

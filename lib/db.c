#include "db.h"

#include <limits.h>
#include <poll.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

void db_init(struct db *db, const char *url, const char *name)
{
	db->url = url;
	db->name = name;
	db->conn = NULL;
}

void db_cleanup(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
}

static void drop(struct db *db)
{
	PQfinish(db->conn);
	db->conn = NULL;
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

PGresult *db_exec(struct db *db, const char *sql, int n, const char *const *values,
                  enum db_status *status)
{
	enum db_status st = DB_UNAVAILABLE;
	PGresult *res = NULL;
	const char *state;

	if (connect_db(db) == -1)
		goto out;
	res = PQexecParams(db->conn, sql, n, NULL, values, NULL, NULL, 0);
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		st = DB_OK;
		goto out;
	default:
		break;
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		log_warn("db %s: connection lost: %s", db->name, PQerrorMessage(db->conn));
		drop(db);
		st = DB_UNAVAILABLE;
	} else {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "23505") == 0) {
			st = DB_CONFLICT;
		} else if (state != NULL && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)) {
			st = DB_UNAVAILABLE; /* connection exception / operator intervention */
			drop(db);
		} else {
			st = DB_ERROR;
			log_error("db %s: query failed (%s): %s", db->name, state ? state : "?",
			          PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
		}
	}
	PQclear(res);
	res = NULL;
out:
	if (st == DB_UNAVAILABLE)
		metrics_db_unavailable(db->name);
	if (status != NULL)
		*status = st;
	return res;
}

enum db_status db_run(struct db *db, const char *sql, int n, const char *const *values)
{
	enum db_status st;
	PGresult *res = db_exec(db, sql, n, values, &st);

	PQclear(res);
	return st;
}

enum db_status db_begin(struct db *db)
{
	return db_run(db, "BEGIN", 0, NULL);
}

enum db_status db_commit(struct db *db)
{
	return db_run(db, "COMMIT", 0, NULL);
}

void db_rollback(struct db *db)
{
	if (db->conn != NULL && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		db_run(db, "ROLLBACK", 0, NULL);
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

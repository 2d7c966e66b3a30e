/*
 * admin — what the files of farout-admin share (admin.h): messages on
 * stderr, the two database connections, the small schema checks, and one
 * line of stdin.
 */
#include "admin.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define PROG "farout-admin"

const char *const admin_target_variable[TARGET__MAX] = {"AUTH_DATABASE_URL", "DATABASE_URL"};


static void vsay(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int admin_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return 1;
}

int admin_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return ADMIN_EXIT_USAGE;
}

int admin_db_failed(const struct db *db, enum db_status st, const char *what)
{
	if (st == DB_UNAVAILABLE)
		return admin_fail("%s: the %s database became unreachable", what, db->name);
	if (st == DB_CONFLICT)
		return admin_fail("%s: a unique constraint of the %s database refused it", what, db->name);
	return admin_fail("%s: the %s database refused the query (logged above)", what, db->name);
}

void admin_one_line(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in != '\0' && o + 1 < outlen; in++) {
		char c = (*in == '\n' || *in == '\t') ? ' ' : *in;
		if (c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* ---- database connections ------------------------------------------------- */

/* Migrations chatter in NOTICEs ("already exists, skipping"); warnings still show. */
static void on_notice(void *arg, const PGresult *res)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	char line[1024];

	(void)arg;
	if (severity == NULL || strcmp(severity, "WARNING") != 0)
		return;
	admin_one_line(PQresultErrorMessage(res), line, sizeof line);
	fflush(stdout);
	fprintf(stderr, PROG ": %s\n", line);
}

/*
 * Opens the connection here rather than lazily in db_exec: the failure is
 * reported in one line naming the variable, and migrations need the PGconn
 * for PQexec of whole sections anyway.
 */
int admin_connect(struct admin *a, enum target t)
{
	struct db *db = &a->db[t];
	char msg[512];
	PGconn *conn;

	if (db->conn != NULL)
		return 0;
	conn = PQconnectdb(db->url);
	if (PQstatus(conn) != CONNECTION_OK) {
		admin_one_line(PQerrorMessage(conn), msg, sizeof msg);
		PQfinish(conn);
		return admin_fail("cannot connect to the %s database (%s): %s", db->name,
		                  admin_target_variable[t], msg);
	}
	PQsetNoticeReceiver(conn, on_notice, NULL);
	db->conn = conn;
	return 0;
}

const char *admin_db_name(const struct db *db)
{
	return db->conn != NULL ? PQdb(db->conn) : db->name;
}

int admin_table_exists(struct db *db, const char *table)
{
	const char *const params[] = {table};
	enum db_status st;
	PGresult *res;
	int rc;

	res = db_exec(db, "SELECT to_regclass('public.' || quote_ident($1)) IS NOT NULL", 1, params,
	              &st);
	if (res == NULL)
		return -admin_db_failed(db, st, "checking the schema");
	rc = db_bool(res, 0, 0) ? 1 : 0;
	PQclear(res);
	return rc;
}

int admin_column_exists(struct db *db, const char *table, const char *column)
{
	const char *const params[] = {table, column};
	enum db_status st;
	PGresult *res;
	int rc;

	res = db_exec(db,
	              "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE "
	              "table_schema = 'public' AND table_name = $1 AND column_name = $2)",
	              2, params, &st);
	if (res == NULL)
		return -admin_db_failed(db, st, "checking the schema");
	rc = db_bool(res, 0, 0) ? 1 : 0;
	PQclear(res);
	return rc;
}

int admin_user_id(struct admin *a, const char *name, char id[USERS_ID_MAX])
{
	struct db *db = &a->db[TARGET_AUTH];
	bool found = false;
	enum db_status st = users_id_by_name(db, name, id, &found);

	if (st != DB_OK)
		return admin_db_failed(db, st, "looking up the user");
	return found ? 0 : admin_fail("user \"%s\" does not exist", name);
}

/*
 * One line from fd 0 into buf without the trailing "\n" or "\r\n", read a
 * byte at a time so nothing after the line is consumed. Returns 1 for a line,
 * 0 at end of input with nothing read, -1 when the line is longer than buf.
 */
int admin_read_line(char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	bool too_long = false, got = false;
	char c = '\0';
	ssize_t r;

	while ((r = read(STDIN_FILENO, &c, 1)) == 1 || (r < 0 && errno == EINTR)) {
		if (r != 1)
			continue;
		got = true;
		if (c == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = c;
		else
			too_long = true;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	util_wipe(&c, sizeof c);
	return too_long ? -1 : got ? 1 : 0;
}

int admin_commit_audited(struct db *db, enum db_status st, const struct audit_event *ev,
                         const char *what)
{
	if (st == DB_OK && ev != NULL)
		st = audit_record(db, ev);
	if (st == DB_OK)
		st = db_commit(db);
	if (st == DB_OK)
		return 0;
	db_rollback(db);
	return admin_db_failed(db, st, what);
}

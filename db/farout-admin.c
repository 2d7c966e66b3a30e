/*
 * farout-admin — the operators' command line (API.md "farout-admin"): schema
 * migrations of both databases, local accounts, and pruning expired rows.
 *
 * Migrations are db/migrations/NNN_name.{up,down}.sql, split into sections by
 * `-- @database auth|app` lines; each section runs whole (dollar-quoted
 * functions included) in its own transaction, serialised by an advisory lock
 * and recorded in that database's schema_migrations. Passwords come only from
 * stdin, never from argv, and are wiped after use.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "members.h"
#include "password.h"
#include "util.h"

#define PROG "farout-admin"
#define EXIT_USAGE 2
#define NAME_MAX_LEN 64
#define EMAIL_MAX_LEN 255
#define LINE_MAX_BYTES 1024
#define SCRIPT_MAX_BYTES (16 * 1024 * 1024)

#define MIGRATE_LOCK "SELECT pg_advisory_xact_lock(hashtext('farout-admin migrate'))"
#define CREATE_SCHEMA_MIGRATIONS                                                              \
	"CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "          \
	"name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"

#define DEFAULT_ADMIN_NAME "admin"
#define DEFAULT_ADMIN_PASSWORD "Admin123!"
#define DEFAULT_ADMIN_EMAIL "admin@farout.local"

enum target { TARGET_AUTH, TARGET_APP, TARGET__MAX };

static const char *const target_keyword[TARGET__MAX] = {"auth", "app"};
static const char *const target_variable[TARGET__MAX] = {"AUTH_DATABASE_URL", "DATABASE_URL"};
static const char *const roles[] = {"member", "officer", "admin"};

struct admin {
	struct config cfg;
	struct db db[TARGET__MAX];
};

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

/* One migration file's sections, merged per database in the order they first appear. */
struct section {
	bool present;
	int order;
	struct buf sql;
	struct buf done; /* the `-- @done` texts, one per line */
};

struct script {
	struct section sec[TARGET__MAX];
};

struct migration {
	long version;
	char *stem; /* "001_create_auth_tables" */
	char *up_path;
	char *down_path; /* NULL when there is none */
	struct script up, down;
};

struct migrations {
	struct migration *v;
	size_t n;
};

struct applied {
	long version;
	char at[32];
};

struct applied_set {
	struct applied *v;
	size_t n;
};

/* ---- messages ------------------------------------------------------------ */

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void vsay(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* One line on stderr; the exit status of a failed command. */
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return 1;
}

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

static int db_failed(const struct db *db, enum db_status st, const char *what)
{
	if (st == DB_UNAVAILABLE)
		return fail("%s: the %s database became unreachable", what, db->name);
	if (st == DB_CONFLICT)
		return fail("%s: a unique constraint of the %s database refused it", what, db->name);
	return fail("%s: the %s database refused the query (logged above)", what, db->name);
}

/* libpq's messages span lines; ours are one line each. */
static void one_line(const char *in, char *out, size_t outlen)
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
	one_line(PQresultErrorMessage(res), line, sizeof line);
	fflush(stdout);
	fprintf(stderr, PROG ": %s\n", line);
}

/*
 * Opens the connection here rather than lazily in db_exec: the failure is
 * reported in one line naming the variable, and migrations need the PGconn
 * for PQexec of whole sections anyway.
 */
static int connect_target(struct admin *a, enum target t)
{
	struct db *db = &a->db[t];
	char msg[512];
	PGconn *conn;

	if (db->conn != NULL)
		return 0;
	conn = PQconnectdb(db->url);
	if (PQstatus(conn) != CONNECTION_OK) {
		one_line(PQerrorMessage(conn), msg, sizeof msg);
		PQfinish(conn);
		return fail("cannot connect to the %s database (%s): %s", db->name,
		            target_variable[t], msg);
	}
	PQsetNoticeReceiver(conn, on_notice, NULL);
	db->conn = conn;
	return 0;
}

static const char *dbname(const struct db *db)
{
	return db->conn != NULL ? PQdb(db->conn) : db->name;
}

/* 1 when the table exists in public, 0 when not, -1 on error (reported). */
static int table_exists(struct db *db, const char *table)
{
	const char *const params[] = {table};
	enum db_status st;
	PGresult *res;
	int rc;

	res = db_exec(db, "SELECT to_regclass('public.' || quote_ident($1)) IS NOT NULL", 1, params,
	              &st);
	if (res == NULL)
		return -db_failed(db, st, "checking the schema");
	rc = db_bool(res, 0, 0) ? 1 : 0;
	PQclear(res);
	return rc;
}

static int column_exists(struct db *db, const char *table, const char *column)
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
		return -db_failed(db, st, "checking the schema");
	rc = db_bool(res, 0, 0) ? 1 : 0;
	PQclear(res);
	return rc;
}

static long affected_rows(PGresult *res)
{
	long n = 0;

	if (util_parse_long(PQcmdTuples(res), 0, LONG_MAX, &n) == -1)
		n = 0;
	return n;
}

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

/*
 * One line from fd 0 into buf without the trailing "\n" or "\r\n", read a
 * byte at a time so nothing after the line is consumed. Returns 1 for a line,
 * 0 at end of input with nothing read, -1 when the line is longer than buf.
 */
static int read_line(char *buf, size_t cap, size_t *len)
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
	rc = read_line(buf, cap, len);
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	tty_changed = 0;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	fputc('\n', stderr);
	return rc;
}

/* The new password: one line of stdin, or asked twice without echo on a terminal. */
static int read_password(const char *username, char *pw, size_t cap, size_t *len)
{
	char again[LINE_MAX_BYTES];
	size_t again_len = 0;
	char prompt[128];
	int got;

	if (!isatty(STDIN_FILENO)) {
		got = read_line(pw, cap, len);
	} else {
		snprintf(prompt, sizeof prompt, "New password for %s: ", username);
		got = prompt_hidden(prompt, pw, cap, len);
		if (got == 1 && (prompt_hidden("Repeat it: ", again, sizeof again, &again_len) != 1 ||
		                 !util_ct_equal(pw, *len, again, again_len)))
			got = -2;
		util_wipe(again, sizeof again);
	}
	if (got == 0)
		return fail("no password on stdin (it is read from there, one line)");
	if (got == -1)
		return fail("weak password: it must be 10 to %d bytes long", PASSWORD_MAX_BYTES);
	if (got == -2)
		return fail("the two passwords differ");
	return 0;
}

/* API.md's rule for new passwords, less the "not the current one" an admin cannot know. */
static int check_password_policy(const char *pw, size_t len, const char *username)
{
	if (memchr(pw, '\0', len) != NULL)
		return fail("weak password: it contains a NUL byte");
	if (len < 10 || len > PASSWORD_MAX_BYTES)
		return fail("weak password: it must be 10 to %d bytes long", PASSWORD_MAX_BYTES);
	if (strcasestr(pw, username) != NULL)
		return fail("weak password: it must not contain the user name");
	return 0;
}

/* The whole chain from stdin to a $2b$ hash; *hash is freed with util_free_secret. */
static int new_password_hash(struct admin *a, const char *username, char **hash)
{
	char pw[LINE_MAX_BYTES];
	size_t len = 0;
	int rc = 1;

	*hash = NULL;
	if (read_password(username, pw, sizeof pw, &len) != 0 ||
	    check_password_policy(pw, len, username) != 0)
		goto out;
	*hash = password_hash_new(pw, len, a->cfg.bcrypt_cost);
	rc = *hash == NULL ? fail("could not hash the password") : 0;
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
	ok = read_line(line, sizeof line, &len) == 1 && strcmp(line, "yes") == 0;
	/* A terminal echoed the Enter; piped answers leave the prompt's line open. */
	if (!isatty(STDIN_FILENO))
		fputc('\n', stderr);
	return ok;
}

/* ---- migration files ------------------------------------------------------ */

static char *exe_dir_new(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash == NULL)
		return NULL;
	*slash = '\0';
	return strdup(path);
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* REPO/build/VARIANT/db, where `make asan` leaves its farout-admin. */
static bool is_build_variant_dir(const char *exe)
{
	const char *end = exe + strlen(exe), *p = end;
	int slashes = 0;

	if (end - exe < 3 || strcmp(end - 3, "/db") != 0)
		return false;
	while (p > exe && slashes < 2)
		if (*--p == '/')
			slashes++;
	return slashes == 2 && p - exe >= 6 && strncmp(p - 6, "/build", 6) == 0;
}

/*
 * $FAROUT_MIGRATIONS_DIR, else migrations/ beside the executable (the source
 * tree: db/farout-admin, db/migrations), else the `make install` layout, else
 * the source tree's for a build variant (build/asan/db/farout-admin).
 */
static char *migrations_dir_new(void)
{
	static const char *const beside_exe[] = {"migrations", "../share/farout-auth/migrations",
	                                         "../../../db/migrations"};
	const char *env = getenv("FAROUT_MIGRATIONS_DIR");
	char *exe = NULL, *dir = NULL;

	if (env != NULL && *env != '\0') {
		if (!is_dir(env))
			fail("FAROUT_MIGRATIONS_DIR: %s is not a directory", env);
		else
			dir = strdup(env);
		return dir;
	}
	exe = exe_dir_new();
	for (size_t i = 0; exe != NULL && i < UTIL_ARRAY_LEN(beside_exe); i++) {
		if (i == 2 && !is_build_variant_dir(exe))
			break;
		if (asprintf(&dir, "%s/%s", exe, beside_exe[i]) < 0)
			dir = NULL;
		else if (is_dir(dir))
			break;
		free(dir);
		dir = NULL;
	}
	if (dir == NULL)
		fail("no migrations directory beside %s (set FAROUT_MIGRATIONS_DIR)",
		     exe != NULL ? exe : "this program");
	free(exe);
	return dir;
}

static void script_init(struct script *s)
{
	for (int t = 0; t < TARGET__MAX; t++) {
		s->sec[t].present = false;
		s->sec[t].order = 0;
		buf_init(&s->sec[t].sql, SCRIPT_MAX_BYTES);
		buf_init(&s->sec[t].done, SCRIPT_MAX_BYTES);
	}
}

static void script_cleanup(struct script *s)
{
	for (int t = 0; t < TARGET__MAX; t++) {
		buf_cleanup(&s->sec[t].sql);
		buf_cleanup(&s->sec[t].done);
	}
}

static bool starts_with(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	return n >= p && memcmp(s, prefix, p) == 0;
}

/* The text after a directive, without surrounding blanks. */
static void directive_arg(const char *line, size_t n, size_t skip, const char **arg, size_t *len)
{
	const char *p = line + skip, *end = line + n;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	*arg = p;
	*len = (size_t)(end - p);
}

static bool is_blank_or_comment(const char *line, size_t n)
{
	size_t i = 0;

	while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
		i++;
	return i == n || starts_with(line + i, n - i, "--");
}

static int read_file(const char *path, struct buf *out)
{
	char chunk[8192];
	FILE *f = fopen(path, "r");
	size_t n;
	int rc = 0;

	if (f == NULL)
		return fail("%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_append(out, chunk, n) == -1) {
			rc = fail("%s: too large or out of memory", path);
			break;
		}
	if (rc == 0 && ferror(f))
		rc = fail("%s: read error", path);
	fclose(f);
	if (rc == 0 && out->len > 0 && memchr(out->data, '\0', out->len) != NULL)
		rc = fail("%s: contains a NUL byte", path);
	return rc;
}

static int parse_script(const char *path, struct script *s)
{
	struct buf text;
	struct section *cur = NULL;
	const char *p, *end, *arg;
	size_t arglen;
	int rc = 1, lineno = 0, order = 0;

	buf_init(&text, SCRIPT_MAX_BYTES);
	if (read_file(path, &text) != 0)
		goto out;
	p = text.data != NULL ? text.data : "";
	end = p + text.len;
	for (; p < end; lineno++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		if (starts_with(p, n, "-- @database")) {
			directive_arg(p, n, strlen("-- @database"), &arg, &arglen);
			cur = NULL;
			for (int t = 0; t < TARGET__MAX; t++)
				if (arglen == strlen(target_keyword[t]) &&
				    memcmp(arg, target_keyword[t], arglen) == 0)
					cur = &s->sec[t];
			if (cur == NULL) {
				fail("%s:%d: unknown database \"%.*s\" (auth or app)", path, lineno + 1,
				     (int)arglen, arg);
				goto out;
			}
			if (!cur->present)
				cur->order = order++;
			cur->present = true;
		} else if (starts_with(p, n, "-- @done")) {
			directive_arg(p, n, strlen("-- @done"), &arg, &arglen);
			if (cur == NULL) {
				fail("%s:%d: -- @done outside a -- @database section", path, lineno + 1);
				goto out;
			}
			if (buf_append(&cur->done, arg, arglen) == -1 || buf_puts(&cur->done, "\n") == -1)
				goto oom;
		} else if (starts_with(p, n, "-- @")) {
			fail("%s:%d: unknown directive (-- @database or -- @done)", path, lineno + 1);
			goto out;
		} else if (cur != NULL) {
			if (buf_append(&cur->sql, p, n) == -1)
				goto oom;
		} else if (!is_blank_or_comment(p, n)) {
			fail("%s:%d: SQL before the first -- @database line", path, lineno + 1);
			goto out;
		}
		p += n;
	}
	if (order == 0) {
		fail("%s: has no -- @database section", path);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	fail("%s: out of memory", path);
out:
	buf_cleanup(&text);
	return rc;
}

static void migrations_cleanup(struct migrations *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].stem);
		free(m->v[i].up_path);
		free(m->v[i].down_path);
		script_cleanup(&m->v[i].up);
		script_cleanup(&m->v[i].down);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static int by_version(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

/* "NNN_name.up.sql" → version NNN and stem "NNN_name"; false for any other file name. */
static bool is_up_file(const char *fname, long *version, size_t *stem_len)
{
	size_t n = strlen(fname), digits = strspn(fname, "0123456789");
	char num[16];

	if (n < 8 || strcmp(fname + n - 7, ".up.sql") != 0 || digits == 0 ||
	    digits >= sizeof num || fname[digits] != '_' || digits + 1 >= n - 7)
		return false;
	memcpy(num, fname, digits);
	num[digits] = '\0';
	*stem_len = n - 7;
	return util_parse_long(num, 1, INT_MAX, version) == 0;
}

/* Every NNN_name.up.sql of dir in version order, parsed, with its .down.sql when present. */
static int load_migrations(struct migrations *m)
{
	char *dir = migrations_dir_new();
	DIR *d = NULL;
	struct dirent *e;
	int rc = 1;

	m->v = NULL;
	m->n = 0;
	if (dir == NULL)
		return 1;
	d = opendir(dir);
	if (d == NULL) {
		fail("%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		struct migration *grown, *mg;
		long version;
		size_t stem_len;

		if (!is_up_file(e->d_name, &version, &stem_len))
			continue;
		grown = reallocarray(m->v, m->n + 1, sizeof *m->v);
		if (grown == NULL)
			goto oom;
		m->v = grown;
		mg = &m->v[m->n++];
		memset(mg, 0, sizeof *mg);
		script_init(&mg->up);
		script_init(&mg->down);
		mg->version = version;
		mg->stem = strndup(e->d_name, stem_len);
		if (mg->stem == NULL || asprintf(&mg->up_path, "%s/%s", dir, e->d_name) < 0)
			goto oom;
		if (asprintf(&mg->down_path, "%s/%s.down.sql", dir, mg->stem) < 0)
			goto oom;
		if (access(mg->down_path, F_OK) != 0) {
			free(mg->down_path);
			mg->down_path = NULL;
		}
	}
	qsort(m->v, m->n, sizeof *m->v, by_version);
	for (size_t i = 0; i < m->n; i++) {
		if (i > 0 && m->v[i].version == m->v[i - 1].version) {
			fail("%s and %s have the same number", m->v[i - 1].stem, m->v[i].stem);
			goto out;
		}
		if (parse_script(m->v[i].up_path, &m->v[i].up) != 0)
			goto out;
		if (m->v[i].down_path != NULL && parse_script(m->v[i].down_path, &m->v[i].down) != 0)
			goto out;
	}
	rc = 0;
	goto out;
oom:
	fail("out of memory reading %s", dir);
out:
	if (d != NULL)
		closedir(d);
	free(dir);
	if (rc != 0)
		migrations_cleanup(m);
	return rc;
}

static const struct migration *find_migration(const struct migrations *m, long version)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].version == version)
			return &m->v[i];
	return NULL;
}

/* ---- schema_migrations ------------------------------------------------------ */

static int load_applied(struct db *db, struct applied_set *set)
{
	enum db_status st;
	PGresult *res;
	int exists = table_exists(db, "schema_migrations");

	set->v = NULL;
	set->n = 0;
	if (exists <= 0)
		return -exists;
	res = db_exec(db,
	              "SELECT version, to_char(applied_at AT TIME ZONE 'UTC', "
	              "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_migrations ORDER BY version",
	              0, NULL, &st);
	if (res == NULL)
		return db_failed(db, st, "reading schema_migrations");
	set->v = calloc((size_t)PQntuples(res) + 1, sizeof *set->v);
	if (set->v == NULL) {
		PQclear(res);
		return fail("out of memory");
	}
	for (int r = 0; r < PQntuples(res); r++) {
		struct applied *ap = &set->v[set->n];
		if (util_parse_long(PQgetvalue(res, r, 0), LONG_MIN, LONG_MAX, &ap->version) == -1)
			continue;
		snprintf(ap->at, sizeof ap->at, "%s", PQgetvalue(res, r, 1));
		set->n++;
	}
	PQclear(res);
	return 0;
}

static const struct applied *find_applied(const struct applied_set *set, long version)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].version == version)
			return &set->v[i];
	return NULL;
}

static void print_section_done(const struct db *db, const char *stem, const struct section *s,
                               const char *fallback)
{
	const char *p = s->done.data, *nl;

	if (s->done.len == 0) {
		printf("%s: %s ✓ %s\n", dbname(db), stem, fallback);
		return;
	}
	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		printf("%s: %s ✓ %.*s\n", dbname(db), stem, (int)(nl - p), p);
}

/* Runs a whole section with PQexec: it may hold several statements and $$-quoted bodies. */
static int exec_section(struct db *db, const struct migration *mg, const struct section *s)
{
	char msg[1024];
	PGresult *res;
	int rc = 0;

	if (s->sql.len == 0)
		return 0;
	res = PQexec(db->conn, s->sql.data);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_EMPTY_QUERY) {
		one_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) != NULL
		                 ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
		                 : PQerrorMessage(db->conn),
		         msg, sizeof msg);
		rc = fail("%s: %s failed and changed nothing: %s", dbname(db), mg->stem, msg);
	} else if (PQtransactionStatus(db->conn) != PQTRANS_INTRANS) {
		rc = fail("%s: %s ended the transaction itself, so part of it may be committed "
		          "unrecorded (no BEGIN/COMMIT in migration files)",
		          dbname(db), mg->stem);
	}
	PQclear(res);
	return rc;
}

/* The default admin of the original migration 001, in its auth transaction. */
static int seed_default_admin(struct admin *a, bool *created)
{
	struct db *db = &a->db[TARGET_AUTH];
	char *hash = password_hash_new(DEFAULT_ADMIN_PASSWORD, strlen(DEFAULT_ADMIN_PASSWORD),
	                               a->cfg.bcrypt_cost);
	const char *params[] = {DEFAULT_ADMIN_NAME, DEFAULT_ADMIN_EMAIL, hash};
	enum db_status st;
	PGresult *res = NULL;
	int rc;

	if (hash == NULL)
		return fail("could not hash the default admin's password");
	res = db_exec(db,
	              "INSERT INTO users (username, email, hashed_password, role, must_change_password) "
	              "VALUES ($1, $2, $3, 'admin', true) ON CONFLICT DO NOTHING",
	              3, params, &st);
	if (res == NULL) {
		rc = db_failed(db, st, "creating the default admin");
	} else {
		rc = 0;
		*created = affected_rows(res) == 1;
	}
	PQclear(res);
	util_free_secret(hash);
	return rc;
}

/*
 * One section, up or down, in one transaction. The advisory lock serialises
 * operators running at once; whoever waited re-checks the record under it.
 * Returns 0 when done, 0 with *skipped when someone else already did it.
 */
static int migrate_section(struct admin *a, enum target t, const struct migration *mg, bool up,
                           bool *skipped)
{
	struct db *db = &a->db[t];
	const struct section *s = up ? &mg->up.sec[t] : &mg->down.sec[t];
	char version[24];
	const char *const params[] = {version, mg->stem};
	enum db_status st;
	PGresult *res = NULL;
	bool recorded, seeded = false, seed = up && t == TARGET_AUTH && mg->version == 1;
	int rc = 1;

	*skipped = false;
	snprintf(version, sizeof version, "%ld", mg->version);
	if ((st = db_begin(db)) != DB_OK || (st = db_run(db, MIGRATE_LOCK, 0, NULL)) != DB_OK ||
	    (st = db_run(db, CREATE_SCHEMA_MIGRATIONS, 0, NULL)) != DB_OK) {
		rc = db_failed(db, st, mg->stem);
		goto out;
	}
	res = db_exec(db, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params, &st);
	if (res == NULL) {
		rc = db_failed(db, st, mg->stem);
		goto out;
	}
	recorded = PQntuples(res) > 0;
	if (recorded != up) {
		if (exec_section(db, mg, s) != 0)
			goto out;
		st = up ? db_run(db, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
		                 params)
		        : db_run(db, "DELETE FROM schema_migrations WHERE version = $1", 1, params);
		if (st != DB_OK) {
			rc = db_failed(db, st, mg->stem);
			goto out;
		}
		if (seed && seed_default_admin(a, &seeded) != 0)
			goto out;
	} else {
		*skipped = true;
	}
	if ((st = db_commit(db)) != DB_OK) {
		rc = db_failed(db, st, mg->stem);
		goto out;
	}
	if (!*skipped)
		print_section_done(db, mg->stem, s, up ? "applied" : "rolled back");
	if (!*skipped && seed)
		printf(seeded ? "%s: ✓ Default admin user created (admin / Admin123! — must be changed "
		                "at first login)\n"
		              : "%s: ✓ Default admin user already present (left unchanged)\n",
		       dbname(db));
	rc = 0;
out:
	PQclear(res);
	if (rc != 0)
		db_rollback(db);
	return rc;
}

/* The sections of a script in file order: (target, section) pairs. */
static size_t sections_in_order(const struct script *s, enum target order[TARGET__MAX])
{
	size_t n = 0;

	for (int pos = 0; pos < TARGET__MAX; pos++)
		for (int t = 0; t < TARGET__MAX; t++)
			if (s->sec[t].present && s->sec[t].order == pos)
				order[n++] = (enum target)t;
	return n;
}

static int cmd_migrate_up(struct admin *a, const struct args *args)
{
	struct migrations m;
	struct applied_set done[TARGET__MAX] = {{NULL, 0}, {NULL, 0}};
	bool changed[TARGET__MAX] = {false, false};
	int rc = 1;

	(void)args;
	if (load_migrations(&m) != 0)
		return 1;
	for (int t = 0; t < TARGET__MAX; t++)
		if (load_applied(&a->db[t], &done[t]) != 0)
			goto out;
	for (size_t i = 0; i < m.n; i++) {
		enum target order[TARGET__MAX];
		size_t n = sections_in_order(&m.v[i].up, order);

		for (size_t k = 0; k < n; k++) {
			bool skipped;
			if (find_applied(&done[order[k]], m.v[i].version) != NULL)
				continue;
			if (migrate_section(a, order[k], &m.v[i], true, &skipped) != 0)
				goto out;
			changed[order[k]] |= !skipped;
		}
	}
	for (int t = 0; t < TARGET__MAX; t++)
		if (!changed[t])
			printf("%s: up to date\n", dbname(&a->db[t]));
	rc = 0;
out:
	for (int t = 0; t < TARGET__MAX; t++)
		free(done[t].v);
	migrations_cleanup(&m);
	return rc;
}

static int cmd_migrate_down(struct admin *a, const struct args *args)
{
	struct migrations m;
	struct applied_set done[TARGET__MAX] = {{NULL, 0}, {NULL, 0}};
	int rc = 1;

	if (load_migrations(&m) != 0)
		return 1;
	for (int t = 0; t < TARGET__MAX; t++)
		if (load_applied(&a->db[t], &done[t]) != 0)
			goto out;
	/* Every applied migration must be undoable before anything is dropped. */
	for (int t = 0; t < TARGET__MAX; t++)
		for (size_t i = 0; i < done[t].n; i++) {
			const struct migration *mg = find_migration(&m, done[t].v[i].version);
			if (mg == NULL || mg->down_path == NULL) {
				fail("%s: migration %ld is applied but has no .down.sql file here; "
				     "nothing was dropped", dbname(&a->db[t]), done[t].v[i].version);
				goto out;
			}
		}
	if (!args->yes && !confirmed()) {
		fail("not confirmed; nothing was dropped");
		goto out;
	}
	for (size_t i = m.n; i-- > 0;) {
		const struct migration *mg = &m.v[i];
		enum target order[TARGET__MAX];
		size_t n;

		/* A database recorded without a down section for it only loses the record. */
		for (int t = 0; t < TARGET__MAX; t++) {
			bool skipped;
			if (find_applied(&done[t], mg->version) == NULL || mg->down.sec[t].present)
				continue;
			if (migrate_section(a, (enum target)t, mg, false, &skipped) != 0)
				goto out;
		}
		n = sections_in_order(&mg->down, order);
		for (size_t k = 0; k < n; k++) {
			bool skipped;
			if (find_applied(&done[order[k]], mg->version) == NULL)
				continue;
			if (migrate_section(a, order[k], mg, false, &skipped) != 0)
				goto out;
		}
	}
	for (int t = 0; t < TARGET__MAX; t++)
		if (done[t].n == 0)
			printf("%s: nothing to roll back\n", dbname(&a->db[t]));
	rc = 0;
out:
	for (int t = 0; t < TARGET__MAX; t++)
		free(done[t].v);
	migrations_cleanup(&m);
	return rc;
}

static int cmd_migrate_status(struct admin *a, const struct args *args)
{
	struct migrations m;
	struct applied_set done = {NULL, 0};
	int rc = 1;

	(void)args;
	if (load_migrations(&m) != 0)
		return 1;
	for (int t = 0; t < TARGET__MAX; t++) {
		size_t pending = 0;

		if (load_applied(&a->db[t], &done) != 0)
			goto out;
		printf("%s (%s):\n", dbname(&a->db[t]), target_variable[t]);
		for (size_t i = 0; i < m.n; i++) {
			const struct applied *ap = find_applied(&done, m.v[i].version);
			if (!m.v[i].up.sec[t].present && ap == NULL)
				continue;
			if (ap != NULL)
				printf("  %-40s applied %s\n", m.v[i].stem, ap->at);
			else
				printf("  %-40s pending\n", m.v[i].stem);
			pending += ap == NULL;
		}
		for (size_t i = 0; i < done.n; i++)
			if (find_migration(&m, done.v[i].version) == NULL)
				printf("  %-40ld applied %s (no migration file here)\n", done.v[i].version,
				       done.v[i].at);
		printf("  %zu pending\n", pending);
		free(done.v);
		done.v = NULL;
	}
	rc = 0;
out:
	free(done.v);
	migrations_cleanup(&m);
	return rc;
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

static bool is_valid_role(const char *role)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(roles); i++)
		if (strcmp(role, roles[i]) == 0)
			return true;
	return false;
}

static int check_name(const char *name)
{
	if (!is_valid_name(name))
		return usage_error("invalid user name \"%s\": 1-%d characters of A-Z a-z 0-9 . _ -",
		                   name, NAME_MAX_LEN);
	return 0;
}

static int check_role(const char *role)
{
	if (!is_valid_role(role))
		return usage_error("invalid role \"%s\": one of member, officer, admin", role);
	return 0;
}

/* Before anything else: a clear word when migrations were never run. */
static int require_users(struct admin *a)
{
	int exists = table_exists(&a->db[TARGET_AUTH], "users");

	if (exists == 0)
		return fail("%s has no users table; run `farout-admin migrate up` first",
		            dbname(&a->db[TARGET_AUTH]));
	return exists < 0 ? 1 : 0;
}

/* The id of user name into id (caller's buffer), or a failure saying it does not exist. */
static int find_user_id(struct admin *a, const char *name, char id[24])
{
	const char *const params[] = {name};
	struct db *db = &a->db[TARGET_AUTH];
	enum db_status st;
	PGresult *res;
	int rc = 0;

	res = db_exec(db, "SELECT id FROM users WHERE username = $1", 1, params, &st);
	if (res == NULL)
		return db_failed(db, st, "looking up the user");
	if (PQntuples(res) == 0)
		rc = fail("user \"%s\" does not exist", name);
	else
		snprintf(id, 24, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

/* Tokens of the user stop working at once: their sessions are the allow-list. */
static int revoke_sessions(struct db *db, const char *user_id, long *revoked)
{
	const char *const params[] = {user_id};
	enum db_status st;
	PGresult *res;
	int exists = table_exists(db, "sessions");

	*revoked = 0;
	if (exists <= 0)
		return -exists;
	res = db_exec(db,
	              "UPDATE sessions SET revoked_at = now() "
	              "WHERE user_id = $1 AND revoked_at IS NULL",
	              1, params, &st);
	if (res == NULL)
		return db_failed(db, st, "revoking sessions");
	*revoked = affected_rows(res);
	PQclear(res);
	return 0;
}

/* After a unique violation: which of the two was taken. */
static int conflict_message(struct db *db, const char *name, const char *email)
{
	const char *const params[] = {name};
	PGresult *res = db_exec(db, "SELECT 1 FROM users WHERE username = $1", 1, params, NULL);
	bool name_taken = res != NULL && PQntuples(res) > 0;

	PQclear(res);
	if (name_taken || email == NULL)
		return fail("user \"%s\" already exists", name);
	return fail("email \"%s\" is already used by another user", email);
}

static int cmd_user_add(struct admin *a, const struct args *args)
{
	const char *role = args->role != NULL ? args->role : "member";
	const char *must_change = args->keep ? "false" : "true";
	struct db *db = &a->db[TARGET_AUTH];
	const char *params[5] = {args->name, args->email, NULL, role, must_change};
	const char *const lookup[] = {args->name, args->email};
	char *hash = NULL;
	enum db_status st;
	PGresult *res = NULL;
	int rc;

	if ((rc = require_users(a)) != 0)
		return rc;
	res = db_exec(db, "SELECT 1 FROM users WHERE username = $1 OR email = $2", 2, lookup, &st);
	if (res == NULL)
		return db_failed(db, st, "looking up the user");
	rc = PQntuples(res) > 0 ? conflict_message(db, args->name, args->email) : 0;
	PQclear(res);
	res = NULL;
	if (rc != 0 || (rc = new_password_hash(a, args->name, &hash)) != 0)
		goto out;
	params[2] = hash;
	res = db_exec(db,
	              "INSERT INTO users (username, email, hashed_password, role, must_change_password) "
	              "VALUES ($1, $2, $3, $4, $5) RETURNING id",
	              5, params, &st);
	if (res == NULL)
		rc = st == DB_CONFLICT ? conflict_message(db, args->name, args->email)
		                       : db_failed(db, st, "creating the user");
	else
		printf("✓ User \"%s\" created (id %s, role %s%s)\n", args->name, PQgetvalue(res, 0, 0),
		       role, args->keep ? "" : ", must change the password at first login");
out:
	PQclear(res);
	util_free_secret(hash);
	return rc;
}

static int cmd_user_passwd(struct admin *a, const struct args *args)
{
	struct db *db = &a->db[TARGET_AUTH];
	char id[24];
	const char *params[3] = {id, NULL, args->keep ? "false" : "true"};
	char *hash = NULL;
	enum db_status st;
	long revoked = 0;
	int rc;

	if ((rc = require_users(a)) != 0 || (rc = find_user_id(a, args->name, id)) != 0 ||
	    (rc = new_password_hash(a, args->name, &hash)) != 0)
		goto out;
	params[1] = hash;
	rc = 1;
	if ((st = db_begin(db)) != DB_OK ||
	    (st = db_run(db,
	                 "UPDATE users SET hashed_password = $2, must_change_password = $3 "
	                 "WHERE id = $1",
	                 3, params)) != DB_OK) {
		rc = db_failed(db, st, "setting the password");
		goto out;
	}
	if (revoke_sessions(db, id, &revoked) != 0)
		goto out;
	if ((st = db_commit(db)) != DB_OK) {
		rc = db_failed(db, st, "setting the password");
		goto out;
	}
	printf("✓ Password of \"%s\" set%s; %ld session(s) revoked\n", args->name,
	       args->keep ? "" : " (must be changed at next login)", revoked);
	rc = 0;
out:
	if (rc != 0)
		db_rollback(db);
	util_free_secret(hash);
	return rc;
}

static int cmd_user_role(struct admin *a, const struct args *args)
{
	struct db *db = &a->db[TARGET_AUTH];
	const char *const params[] = {args->name, args->value};
	enum db_status st;
	PGresult *res;
	int rc;

	if ((rc = require_users(a)) != 0)
		return rc;
	/* Roles are read from the database at every request: no session needs revoking. */
	res = db_exec(db, "UPDATE users SET role = $2 WHERE username = $1", 2, params, &st);
	if (res == NULL)
		return db_failed(db, st, "changing the role");
	if (affected_rows(res) == 0)
		rc = fail("user \"%s\" does not exist", args->name);
	else
		printf("✓ \"%s\" is now %s\n", args->name, args->value);
	PQclear(res);
	return rc;
}

static int set_active(struct admin *a, const struct args *args, bool active)
{
	struct db *db = &a->db[TARGET_AUTH];
	char id[24];
	const char *const params[] = {id, active ? "true" : "false"};
	enum db_status st;
	long revoked = 0;
	int rc;

	if ((rc = require_users(a)) != 0 || (rc = find_user_id(a, args->name, id)) != 0)
		return rc;
	rc = 1;
	if ((st = db_begin(db)) != DB_OK ||
	    (st = db_run(db, "UPDATE users SET is_active = $2 WHERE id = $1", 2, params)) != DB_OK) {
		rc = db_failed(db, st, "updating the user");
		goto out;
	}
	if (!active && revoke_sessions(db, id, &revoked) != 0)
		goto out;
	if ((st = db_commit(db)) != DB_OK) {
		rc = db_failed(db, st, "updating the user");
		goto out;
	}
	if (active)
		printf("✓ \"%s\" enabled\n", args->name);
	else
		printf("✓ \"%s\" disabled; %ld session(s) revoked\n", args->name, revoked);
	rc = 0;
out:
	if (rc != 0)
		db_rollback(db);
	return rc;
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
	res = db_exec(db,
	              "SELECT id, username, email, role, "
	              "CASE WHEN is_active THEN 'yes' ELSE 'no' END, "
	              "CASE WHEN must_change_password THEN 'yes' ELSE 'no' END, discord_id, "
	              "to_char(last_login AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	              "FROM users ORDER BY id",
	              0, NULL, &st);
	if (res == NULL)
		return db_failed(db, st, "listing users");
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

/* ---- prune -------------------------------------------------------------------- */

/*
 * Expired rows nobody can use any more. Sessions stay a day past expiry so a
 * token refused as expired is still told apart from one never issued; OAuth
 * states likewise outlive their signed 600 s lifetime by a wide margin.
 */
static const struct {
	const char *table;
	const char *sql;
} prunable[] = {
	{"sessions", "DELETE FROM sessions WHERE expires_at < now() - interval '1 day'"},
	{"login_attempts", "DELETE FROM login_attempts WHERE expires_at < now()"},
	{"oauth_states", "DELETE FROM oauth_states WHERE expires_at < now() - interval '1 day'"},
};

static int cmd_prune(struct admin *a, const struct args *args)
{
	struct db *db = &a->db[TARGET_AUTH];
	enum db_status st;
	PGresult *res;

	(void)args;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(prunable); i++) {
		int has = column_exists(db, prunable[i].table, "expires_at");

		if (has < 0)
			return 1;
		if (has == 0) {
			printf("%s: skipped (no such table with an expires_at column)\n", prunable[i].table);
			continue;
		}
		res = db_exec(db, prunable[i].sql, 0, NULL, &st);
		if (res == NULL)
			return db_failed(db, st, prunable[i].table);
		printf("%s: %ld expired row(s) deleted\n", prunable[i].table, affected_rows(res));
		PQclear(res);
	}
	return 0;
}

/* ---- members (lib/members.c owns these commands) ---------------------------------- */

static int cmd_members(struct admin *a, const struct args *args)
{
	return members_cli(&a->db[TARGET_APP], args->nrest, args->rest, stdout, stderr);
}

/* ---- the command line ------------------------------------------------------------ */

#define BOTH ((1u << TARGET_AUTH) | (1u << TARGET_APP))
#define AUTH (1u << TARGET_AUTH)
#define APP (1u << TARGET_APP)

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
	{"prune", NULL, 0, 0, false, AUTH, cmd_prune, "prune", NULL},
	{"members", NULL, 0, 0, false, APP, cmd_members,
	 "members list | set-rank DISCORD_ID RANK | import FILE.json", members_cli_usage},
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
	      "  prune                   delete expired sessions, login counters and OAuth states\n"
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
	      "Environment: DATABASE_URL, AUTH_DATABASE_URL, BCRYPT_COST (12), and\n"
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
				               ? usage_error("unexpected argument: passwords are read from "
				                             "stdin, never from the command line")
				               : usage_error("unexpected argument \"%s\" (usage: " PROG " %s)",
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
				return usage_error("--email needs a value");
			out->email = v;
		} else if ((cmd->options & OPT_ROLE) &&
		           ((v = option_value(arg, "--role", &i, argc, argv, &matched)) != NULL || matched)) {
			if (v == NULL)
				return usage_error("--role needs a value");
			out->role = v;
		} else {
			/* Only the name: the value may be a password typed where it does not belong. */
			return usage_error("unknown option \"%.*s\" (usage: " PROG " %s)",
			                   (int)strcspn(arg, "="), arg, cmd->synopsis);
		}
	}
	if (npos < cmd->npositional)
		return usage_error("missing argument (usage: " PROG " %s)", cmd->synopsis);
	out->name = positional[0];
	out->value = positional[1];
	if (out->name != NULL && check_name(out->name) != 0)
		return EXIT_USAGE;
	if (out->value != NULL && check_role(out->value) != 0)
		return EXIT_USAGE;
	if (out->role != NULL && check_role(out->role) != 0)
		return EXIT_USAGE;
	if (out->email != NULL && !is_valid_email(out->email))
		return usage_error("invalid email \"%s\": one @, no spaces, at most %d characters",
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
		return usage_error("missing command (see " PROG " --help)");
	cmd = find_command(argv[1], argc >= 3 ? argv[2] : NULL, &group_known);
	if (cmd == NULL && !group_known)
		return usage_error("unknown command \"%s\" (see " PROG " --help)", argv[1]);
	if (cmd == NULL && argc < 3)
		return usage_error("%s needs a subcommand (see " PROG " --help)", argv[1]);
	if (cmd == NULL)
		return usage_error("unknown command \"%s %s\" (see " PROG " --help)", argv[1], argv[2]);
	first = cmd->verb != NULL ? 3 : 2;
	if ((rc = parse_args(cmd, argc - first, argv + first, &args)) != 0)
		return rc;

	if (config_load(&a.cfg, CONFIG_NEED_DB, err, sizeof err) != 0)
		return fail("%s", err);
	db_init(&a.db[TARGET_AUTH], a.cfg.auth_database_url, "auth");
	db_init(&a.db[TARGET_APP], a.cfg.database_url, "app");
	rc = 0;
	for (int t = 0; t < TARGET__MAX && rc == 0; t++)
		if (cmd->databases & (1u << t))
			rc = connect_target(&a, (enum target)t);
	if (rc == 0)
		rc = cmd->run(&a, &args);
	for (int t = 0; t < TARGET__MAX; t++)
		db_cleanup(&a.db[t]);
	config_cleanup(&a.cfg);
	fflush(stdout);
	return rc;
}

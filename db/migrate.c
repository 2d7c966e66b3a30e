/*
 * migrate — what it offers is in migrate.h. Every file is parsed before
 * anything runs, so a malformed one changes nothing; each database keeps its
 * own record, so after a failure half way the next `migrate up` finishes
 * whichever database is behind.
 */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "password.h"
#include "users.h"
#include "util.h"

#define SCRIPT_MAX_BYTES (16 * 1024 * 1024)

#define MIGRATE_LOCK "SELECT pg_advisory_xact_lock(hashtext('farout-admin migrate'))"
#define CREATE_SCHEMA_MIGRATIONS                                                              \
	"CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "          \
	"name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"

#define DEFAULT_ADMIN_NAME "admin"
#define DEFAULT_ADMIN_PASSWORD "Admin123!"
#define DEFAULT_ADMIN_EMAIL "admin@farout.local"

/* The words of `-- @database` lines. */
static const char *const target_keyword[TARGET__MAX] = {"auth", "app"};

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
			admin_fail("FAROUT_MIGRATIONS_DIR: %s is not a directory", env);
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
		admin_fail("no migrations directory beside %s (set FAROUT_MIGRATIONS_DIR)",
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
	int rc = 0;

	switch (buf_read_file(out, path)) {
	case BUF_FILE_OK:
		break;
	case BUF_FILE_OPEN:
		return admin_fail("%s: %s", path, strerror(errno));
	case BUF_FILE_TOO_LARGE:
		return admin_fail("%s: too large or out of memory", path);
	case BUF_FILE_READ:
		return admin_fail("%s: read error", path);
	}
	if (rc == 0 && out->len > 0 && memchr(out->data, '\0', out->len) != NULL)
		rc = admin_fail("%s: contains a NUL byte", path);
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
				admin_fail("%s:%d: unknown database \"%.*s\" (auth or app)", path,
				           lineno + 1, (int)arglen, arg);
				goto out;
			}
			if (!cur->present)
				cur->order = order++;
			cur->present = true;
		} else if (starts_with(p, n, "-- @done")) {
			directive_arg(p, n, strlen("-- @done"), &arg, &arglen);
			if (cur == NULL) {
				admin_fail("%s:%d: -- @done outside a -- @database section", path, lineno + 1);
				goto out;
			}
			if (buf_append(&cur->done, arg, arglen) == -1 || buf_puts(&cur->done, "\n") == -1)
				goto oom;
		} else if (starts_with(p, n, "-- @")) {
			admin_fail("%s:%d: unknown directive (-- @database or -- @done)", path, lineno + 1);
			goto out;
		} else if (cur != NULL) {
			if (buf_append(&cur->sql, p, n) == -1)
				goto oom;
		} else if (!is_blank_or_comment(p, n)) {
			admin_fail("%s:%d: SQL before the first -- @database line", path, lineno + 1);
			goto out;
		}
		p += n;
	}
	if (order == 0) {
		admin_fail("%s: has no -- @database section", path);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	admin_fail("%s: out of memory", path);
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
		admin_fail("%s: %s", dir, strerror(errno));
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
			admin_fail("%s and %s have the same number", m->v[i - 1].stem, m->v[i].stem);
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
	admin_fail("out of memory reading %s", dir);
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
	int exists = admin_table_exists(db, "schema_migrations");

	set->v = NULL;
	set->n = 0;
	if (exists <= 0)
		return -exists;
	res = db_exec(db,
	              "SELECT version, to_char(applied_at AT TIME ZONE 'UTC', "
	              "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_migrations ORDER BY version",
	              0, NULL, &st);
	if (res == NULL)
		return admin_db_failed(db, st, "reading schema_migrations");
	set->v = calloc((size_t)PQntuples(res) + 1, sizeof *set->v);
	if (set->v == NULL) {
		PQclear(res);
		return admin_fail("out of memory");
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
		printf("%s: %s ✓ %s\n", admin_db_name(db), stem, fallback);
		return;
	}
	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		printf("%s: %s ✓ %.*s\n", admin_db_name(db), stem, (int)(nl - p), p);
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
		admin_one_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) != NULL
		                       ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
		                       : PQerrorMessage(db->conn),
		               msg, sizeof msg);
		rc = admin_fail("%s: %s failed and changed nothing: %s", admin_db_name(db), mg->stem, msg);
	} else if (PQtransactionStatus(db->conn) != PQTRANS_INTRANS) {
		rc = admin_fail("%s: %s ended the transaction itself, so part of it may be committed "
		                "unrecorded (no BEGIN/COMMIT in migration files)",
		                admin_db_name(db), mg->stem);
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
	const struct users_new seed = {DEFAULT_ADMIN_NAME, DEFAULT_ADMIN_EMAIL, hash, "admin", true};
	enum db_status st;
	int rc = 0;

	if (hash == NULL)
		return admin_fail("could not hash the default admin's password");
	st = users_seed(db, &seed, created);
	if (st != DB_OK)
		rc = admin_db_failed(db, st, "creating the default admin");
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
		rc = admin_db_failed(db, st, mg->stem);
		goto out;
	}
	res = db_exec(db, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params, &st);
	if (res == NULL) {
		rc = admin_db_failed(db, st, mg->stem);
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
			rc = admin_db_failed(db, st, mg->stem);
			goto out;
		}
		if (seed && seed_default_admin(a, &seeded) != 0)
			goto out;
	} else {
		*skipped = true;
	}
	if ((st = db_commit(db)) != DB_OK) {
		rc = admin_db_failed(db, st, mg->stem);
		goto out;
	}
	if (!*skipped)
		print_section_done(db, mg->stem, s, up ? "applied" : "rolled back");
	if (!*skipped && seed)
		printf(seeded ? "%s: ✓ Default admin user created (admin / Admin123! — must be changed "
		                "at first login)\n"
		              : "%s: ✓ Default admin user already present (left unchanged)\n",
		       admin_db_name(db));
	rc = 0;
out:
	PQclear(res);
	if (rc != 0)
		db_rollback(db);
	return rc;
}

/* The migration files and what each database has recorded. */
struct plan {
	struct migrations m;
	struct applied_set done[TARGET__MAX];
};

static void plan_cleanup(struct plan *p)
{
	for (int t = 0; t < TARGET__MAX; t++) {
		free(p->done[t].v);
		p->done[t].v = NULL;
		p->done[t].n = 0;
	}
	migrations_cleanup(&p->m);
}

static int plan_load(struct admin *a, struct plan *p)
{
	memset(p, 0, sizeof *p);
	if (load_migrations(&p->m) != 0)
		return 1;
	for (int t = 0; t < TARGET__MAX; t++)
		if (load_applied(&a->db[t], &p->done[t]) != 0) {
			plan_cleanup(p);
			return 1;
		}
	return 0;
}

/*
 * The up or down script of mg, section by section in file order, on each
 * database where it is still to do; changed[t] is set where one ran.
 */
static int run_script(struct admin *a, const struct plan *p, const struct migration *mg, bool up,
                      bool changed[TARGET__MAX])
{
	const struct script *s = up ? &mg->up : &mg->down;

	for (int pos = 0; pos < TARGET__MAX; pos++)
		for (int t = 0; t < TARGET__MAX; t++) {
			bool skipped;

			if (!s->sec[t].present || s->sec[t].order != pos ||
			    (find_applied(&p->done[t], mg->version) != NULL) == up)
				continue;
			if (migrate_section(a, (enum target)t, mg, up, &skipped) != 0)
				return 1;
			changed[t] |= !skipped;
		}
	return 0;
}

int migrate_up(struct admin *a)
{
	struct plan p;
	bool changed[TARGET__MAX] = {false, false};
	int rc = 1;

	if (plan_load(a, &p) != 0)
		return 1;
	for (size_t i = 0; i < p.m.n; i++)
		if (run_script(a, &p, &p.m.v[i], true, changed) != 0)
			goto out;
	for (int t = 0; t < TARGET__MAX; t++)
		if (!changed[t])
			printf("%s: up to date\n", admin_db_name(&a->db[t]));
	rc = 0;
out:
	plan_cleanup(&p);
	return rc;
}

int migrate_down(struct admin *a, bool (*confirm)(void))
{
	struct plan p;
	bool changed[TARGET__MAX] = {false, false};
	int rc = 1;

	if (plan_load(a, &p) != 0)
		return 1;
	/* Every applied migration must be undoable before anything is dropped. */
	for (int t = 0; t < TARGET__MAX; t++)
		for (size_t i = 0; i < p.done[t].n; i++) {
			const struct migration *mg = find_migration(&p.m, p.done[t].v[i].version);
			if (mg == NULL || mg->down_path == NULL) {
				admin_fail("%s: migration %ld is applied but has no .down.sql file here; "
				           "nothing was dropped",
				           admin_db_name(&a->db[t]), p.done[t].v[i].version);
				goto out;
			}
		}
	if (confirm != NULL && !confirm()) {
		admin_fail("not confirmed; nothing was dropped");
		goto out;
	}
	for (size_t i = p.m.n; i-- > 0;) {
		const struct migration *mg = &p.m.v[i];

		/* A database recorded without a down section for it only loses the record. */
		for (int t = 0; t < TARGET__MAX; t++) {
			bool skipped;
			if (find_applied(&p.done[t], mg->version) == NULL || mg->down.sec[t].present)
				continue;
			if (migrate_section(a, (enum target)t, mg, false, &skipped) != 0)
				goto out;
		}
		if (run_script(a, &p, mg, false, changed) != 0)
			goto out;
	}
	for (int t = 0; t < TARGET__MAX; t++)
		if (p.done[t].n == 0)
			printf("%s: nothing to roll back\n", admin_db_name(&a->db[t]));
	rc = 0;
out:
	plan_cleanup(&p);
	return rc;
}

int migrate_status(struct admin *a)
{
	struct migrations m;
	struct applied_set done = {NULL, 0};
	int rc = 1;

	if (load_migrations(&m) != 0)
		return 1;
	for (int t = 0; t < TARGET__MAX; t++) {
		size_t pending = 0;

		if (load_applied(&a->db[t], &done) != 0)
			goto out;
		printf("%s (%s):\n", admin_db_name(&a->db[t]), admin_target_variable[t]);
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

/*
 * admin-members — `farout-admin members list | set-rank | import` (admin.h):
 * the command line around lib/members, which owns every statement.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "buf.h"
#include "json.h"
#include "member_events.h"
#include "members.h"
#include "util.h"

#define IMPORT_MAX_BYTES (64L * 1024 * 1024)

static const char *db_failure(enum db_status st)
{
	if (st == DB_UNAVAILABLE)
		return "the app database is unreachable (DATABASE_URL)";
	if (st == DB_CONFLICT)
		return "a member with that discord_id already exists";
	return "the app database refused the statement (see the log line above)";
}

/* One tab-separated line; control characters (a Discord name may hold any) become '?'. */
static void print_field(FILE *out, const char *s, char end)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
	fputc(end, out);
}

/* An audit row's detail for an operator's write: the fields it sets (never values). */
static cJSON *detail_new(const struct members_change *c)
{
	cJSON *detail = member_events_fields_new(c);

	if (detail != NULL && cJSON_AddStringToObject(detail, "via", "farout-admin") == NULL) {
		cJSON_Delete(detail);
		detail = NULL;
	}
	return detail;
}

static int cli_list(struct db *db, FILE *out, FILE *err)
{
	enum db_status st;
	PGresult *res = members_roster(db, &st);

	if (res == NULL) {
		fprintf(err, "members list: %s\n", db_failure(st));
		return 1;
	}
	fprintf(out, "discord_id\trank\tdisplay_name\n");
	for (int r = 0; r < PQntuples(res); r++) {
		print_field(out, db_value(res, r, 0), '\t');
		print_field(out, db_value(res, r, 1), '\t');
		print_field(out, db_value(res, r, 2), '\n');
	}
	PQclear(res);
	return 0;
}

/* The change and its member_update row, as for PATCH /api/members (lib/member_events). */
static int cli_set_rank(struct db *auth, struct db *db, const char *discord_id, const char *rank,
                        FILE *out, FILE *err)
{
	struct members_change c;
	struct audit_event ev = {"member_update", "ok", NULL, discord_id, NULL, NULL, NULL};
	enum db_status st;
	cJSON *member = NULL, *detail = NULL;
	bool found = false;
	int rc = 1;

	memset(&c, 0, sizeof c);
	if (!util_is_snowflake(discord_id)) {
		fprintf(err, "members set-rank: the discord_id must be 1 to 20 digits\n");
		goto out;
	}
	if (!members_is_rank(rank)) {
		fprintf(err, "members set-rank: the rank must be 1 to 32 characters without control "
		             "characters\n");
		goto out;
	}
	if ((c.value[MEMBERS_RANK] = strdup(rank)) == NULL)
		goto out;
	c.set[MEMBERS_RANK] = true;
	c.order[c.nset++] = MEMBERS_RANK;
	if ((ev.detail = detail = detail_new(&c)) == NULL)
		goto out;
	if ((st = db_begin(db)) == DB_OK)
		st = members_update(db, discord_id, &c, &member, &found);
	if (st == DB_OK && found)
		st = member_events_commit_db(auth, db, &ev);
	else
		db_rollback(db);
	if (st != DB_OK)
		fprintf(err, "members set-rank: %s\n", db_failure(st));
	else if (!found)
		fprintf(err, "members set-rank: no member has discord_id %s\n", discord_id);
	else {
		fprintf(out, "Rank of %s set to %s\n", discord_id, rank);
		rc = 0;
	}
out:
	cJSON_Delete(detail);
	cJSON_Delete(member);
	members_change_cleanup(&c);
	return rc;
}

static int read_file(const char *path, struct buf *b, FILE *err)
{
	switch (buf_read_file(b, path)) {
	case BUF_FILE_OK:
		return 0;
	case BUF_FILE_OPEN:
		fprintf(err, "members import: cannot open %s\n", path);
		break;
	case BUF_FILE_TOO_LARGE:
		fprintf(err, "members import: %s is larger than %ld bytes\n", path, IMPORT_MAX_BYTES);
		break;
	case BUF_FILE_READ:
		fprintf(err, "members import: cannot read %s\n", path);
		break;
	}
	return -1;
}

static int compare_ids(const void *a, const void *b)
{
	const struct members_change *x = *(const struct members_change *const *)a;
	const struct members_change *y = *(const struct members_change *const *)b;

	return strcmp(x->discord_id, y->discord_id);
}

/* The same discord_id twice in one file is a mistake an operator wants to hear about. */
static bool has_duplicate_ids(struct members_change *changes, size_t n, FILE *err)
{
	struct members_change **sorted = calloc(n, sizeof *sorted);
	bool dup = false;

	if (sorted == NULL)
		return true;
	for (size_t i = 0; i < n; i++)
		sorted[i] = &changes[i];
	qsort(sorted, n, sizeof *sorted, compare_ids);
	for (size_t i = 1; i < n && !dup; i++)
		if (strcmp(sorted[i - 1]->discord_id, sorted[i]->discord_id) == 0) {
			fprintf(err, "members import: discord_id %s appears more than once\n",
			        sorted[i]->discord_id);
			dup = true;
		}
	free(sorted);
	return dup;
}

/*
 * Every entry and its member_create or member_update row: the rows commit
 * in farout_auth first, then the members in farout, so no member changes
 * without its row (a failed last COMMIT is said on err).
 */
static int cli_import(struct db *auth, struct db *db, const char *path, FILE *out, FILE *err)
{
	struct members_change *changes = NULL;
	struct buf text;
	enum json_error jerr;
	enum db_status st;
	cJSON *root = NULL;
	size_t n = 0, parsed = 0, created = 0;
	char detail[256];
	int rc = 1;
	bool in_tx = false, in_auth_tx = false;

	buf_init(&text, (size_t)IMPORT_MAX_BYTES);
	if (read_file(path, &text, err) == -1)
		goto out;
	root = json_parse(text.data, text.len, &jerr);
	if (root == NULL) {
		fprintf(err, "members import: %s: %s\n", path, json_error_detail(jerr));
		goto out;
	}
	if (!cJSON_IsArray(root)) {
		fprintf(err, "members import: %s must hold a JSON array of members\n", path);
		goto out;
	}
	n = (size_t)cJSON_GetArraySize(root);
	if (n > 0 && (changes = calloc(n, sizeof *changes)) == NULL)
		goto out;
	/* Every entry is checked before the first write: a bad file changes nothing. */
	for (const cJSON *item = root->child; item != NULL; item = item->next, parsed++) {
		const char *field;
		enum members_check ck = members_change_parse(item, MEMBERS_FOR_CREATE, &changes[parsed],
		                                             &field, detail, sizeof detail);
		if (ck != MEMBERS_CHECK_OK) {
			fprintf(err, "members import: entry %zu: %s\n", parsed + 1,
			        ck == MEMBERS_CHECK_NO_MEMORY ? "out of memory" : detail);
			goto out;
		}
	}
	if (has_duplicate_ids(changes, n, err))
		goto out;
	if ((st = db_begin(auth)) != DB_OK) {
		fprintf(err, "members import: the audit log: %s\n", db_failure(st));
		goto out;
	}
	in_auth_tx = true;
	if ((st = db_begin(db)) != DB_OK) {
		fprintf(err, "members import: %s\n", db_failure(st));
		goto out;
	}
	in_tx = true;
	for (size_t i = 0; i < n; i++) {
		struct audit_event ev = {NULL, "ok", NULL, changes[i].discord_id, NULL, NULL, NULL};
		bool new_row = false;
		cJSON *row;

		if ((st = members_upsert(db, &changes[i], &new_row)) != DB_OK) {
			fprintf(err, "members import: entry %zu: %s\n", i + 1, db_failure(st));
			goto out;
		}
		created += new_row;
		ev.event = new_row ? "member_create" : "member_update";
		ev.detail = row = detail_new(&changes[i]);
		st = row != NULL ? audit_record(auth, &ev) : DB_ERROR;
		cJSON_Delete(row);
		if (st != DB_OK) {
			fprintf(err, "members import: entry %zu: its audit row could not be written\n", i + 1);
			goto out;
		}
	}
	in_auth_tx = false;
	if ((st = db_commit(auth)) != DB_OK) {
		fprintf(err, "members import: the audit rows could not be committed; nothing imported\n");
		goto out;
	}
	if ((st = db_commit(db)) != DB_OK) {
		fprintf(err, "members import: %s (the audit log records an import that did not commit)\n",
		        db_failure(st));
		goto out;
	}
	in_tx = false;
	fprintf(out, "Imported %zu members: %zu created, %zu updated\n", n, created, n - created);
	rc = 0;
out:
	if (in_tx)
		db_rollback(db);
	if (in_auth_tx)
		db_rollback(auth);
	for (size_t i = 0; i < n && changes != NULL; i++)
		members_change_cleanup(&changes[i]);
	free(changes);
	cJSON_Delete(root);
	buf_cleanup(&text);
	return rc;
}

int admin_members_usage(int argc, char **argv, FILE *err)
{
	if ((argc == 1 && strcmp(argv[0], "list") == 0) ||
	    (argc == 3 && strcmp(argv[0], "set-rank") == 0) ||
	    (argc == 2 && strcmp(argv[0], "import") == 0))
		return 0;
	fprintf(err, "usage: farout-admin members list | set-rank DISCORD_ID RANK | import FILE.json\n");
	return 2;
}

int admin_members(struct admin *a, int argc, char **argv, FILE *out, FILE *err)
{
	struct db *auth = &a->db[TARGET_AUTH], *db = &a->db[TARGET_APP];

	if (admin_members_usage(argc, argv, err) != 0)
		return 2;
	if (strcmp(argv[0], "list") == 0)
		return cli_list(db, out, err);
	if (strcmp(argv[0], "set-rank") == 0)
		return cli_set_rank(auth, db, argv[1], argv[2], out, err);
	return cli_import(auth, db, argv[1], out, err);
}

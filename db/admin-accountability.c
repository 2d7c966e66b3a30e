#include "admin.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_query.h"
#include "sessions.h"
#include "users.h"
#include "util.h"

/* A value for one line of output: "-" for NULL, control characters as '?'. */
static void print_field(const char *label, const char *v)
{
	fputs(label, stdout);
	if (v == NULL) {
		fputc('-', stdout);
		return;
	}
	for (; *v != '\0'; v++)
		fputc((unsigned char)*v < 0x20 || *v == 0x7f ? '?' : *v, stdout);
}

int admin_user_sessions(struct admin *a, const char *name)
{
	struct db *db = &a->db[TARGET_AUTH];
	char id[USERS_ID_MAX];
	enum db_status st;
	PGresult *res;
	int rc;

	if ((rc = admin_user_id(a, name, id)) != 0)
		return rc;
	res = sessions_roster(db, id, &st);
	if (res == NULL)
		return admin_db_failed(db, st, "listing sessions");
	printf("%d live session(s) of \"%s\"\n", PQntuples(res), name);
	for (int r = 0; r < PQntuples(res); r++) {
		print_field("", db_value(res, r, 0));
		print_field("  created ", db_value(res, r, 1));
		print_field("  expires ", db_value(res, r, 2));
		print_field("  ", db_value(res, r, 3));
		print_field("  ", db_value(res, r, 4));
		print_field("  ", db_value(res, r, 5));
		fputc('\n', stdout);
	}
	PQclear(res);
	return 0;
}

/* Ending them and the audit row commit together. */
int admin_user_logout(struct admin *a, const char *name)
{
	struct db *db = &a->db[TARGET_AUTH];
	struct audit_event ev = {"session_end", "ok", NULL, NULL, NULL, NULL, NULL};
	char id[USERS_ID_MAX];
	cJSON *detail = NULL;
	long ended = 0;
	enum db_status st;
	int rc;

	if ((rc = admin_user_id(a, name, id)) != 0)
		return rc;
	ev.target = id;
	if ((st = db_begin(db)) != DB_OK)
		return admin_db_failed(db, st, "ending sessions");
	st = sessions_revoke_all(db, id, &ended);
	if (st == DB_OK) {
		detail = cJSON_CreateObject();
		if (detail == NULL || cJSON_AddStringToObject(detail, "scope", "all") == NULL ||
		    cJSON_AddNumberToObject(detail, "sessions_ended", (double)ended) == NULL ||
		    cJSON_AddStringToObject(detail, "via", "farout-admin") == NULL)
			st = DB_ERROR;
	}
	ev.detail = detail;
	rc = admin_commit_audited(db, st, &ev, "ending sessions");
	cJSON_Delete(detail);
	if (rc != 0)
		return rc;
	printf("✓ %ld session(s) of \"%s\" ended\n", ended, name);
	return 0;
}

/* ---- audit ------------------------------------------------------------------------ */

struct audit_args {
	const char *user;
	const char *event;
	const char *since;
	long limit;
};

/* A calendar date YYYY-MM-DD (2026-02-30 is none: PostgreSQL would refuse it as a failed query). */
static bool is_date(const char *s)
{
	static const int days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;
	char tail;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || strspn(s, "0123456789-") != 10 ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1 || m < 1 || m > 12 || d < 1 ||
	    d > days[m - 1])
		return false;
	return m != 2 || d != 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

static int parse_audit_args(int argc, char **argv, struct audit_args *out, FILE *err)
{
	memset(out, 0, sizeof *out);
	out->limit = AUDIT_QUERY_LIMIT_DEFAULT;
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "--user") != 0 && strcmp(opt, "--event") != 0 &&
		    strcmp(opt, "--since") != 0 && strcmp(opt, "--limit") != 0) {
			fprintf(err, "farout-admin: unknown argument \"%s\" (usage: farout-admin audit "
			             "[--user NAME] [--event E] [--since YYYY-MM-DD] [--limit N])\n", opt);
			return 2;
		}
		if (v == NULL) {
			fprintf(err, "farout-admin: %s needs a value\n", opt);
			return 2;
		}
		i++;
		if (strcmp(opt, "--user") == 0) {
			out->user = v;
		} else if (strcmp(opt, "--event") == 0) {
			if (!audit_is_event_name(v)) {
				fprintf(err, "farout-admin: --event: \"%s\" is not an event name\n", v);
				return 2;
			}
			out->event = v;
		} else if (strcmp(opt, "--since") == 0) {
			if (!is_date(v)) {
				fprintf(err, "farout-admin: --since needs a date YYYY-MM-DD\n");
				return 2;
			}
			out->since = v;
		} else if (util_parse_long(v, 1, 100000, &out->limit) == -1) {
			fprintf(err, "farout-admin: --limit needs a number from 1 to 100000\n");
			return 2;
		}
	}
	return 0;
}

int admin_audit_usage(int argc, char **argv, FILE *err)
{
	struct audit_args args;

	return parse_audit_args(argc, argv, &args, err);
}

static void print_event(const cJSON *item)
{
	const cJSON *actor = cJSON_GetObjectItemCaseSensitive(item, "actor_user_id");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
	char *detail = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(item, "detail"));
	char actor_s[24] = "-";

	if (cJSON_IsNumber(actor))
		snprintf(actor_s, sizeof actor_s, "%.0f", actor->valuedouble);
	printf("%.0f ", cJSON_IsNumber(id) ? id->valuedouble : 0.0);
	print_field("", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "at")));
	print_field(" ", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "event")));
	print_field(" ", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "outcome")));
	printf(" actor=%s", actor_s);
	print_field(" target=", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "target")));
	print_field(" ip=", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "ip")));
	print_field(" request=",
	            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "request_id")));
	print_field(" ", detail);
	fputc('\n', stdout);
	cJSON_free(detail);
}

int admin_audit(struct admin *a, int argc, char **argv)
{
	struct db *db = &a->db[TARGET_AUTH];
	struct audit_args args;
	struct audit_filter f = {0};
	char id[USERS_ID_MAX], before[24];
	long left;
	int rc;

	if ((rc = parse_audit_args(argc, argv, &args, stderr)) != 0)
		return rc;
	f.event = args.event;
	f.since = args.since;
	if (args.user != NULL) {
		/* A known user as actor or target; any name as the name typed at a failed sign-in. */
		bool found = false;
		enum db_status st = users_id_by_name(db, args.user, id, &found);
		if (st != DB_OK)
			return admin_db_failed(db, st, "looking up the user");
		if (found)
			f.user_id = id;
		f.name = args.user;
	}
	/* Pages of the API's size until the limit is reached. */
	for (left = args.limit; left > 0;) {
		enum db_status st;
		cJSON *page, *next, *item;

		f.limit = left < AUDIT_QUERY_LIMIT_MAX ? left : AUDIT_QUERY_LIMIT_MAX;
		page = audit_query_json_new(db, &f, &st);
		if (page == NULL)
			return admin_db_failed(db, st, "reading the audit log");
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(page, "items"))
		{
			print_event(item);
			left--;
		}
		next = cJSON_GetObjectItemCaseSensitive(page, "next_before_id");
		if (cJSON_IsNumber(next)) {
			snprintf(before, sizeof before, "%.0f", next->valuedouble);
			f.before_id = before;
		} else {
			left = 0;
		}
		cJSON_Delete(page);
	}
	return 0;
}

int admin_audit_prune(struct admin *a)
{
	struct db *db = &a->db[TARGET_AUTH];
	long deleted = 0;
	enum db_status st;
	int exists = admin_table_exists(db, "audit_events");

	if (exists < 0)
		return 1;
	if (exists == 0) {
		printf("audit_events: skipped (no such table)\n");
		return 0;
	}
	st = audit_prune(db, a->cfg.audit_retention_days, &deleted);
	if (st != DB_OK)
		return admin_db_failed(db, st, "audit_events");
	printf("audit_events: %ld event(s) older than %ld day(s) deleted\n", deleted,
	       a->cfg.audit_retention_days);
	return 0;
}

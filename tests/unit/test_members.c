/*
 * lib/members without a database: field validation, the order of the
 * body's checks, the write rules, the statement built for a PATCH, the
 * directory's query string, and the Member JSON of a row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "json.h"
#include "members.h"

static char *repeat_new(const char *unit, size_t times)
{
	size_t n = strlen(unit);
	char *s = malloc(n * times + 1);

	assert_non_null(s);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * n, unit, n);
	s[n * times] = '\0';
	return s;
}

/* ---- validators ------------------------------------------------------------ */

/* is_valid takes max repetitions of unit and refuses one more. */
static void assert_length_limit(bool (*is_valid)(const char *), const char *unit, size_t max)
{
	char *at = repeat_new(unit, max), *over = repeat_new(unit, max + 1);

	assert_true(is_valid(at));
	assert_false(is_valid(over));
	free(at);
	free(over);
}

static void test_display_name_bounds(void **state)
{
	(void)state;
	assert_true(members_is_display_name("N"));
	assert_true(members_is_display_name("Nelly the Pilot"));
	assert_length_limit(members_is_display_name, "é", 64); /* characters, not bytes */
	assert_false(members_is_display_name(""));
	assert_false(members_is_display_name("   "));
	assert_false(members_is_display_name("two\nlines"));
	assert_false(members_is_display_name("tab\there"));
	assert_false(members_is_display_name("del\x7f"));
	assert_false(members_is_display_name("c1\xc2\x85"));  /* U+0085 NEXT LINE */
	assert_false(members_is_display_name("bad\xff utf8")); /* not UTF-8 */
	assert_false(members_is_display_name(NULL));
}

static void test_rank_bounds(void **state)
{
	(void)state;
	assert_true(members_is_rank("officer"));
	assert_length_limit(members_is_rank, "r", 32);
	assert_false(members_is_rank(""));
	assert_false(members_is_rank("a\rb"));
}

static void test_bio_bounds(void **state)
{
	(void)state;
	assert_true(members_is_bio(""));
	assert_true(members_is_bio("line one\nline two\ttabbed\r\n"));
	assert_length_limit(members_is_bio, "ü", 2000);
	assert_false(members_is_bio("bell\a"));
}

static void test_avatar_url_rules(void **state)
{
	char *long_url = repeat_new("a", 512 - strlen("https://x/")), *url512, *url513;

	(void)state;
	url512 = malloc(600);
	url513 = malloc(600);
	snprintf(url512, 600, "https://x/%s", long_url);
	snprintf(url513, 600, "https://x/%sa", long_url);
	assert_int_equal(strlen(url512), 512);
	assert_true(members_is_avatar_url(url512));
	assert_false(members_is_avatar_url(url513));
	assert_true(members_is_avatar_url(
	        "https://cdn.discordapp.com/avatars/80351110224678912/"
	        "8342729096ea3675442027381ff50dfe.png"));
	assert_true(members_is_avatar_url("http://example.com"));
	assert_true(members_is_avatar_url("HTTPS://EXAMPLE.COM/a.png"));
	assert_false(members_is_avatar_url("ftp://example.com/a.png"));
	assert_false(members_is_avatar_url("javascript:alert(1)"));
	assert_false(members_is_avatar_url("//example.com/a.png"));
	assert_false(members_is_avatar_url("https://"));
	assert_false(members_is_avatar_url("https:///path"));
	assert_false(members_is_avatar_url("https://exa mple.com/"));
	assert_false(members_is_avatar_url("https://exämple.com/"));
	assert_false(members_is_avatar_url(""));
	free(long_url);
	free(url512);
	free(url513);
}

/* ---- body parsing ------------------------------------------------------------ */

struct parsed {
	enum members_check rc;
	struct members_change change;
	char detail[256];
	char field[80];
};

static void parse_text(const char *text, enum members_mode mode, struct parsed *p)
{
	enum json_error err;
	cJSON *body = json_parse(text, strlen(text), &err);
	const char *field = NULL;

	assert_non_null(body);
	memset(p, 0, sizeof *p);
	p->rc = members_change_parse(body, mode, &p->change, &field, p->detail, sizeof p->detail);
	snprintf(p->field, sizeof p->field, "%s", field != NULL ? field : "");
	cJSON_Delete(body);
}

static void check_body(const char *text, enum members_mode mode, enum members_check want,
                         const char *field)
{
	struct parsed p;

	parse_text(text, mode, &p);
	if (p.rc != want)
		fail_msg("%s: got %d (%s), want %d", text, p.rc, p.detail, want);
	if (field != NULL)
		assert_string_equal(p.field, field);
	if (want != MEMBERS_CHECK_OK)
		assert_true(strlen(p.detail) > 0);
	members_change_cleanup(&p.change);
}

static void test_parse_shape(void **state)
{
	(void)state;
	check_body("[]", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID, "");
	check_body("\"x\"", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID, "");
	check_body("null", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID, "");
	check_body("{}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID, "");
	check_body("{\"bio\":\"a\",\"bio\":\"b\"}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID, "");
}

static void test_parse_unknown_fields(void **state)
{
	(void)state;
	check_body("{\"id\":1}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_UNKNOWN_FIELD, "id");
	check_body("{\"created_at\":\"2026-01-01T00:00:00Z\"}", MEMBERS_FOR_PATCH,
	             MEMBERS_CHECK_UNKNOWN_FIELD, "created_at");
	check_body("{\"updated_at\":\"x\"}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_UNKNOWN_FIELD,
	             "updated_at");
	check_body("{\"discord_id\":\"1\"}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_UNKNOWN_FIELD,
	             "discord_id");
	check_body("{\"Display_Name\":\"x\"}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_UNKNOWN_FIELD,
	             "Display_Name");
	/* An unknown key wins over a bad value that comes before it. */
	check_body("{\"display_name\":5,\"nickname\":\"x\"}", MEMBERS_FOR_PATCH,
	             MEMBERS_CHECK_UNKNOWN_FIELD, "nickname");
	check_body("{\"id\":1,\"discord_id\":\"5\",\"display_name\":\"x\"}", MEMBERS_FOR_CREATE,
	             MEMBERS_CHECK_UNKNOWN_FIELD, "id");
}

static void test_parse_values(void **state)
{
	(void)state;
	check_body("{\"bio\":null}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_OK, NULL);
	check_body("{\"avatar_url\":null}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_OK, NULL);
	check_body("{\"display_name\":null}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID,
	             "display_name");
	check_body("{\"rank\":null}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID, "rank");
	check_body("{\"stats\":null}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID, "stats");
	check_body("{\"missions_completed\":null}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID,
	             "missions_completed");
	check_body("{\"display_name\":\"\"}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID,
	             "display_name");
	check_body("{\"display_name\":42}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID,
	             "display_name");
	check_body("{\"rank\":\"\"}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID, "rank");
	check_body("{\"avatar_url\":\"data:image/png;base64,AAAA\"}", MEMBERS_FOR_PATCH,
	             MEMBERS_CHECK_INVALID, "avatar_url");
	check_body("{\"missions_completed\":{}}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID,
	             "missions_completed");
	check_body("{\"trainings_completed\":\"[]\"}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID,
	             "trainings_completed");
	check_body("{\"stats\":[]}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID, "stats");
	check_body("{\"stats\":{\"a\":1,\"b\":{\"c\":1,\"c\":2}}}", MEMBERS_FOR_PATCH,
	             MEMBERS_CHECK_INVALID, "stats");
	check_body("{\"stats\":{\"big\":1e999}}", MEMBERS_FOR_PATCH, MEMBERS_CHECK_INVALID,
	             "stats");
	check_body("{\"stats\":{\"kills\":3,\"tags\":[\"a\",{\"b\":null}]}}", MEMBERS_FOR_PATCH,
	             MEMBERS_CHECK_OK, NULL);
	/* The first bad value is the one named. */
	check_body("{\"bio\":\"ok\",\"rank\":7,\"stats\":1}", MEMBERS_FOR_PATCH,
	             MEMBERS_CHECK_INVALID, "rank");
}

static void test_parse_create(void **state)
{
	(void)state;
	check_body("{\"discord_id\":\"80351110224678912\",\"display_name\":\"Nelly\"}",
	             MEMBERS_FOR_CREATE, MEMBERS_CHECK_OK, NULL);
	check_body("{\"discord_id\":\"18446744073709551615\",\"display_name\":\"Max\"}",
	             MEMBERS_FOR_CREATE, MEMBERS_CHECK_OK, NULL);
	check_body("{\"discord_id\":\"18446744073709551616\",\"display_name\":\"Over\"}",
	             MEMBERS_FOR_CREATE, MEMBERS_CHECK_INVALID, "discord_id");
	check_body("{\"discord_id\":\"123456789012345678901\",\"display_name\":\"Long\"}",
	             MEMBERS_FOR_CREATE, MEMBERS_CHECK_INVALID, "discord_id");
	check_body("{\"discord_id\":80351110224678912,\"display_name\":\"Num\"}", MEMBERS_FOR_CREATE,
	             MEMBERS_CHECK_INVALID, "discord_id");
	check_body("{\"discord_id\":\"-1\",\"display_name\":\"Neg\"}", MEMBERS_FOR_CREATE,
	             MEMBERS_CHECK_INVALID, "discord_id");
	check_body("{\"discord_id\":\"\",\"display_name\":\"Empty\"}", MEMBERS_FOR_CREATE,
	             MEMBERS_CHECK_INVALID, "discord_id");
	check_body("{\"display_name\":\"NoId\"}", MEMBERS_FOR_CREATE, MEMBERS_CHECK_INVALID,
	             "discord_id");
	check_body("{\"discord_id\":\"5\"}", MEMBERS_FOR_CREATE, MEMBERS_CHECK_INVALID,
	             "display_name");
	check_body("{}", MEMBERS_FOR_CREATE, MEMBERS_CHECK_INVALID, NULL);
}

static void test_parse_keeps_values_and_order(void **state)
{
	struct parsed p;

	(void)state;
	parse_text("{\"stats\":{\"k\": [1, 2.5, \"x\"]},\"bio\":null,\"display_name\":\"Zoë\"}",
	           MEMBERS_FOR_PATCH, &p);
	assert_int_equal(p.rc, MEMBERS_CHECK_OK);
	assert_int_equal(p.change.nset, 3);
	assert_int_equal(p.change.order[0], MEMBERS_STATS);
	assert_int_equal(p.change.order[1], MEMBERS_BIO);
	assert_int_equal(p.change.order[2], MEMBERS_DISPLAY_NAME);
	assert_string_equal(p.change.value[MEMBERS_STATS], "{\"k\":[1,2.5,\"x\"]}");
	assert_true(p.change.set[MEMBERS_BIO]);
	assert_null(p.change.value[MEMBERS_BIO]);
	assert_string_equal(p.change.value[MEMBERS_DISPLAY_NAME], "Zoë");
	assert_false(p.change.set[MEMBERS_RANK]);
	members_change_cleanup(&p.change);
}

/* ---- write rules -------------------------------------------------------------- */

static enum members_permission allowed(const char *text, enum role role, bool self,
                                       const char **field)
{
	struct parsed p;
	enum members_permission perm;

	parse_text(text, MEMBERS_FOR_PATCH, &p);
	assert_int_equal(p.rc, MEMBERS_CHECK_OK);
	perm = members_change_allowed(&p.change, role, self, field);
	members_change_cleanup(&p.change);
	return perm;
}

static void test_member_rules(void **state)
{
	const char *field;

	(void)state;
	assert_int_equal(allowed("{\"display_name\":\"Me\",\"bio\":\"hi\"}", ROLE_MEMBER, true, &field),
	                 MEMBERS_ALLOWED);
	assert_int_equal(allowed("{\"bio\":\"hi\",\"rank\":\"captain\"}", ROLE_MEMBER, true, &field),
	                 MEMBERS_FORBIDDEN_FIELD);
	assert_string_equal(field, "rank");
	assert_int_equal(allowed("{\"avatar_url\":null}", ROLE_MEMBER, true, &field),
	                 MEMBERS_FORBIDDEN_FIELD);
	assert_string_equal(field, "avatar_url");
	assert_int_equal(allowed("{\"stats\":{}}", ROLE_MEMBER, true, &field), MEMBERS_FORBIDDEN_FIELD);
	assert_string_equal(field, "stats");
	assert_int_equal(allowed("{\"bio\":\"hi\"}", ROLE_MEMBER, false, &field), MEMBERS_FORBIDDEN);
}

static void test_officer_rules(void **state)
{
	const char *field;

	(void)state;
	assert_int_equal(allowed("{\"rank\":\"captain\",\"missions_completed\":[1],"
	                         "\"trainings_completed\":[],\"stats\":{\"a\":1}}",
	                         ROLE_OFFICER, false, &field),
	                 MEMBERS_ALLOWED);
	assert_int_equal(allowed("{\"rank\":\"captain\",\"display_name\":\"X\"}", ROLE_OFFICER, false,
	                         &field),
	                 MEMBERS_FORBIDDEN_FIELD);
	assert_string_equal(field, "display_name");
	assert_int_equal(allowed("{\"bio\":null}", ROLE_OFFICER, false, &field),
	                 MEMBERS_FORBIDDEN_FIELD);
	assert_string_equal(field, "bio");
	assert_int_equal(allowed("{\"avatar_url\":null}", ROLE_OFFICER, false, &field),
	                 MEMBERS_FORBIDDEN_FIELD);
	assert_string_equal(field, "avatar_url");
	/* Their own row: display_name and bio as the member, not avatar_url. */
	assert_int_equal(allowed("{\"display_name\":\"Me\",\"rank\":\"x\"}", ROLE_OFFICER, true, &field),
	                 MEMBERS_ALLOWED);
	assert_int_equal(allowed("{\"avatar_url\":null}", ROLE_OFFICER, true, &field),
	                 MEMBERS_FORBIDDEN_FIELD);
}

static void test_admin_rules(void **state)
{
	const char *field;

	(void)state;
	assert_int_equal(allowed("{\"display_name\":\"X\",\"bio\":null,\"avatar_url\":null,"
	                         "\"rank\":\"r\",\"missions_completed\":[],"
	                         "\"trainings_completed\":[],\"stats\":{}}",
	                         ROLE_ADMIN, false, &field),
	                 MEMBERS_ALLOWED);
	assert_null(field);
}

/* ---- the statement ------------------------------------------------------------- */

static void test_update_sql_comes_from_the_table(void **state)
{
	struct parsed p;
	struct buf sql;
	const char *values[MEMBERS_FIELD__MAX + 1];
	int n;

	(void)state;
	parse_text("{\"stats\":{\"a\":1},\"display_name\":\"Robert'); DROP TABLE members;--\","
	           "\"bio\":null}",
	           MEMBERS_FOR_PATCH, &p);
	assert_int_equal(p.rc, MEMBERS_CHECK_OK);
	assert_int_equal(members_update_sql(&p.change, "42", &sql, values, &n), 0);
	assert_int_equal(n, 4);
	/* Table order, not request order; values only as parameters. */
	assert_non_null(strstr(sql.data, "UPDATE members AS m SET display_name = $2, bio = $3, "
	                                 "stats = $4::jsonb WHERE m.discord_id = $1 RETURNING m.id, "));
	assert_null(strstr(sql.data, "Robert"));
	assert_null(strstr(sql.data, "DROP"));
	assert_string_equal(values[0], "42");
	assert_string_equal(values[1], "Robert'); DROP TABLE members;--");
	assert_null(values[2]);
	assert_string_equal(values[3], "{\"a\":1}");
	buf_cleanup(&sql);
	members_change_cleanup(&p.change);
}

/* ---- the query string ------------------------------------------------------------ */

static enum members_check query(const char *qs, struct members_query *q)
{
	char detail[256];
	enum members_check rc = members_query_parse(qs, q, detail, sizeof detail);

	if (rc != MEMBERS_CHECK_OK)
		assert_true(strlen(detail) > 0);
	return rc;
}

static void test_query_defaults(void **state)
{
	struct members_query q;

	(void)state;
	assert_int_equal(query("", &q), MEMBERS_CHECK_OK);
	assert_int_equal(q.limit, 50);
	assert_int_equal(q.offset, 0);
	assert_null(q.rank);
	assert_null(q.q);
	members_query_cleanup(&q);
	assert_int_equal(query("q=", &q), MEMBERS_CHECK_OK); /* every name holds the empty string */
	assert_null(q.q);
	members_query_cleanup(&q);
}

static void test_query_values(void **state)
{
	struct members_query q;

	(void)state;
	assert_int_equal(query("rank=officer&q=50%25+off_&limit=200&offset=7", &q), MEMBERS_CHECK_OK);
	assert_string_equal(q.rank, "officer");
	assert_string_equal(q.q, "50% off_");
	assert_int_equal(q.limit, 200);
	assert_int_equal(q.offset, 7);
	members_query_cleanup(&q);
	assert_int_equal(query("limit=1&&", &q), MEMBERS_CHECK_OK);
	assert_int_equal(q.limit, 1);
	members_query_cleanup(&q);
}

static void test_query_refusals(void **state)
{
	static const char *const bad[] = {
		"limit=0", "limit=201", "limit=-1", "limit=abc", "limit=", "limit=1.5", "limit=+5",
		"limit= 5", "limit=99999999999999999999", "offset=-1", "offset=abc", "offset=",
		"rank=", "rank=%0Aofficer", "rank=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "q=%ff",
		"q=%zz", "q=%00", "sort=name", "limit=5&limit=6", "page=2",
	};
	struct members_query q;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (query(bad[i], &q) != MEMBERS_CHECK_INVALID)
			fail_msg("accepted %s", bad[i]);
		assert_null(q.rank);
		assert_null(q.q);
	}
}

/* ---- Member JSON --------------------------------------------------------------- */

static void test_row_to_json(void **state)
{
	static const char *const row[MEMBERS_NCOLUMNS] = {
		"7", "80351110224678912", "Nelly", NULL,
		"https://cdn.discordapp.com/avatars/80351110224678912/a.png", "member",
		"[]", "[\"m1\", {\"n\": 12345678901234567890}]", "{}",
		"1795788000", "1795788001",
	};
	PGresAttDesc attrs[MEMBERS_NCOLUMNS];
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	cJSON *m;
	char *text;

	(void)state;
	memset(attrs, 0, sizeof attrs);
	for (int i = 0; i < MEMBERS_NCOLUMNS; i++) {
		attrs[i].name = (char *)"c";
		attrs[i].format = 0;
	}
	assert_int_equal(PQsetResultAttrs(res, MEMBERS_NCOLUMNS, attrs), 1);
	for (int i = 0; i < MEMBERS_NCOLUMNS; i++)
		assert_int_equal(PQsetvalue(res, 0, i, (char *)row[i], row[i] ? (int)strlen(row[i]) : -1), 1);
	m = members_row_to_json(res, 0, 0);
	assert_non_null(m);
	text = cJSON_PrintUnformatted(m);
	assert_string_equal(text,
	                    "{\"id\":7,\"discord_id\":\"80351110224678912\",\"display_name\":\"Nelly\","
	                    "\"bio\":null,\"avatar_url\":\"https://cdn.discordapp.com/avatars/"
	                    "80351110224678912/a.png\",\"rank\":\"member\",\"missions_completed\":[],"
	                    "\"trainings_completed\":[\"m1\", {\"n\": 12345678901234567890}],"
	                    "\"stats\":{},\"created_at\":\"2026-11-27T14:00:00Z\","
	                    "\"updated_at\":\"2026-11-27T14:00:01Z\"}");
	cJSON_free(text);
	cJSON_Delete(m);
	PQclear(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_display_name_bounds),
		cmocka_unit_test(test_rank_bounds),
		cmocka_unit_test(test_bio_bounds),
		cmocka_unit_test(test_avatar_url_rules),
		cmocka_unit_test(test_parse_shape),
		cmocka_unit_test(test_parse_unknown_fields),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_create),
		cmocka_unit_test(test_parse_keeps_values_and_order),
		cmocka_unit_test(test_member_rules),
		cmocka_unit_test(test_officer_rules),
		cmocka_unit_test(test_admin_rules),
		cmocka_unit_test(test_update_sql_comes_from_the_table),
		cmocka_unit_test(test_query_defaults),
		cmocka_unit_test(test_query_values),
		cmocka_unit_test(test_query_refusals),
		cmocka_unit_test(test_row_to_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

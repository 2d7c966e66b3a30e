/* audit: what audit_from_req takes from the request, cutting long values at a
 * UTF-8 boundary, and refusals that need no database (the rows themselves are
 * checked against a real database in tests/integration/test_audit.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"

static void test_from_req_takes_addr_and_request_id(void **state)
{
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/auth/login",
	                     "REMOTE_ADDR=192.0.2.7", "REQUEST_ID=0123456789abcdef0123456789abcdef",
	                     "HTTP_COOKIE=farout_session=secret", NULL};
	struct audit_event ev = {"login", "ok", NULL, NULL, NULL, NULL, NULL};
	struct http_req req;

	(void)state;
	assert_int_equal(http_req_init(&req, (char *const *)env), 0);
	audit_from_req(&ev, &req);
	assert_string_equal(ev.ip, "192.0.2.7");
	assert_string_equal(ev.request_id, "0123456789abcdef0123456789abcdef");
	assert_string_equal(ev.event, "login"); /* nothing else touched */
	assert_null(ev.target);
	http_req_cleanup(&req);
}

static void test_from_req_missing_values_are_null(void **state)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/", NULL};
	struct audit_event ev = {"login", "ok", NULL, NULL, "x", "y", NULL};
	struct http_req req;

	(void)state;
	assert_int_equal(http_req_init(&req, (char *const *)env), 0);
	audit_from_req(&ev, &req);
	assert_null(ev.ip);
	assert_null(ev.request_id);
	http_req_cleanup(&req);
}

static void test_clip(void **state)
{
	char out[8];
	/* "aé€" is 1 + 2 + 3 bytes; cutting at 5 must drop the whole euro sign. */
	const char *s = "a\xc3\xa9\xe2\x82\xac";

	(void)state;
	assert_null(audit_clip(NULL, out, 7));
	assert_string_equal(audit_clip("short", out, 7), "short");
	assert_string_equal(audit_clip("exactly", out, 7), "exactly");
	assert_string_equal(audit_clip("too long", out, 7), "too lon");
	assert_string_equal(audit_clip(s, out, 6), s);
	assert_string_equal(audit_clip(s, out, 5), "a\xc3\xa9");
	assert_string_equal(audit_clip(s, out, 4), "a\xc3\xa9");
	assert_string_equal(audit_clip(s, out, 2), "a");
}

static void test_record_refuses_event_without_name(void **state)
{
	struct db db;
	struct audit_event ev = {NULL, "ok", NULL, NULL, NULL, NULL, NULL};

	(void)state;
	/* Refused before any connection is tried. */
	db_init(&db, "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1", "auth");
	assert_int_equal(audit_record(&db, &ev), DB_ERROR);
	assert_null(db.conn);
	db_cleanup(&db);
}

static void test_record_reports_unavailable_database(void **state)
{
	struct db db;
	cJSON *detail = cJSON_CreateObject();
	struct audit_event ev = {"role_change", "ok", "1", "2", NULL, NULL, detail};

	(void)state;
	/* Port 1 on loopback: nothing listens, the connection is refused at once. */
	db_init(&db, "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1", "auth");
	assert_int_equal(audit_record(&db, &ev), DB_UNAVAILABLE);
	db_cleanup(&db);
	cJSON_Delete(detail);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_req_takes_addr_and_request_id),
		cmocka_unit_test(test_from_req_missing_values_are_null),
		cmocka_unit_test(test_clip),
		cmocka_unit_test(test_record_refuses_event_without_name),
		cmocka_unit_test(test_record_reports_unavailable_database),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

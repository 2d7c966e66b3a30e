/* http: form/query decoding, cookies, content types, the request from a CGI
 * environment, and the response as it goes on the wire. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

/* ---- form and query decoding ---------------------------------------------- */

static void assert_form(const char *form, const char *name, int rc, const char *expected)
{
	char *v = (char *)"untouched";

	assert_int_equal(http_form_get(form, strlen(form), name, &v), rc);
	if (rc == 1) {
		assert_non_null(v);
		assert_string_equal(v, expected);
	} else {
		assert_null(v);
	}
	free(v);
}

static void test_form_fields(void **state)
{
	(void)state;
	assert_form("username=admin&password=secret", "username", 1, "admin");
	assert_form("username=admin&password=secret", "password", 1, "secret");
	assert_form("username=admin&password=secret", "email", 0, NULL);
	assert_form("", "username", 0, NULL);
	assert_form("a=", "a", 1, "");
	assert_form("a", "a", 1, "");             /* a key alone is an empty value */
	assert_form("ab=1&a=2", "a", 1, "2");     /* no prefix matches */
	assert_form("a=1&ab=2", "ab", 1, "2");
	assert_form("xa=1", "a", 0, NULL);
	assert_form("&&a=1&&", "a", 1, "1");
	assert_form("a=1&a=2", "a", 1, "1");      /* the first one; callers refuse repeats */
	assert_form("a=x=y", "a", 1, "x=y");
}

static void test_form_decoding(void **state)
{
	(void)state;
	assert_form("q=John+Smith", "q", 1, "John Smith");
	assert_form("q=%41%62", "q", 1, "Ab");
	assert_form("q=%2B", "q", 1, "+");        /* an encoded plus stays a plus */
	assert_form("q=a%26b%3Dc", "q", 1, "a&b=c");
	assert_form("q=%e2%82%ac", "q", 1, "\xe2\x82\xac");
	assert_form("q=%E2%82%AC", "q", 1, "\xe2\x82\xac");
	assert_form("q=100%25", "q", 1, "100%");
	assert_form("q=%20+%20", "q", 1, "   ");
}

static void test_form_bad_escapes(void **state)
{
	(void)state;
	assert_form("q=%", "q", -1, NULL);
	assert_form("q=%4", "q", -1, NULL);
	assert_form("q=abc%4", "q", -1, NULL);
	assert_form("q=%G1", "q", -1, NULL);
	assert_form("q=%1G", "q", -1, NULL);
	assert_form("q=%%41", "q", -1, NULL);
	assert_form("q=% 1", "q", -1, NULL);
	assert_form("q=%-1", "q", -1, NULL);
	/* A NUL would cut the value short in C and cannot go into PostgreSQL text. */
	assert_form("q=%00", "q", -1, NULL);
	assert_form("q=abc%00def", "q", -1, NULL);
	/* Only the field asked for is decoded: a bad neighbour does not matter. */
	assert_form("a=%zz&q=ok", "q", 1, "ok");
}

static void test_form_raw_nul(void **state)
{
	static const char form[] = "q=ab\0cd";
	char *v = NULL;

	(void)state;
	assert_int_equal(http_form_get(form, sizeof form - 1, "q", &v), -1);
	assert_null(v);
}

static void test_form_unknown_fields(void **state)
{
	static const char *const allowed[] = {"username", "password", NULL};

	(void)state;
	assert_false(http_form_has_unknown("username=a&password=b", 21, allowed));
	assert_false(http_form_has_unknown("password=b", 10, allowed));
	assert_false(http_form_has_unknown("", 0, allowed));
	assert_true(http_form_has_unknown("username=a&role=admin", 21, allowed));
	assert_true(http_form_has_unknown("username=a&username=b", 21, allowed));
	assert_true(http_form_has_unknown("usernamex=a", 11, allowed));
	assert_true(http_form_has_unknown("user=a", 6, allowed));
}

static void test_urlencode(void **state)
{
	char *e = http_urlencode_new("a b&c/d=e?\xc3\xa9~-._");

	(void)state;
	assert_non_null(e);
	assert_string_equal(e, "a%20b%26c%2Fd%3De%3F%C3%A9~-._");
	free(e);
}

/* ---- requests ------------------------------------------------------------- */

static void req_from(struct http_req *req, char **env)
{
	assert_int_equal(http_req_init(req, env), 0);
}

static void test_request_from_environment(void **state)
{
	char *env[] = {
		(char *)"REQUEST_METHOD=POST",
		(char *)"DOCUMENT_URI=/api/auth/login",
		(char *)"REQUEST_URI=/api/auth/login?next=%2F",
		(char *)"QUERY_STRING=next=%2F",
		(char *)"CONTENT_TYPE=application/json",
		(char *)"CONTENT_LENGTH=17",
		(char *)"REMOTE_ADDR=192.0.2.7",
		(char *)"HTTP_ORIGIN=http://localhost:8080",
		(char *)"HTTP_X_REQUEST_ID=abc123",
		NULL,
	};
	struct http_req req;
	char *v = NULL;

	(void)state;
	req_from(&req, env);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.path, "/api/auth/login");
	assert_string_equal(req.query, "next=%2F");
	assert_string_equal(req.remote_addr, "192.0.2.7");
	assert_int_equal(req.content_length, 17);
	assert_string_equal(http_req_header(&req, "Origin"), "http://localhost:8080");
	assert_string_equal(http_req_header(&req, "x-request-id"), "abc123");
	assert_null(http_req_header(&req, "Referer"));
	assert_int_equal(http_query_get(&req, "next", &v), 1);
	assert_string_equal(v, "/");
	free(v);
	http_req_cleanup(&req);
}

static void test_request_path_and_length_fallbacks(void **state)
{
	char *env[] = {
		(char *)"REQUEST_METHOD=GET",
		(char *)"REQUEST_URI=/api/members?q=x",
		(char *)"CONTENT_LENGTH=12x",
		NULL,
	};
	char *empty[] = {NULL};
	struct http_req req;

	(void)state;
	req_from(&req, env);
	assert_string_equal(req.path, "/api/members"); /* without the query */
	assert_true(req.content_length > HTTP_BODY_MAX); /* unparsable: refused as too large */
	http_req_cleanup(&req);

	req_from(&req, empty);
	assert_string_equal(req.method, "");
	assert_string_equal(req.path, "");
	assert_string_equal(req.query, "");
	assert_int_equal(req.content_length, -1);
	http_req_cleanup(&req);
}

static char *cookie_of(const char *header, const char *name)
{
	char line[512];
	char *env[] = {line, NULL};
	struct http_req req;
	char *v;

	snprintf(line, sizeof line, "HTTP_COOKIE=%s", header);
	req_from(&req, env);
	v = http_req_cookie_dup(&req, name);
	http_req_cleanup(&req);
	return v;
}

static void assert_cookie(const char *header, const char *name, const char *expected)
{
	char *v = cookie_of(header, name);

	if (expected == NULL) {
		assert_null(v);
	} else {
		assert_non_null(v);
		assert_string_equal(v, expected);
	}
	free(v);
}

static void test_cookies(void **state)
{
	(void)state;
	assert_cookie("farout_session=tok", "farout_session", "tok");
	assert_cookie("a=1; farout_session=tok; b=2", "farout_session", "tok");
	assert_cookie("a=1;farout_session=tok;b=2", "farout_session", "tok");
	assert_cookie("a=1;   farout_session=tok", "farout_session", "tok");
	assert_cookie("a=1; b=2", "farout_session", NULL);
	assert_cookie("farout_session_old=x; farout_session=new", "farout_session", "new");
	assert_cookie("xfarout_session=x", "farout_session", NULL);
	assert_cookie("farout_sessionx=1", "farout_session", NULL);
	assert_cookie("a=x.y-z_w", "a", "x.y-z_w");
	assert_cookie("", "farout_session", NULL);
}

static void test_no_cookie_header(void **state)
{
	char *env[] = {(char *)"REQUEST_METHOD=GET", NULL};
	struct http_req req;

	(void)state;
	req_from(&req, env);
	assert_null(http_req_cookie_dup(&req, "farout_session"));
	http_req_cleanup(&req);
}

/* The answer of check(req, type) for a request with just VAR=value in its environment. */
static bool with_one_variable(const char *var, const char *value, const char *type,
                              bool (*check)(const struct http_req *, const char *))
{
	char line[256];
	char *env[] = {line, NULL};
	struct http_req req;
	bool r;

	snprintf(line, sizeof line, "%s=%s", var, value);
	req_from(&req, env);
	r = check(&req, type);
	http_req_cleanup(&req);
	return r;
}

static bool content_type_is(const char *header, const char *type)
{
	return with_one_variable("CONTENT_TYPE", header, type, http_req_is_content_type);
}

static void test_content_type(void **state)
{
	(void)state;
	assert_true(content_type_is("application/json", "application/json"));
	assert_true(content_type_is("application/json; charset=utf-8", "application/json"));
	assert_true(content_type_is("application/json;charset=UTF-8", "application/json"));
	assert_true(content_type_is("Application/JSON; Charset=utf-8", "application/json"));
	assert_true(content_type_is("application/json ; charset=utf-8", "application/json"));
	assert_true(content_type_is("application/x-www-form-urlencoded",
	                            "application/x-www-form-urlencoded"));
	assert_true(content_type_is("application/x-www-form-urlencoded; charset=UTF-8",
	                            "application/x-www-form-urlencoded"));
	assert_false(content_type_is("application/jsonx", "application/json"));
	assert_false(content_type_is("application/json-patch+json", "application/json"));
	assert_false(content_type_is("application/json/x", "application/json"));
	assert_false(content_type_is("text/plain", "application/json"));
	assert_false(content_type_is("text/json", "application/json"));
	assert_false(content_type_is("", "application/json"));
	assert_false(content_type_is("application/", "application/json"));
	assert_false(content_type_is("multipart/form-data; boundary=x",
	                             "application/x-www-form-urlencoded"));
}

static bool accepts(const char *header, const char *type)
{
	return with_one_variable("HTTP_ACCEPT", header, type, http_req_accepts);
}

static void test_accept(void **state)
{
	char *env[] = {NULL};
	struct http_req req;

	(void)state;
	assert_true(accepts("application/json", "application/json"));
	assert_true(accepts("Application/JSON", "application/json"));
	assert_true(accepts("text/html, application/json;q=0.9", "application/json"));
	assert_true(accepts("text/html,application/json ; charset=utf-8", "application/json"));
	assert_true(accepts("application/json;q=0.5", "application/json"));
	assert_true(accepts("application/json; v=1; q=1", "application/json"));
	assert_false(accepts("application/jsonx", "application/json"));
	assert_false(accepts("application/json-patch+json", "application/json"));
	assert_false(accepts("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"));
	assert_false(accepts("application/*", "application/json"));
	assert_false(accepts("application/json;q=0", "application/json"));
	assert_false(accepts("application/json; Q=0.000", "application/json"));
	assert_false(accepts("application/json;q=0 , text/html", "application/json"));
	assert_false(accepts("", "application/json"));
	assert_false(accepts(",,, ;q=1", "application/json"));
	req_from(&req, env);
	assert_false(http_req_accepts(&req, "application/json"));
	http_req_cleanup(&req);
}

/* ---- responses ------------------------------------------------------------ */

static char *serialized(const struct http_resp *resp)
{
	struct buf out;
	char *s;

	buf_init(&out, 1 << 20);
	assert_int_equal(http_resp_serialize(resp, &out), 0);
	s = strdup(out.data);
	buf_cleanup(&out);
	return s;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void test_response_json_on_the_wire(void **state)
{
	struct http_resp resp;
	cJSON *body = cJSON_CreateObject();
	char *wire;

	(void)state;
	http_resp_init(&resp);
	cJSON_AddNumberToObject(body, "a", 1);
	assert_int_equal(http_resp_json(&resp, 200, body), 0);
	assert_int_equal(http_resp_header(&resp, "X-Auth-User-Id", "1"), 0);
	wire = serialized(&resp);
	assert_true(strncmp(wire, "Status: 200 OK\r\n", 16) == 0);
	assert_non_null(strstr(wire, "\r\nCache-Control: no-store\r\n"));
	assert_non_null(strstr(wire, "\r\nContent-Type: application/json; charset=utf-8\r\n"));
	assert_non_null(strstr(wire, "\r\nX-Auth-User-Id: 1\r\n"));
	assert_true(ends_with(wire, "\r\n\r\n{\"a\":1}"));
	free(wire);
	cJSON_Delete(body);
	http_resp_cleanup(&resp);
}

static void test_response_empty_and_redirect(void **state)
{
	struct http_resp resp;
	char *wire;

	(void)state;
	http_resp_init(&resp);
	http_resp_empty(&resp, 204);
	wire = serialized(&resp);
	assert_true(strncmp(wire, "Status: 204 No Content\r\n", 24) == 0);
	assert_non_null(strstr(wire, "Cache-Control: no-store\r\n"));
	assert_null(strstr(wire, "Content-Type"));
	assert_true(ends_with(wire, "\r\n\r\n"));
	free(wire);
	http_resp_cleanup(&resp);

	http_resp_init(&resp);
	assert_int_equal(http_resp_redirect(&resp, "http://localhost:8080/login?error=access_denied"), 0);
	wire = serialized(&resp);
	assert_true(strncmp(wire, "Status: 302 Found\r\n", 19) == 0);
	assert_non_null(strstr(wire, "\r\nLocation: http://localhost:8080/login?error=access_denied\r\n"));
	free(wire);
	http_resp_cleanup(&resp);
}

static void test_header_injection_refused(void **state)
{
	struct http_resp resp;
	char *wire;

	(void)state;
	http_resp_init(&resp);
	assert_int_equal(http_resp_header(&resp, "Location", "/x\r\nSet-Cookie: evil=1"), -1);
	assert_int_equal(http_resp_header(&resp, "Location", "/x\nSet-Cookie: evil=1"), -1);
	assert_int_equal(http_resp_header(&resp, "Location", "/x\rSet-Cookie: evil=1"), -1);
	assert_int_equal(http_resp_header(&resp, "X-A", "a\x01" "b"), -1);
	assert_int_equal(http_resp_header(&resp, "X-A", "a\x7f"), -1);
	assert_int_equal(http_resp_header(&resp, "X-A\r\nSet-Cookie", "evil=1"), -1);
	assert_int_equal(http_resp_header(&resp, "Set-Cookie: evil=1\r\nX", "y"), -1);
	assert_int_equal(http_resp_header(&resp, "X:A", "b"), -1);
	assert_int_equal(resp.headers.len, 0); /* nothing half-written */
	assert_int_equal(http_resp_cookie(&resp, "farout_session", "a\r\nSet-Cookie: evil=1", 60, 0),
	                 -1);
	http_resp_empty(&resp, 204);
	wire = serialized(&resp);
	assert_null(strstr(wire, "evil"));
	free(wire);
	http_resp_cleanup(&resp);
}

/* http_resp_error's body, parsed; resp stays for the caller to look at and clean up. */
static cJSON *error_body(struct http_resp *resp, int status, const char *code, const char *detail)
{
	cJSON *body;

	http_resp_init(resp);
	assert_int_equal(http_resp_error(resp, status, code, detail), 0);
	body = cJSON_Parse(resp->body.data);
	assert_non_null(body);
	return body;
}

static void test_error_body_shape(void **state)
{
	struct http_resp resp;
	cJSON *body, *item;
	int n = 0;

	(void)state;
	body = error_body(&resp, 400, "invalid_request", "The body is not valid JSON.");
	assert_int_equal(resp.status, 400);
	assert_true(cJSON_IsObject(body));
	cJSON_ArrayForEach(item, body)
		n++;
	assert_int_equal(n, 2); /* exactly {"error", "detail"} */
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(body, "error")->valuestring,
	                    "invalid_request");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(body, "detail")->valuestring,
	                    "The body is not valid JSON.");
	assert_null(strstr(resp.headers.data != NULL ? resp.headers.data : "", "WWW-Authenticate"));
	cJSON_Delete(body);
	http_resp_cleanup(&resp);
}

static void test_error_401_challenges(void **state)
{
	struct http_resp resp;
	char *wire;

	(void)state;
	http_resp_init(&resp);
	http_resp_error(&resp, 401, "not_authenticated", "Sign in first.");
	wire = serialized(&resp);
	assert_true(strncmp(wire, "Status: 401 Unauthorized\r\n", 26) == 0);
	assert_non_null(strstr(wire, "\r\nWWW-Authenticate: Bearer\r\n"));
	assert_true(ends_with(wire, "{\"error\":\"not_authenticated\",\"detail\":\"Sign in first.\"}"));
	free(wire);
	http_resp_cleanup(&resp);
}

static void test_error_detail_is_escaped(void **state)
{
	struct http_resp resp;
	cJSON *body;

	(void)state;
	body = error_body(&resp, 403, "forbidden_field", "You may not write \"rank\".\n");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(body, "detail")->valuestring,
	                    "You may not write \"rank\".\n");
	cJSON_Delete(body);
	http_resp_cleanup(&resp);
}

/* On the wire, a 204 that sets farout_session. */
static char *cookie_wire(const char *value, long max_age, unsigned flags)
{
	struct http_resp resp;
	char *wire;

	http_resp_init(&resp);
	assert_int_equal(http_resp_cookie(&resp, "farout_session", value, max_age, flags), 0);
	http_resp_empty(&resp, 204);
	wire = serialized(&resp);
	http_resp_cleanup(&resp);
	return wire;
}

static void test_cookie_attributes(void **state)
{
	char *wire;

	(void)state;
	wire = cookie_wire("tok.en", 604800, 0);
	assert_non_null(strstr(wire, "\r\nSet-Cookie: farout_session=tok.en; Path=/; HttpOnly; "
	                             "SameSite=Lax; Max-Age=604800\r\n"));
	assert_null(strstr(wire, "Secure"));
	free(wire);

	wire = cookie_wire("", 0, HTTP_COOKIE_SECURE);
	assert_non_null(strstr(wire, "\r\nSet-Cookie: farout_session=; Path=/; HttpOnly; "
	                             "SameSite=Lax; Max-Age=0; Secure\r\n"));
	free(wire);
}

static void test_status_texts(void **state)
{
	(void)state;
	assert_string_equal(http_status_text(200), "OK");
	assert_string_equal(http_status_text(403), "Forbidden");
	assert_string_equal(http_status_text(413), "Payload Too Large");
	assert_string_equal(http_status_text(415), "Unsupported Media Type");
	assert_string_equal(http_status_text(429), "Too Many Requests");
	assert_string_equal(http_status_text(502), "Bad Gateway");
	assert_string_equal(http_status_text(503), "Service Unavailable");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_fields),
		cmocka_unit_test(test_form_decoding),
		cmocka_unit_test(test_form_bad_escapes),
		cmocka_unit_test(test_form_raw_nul),
		cmocka_unit_test(test_form_unknown_fields),
		cmocka_unit_test(test_urlencode),
		cmocka_unit_test(test_request_from_environment),
		cmocka_unit_test(test_request_path_and_length_fallbacks),
		cmocka_unit_test(test_cookies),
		cmocka_unit_test(test_no_cookie_header),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_response_json_on_the_wire),
		cmocka_unit_test(test_response_empty_and_redirect),
		cmocka_unit_test(test_header_injection_refused),
		cmocka_unit_test(test_error_body_shape),
		cmocka_unit_test(test_error_401_challenges),
		cmocka_unit_test(test_error_detail_is_escaped),
		cmocka_unit_test(test_cookie_attributes),
		cmocka_unit_test(test_status_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

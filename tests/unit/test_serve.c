/*
 * serve: the dispatcher every program shares, driven with a route table and
 * fake requests built from an environment, one small case per behaviour:
 * 404, 405 with Allow, 413, 415, a body cut short, a {param} route, and a
 * handler's own answer (or its missing one).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "serve.h"

static int calls;
static char seen_body[64];
static char seen_param[64];

static void handle_hello(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	(void)app;
	calls++;
	snprintf(seen_body, sizeof seen_body, "%.*s", (int)req->body.len,
	         req->body.data != NULL ? req->body.data : "");
	snprintf(seen_param, sizeof seen_param, "%s", req->param != NULL ? req->param : "");
	http_resp_header(resp, "X-Hello", "yes");
	http_resp_empty(resp, 204);
}

static void handle_silent(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	(void)app;
	(void)req;
	(void)resp;
	calls++;
}

static const struct route routes[] = {
	{"GET", "/api/hello", handle_hello, 0, 0},
	{"POST", "/api/hello", handle_hello, ROUTE_BODY_JSON, 16},
	{"DELETE", "/api/hello", handle_hello, 0, 0},
	{"PUT", "/api/form", handle_hello, ROUTE_BODY_JSON | ROUTE_BODY_FORM, 0},
	{"GET", "/api/items/{id}", handle_hello, 0, 0},
	{"GET", "/api/silent", handle_silent, 0, 0},
};

static const struct program prog = {
	.name = "test",
	.routes = routes,
	.nroutes = sizeof routes / sizeof routes[0],
};

/* The body the fake transport hands out, in chunks of at most n bytes. */
struct fake_body {
	const char *data;
	size_t len, off;
};

static int fake_read(void *ctx, char *dst, size_t n)
{
	struct fake_body *b = ctx;
	size_t left = b->len - b->off;

	if (n > left)
		n = left;
	memcpy(dst, b->data + b->off, n);
	b->off += n;
	return (int)n;
}

struct exchange {
	struct http_req req;
	struct http_resp resp;
	struct app app;
};

/* Dispatches one request; content_type and body may be NULL; length -1 sends no CONTENT_LENGTH. */
static void dispatch(struct exchange *x, const char *method, const char *uri, const char *content_type,
                     const char *body, long length)
{
	char m[64], u[256], ct[128], cl[64];
	char *env[6];
	int n = 0;
	struct fake_body fb = {body != NULL ? body : "", body != NULL ? strlen(body) : 0, 0};

	memset(x, 0, sizeof *x);
	calls = 0;
	seen_body[0] = seen_param[0] = '\0';
	snprintf(m, sizeof m, "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof u, "REQUEST_URI=%s", uri);
	env[n++] = m;
	env[n++] = u;
	if (content_type != NULL) {
		snprintf(ct, sizeof ct, "CONTENT_TYPE=%s", content_type);
		env[n++] = ct;
	}
	if (length >= 0) {
		snprintf(cl, sizeof cl, "CONTENT_LENGTH=%ld", length);
		env[n++] = cl;
	}
	env[n] = NULL;
	assert_int_equal(http_req_init(&x->req, env), 0);
	http_resp_init(&x->resp);
	serve_dispatch(&prog, &x->app, &x->req, &x->resp, fake_read, &fb);
}

static void exchange_cleanup(struct exchange *x)
{
	http_req_cleanup(&x->req);
	http_resp_cleanup(&x->resp);
}

static bool body_has(const struct exchange *x, const char *s)
{
	return x->resp.body.data != NULL && strstr(x->resp.body.data, s) != NULL;
}

static bool headers_have(const struct exchange *x, const char *s)
{
	return x->resp.headers.data != NULL && strstr(x->resp.headers.data, s) != NULL;
}

static void test_unknown_path_is_404(void **state)
{
	struct exchange x;

	(void)state;
	dispatch(&x, "GET", "/api/nothing", NULL, NULL, -1);
	assert_int_equal(x.resp.status, 404);
	assert_true(body_has(&x, "\"error\":\"not_found\""));
	assert_int_equal(calls, 0);
	exchange_cleanup(&x);
}

static void test_wrong_method_is_405_with_allow(void **state)
{
	struct exchange x;

	(void)state;
	dispatch(&x, "PATCH", "/api/hello", NULL, NULL, -1);
	assert_int_equal(x.resp.status, 405);
	assert_true(body_has(&x, "\"error\":\"method_not_allowed\""));
	assert_true(headers_have(&x, "Allow: GET, POST, DELETE\r\n"));
	assert_int_equal(calls, 0);
	exchange_cleanup(&x);
}

static void test_declared_body_over_the_cap_is_413(void **state)
{
	struct exchange x;

	(void)state;
	dispatch(&x, "POST", "/api/hello", "application/json", "{}", 17);
	assert_int_equal(x.resp.status, 413);
	assert_true(body_has(&x, "\"error\":\"payload_too_large\""));
	assert_int_equal(calls, 0);
	exchange_cleanup(&x);
}

static void test_streamed_body_over_the_cap_is_413(void **state)
{
	struct exchange x;

	(void)state;
	/* No CONTENT_LENGTH: the body is read until the cap is passed. */
	dispatch(&x, "POST", "/api/hello", "application/json", "{\"a\":\"0123456789abc\"}", -1);
	assert_int_equal(x.resp.status, 413);
	assert_int_equal(calls, 0);
	exchange_cleanup(&x);
}

static void test_wrong_content_type_is_415(void **state)
{
	struct exchange x;

	(void)state;
	dispatch(&x, "POST", "/api/hello", "text/plain", "{}", 2);
	assert_int_equal(x.resp.status, 415);
	assert_true(body_has(&x, "\"error\":\"unsupported_media_type\""));
	assert_true(body_has(&x, "Send application/json."));
	assert_int_equal(calls, 0);
	exchange_cleanup(&x);
	dispatch(&x, "PUT", "/api/form", NULL, "a=1", 3);
	assert_int_equal(x.resp.status, 415);
	assert_true(body_has(&x, "x-www-form-urlencoded"));
	exchange_cleanup(&x);
}

static void test_body_cut_short_is_400(void **state)
{
	struct exchange x;

	(void)state;
	dispatch(&x, "POST", "/api/hello", "application/json", "{}", 5);
	assert_int_equal(x.resp.status, 400);
	assert_true(body_has(&x, "\"error\":\"invalid_request\""));
	assert_int_equal(calls, 0);
	exchange_cleanup(&x);
}

static void test_handler_answers_with_the_body_read(void **state)
{
	struct exchange x;

	(void)state;
	dispatch(&x, "POST", "/api/hello", "application/json; charset=utf-8", "{\"a\":1}", 7);
	assert_int_equal(x.resp.status, 204);
	assert_int_equal(calls, 1);
	assert_string_equal(seen_body, "{\"a\":1}");
	assert_true(headers_have(&x, "X-Hello: yes\r\n"));
	exchange_cleanup(&x);
	dispatch(&x, "PUT", "/api/form", "application/x-www-form-urlencoded", "a=1", 3);
	assert_int_equal(x.resp.status, 204);
	assert_string_equal(seen_body, "a=1");
	exchange_cleanup(&x);
}

static void test_route_without_body_flag_reads_none(void **state)
{
	struct exchange x;

	(void)state;
	dispatch(&x, "DELETE", "/api/hello", "text/plain", "ignored", 7);
	assert_int_equal(x.resp.status, 204);
	assert_string_equal(seen_body, "");
	exchange_cleanup(&x);
}

static void test_param_route(void **state)
{
	struct exchange x;

	(void)state;
	dispatch(&x, "GET", "/api/items/42?x=1", NULL, NULL, -1);
	assert_int_equal(x.resp.status, 204);
	assert_string_equal(seen_param, "42");
	exchange_cleanup(&x);
	dispatch(&x, "GET", "/api/items/", NULL, NULL, -1);
	assert_int_equal(x.resp.status, 404);
	exchange_cleanup(&x);
	dispatch(&x, "GET", "/api/items/4/2", NULL, NULL, -1);
	assert_int_equal(x.resp.status, 404);
	exchange_cleanup(&x);
}

static void test_handler_without_answer_is_500(void **state)
{
	struct exchange x;

	(void)state;
	dispatch(&x, "GET", "/api/silent", NULL, NULL, -1);
	assert_int_equal(calls, 1);
	assert_int_equal(x.resp.status, 500);
	assert_true(body_has(&x, "\"error\":\"internal_error\""));
	exchange_cleanup(&x);
}

static void test_health_refuses_other_methods(void **state)
{
	struct exchange x;

	(void)state;
	dispatch(&x, "POST", "/api/health", NULL, NULL, -1);
	assert_int_equal(x.resp.status, 405);
	assert_true(headers_have(&x, "Allow: GET\r\n"));
	exchange_cleanup(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_path_is_404),
		cmocka_unit_test(test_wrong_method_is_405_with_allow),
		cmocka_unit_test(test_declared_body_over_the_cap_is_413),
		cmocka_unit_test(test_streamed_body_over_the_cap_is_413),
		cmocka_unit_test(test_wrong_content_type_is_415),
		cmocka_unit_test(test_body_cut_short_is_400),
		cmocka_unit_test(test_handler_answers_with_the_body_read),
		cmocka_unit_test(test_route_without_body_flag_reads_none),
		cmocka_unit_test(test_param_route),
		cmocka_unit_test(test_handler_without_answer_is_500),
		cmocka_unit_test(test_health_refuses_other_methods),
	};

	log_init("test_serve");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

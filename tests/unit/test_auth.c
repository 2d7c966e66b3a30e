/*
 * lib/auth without a database: roles, the CSRF origin rule, which token is
 * taken (the header wins over the cookie), and the claims a token must carry
 * before the session lookup is even tried. An app whose databases have no
 * URL answers every query DB_UNAVAILABLE, which tells "reached the database"
 * (503) apart from "refused before it" (401).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "jwt.h"
#include "throttle.h"
#include "util.h"

#define SECRET "0123456789abcdef0123456789abcdef-test-secret"

static struct config cfg;
static struct app app;

static void setup_app(const char *public_url, bool https)
{
	memset(&cfg, 0, sizeof cfg);
	cfg.jwt_secret = (unsigned char *)SECRET;
	cfg.jwt_secret_len = sizeof SECRET - 1;
	cfg.jwt_algorithm = JWT_HS256;
	cfg.jwt_algorithm_name = "HS256";
	cfg.jwt_expiration_days = 7;
	cfg.jwt_issuer = (char *)"farout";
	cfg.public_url = (char *)public_url;
	cfg.public_origin = (char *)public_url;
	cfg.public_https = https;
	cfg.bcrypt_cost = 4;
	cfg.login_max_failures = 5;
	cfg.login_window_seconds = 900;
	memset(&app, 0, sizeof app);
	app.cfg = &cfg;
	db_init(&app.auth_db, NULL, "auth");
	db_init(&app.app_db, NULL, "app");
}

static int setup(void **state)
{
	(void)state;
	setup_app("http://localhost:8080", false);
	return 0;
}

/* A request from a NULL-terminated list of "NAME=value" strings. */
static void req_from(struct http_req *req, const char *const *env)
{
	assert_int_equal(http_req_init(req, (char *const *)env), 0);
}

static char *token_with(const char *sub, const char *jti, int64_t exp)
{
	struct jwt_key key = {JWT_HS256, (const unsigned char *)SECRET, sizeof SECRET - 1};
	cJSON *c = cJSON_CreateObject();
	char *t;

	if (sub != NULL)
		cJSON_AddStringToObject(c, "sub", sub);
	if (jti != NULL)
		cJSON_AddStringToObject(c, "jti", jti);
	cJSON_AddStringToObject(c, "iss", "farout");
	cJSON_AddNumberToObject(c, "iat", (double)util_now());
	cJSON_AddNumberToObject(c, "exp", (double)exp);
	t = jwt_sign_new(&key, c);
	cJSON_Delete(c);
	assert_non_null(t);
	return t;
}

/* ---- roles ------------------------------------------------------------------- */

static void roles_parse_and_name(void **state)
{
	enum role r = ROLE__MAX;

	(void)state;
	assert_int_equal(auth_role_parse("member", &r), 0);
	assert_int_equal(r, ROLE_MEMBER);
	assert_int_equal(auth_role_parse("officer", &r), 0);
	assert_int_equal(r, ROLE_OFFICER);
	assert_int_equal(auth_role_parse("admin", &r), 0);
	assert_int_equal(r, ROLE_ADMIN);
	assert_int_equal(auth_role_parse("Admin", &r), -1);
	assert_int_equal(auth_role_parse("", &r), -1);
	assert_int_equal(auth_role_parse("superuser", &r), -1);
	assert_int_equal(auth_role_parse(NULL, &r), -1);
	assert_true(ROLE_MEMBER < ROLE_OFFICER && ROLE_OFFICER < ROLE_ADMIN);
	assert_string_equal(auth_role_name(ROLE_OFFICER), "officer");
	assert_string_equal(auth_role_name(ROLE_ADMIN), "admin");
}

/* ---- CSRF -------------------------------------------------------------------- */

static bool csrf(const char *origin, const char *referer)
{
	char o[600], r[600];
	const char *env[4] = {"REQUEST_METHOD=POST", NULL, NULL, NULL};
	size_t n = 1;
	struct http_req req;
	bool ok;

	if (origin != NULL) {
		snprintf(o, sizeof o, "HTTP_ORIGIN=%s", origin);
		env[n++] = o;
	}
	if (referer != NULL) {
		snprintf(r, sizeof r, "HTTP_REFERER=%s", referer);
		env[n++] = r;
	}
	req_from(&req, env);
	ok = auth_csrf_ok(&app, &req);
	http_req_cleanup(&req);
	return ok;
}

static void csrf_origin_rule(void **state)
{
	(void)state;
	assert_true(csrf("http://localhost:8080", NULL));
	assert_true(csrf("HTTP://LOCALHOST:8080", NULL));
	assert_false(csrf(NULL, NULL));
	assert_false(csrf("null", NULL));
	assert_false(csrf("", NULL));
	assert_false(csrf("http://evil.example", NULL));
	assert_false(csrf("http://localhost:8081", NULL));
	assert_false(csrf("https://localhost:8080", NULL));
	assert_false(csrf("http://localhost", NULL));
	assert_false(csrf("http://localhost:8080.evil.example", NULL));
	assert_false(csrf("http://localhost:8080@evil.example", NULL));
	assert_false(csrf("http://evil.example/http://localhost:8080", NULL));
	assert_false(csrf("http://localhost:8080/", NULL));
	/* A present Origin decides; the Referer cannot rescue a foreign one. */
	assert_false(csrf("http://evil.example", "http://localhost:8080/login"));
	assert_false(csrf("null", "http://localhost:8080/login"));
}

static void csrf_referer_fallback(void **state)
{
	(void)state;
	assert_true(csrf(NULL, "http://localhost:8080/login?next=/x"));
	assert_true(csrf(NULL, "http://localhost:8080"));
	assert_true(csrf(NULL, "http://localhost:8080#frag"));
	assert_false(csrf(NULL, "http://localhost:8080.evil.example/"));
	assert_false(csrf(NULL, "http://evil.example/http://localhost:8080/"));
	assert_false(csrf(NULL, "http://user@localhost:8080/"));
	assert_false(csrf(NULL, "/login"));
	assert_false(csrf(NULL, "localhost:8080/login"));
}

static void csrf_default_ports(void **state)
{
	(void)state;
	setup_app("https://farout.example", true);
	assert_true(csrf("https://farout.example", NULL));
	assert_true(csrf("https://farout.example:443", NULL));
	assert_true(csrf(NULL, "https://Farout.Example/members"));
	assert_false(csrf("http://farout.example", NULL));
	assert_false(csrf("https://farout.example:8443", NULL));
	setup_app("http://[::1]:8080", false);
	assert_true(csrf("http://[::1]:8080", NULL));
	assert_false(csrf("http://[::1]", NULL));
	setup_app("http://localhost:8080", false);
}

/* Issue 10 #10, found by fuzz_origin: the last ':' was taken as the port's, so this was port 80. */
static void csrf_doubled_port_attack(void **state)
{
	(void)state;
	assert_false(csrf("http://localhost:8080:80", NULL));
	assert_false(csrf(NULL, "http://localhost:8080:80/login"));
	assert_false(csrf("http://localhost:8080:", NULL));
	setup_app("https://farout.example", true);
	assert_false(csrf("https://farout.example:443:443", NULL));
	assert_false(csrf("https://farout.example:8443:443", NULL));
	setup_app("http://[::1]:8080", false);
	assert_false(csrf("http://[::1]:8080:80", NULL));
	assert_false(csrf("http://[::1]]:8080", NULL));
	assert_false(csrf("http://[[::1]:8080", NULL));
	setup_app("http://localhost:8080", false);
}

/* ---- identify ---------------------------------------------------------------- */

static enum auth_result identify(const char *const *env)
{
	struct http_req req;
	struct auth_ctx ctx;
	enum auth_result r;

	req_from(&req, env);
	r = auth_identify(&app, &req, &ctx);
	if (r == AUTH_OK)
		auth_ctx_cleanup(&ctx);
	http_req_cleanup(&req);
	return r;
}

static void identify_without_token(void **state)
{
	const char *none[] = {"REQUEST_METHOD=GET", NULL};
	const char *empty_bearer[] = {"HTTP_AUTHORIZATION=Bearer ", NULL};
	const char *garbage[] = {"HTTP_AUTHORIZATION=Bearer garbage", NULL};
	const char *other_cookie[] = {"HTTP_COOKIE=theme=dark; farout_sessionx=abc", NULL};

	(void)state;
	assert_int_equal(identify(none), AUTH_NONE);
	assert_int_equal(identify(empty_bearer), AUTH_NONE);
	assert_int_equal(identify(garbage), AUTH_NONE);
	assert_int_equal(identify(other_cookie), AUTH_NONE);
}

static void identify_reaches_database_only_with_good_claims(void **state)
{
	char *good = token_with("7", "abcdefghijklmnopqrstuvwxyz012345678901234", util_now() + 600);
	char *no_jti = token_with("7", NULL, util_now() + 600);
	char *no_sub = token_with(NULL, "abcdefghijklmnopqrstuv", util_now() + 600);
	char *bad_sub = token_with("7 OR 1=1", "abcdefghijklmnopqrstuv", util_now() + 600);
	char *long_jti = token_with("7", "0123456789012345678901234567890123456789012345678901234567890123456789",
	                            util_now() + 600);
	char *expired = token_with("7", "abcdefghijklmnopqrstuv", util_now() - 3600);
	char h[8192], c[8192];
	const char *env[3] = {h, NULL, NULL};

	(void)state;
	snprintf(h, sizeof h, "HTTP_AUTHORIZATION=Bearer %s", good);
	assert_int_equal(identify(env), AUTH_UNAVAILABLE);
	snprintf(h, sizeof h, "HTTP_AUTHORIZATION=bearer   %s  ", good);
	assert_int_equal(identify(env), AUTH_UNAVAILABLE);
	snprintf(h, sizeof h, "HTTP_COOKIE=a=b; farout_session=%s; c=d", good);
	assert_int_equal(identify(env), AUTH_UNAVAILABLE);

	const char *claims[] = {no_jti, no_sub, bad_sub, long_jti, expired};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(claims); i++) {
		snprintf(h, sizeof h, "HTTP_AUTHORIZATION=Bearer %s", claims[i]);
		assert_int_equal(identify(env), AUTH_NONE);
	}

	/* The header wins: a bad header is not rescued by a good cookie. */
	snprintf(h, sizeof h, "HTTP_AUTHORIZATION=Bearer %s", expired);
	snprintf(c, sizeof c, "HTTP_COOKIE=farout_session=%s", good);
	env[1] = c;
	assert_int_equal(identify(env), AUTH_NONE);
	/* A scheme that is not Bearer is not ours: the cookie decides. */
	snprintf(h, sizeof h, "HTTP_AUTHORIZATION=Basic dXNlcjpwYXNz");
	assert_int_equal(identify(env), AUTH_UNAVAILABLE);

	free(good);
	free(no_jti);
	free(no_sub);
	free(bad_sub);
	free(long_jti);
	free(expired);
}

static void require_answers_401_with_the_contract_body(void **state)
{
	const char *env[] = {"REQUEST_METHOD=GET", NULL};
	struct http_req req;
	struct http_resp resp;
	struct auth_ctx ctx;
	cJSON *body;

	(void)state;
	req_from(&req, env);
	http_resp_init(&resp);
	assert_false(auth_require(&app, &req, &resp, ROLE_MEMBER, 0, &ctx));
	assert_int_equal(resp.status, 401);
	body = cJSON_Parse(resp.body.data);
	assert_string_equal(cJSON_GetObjectItem(body, "error")->valuestring, "not_authenticated");
	assert_non_null(strstr(resp.headers.data, "WWW-Authenticate: Bearer\r\n"));
	cJSON_Delete(body);
	http_resp_cleanup(&resp);
	http_req_cleanup(&req);
}

static void clear_cookie_attributes(void **state)
{
	struct http_resp resp;

	(void)state;
	http_resp_init(&resp);
	auth_clear_cookie(&app, &resp);
	assert_string_equal(resp.headers.data,
	                    "Set-Cookie: farout_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0\r\n");
	http_resp_cleanup(&resp);
	setup_app("https://farout.example", true);
	http_resp_init(&resp);
	auth_clear_cookie(&app, &resp);
	assert_non_null(strstr(resp.headers.data, "; Max-Age=0; Secure\r\n"));
	http_resp_cleanup(&resp);
	setup_app("http://localhost:8080", false);
}

/* ---- throttle keys ---------------------------------------------------------- */

static void throttle_keys(void **state)
{
	struct user u;
	char *a, *b;

	(void)state;
	memset(&u, 0, sizeof u);
	u.id = (char *)"12";
	a = throttle_user_key_new(&u, "whatever");
	assert_string_equal(a, "id:12");
	free(a);

	/* Unknown names: hashed, emails folded to lower case, usernames not. */
	a = throttle_user_key_new(NULL, "Nobody@Example.org");
	b = throttle_user_key_new(NULL, "nobody@example.org");
	assert_string_equal(a, b);
	assert_int_equal(strncmp(a, "name:", 5), 0);
	assert_int_equal(strlen(a), 5 + 64);
	assert_null(strstr(a, "nobody"));
	free(a);
	free(b);
	a = throttle_user_key_new(NULL, "Nobody");
	b = throttle_user_key_new(NULL, "nobody");
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roles_parse_and_name),
		cmocka_unit_test_setup(csrf_origin_rule, setup),
		cmocka_unit_test_setup(csrf_referer_fallback, setup),
		cmocka_unit_test_setup(csrf_default_ports, setup),
		cmocka_unit_test_setup(csrf_doubled_port_attack, setup),
		cmocka_unit_test_setup(identify_without_token, setup),
		cmocka_unit_test_setup(identify_reaches_database_only_with_good_claims, setup),
		cmocka_unit_test_setup(require_answers_401_with_the_contract_body, setup),
		cmocka_unit_test_setup(clear_cookie_attributes, setup),
		cmocka_unit_test(throttle_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

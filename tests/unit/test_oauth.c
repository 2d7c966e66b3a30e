/*
 * lib/oauth and lib/discord without a network: PKCE (RFC 7636 appendix B),
 * the signed state and its forgeries, the `next` rules against open
 * redirects, username variants, avatar URLs, the authorize URL, and the
 * parsers of Discord's answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "discord.h"
#include "oauth.h"
#include "util.h"

#define SECRET "0123456789abcdef0123456789abcdef-test-secret"
#define OTHER_SECRET "fedcba9876543210fedcba9876543210-other-secret"

static struct config make_config(const char *secret, const char *previous)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.jwt_secret = (unsigned char *)secret;
	cfg.jwt_secret_len = strlen(secret);
	if (previous != NULL) {
		cfg.jwt_secret_previous = (unsigned char *)previous;
		cfg.jwt_secret_previous_len = strlen(previous);
	}
	cfg.discord_client_id = (char *)"1100000000000000001";
	cfg.discord_redirect_uri = (char *)"http://127.0.0.1:8080/api/auth/discord/callback";
	cfg.discord_authorize_url = (char *)"https://discord.com/oauth2/authorize";
	return cfg;
}

static bool is_unreserved(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.' || *s == '_' || *s == '~'))
			return false;
	return true;
}

/* ---- PKCE ------------------------------------------------------------------- */

static void test_pkce_rfc7636_vector(void **state)
{
	(void)state;
	char *c = oauth_pkce_challenge_new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");

	assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	free(c);
}

static void test_pkce_verifier_shape(void **state)
{
	(void)state;
	char *a = oauth_pkce_verifier_new(), *b = oauth_pkce_verifier_new();
	char *c = oauth_pkce_challenge_new(a);

	assert_non_null(a);
	assert_int_equal(strlen(a), 43);
	assert_true(is_unreserved(a));
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(c), 43);
	assert_true(is_unreserved(c));
	free(a);
	free(b);
	free(c);
}

/* ---- state ------------------------------------------------------------------ */

static void test_state_round_trip(void **state)
{
	(void)state;
	struct config cfg = make_config(SECRET, NULL);
	struct oauth_keys k;
	char *s1, *s2;

	assert_int_equal(oauth_keys_init(&k, &cfg), 0);
	s1 = oauth_state_new(&k);
	s2 = oauth_state_new(&k);
	assert_non_null(s1);
	assert_int_equal(strlen(s1), 87);
	assert_int_equal(s1[43], '.');
	assert_string_not_equal(s1, s2);
	assert_true(oauth_state_is_authentic(&k, s1));
	assert_true(oauth_state_is_authentic(&k, s2));
	free(s1);
	free(s2);
	oauth_keys_cleanup(&k);
}

static void test_state_tampered_is_refused(void **state)
{
	(void)state;
	struct config cfg = make_config(SECRET, NULL);
	struct oauth_keys k;
	char *s;

	assert_int_equal(oauth_keys_init(&k, &cfg), 0);
	s = oauth_state_new(&k);
	/* One character of the nonce, then one of the MAC. */
	for (size_t pos = 0; pos < 87; pos += 43 + 1) {
		char saved = s[pos];
		s[pos] = saved == 'A' ? 'B' : 'A';
		assert_false(oauth_state_is_authentic(&k, s));
		s[pos] = saved;
	}
	s[86] = s[86] == 'A' ? 'B' : 'A';
	assert_false(oauth_state_is_authentic(&k, s));
	free(s);
	oauth_keys_cleanup(&k);
}

static void test_state_malformed_is_refused(void **state)
{
	(void)state;
	struct config cfg = make_config(SECRET, NULL);
	struct oauth_keys k;
	char *s, buf[200];

	assert_int_equal(oauth_keys_init(&k, &cfg), 0);
	s = oauth_state_new(&k);
	assert_false(oauth_state_is_authentic(&k, NULL));
	assert_false(oauth_state_is_authentic(&k, ""));
	assert_false(oauth_state_is_authentic(&k, "abc.def"));
	/* Cut short, one character longer, the dot moved, the nonce alone. */
	snprintf(buf, sizeof buf, "%.86s", s);
	assert_false(oauth_state_is_authentic(&k, buf));
	snprintf(buf, sizeof buf, "%sA", s);
	assert_false(oauth_state_is_authentic(&k, buf));
	snprintf(buf, sizeof buf, "%s", s);
	buf[43] = 'A';
	assert_false(oauth_state_is_authentic(&k, buf));
	snprintf(buf, sizeof buf, "%.43s", s);
	assert_false(oauth_state_is_authentic(&k, buf));
	/* A padded or standard-alphabet spelling is not ours. */
	snprintf(buf, sizeof buf, "%.43s.%.42s=", s, s + 44);
	assert_false(oauth_state_is_authentic(&k, buf));
	free(s);
	oauth_keys_cleanup(&k);
}

static void test_state_from_another_secret_is_refused(void **state)
{
	(void)state;
	struct config mine = make_config(SECRET, NULL), theirs = make_config(OTHER_SECRET, NULL);
	struct oauth_keys k, other;
	char *s;

	assert_int_equal(oauth_keys_init(&k, &mine), 0);
	assert_int_equal(oauth_keys_init(&other, &theirs), 0);
	s = oauth_state_new(&other);
	assert_false(oauth_state_is_authentic(&k, s));
	free(s);
	oauth_keys_cleanup(&k);
	oauth_keys_cleanup(&other);
}

static void test_state_survives_secret_rotation(void **state)
{
	(void)state;
	struct config before = make_config(SECRET, NULL), after = make_config(OTHER_SECRET, SECRET);
	struct oauth_keys old, rotated;
	char *s;

	assert_int_equal(oauth_keys_init(&old, &before), 0);
	assert_int_equal(oauth_keys_init(&rotated, &after), 0);
	s = oauth_state_new(&old);
	assert_true(oauth_state_is_authentic(&rotated, s));
	free(s);
	s = oauth_state_new(&rotated);
	assert_false(oauth_state_is_authentic(&old, s));
	free(s);
	oauth_keys_cleanup(&old);
	oauth_keys_cleanup(&rotated);
}

/* The state key is not the JWT key itself: HMAC(JWT_SECRET, label) as documented. */
static void test_state_key_is_derived(void **state)
{
	(void)state;
	struct config cfg = make_config(SECRET, NULL);
	struct oauth_keys k;

	assert_int_equal(oauth_keys_init(&k, &cfg), 0);
	assert_memory_not_equal(k.current, SECRET, OAUTH_KEY_LEN);
	assert_false(k.has_previous);
	oauth_keys_cleanup(&k);
}

/* ---- next ------------------------------------------------------------------ */

static void expect_next(const char *given, const char *want)
{
	char *got = oauth_next_path_new(given);

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("next %s: got %s, want %s", given ? given : "(null)", got, want);
	free(got);
}

static void test_next_local_paths_kept(void **state)
{
	(void)state;
	expect_next("/", "/");
	expect_next("/members", "/members");
	expect_next("/members/me?tab=stats&x=1", "/members/me?tab=stats&x=1");
	expect_next("/a/b#frag", "/a/b");
	expect_next("/a?q=1#frag#more", "/a?q=1");
	expect_next("/a b\"<x>", "/a%20b%22%3Cx%3E");
	expect_next("/caf\xc3\xa9", "/caf%C3%A9");
	expect_next("/search?q=%2F", "/search?q=%2F");
}

static void test_next_open_redirects_refused(void **state)
{
	(void)state;
	expect_next(NULL, "/");
	expect_next("", "/");
	expect_next("//evil.com", "/");
	expect_next("//evil.com/path", "/");
	expect_next("https://evil.com", "/");
	expect_next("http:/evil.com", "/");
	expect_next("/\\evil.com", "/");
	expect_next("\\\\evil.com", "/");
	expect_next("/path\\..\\x", "/");
	expect_next("javascript:alert(1)", "/");
	expect_next("evil.com", "/");
	expect_next("%2F%2Fevil.com", "/"); /* an undecoded value is no path */
	expect_next("/a\r\nSet-Cookie: x=1", "/");
	expect_next("/a\tb", "/");
	expect_next("/a\x7f", "/");
	expect_next("#/fragment-only", "/");
}

static void test_next_length_limit(void **state)
{
	(void)state;
	char longest[OAUTH_NEXT_MAX + 2];

	memset(longest, 'a', sizeof longest - 1);
	longest[0] = '/';
	longest[OAUTH_NEXT_MAX] = '\0';
	expect_next(longest, longest);
	longest[OAUTH_NEXT_MAX] = 'a';
	longest[OAUTH_NEXT_MAX + 1] = '\0';
	expect_next(longest, "/");
}

/* ---- usernames and avatars ------------------------------------------------------ */

static void expect_candidate(const char *name, const char *id, unsigned attempt, const char *want)
{
	char *got = oauth_username_candidate_new(name, id, attempt);

	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_username_candidates(void **state)
{
	(void)state;
	const char *id = "80351110224678912"; /* 17 digits: suffixes 4..16, then all 17 */

	expect_candidate("nelly", id, 0, "nelly");
	expect_candidate("nelly", id, 1, "nelly_8912");
	expect_candidate("nelly", id, 2, "nelly_678912");
	expect_candidate("nelly", id, 3, "nelly_24678912");
	expect_candidate("nelly", id, 7, "nelly_0351110224678912");
	expect_candidate("nelly", id, 8, "nelly_80351110224678912");
	expect_candidate("nelly", id, 9, "nelly_80351110224678912_2");
	expect_candidate("nelly", id, 108, "nelly_80351110224678912_101");
	expect_candidate("nelly", id, 109, NULL);
	/* Short ids go straight to the whole id. */
	expect_candidate("x", "42", 1, "x_42");
	expect_candidate("x", "42", 2, "x_42_2");
	expect_candidate("x", "12345", 1, "x_2345");
	expect_candidate("x", "12345", 2, "x_12345");
}

/* The longest candidate still fits users.username (varchar(64)). */
static void test_username_candidates_fit(void **state)
{
	(void)state;
	char name[DISCORD_NAME_MAX * 4 + 1];
	const char *id = "18446744073709551615";

	/* 32 four-byte characters: 32 code points, as PostgreSQL counts. */
	for (int i = 0; i < DISCORD_NAME_MAX; i++)
		memcpy(name + 4 * i, "\xf0\x9f\x98\x80", 4);
	name[sizeof name - 1] = '\0';
	for (unsigned a = 0;; a++) {
		char *c = oauth_username_candidate_new(name, id, a);
		if (c == NULL)
			break;
		assert_true(util_utf8_len(c) <= 64);
		free(c);
	}
}

static void expect_avatar(const char *id, const char *avatar, const char *discriminator,
                          const char *want)
{
	struct discord_user du = {.id = (char *)id, .username = (char *)"u",
	                          .avatar = (char *)avatar, .discriminator = (char *)discriminator};
	char *got = oauth_avatar_url_new(&du);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_avatar_urls(void **state)
{
	(void)state;
	expect_avatar("80351110224678912", "8342729096ea3675442027381ff50dfe", "0",
	              "https://cdn.discordapp.com/avatars/80351110224678912/"
	              "8342729096ea3675442027381ff50dfe.png");
	expect_avatar("80351110224678912", "a_8342729096ea3675442027381ff50dfe", "0",
	              "https://cdn.discordapp.com/avatars/80351110224678912/"
	              "a_8342729096ea3675442027381ff50dfe.gif");
	/* No avatar, new username system: (id >> 22) % 6; 80351110224678912 >> 22 = 19157197529. */
	expect_avatar("80351110224678912", NULL, "0", "https://cdn.discordapp.com/embed/avatars/5.png");
	expect_avatar("80351110224678912", NULL, NULL, "https://cdn.discordapp.com/embed/avatars/5.png");
	/* No avatar, legacy tag: discriminator % 5. */
	expect_avatar("80351110224678912", NULL, "1337", "https://cdn.discordapp.com/embed/avatars/2.png");
	expect_avatar("80351110224678912", NULL, "0005", "https://cdn.discordapp.com/embed/avatars/0.png");
	/* The top of the snowflake range does not overflow. */
	expect_avatar("18446744073709551615", NULL, NULL,
	              "https://cdn.discordapp.com/embed/avatars/3.png");
}

/* ---- authorize URL and answers ---------------------------------------------------- */

static void test_authorize_url(void **state)
{
	(void)state;
	struct config cfg = make_config(SECRET, NULL);
	char *url = oauth_authorize_url_new(&cfg, "abc.def", "CHALLENGE-_x");

	assert_string_equal(url,
	                    "https://discord.com/oauth2/authorize?response_type=code"
	                    "&client_id=1100000000000000001&scope=identify%20email"
	                    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fapi%2Fauth%2Fdiscord%2Fcallback"
	                    "&state=abc.def&code_challenge=CHALLENGE-_x&code_challenge_method=S256");
	free(url);
	cfg.discord_authorize_url = (char *)"https://example.test/authorize?x=1";
	url = oauth_authorize_url_new(&cfg, "s", "c");
	assert_non_null(strstr(url, "authorize?x=1&response_type=code&"));
	free(url);
	/* The server gate adds the one scope its member lookup needs. */
	cfg.discord_guild_id = (char *)"1300000000000000001";
	url = oauth_authorize_url_new(&cfg, "s", "c");
	assert_non_null(strstr(url, "&scope=identify%20email%20guilds.members.read&redirect_uri="));
	free(url);
}

static void test_answers(void **state)
{
	(void)state;
	static const struct {
		enum oauth_result r;
		int status;
		const char *code;
	} table[] = {
		{OAUTH_INVALID_REQUEST, 400, "invalid_request"},
		{OAUTH_INVALID_STATE, 400, "invalid_state"},
		{OAUTH_ACCESS_DENIED, 400, "access_denied"},
		{OAUTH_INVALID_GRANT, 400, "invalid_grant"},
		{OAUTH_NOT_AUTHENTICATED, 401, "not_authenticated"},
		{OAUTH_ACCOUNT_DISABLED, 403, "account_disabled"},
		{OAUTH_PASSWORD_CHANGE_REQUIRED, 403, "password_change_required"},
		{OAUTH_ALREADY_LINKED, 409, "discord_already_linked"},
		{OAUTH_HAS_OTHER_DISCORD, 409, "discord_already_linked"},
		{OAUTH_DISCORD_UNAVAILABLE, 502, "discord_unavailable"},
		{OAUTH_NOT_GUILD_MEMBER, 403, "not_guild_member"},
		{OAUTH_UNAVAILABLE, 503, "unavailable"},
		{OAUTH_ERROR, 500, "internal_error"},
	};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(table); i++) {
		const struct oauth_answer *a = oauth_answer(table[i].r);
		assert_int_equal(a->status, table[i].status);
		assert_string_equal(a->code, table[i].code);
		assert_non_null(a->detail);
	}
	assert_int_equal(oauth_answer((enum oauth_result)999)->status, 500);
}

/* ---- Discord's answers -------------------------------------------------------------- */

static int parse_user(const char *json, struct discord_user *u)
{
	return discord_parse_user(json, strlen(json), u);
}

static void test_parse_user_full(void **state)
{
	(void)state;
	struct discord_user u;

	assert_int_equal(parse_user("{\"id\":\"80351110224678912\",\"username\":\"nelly\","
	                            "\"avatar\":\"8342729096ea3675442027381ff50dfe\","
	                            "\"discriminator\":\"0\",\"global_name\":\"Nelly\","
	                            "\"email\":\"nelly@example.com\",\"verified\":true,"
	                            "\"flags\":0,\"banner\":null,\"locale\":\"en-US\"}",
	                            &u),
	                 0);
	assert_string_equal(u.id, "80351110224678912");
	assert_string_equal(u.username, "nelly");
	assert_string_equal(u.global_name, "Nelly");
	assert_string_equal(u.discriminator, "0");
	assert_string_equal(u.avatar, "8342729096ea3675442027381ff50dfe");
	assert_string_equal(u.email, "nelly@example.com");
	assert_true(u.verified);
	discord_user_cleanup(&u);
}

static void test_parse_user_optional_fields(void **state)
{
	(void)state;
	struct discord_user u;

	assert_int_equal(parse_user("{\"id\":\"1\",\"username\":\"a\",\"avatar\":null,"
	                            "\"global_name\":null,\"email\":null,\"verified\":\"yes\"}",
	                            &u),
	                 0);
	assert_null(u.avatar);
	assert_null(u.global_name);
	assert_null(u.discriminator);
	assert_null(u.email);
	assert_false(u.verified);
	discord_user_cleanup(&u);

	/* Shapes that could escape a URL or a header are dropped, not passed on. */
	assert_int_equal(parse_user("{\"id\":\"1\",\"username\":\"a\",\"avatar\":\"../../x\","
	                            "\"discriminator\":\"12a\",\"email\":\"no-at-sign\","
	                            "\"global_name\":\"\"}",
	                            &u),
	                 0);
	assert_null(u.avatar);
	assert_null(u.discriminator);
	assert_null(u.email);
	assert_null(u.global_name);
	discord_user_cleanup(&u);
}

static void test_parse_user_long_names_cut(void **state)
{
	(void)state;
	struct discord_user u;
	char json[512];

	snprintf(json, sizeof json,
	         "{\"id\":\"1\",\"username\":\"%s\",\"global_name\":\"%s\"}",
	         "abcdefghijklmnopqrstuvwxyz0123456789",
	         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	assert_int_equal(parse_user(json, &u), 0);
	assert_string_equal(u.username, "abcdefghijklmnopqrstuvwxyz012345");
	assert_int_equal(util_utf8_len(u.global_name), DISCORD_NAME_MAX);
	assert_true(util_is_utf8(u.global_name, strlen(u.global_name)));
	discord_user_cleanup(&u);
}

static void test_parse_user_refusals(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"{\"id\": \"80351110224678912\", \"username\": \"nelly\", \"avatar\": ",
		"[]",
		"{\"username\":\"nelly\"}",
		"{\"id\":null,\"username\":\"nelly\"}",
		"{\"id\":80351110224678912,\"username\":\"nelly\"}",
		"{\"id\":\"\",\"username\":\"nelly\"}",
		"{\"id\":\"-1\",\"username\":\"nelly\"}",
		"{\"id\":\"18446744073709551616\",\"username\":\"nelly\"}",
		"{\"id\":\"1 \",\"username\":\"nelly\"}",
		"{\"id\":\"1\"}",
		"{\"id\":\"1\",\"username\":\"\"}",
		"{\"id\":\"1\",\"username\":\"a\\nb\"}",
		"{\"id\":\"1\",\"username\":\"a\\u0000b\"}",
		"{\"id\":\"1\",\"username\":\"nelly\"} trailing",
	};
	struct discord_user u;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		if (parse_user(bad[i], &u) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_null(u.id);
	}
}

static void test_parse_token(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"{\"access_token\": \"6qrZcUqja7812RVdnEKjpzOL4CvHBFG\", \"token_type\": \"Bea",
		"{\"token_type\":\"Bearer\"}",
		"{\"access_token\":null}",
		"{\"access_token\":\"\"}",
		"{\"access_token\":42}",
		"{\"access_token\":\"a b\"}",
		"{\"access_token\":\"abc\\r\\nX-Injected: 1\"}",
		"[\"access_token\"]",
	};
	const char *good = "{\"access_token\":\"6qrZcUqja7812RVdnEKjpzOL4CvHBFG\","
	                   "\"token_type\":\"Bearer\",\"expires_in\":604800,"
	                   "\"refresh_token\":\"D43f5y0ahjqew82jZ4NViEr2YafMKhue\","
	                   "\"scope\":\"identify email\"}";
	char *token = NULL;

	assert_int_equal(discord_parse_token(good, strlen(good), &token), 0);
	assert_string_equal(token, "6qrZcUqja7812RVdnEKjpzOL4CvHBFG");
	util_free_secret(token);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		if (discord_parse_token(bad[i], strlen(bad[i]), &token) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_null(token);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkce_rfc7636_vector),
		cmocka_unit_test(test_pkce_verifier_shape),
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_state_tampered_is_refused),
		cmocka_unit_test(test_state_malformed_is_refused),
		cmocka_unit_test(test_state_from_another_secret_is_refused),
		cmocka_unit_test(test_state_survives_secret_rotation),
		cmocka_unit_test(test_state_key_is_derived),
		cmocka_unit_test(test_next_local_paths_kept),
		cmocka_unit_test(test_next_open_redirects_refused),
		cmocka_unit_test(test_next_length_limit),
		cmocka_unit_test(test_username_candidates),
		cmocka_unit_test(test_username_candidates_fit),
		cmocka_unit_test(test_avatar_urls),
		cmocka_unit_test(test_authorize_url),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_parse_user_full),
		cmocka_unit_test(test_parse_user_optional_fields),
		cmocka_unit_test(test_parse_user_long_names_cut),
		cmocka_unit_test(test_parse_user_refusals),
		cmocka_unit_test(test_parse_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

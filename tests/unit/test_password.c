/* password: bcrypt through libcrypt — new $2b$ hashes, hashes made by other
 * libraries ($2a$/$2b$/$2y$ known vectors), the 72-byte limit without a
 * truncated match, NUL bytes, cost parsing, and the policy for new passwords.
 * Cost 4 keeps the suite fast. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "password.h"
#include "util.h"

#define FAST 4

static bool verify_str(const char *pw, const char *hash)
{
	return password_verify(pw, strlen(pw), hash);
}

static void test_hash_and_verify(void **state)
{
	const char *pw = "correct horse battery staple";
	char *h = password_hash_new(pw, strlen(pw), FAST);
	char *again = password_hash_new(pw, strlen(pw), FAST);

	(void)state;
	assert_non_null(h);
	assert_non_null(again);
	assert_int_equal(strlen(h), 60);
	assert_true(strncmp(h, "$2b$04$", 7) == 0);
	assert_string_not_equal(h, again); /* a fresh salt each time */
	assert_true(verify_str(pw, h));
	assert_true(verify_str(pw, again));
	assert_int_equal(password_hash_cost(h), FAST);
	free(h);
	free(again);
}

static void test_wrong_password(void **state)
{
	const char *pw = "correct horse battery staple";
	char *h = password_hash_new(pw, strlen(pw), FAST);

	(void)state;
	assert_non_null(h);
	assert_false(verify_str("correct horse battery stapl", h));
	assert_false(verify_str("correct horse battery staple ", h));
	assert_false(verify_str("Correct horse battery staple", h));
	assert_false(verify_str("", h));
	free(h);
}

/* bcrypt reads 72 bytes: 72 must work, and 73 must never match anything, not
 * even the hash of its own 72-byte prefix (no silent truncation). */
static void test_72_byte_boundary(void **state)
{
	char pw[80];
	char *h72;

	(void)state;
	memset(pw, 'p', sizeof pw);
	h72 = password_hash_new(pw, 72, FAST);
	assert_non_null(h72);
	assert_true(password_verify(pw, 72, h72));
	assert_false(password_verify(pw, 73, h72));
	assert_false(password_verify(pw, 80, h72));
	assert_false(password_verify(pw, 71, h72));
	assert_null(password_hash_new(pw, 73, FAST));
	assert_null(password_hash_new(pw, 80, FAST));
	free(h72);
}

/* The length is what counts: a NUL never shortens a password into a match. */
static void test_nul_inside(void **state)
{
	char *h = password_hash_new("abc", 3, FAST);

	(void)state;
	assert_non_null(h);
	assert_true(password_verify("abc", 3, h));
	assert_false(password_verify("abc\0def", 7, h));
	assert_false(password_verify("abc\0", 4, h));
	assert_null(password_hash_new("abc\0def", 7, FAST));
	assert_null(password_hash_new("\0", 1, FAST));
	free(h);
}

/* Only the first len bytes are the password, whatever follows them in memory. */
static void test_bytes_past_len_never_count(void **state)
{
	char *h = password_hash_new("abcdef", 3, FAST);

	(void)state;
	assert_non_null(h);
	assert_true(password_verify("abc", 3, h));
	assert_true(password_verify("abcxyz", 3, h));
	assert_false(password_verify("abcdef", 6, h));
	free(h);
	h = password_hash_new("abcdef", 6, FAST);
	assert_non_null(h);
	assert_false(password_verify("abcdef", 3, h));
	free(h);
}

struct vector {
	const char *password;
	const char *hash;
};

/*
 * Hashes made by other implementations: the OpenBSD / jBCrypt / py-bcrypt
 * test vectors ($2a$), Openwall's crypt_blowfish 8-bit vectors, PHP's
 * documented password_verify example ($2y$), and python-bcrypt ($2b$).
 */
static const struct vector vectors[] = {
	{"", "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s."},
	{"a", "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe"},
	{"abc", "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i"},
	{"abcdefghijklmnopqrstuvwxyz", "$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC"},
	{"~!@#$%^&*()      ~!@#$%^&*()PNBFRD",
	 "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO"},
	{"U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	{"U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"},
	{"U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"},
	{"\xa3", "$2a$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq"},
	{"\xa3", "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq"},
	{"\xff\xa3" "345", "$2a$05$/OK.fbVrR/bpIqNJ5ianF.nRht2l/HRhr6zmCp9vYUvvsqynflf9e"},
	{"\xa3" "ab", "$2a$05$/OK.fbVrR/bpIqNJ5ianF.6IflQkJytoRVc1yuaNtHfiuq.FRlSIS"},
	{"rasmuslerdorf", "$2y$07$BCryptRequires22Chrcte/VlQH0piJtjXl.0t1XkA8pw9dMXTpOq"},
	{"correct horse battery staple", "$2b$04$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"},
};

static void test_known_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		const char *pw = vectors[i].password;
		char wrong[128];

		if (!verify_str(pw, vectors[i].hash))
			fail_msg("vector %zu (%s) does not verify", i, vectors[i].hash);
		snprintf(wrong, sizeof wrong, "%sx", pw);
		assert_false(verify_str(wrong, vectors[i].hash));
	}
}

/* The classic vector whose password runs past 72 bytes: other libraries match
 * it by truncation; here only its 72-byte prefix does. */
static void test_vector_longer_than_72_never_matches(void **state)
{
	static const char pw[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                         "chars after 72 are ignored";
	static const char hash[] = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui";

	(void)state;
	assert_true(password_verify(pw, 72, hash));
	assert_false(password_verify(pw, sizeof pw - 1, hash));
	assert_false(password_verify(pw, 73, hash));
}

static void test_unusable_hashes(void **state)
{
	(void)state;
	assert_false(verify_str("x", NULL));
	assert_false(verify_str("x", ""));
	assert_false(verify_str("x", "*0"));
	assert_false(verify_str("x", "plaintext"));
	assert_false(verify_str("", ""));
	/* $2x$ marks hashes from the buggy pre-2011 8-bit handling: not accepted. */
	assert_false(verify_str("\xa3", "$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e"));
	/* A truncated hash. */
	assert_false(verify_str("abc", "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0"));
	assert_false(password_verify(NULL, 0, "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i"));
}

static void test_cost_parsing(void **state)
{
	(void)state;
	assert_int_equal(password_hash_cost("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"), 5);
	assert_int_equal(password_hash_cost("$2b$12$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"), 12);
	assert_int_equal(password_hash_cost("$2y$31$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"), 31);
	assert_int_equal(password_hash_cost("$2b$04$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"), 4);
	assert_int_equal(password_hash_cost("$2b$03$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"), -1);
	assert_int_equal(password_hash_cost("$2b$32$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"), -1);
	assert_int_equal(password_hash_cost("$2b$1x$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"), -1);
	assert_int_equal(password_hash_cost("$2b$-1$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"), -1);
	assert_int_equal(password_hash_cost("$2x$05$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"), -1);
	assert_int_equal(password_hash_cost("$2$05$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CGx"), -1);
	assert_int_equal(password_hash_cost("$2b$05abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CGx"), -1);
	assert_int_equal(password_hash_cost("$2b$05$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6C"), -1);
	assert_int_equal(password_hash_cost("$6$salt$hash"), -1);
	assert_int_equal(password_hash_cost(""), -1);
	assert_int_equal(password_hash_cost(NULL), -1);
}

static void test_cost_range_for_new_hashes(void **state)
{
	(void)state;
	assert_null(password_hash_new("long enough", 11, 3));
	assert_null(password_hash_new("long enough", 11, 32));
	assert_null(password_hash_new(NULL, 0, FAST));
}

static void test_dummy_never_matches(void **state)
{
	(void)state;
	assert_false(password_verify_dummy("Admin123!", 9, FAST));
	assert_false(password_verify_dummy("", 0, FAST));
	assert_false(password_verify_dummy("a\0b", 3, FAST));
}

/* ---- the policy for new passwords (API.md: 10-72 bytes, not the current one, not the name) -- */

#define TOO_SHORT_OR_LONG "The new password must be 10 to 72 bytes long."
#define HAS_NUL "The new password must not contain a NUL byte."
#define IS_CURRENT "The new password must differ from the current one."
#define HAS_NAME "The new password must not contain the username."

static const char *policy(const char *pw, const char *username, const char *current)
{
	return password_policy_check(pw, strlen(pw), username, current);
}

/* Bytes, not characters: 5 two-byte letters are long enough, 37 characters may be too long. */
/* CPU seconds of one password_check, the least of three runs. */
static double check_seconds(const char *pw, const char *hash, int cost)
{
	double best = 1e9;

	for (int i = 0; i < 3; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
		password_check(pw, strlen(pw), hash, cost);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
		double t = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (t < best)
			best = t;
	}
	return best;
}

/*
 * Issue 10 #4: a wrong password for a user whose stored hash was cheaper
 * than BCRYPT_COST (an imported $2a$ at cost 4) answered in 3-5 ms, an
 * unknown name in 50-200 ms. Every kind of stored hash now costs one hash
 * at the configured cost.
 */
static void test_cheap_hash_timing_attack(void **state)
{
	const int cost = 9;
	char *normal = password_hash_new("Right-Password-1", 16, cost);
	char *cheap = password_hash_new("Right-Password-1", 16, 4);
	double base, t;

	(void)state;
	assert_non_null(normal);
	assert_non_null(cheap);
	assert_true(password_check("Right-Password-1", 16, normal, cost));
	assert_true(password_check("Right-Password-1", 16, cheap, cost));
	assert_false(password_check("Wrong-Password-1", 16, cheap, cost));
	assert_false(password_check("Right-Password-1", 16, NULL, cost));
	assert_false(password_check("Right-Password-1", 16, "!locked", cost));

	base = check_seconds("Wrong-Password-1", normal, cost);
	const char *others[] = {cheap, NULL, "!locked", "$2b$04$short"};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		t = check_seconds("Wrong-Password-1", others[i], cost);
		assert_true(t > 0.75 * base);
		assert_true(t < 1.5 * base);
	}
	util_free_secret(normal);
	util_free_secret(cheap);
}

static void test_policy_length_in_bytes(void **state)
{
	char pw[80];

	(void)state;
	memset(pw, 'p', sizeof pw);
	assert_null(password_policy_check(pw, 10, "nelly", NULL));
	assert_null(password_policy_check(pw, 72, "nelly", NULL));
	assert_string_equal(password_policy_check(pw, 9, "nelly", NULL), TOO_SHORT_OR_LONG);
	assert_string_equal(password_policy_check(pw, 73, "nelly", NULL), TOO_SHORT_OR_LONG);
	assert_string_equal(password_policy_check(pw, 0, "nelly", NULL), TOO_SHORT_OR_LONG);
	assert_string_equal(password_policy_check(NULL, 0, "nelly", NULL), TOO_SHORT_OR_LONG);
	assert_null(policy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "nelly", NULL));
	assert_string_equal(policy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x", "nelly", NULL),
	                    TOO_SHORT_OR_LONG);
}

static void test_policy_nul_byte(void **state)
{
	(void)state;
	assert_string_equal(password_policy_check("abcdefghij\0klm", 14, "nelly", NULL), HAS_NUL);
	assert_string_equal(password_policy_check("\0bcdefghijk", 11, "nelly", NULL), HAS_NUL);
	/* The terminator after len is not part of the password. */
	assert_null(password_policy_check("abcdefghij", 10, "nelly", NULL));
}

static void test_policy_username_any_case(void **state)
{
	(void)state;
	assert_string_equal(policy("my-nelly-password", "nelly", NULL), HAS_NAME);
	assert_string_equal(policy("My-NELLY-Password", "nelly", NULL), HAS_NAME);
	assert_string_equal(policy("my-password-NeLlY", "NELLY", NULL), HAS_NAME);
	assert_string_equal(policy("nelly.smith", "nelly.smith", NULL), HAS_NAME);
	assert_null(policy("my-nelli-password", "nelly", NULL));
	assert_null(policy("a-long-password", "a-long-password-and-more", NULL));
	/* Only the first len bytes are the password. */
	assert_null(password_policy_check("0123456789nelly", 10, "nelly", NULL));
	/* No name, nothing to avoid. */
	assert_null(policy("my-nelly-password", NULL, NULL));
	assert_null(policy("my-nelly-password", "", NULL));
}

static void test_policy_current_password(void **state)
{
	(void)state;
	assert_string_equal(policy("Old-Password-1", "nelly", "Old-Password-1"), IS_CURRENT);
	assert_null(policy("old-password-1", "nelly", "Old-Password-1"));
	assert_null(policy("Old-Password-12", "nelly", "Old-Password-1"));
	assert_null(policy("Old-Password-1", "nelly", "Old-Password-12"));
	assert_null(policy("Old-Password-1", "nelly", NULL));
	assert_null(password_policy_check("Old-Password-1x", 14, "nelly", "Old-Password-1x"));
	assert_string_equal(password_policy_check("Old-Password-1x", 14, "nelly", "Old-Password-1"),
	                    IS_CURRENT);
}

/* A password breaking several rules is told about the first: length, NUL, current, name. */
static void test_policy_order(void **state)
{
	(void)state;
	assert_string_equal(policy("nelly", "nelly", "nelly"), TOO_SHORT_OR_LONG);
	assert_string_equal(password_policy_check("nelly-\0-nelly", 13, "nelly", NULL), HAS_NUL);
	assert_string_equal(policy("nelly-password", "nelly", "nelly-password"), IS_CURRENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_and_verify),
		cmocka_unit_test(test_wrong_password),
		cmocka_unit_test(test_72_byte_boundary),
		cmocka_unit_test(test_nul_inside),
		cmocka_unit_test(test_bytes_past_len_never_count),
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_vector_longer_than_72_never_matches),
		cmocka_unit_test(test_unusable_hashes),
		cmocka_unit_test(test_cost_parsing),
		cmocka_unit_test(test_cost_range_for_new_hashes),
		cmocka_unit_test(test_dummy_never_matches),
		cmocka_unit_test(test_cheap_hash_timing_attack),
		cmocka_unit_test(test_policy_length_in_bytes),
		cmocka_unit_test(test_policy_nul_byte),
		cmocka_unit_test(test_policy_username_any_case),
		cmocka_unit_test(test_policy_current_password),
		cmocka_unit_test(test_policy_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

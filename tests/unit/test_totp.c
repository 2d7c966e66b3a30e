/* totp: RFC 6238 Appendix B test vectors (SHA-1 mode) through liboath,
 * code checking with the adjacent steps, base32 (RFC 4648 §10), the
 * otpauth URI, AES-256-GCM sealing bound to the user id, recovery codes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "totp.h"
#include "util.h"

/* RFC 6238 Appendix B: the SHA-1 seed is the ASCII "12345678901234567890". */
static const unsigned char rfc_seed[] = "12345678901234567890";

static int setup(void **state)
{
	(void)state;
	return totp_init();
}

static void test_rfc6238_sha1_vectors(void **state)
{
	static const struct {
		int64_t t;
		const char *code;
	} vectors[] = {
		{59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	};
	char out[9];

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(vectors); i++) {
		assert_int_equal(totp_code(rfc_seed, 20, vectors[i].t, 8, out), 0);
		assert_string_equal(out, vectors[i].code);
	}
	/* The 6-digit codes used here are the last six digits of the same values. */
	assert_int_equal(totp_code(rfc_seed, 20, 59, 6, out), 0);
	assert_string_equal(out, "287082");
}

static void test_verify_window(void **state)
{
	const int64_t now = 1111111111; /* step 37037037 */
	char code[7];
	int64_t step = 0;

	(void)state;
	assert_int_equal(totp_code(rfc_seed, 20, now, 6, code), 0);
	assert_int_equal(totp_verify(rfc_seed, 20, now, code, &step), 1);
	assert_int_equal(step, now / 30);

	/* One step either side is accepted and names its own step. */
	assert_int_equal(totp_code(rfc_seed, 20, now - 30, 6, code), 0);
	assert_int_equal(totp_verify(rfc_seed, 20, now, code, &step), 1);
	assert_int_equal(step, now / 30 - 1);
	assert_int_equal(totp_code(rfc_seed, 20, now + 30, 6, code), 0);
	assert_int_equal(totp_verify(rfc_seed, 20, now, code, &step), 1);
	assert_int_equal(step, now / 30 + 1);

	/* Two steps away is not. */
	assert_int_equal(totp_code(rfc_seed, 20, now - 60, 6, code), 0);
	assert_int_equal(totp_verify(rfc_seed, 20, now, code, &step), 0);
	assert_int_equal(totp_code(rfc_seed, 20, now + 60, 6, code), 0);
	assert_int_equal(totp_verify(rfc_seed, 20, now, code, &step), 0);
}

static void test_code_format(void **state)
{
	int64_t step;

	(void)state;
	assert_true(totp_is_code("012345"));
	assert_false(totp_is_code("01234"));
	assert_false(totp_is_code("0123456"));
	assert_false(totp_is_code("01234a"));
	assert_false(totp_is_code(" 12345"));
	assert_false(totp_is_code(""));
	assert_int_equal(totp_verify(rfc_seed, 20, 59, "28708", &step), 0);
	assert_int_equal(totp_verify(rfc_seed, 20, 59, "2870822", &step), 0);
}

/* RFC 4648 §10 base32, padding removed. */
static void test_base32(void **state)
{
	static const struct {
		const char *raw, *b32;
	} v[] = {{"f", "MY"},         {"fo", "MZXQ"},         {"foo", "MZXW6"},
	         {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"}};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(v); i++) {
		char *b = totp_base32_new((const unsigned char *)v[i].raw, strlen(v[i].raw));
		assert_non_null(b);
		assert_string_equal(b, v[i].b32);
		free(b);
	}
}

static void test_uri(void **state)
{
	char *uri = totp_uri_new("ada lovelace", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");

	(void)state;
	assert_non_null(uri);
	assert_string_equal(uri, "otpauth://totp/Farout:ada%20lovelace?secret="
	                         "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Farout&algorithm=SHA1"
	                         "&digits=6&period=30");
	free(uri);
}

static void test_seal_binds_user(void **state)
{
	unsigned char key[TOTP_KEY_BYTES], other_key[TOTP_KEY_BYTES];
	unsigned char secret[TOTP_SECRET_BYTES], out[TOTP_SECRET_BYTES];
	struct totp_sealed s, tampered;

	(void)state;
	assert_int_equal(util_random_bytes(key, sizeof key), 0);
	assert_int_equal(util_random_bytes(other_key, sizeof other_key), 0);
	assert_int_equal(totp_secret_generate(secret), 0);
	assert_int_equal(totp_seal(key, "42", secret, &s), 0);
	assert_memory_not_equal(s.ct, secret, sizeof secret);

	assert_int_equal(totp_open(key, "42", &s, out), 0);
	assert_memory_equal(out, secret, sizeof secret);
	/* Another user's row, another key, a flipped bit: none opens. */
	assert_int_equal(totp_open(key, "43", &s, out), -1);
	assert_int_equal(totp_open(key, "420", &s, out), -1);
	assert_int_equal(totp_open(other_key, "42", &s, out), -1);
	tampered = s;
	tampered.ct[0] ^= 1;
	assert_int_equal(totp_open(key, "42", &tampered, out), -1);
	tampered = s;
	tampered.tag[15] ^= 0x80;
	assert_int_equal(totp_open(key, "42", &tampered, out), -1);
	tampered = s;
	tampered.nonce[0] ^= 1;
	assert_int_equal(totp_open(key, "42", &tampered, out), -1);

	/* A fresh nonce each time: the same secret never seals the same way twice. */
	assert_int_equal(totp_seal(key, "42", secret, &tampered), 0);
	assert_memory_not_equal(tampered.nonce, s.nonce, TOTP_NONCE_BYTES);
	assert_memory_not_equal(tampered.ct, s.ct, TOTP_SECRET_BYTES);
}

static void test_recovery_codes(void **state)
{
	char code[TOTP_RECOVERY_LEN + 1], other[TOTP_RECOVERY_LEN + 1], typed[32];
	char h1[TOTP_HASH_HEX + 1], h2[TOTP_HASH_HEX + 1];

	(void)state;
	assert_int_equal(totp_recovery_code(code), 0);
	assert_int_equal(totp_recovery_code(other), 0);
	assert_string_not_equal(code, other);
	assert_int_equal(strlen(code), TOTP_RECOVERY_LEN);
	assert_int_equal(code[4], '-');
	assert_int_equal(code[9], '-');
	assert_false(totp_is_code(code));

	assert_int_equal(totp_recovery_hash("7", code, h1), 0);
	assert_int_equal(strlen(h1), TOTP_HASH_HEX);
	/* Upper case and without dashes: the same code. */
	for (size_t i = 0, o = 0; i <= strlen(code); i++)
		if (code[i] != '-')
			typed[o++] = (char)(code[i] >= 'a' && code[i] <= 'z' ? code[i] - 32 : code[i]);
	assert_int_equal(totp_recovery_hash("7", typed, h2), 0);
	assert_string_equal(h1, h2);
	/* The same code of another user hashes differently. */
	assert_int_equal(totp_recovery_hash("8", code, h2), 0);
	assert_string_not_equal(h1, h2);
	/* Not a recovery code at all. */
	assert_int_equal(totp_recovery_hash("7", "123456", h2), -1);
	assert_int_equal(totp_recovery_hash("7", "abcd-efgh-ijk", h2), -1);
	assert_int_equal(totp_recovery_hash("7", "abcd-efgh-ijklm", h2), -1);
	assert_int_equal(totp_recovery_hash("7", "abcd-efgh-ij1l", h2), -1);
}

static void test_hex(void **state)
{
	const unsigned char raw[3] = {0x00, 0xab, 0xff};
	unsigned char back[3];
	char hex[7];

	(void)state;
	totp_hex(raw, 3, hex);
	assert_string_equal(hex, "00abff");
	assert_int_equal(totp_unhex(hex, back, 3), 0);
	assert_memory_equal(back, raw, 3);
	assert_int_equal(totp_unhex("00abf", back, 3), -1);
	assert_int_equal(totp_unhex("00abfg", back, 3), -1);
	assert_int_equal(totp_unhex(NULL, back, 3), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_sha1_vectors), cmocka_unit_test(test_verify_window),
		cmocka_unit_test(test_code_format),          cmocka_unit_test(test_base32),
		cmocka_unit_test(test_uri),                  cmocka_unit_test(test_seal_binds_user),
		cmocka_unit_test(test_recovery_codes),       cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

/*
 * lib/jwt: the RFC 7515 A.1 vector, sign/verify round trips, and one test per
 * way a token can be wrong (the attacks libjwt-style verifiers must refuse).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt.h"
#include "util.h"

#define NOW INT64_C(1800000000)
#define SECRET "0123456789abcdef0123456789abcdef-test-secret"
#define OTHER_SECRET "fedcba9876543210fedcba9876543210-other-secret"

static const struct jwt_key key256 = {JWT_HS256, (const unsigned char *)SECRET, sizeof SECRET - 1};
static const struct jwt_key key384 = {JWT_HS384, (const unsigned char *)SECRET, sizeof SECRET - 1};
static const struct jwt_key key512 = {JWT_HS512, (const unsigned char *)SECRET, sizeof SECRET - 1};
static const struct jwt_key other256 = {JWT_HS256, (const unsigned char *)OTHER_SECRET,
                                        sizeof OTHER_SECRET - 1};

/* RFC 7515 appendix A.1 */
static const char a1_token[] =
	"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
	"."
	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	"."
	"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char a1_jwk_k[] =
	"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
#define A1_EXP INT64_C(1300819380)

/* ---- helpers -------------------------------------------------------------- */

static const EVP_MD *md_of(enum jwt_alg alg)
{
	return alg == JWT_HS512 ? EVP_sha512() : alg == JWT_HS384 ? EVP_sha384() : EVP_sha256();
}

/*
 * Any header and payload text, base64url-encoded as given, signed with key
 * (or with an empty signature when key is NULL): tokens no honest signer makes.
 */
static char *forge(const char *header, const char *payload, const struct jwt_key *key)
{
	char *h = util_b64url_encode_new((const unsigned char *)header, strlen(header));
	char *p = util_b64url_encode_new((const unsigned char *)payload, strlen(payload));
	char *input = NULL, *s = NULL, *token = NULL;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;

	assert_non_null(h);
	assert_non_null(p);
	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	if (key != NULL) {
		assert_non_null(HMAC(md_of(key->alg), key->secret, (int)key->secret_len,
		                     (const unsigned char *)input, strlen(input), mac, &maclen));
		s = util_b64url_encode_new(mac, maclen);
	} else {
		s = strdup("");
	}
	assert_true(asprintf(&token, "%s.%s", input, s) > 0);
	free(h);
	free(p);
	free(input);
	free(s);
	return token;
}

static char *forge_claims(const char *header, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The usual HS256 header over a printf-built payload, signed with key256. */
static char *forge_claims(const char *header, const char *fmt, ...)
{
	char *payload = NULL, *token;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&payload, fmt, ap) > 0);
	va_end(ap);
	token = forge(header, payload, &key256);
	free(payload);
	return token;
}

#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static enum jwt_result verify256(const char *token)
{
	cJSON *claims = NULL;
	enum jwt_result r = jwt_verify(&key256, NULL, token, NOW, "farout", &claims);

	if (r == JWT_OK)
		assert_non_null(claims);
	else
		assert_null(claims);
	cJSON_Delete(claims);
	return r;
}

static cJSON *good_claims(void)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "sub", "42");
	cJSON_AddStringToObject(c, "username", "nelly");
	cJSON_AddStringToObject(c, "role", "officer");
	cJSON_AddNumberToObject(c, "iat", (double)NOW);
	cJSON_AddNumberToObject(c, "exp", (double)(NOW + 3600));
	cJSON_AddStringToObject(c, "jti", "abcdefghijklmnopqrstuv");
	cJSON_AddStringToObject(c, "iss", "farout");
	cJSON_AddBoolToObject(c, "must_change_password", 0);
	return c;
}

static char *signed_good(const struct jwt_key *key)
{
	cJSON *c = good_claims();
	char *t = jwt_sign_new(key, c);

	cJSON_Delete(c);
	assert_non_null(t);
	return t;
}

/* Replaces the character at i with c (the token is a fresh copy). */
static char *with_char(const char *token, size_t i, char c)
{
	char *t = strdup(token);

	assert_non_null(t);
	t[i] = c;
	return t;
}

/* ---- RFC 7515 A.1 --------------------------------------------------------- */

static void rfc7515_a1_hmac(void **state)
{
	unsigned char *k = NULL, *sig = NULL, mac[EVP_MAX_MD_SIZE];
	size_t klen = 0, siglen = 0;
	unsigned maclen = 0;
	const char *dot2 = strrchr(a1_token, '.');

	(void)state;
	assert_int_equal(util_b64url_decode_new(a1_jwk_k, strlen(a1_jwk_k), &k, &klen), 0);
	assert_int_equal(klen, 64);
	assert_int_equal(util_b64url_decode_new(dot2 + 1, strlen(dot2 + 1), &sig, &siglen), 0);
	assert_non_null(HMAC(EVP_sha256(), k, (int)klen, (const unsigned char *)a1_token,
	                     (size_t)(dot2 - a1_token), mac, &maclen));
	assert_int_equal(maclen, 32);
	assert_int_equal(siglen, 32);
	assert_memory_equal(mac, sig, 32);
	free(k);
	free(sig);
}

static void rfc7515_a1_verifies_before_exp(void **state)
{
	unsigned char *k = NULL;
	size_t klen = 0;
	cJSON *claims = NULL;
	struct jwt_key key;

	(void)state;
	assert_int_equal(util_b64url_decode_new(a1_jwk_k, strlen(a1_jwk_k), &k, &klen), 0);
	key = (struct jwt_key){JWT_HS256, k, klen};

	assert_int_equal(jwt_verify(&key, NULL, a1_token, A1_EXP - 60, "joe", &claims), JWT_OK);
	assert_non_null(claims);
	assert_string_equal(cJSON_GetObjectItem(claims, "iss")->valuestring, "joe");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(claims, "http://example.com/is_root")));
	cJSON_Delete(claims);

	/* The same token, judged at other times and by other verifiers. */
	assert_int_equal(jwt_verify(&key, NULL, a1_token, A1_EXP + JWT_LEEWAY - 1, "joe", &claims), JWT_OK);
	cJSON_Delete(claims);
	assert_int_equal(jwt_verify(&key, NULL, a1_token, A1_EXP + JWT_LEEWAY, "joe", &claims), JWT_EXPIRED);
	assert_null(claims);
	assert_int_equal(jwt_verify(&key, NULL, a1_token, NOW, "joe", &claims), JWT_EXPIRED);
	assert_int_equal(jwt_verify(&key, NULL, a1_token, A1_EXP - 60, "farout", &claims), JWT_BAD_ISSUER);
	assert_int_equal(jwt_verify(&key256, NULL, a1_token, A1_EXP - 60, "joe", &claims), JWT_BAD_SIGNATURE);
	key.alg = JWT_HS512;
	assert_int_equal(jwt_verify(&key, NULL, a1_token, A1_EXP - 60, "joe", &claims), JWT_BAD_ALGORITHM);
	assert_null(claims);
	free(k);
}

/* ---- round trips ---------------------------------------------------------- */

static void round_trip(const struct jwt_key *key, const char *alg, size_t siglen)
{
	char *t = signed_good(key);
	cJSON *claims = NULL, *header;
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	const char *dot1 = strchr(t, '.'), *dot2 = strrchr(t, '.');

	assert_int_equal(jwt_verify(key, NULL, t, NOW, "farout", &claims), JWT_OK);
	assert_string_equal(cJSON_GetObjectItem(claims, "sub")->valuestring, "42");
	assert_string_equal(cJSON_GetObjectItem(claims, "jti")->valuestring, "abcdefghijklmnopqrstuv");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(claims, "must_change_password")));
	assert_int_equal((int64_t)cJSON_GetObjectItem(claims, "exp")->valuedouble, NOW + 3600);
	cJSON_Delete(claims);

	assert_int_equal(util_b64url_decode_new(t, (size_t)(dot1 - t), &raw, &rawlen), 0);
	header = cJSON_Parse((const char *)raw);
	assert_string_equal(cJSON_GetObjectItem(header, "alg")->valuestring, alg);
	assert_string_equal(cJSON_GetObjectItem(header, "typ")->valuestring, "JWT");
	cJSON_Delete(header);
	free(raw);
	assert_int_equal(util_b64url_decode_new(dot2 + 1, strlen(dot2 + 1), &raw, &rawlen), 0);
	assert_int_equal(rawlen, siglen);
	free(raw);
	free(t);
}

static void round_trip_hs256(void **state)
{
	(void)state;
	round_trip(&key256, "HS256", 32);
}

static void round_trip_hs384(void **state)
{
	(void)state;
	round_trip(&key384, "HS384", 48);
}

static void round_trip_hs512(void **state)
{
	(void)state;
	round_trip(&key512, "HS512", 64);
}

static void sign_refuses_non_object(void **state)
{
	cJSON *arr = cJSON_CreateArray();

	(void)state;
	assert_null(jwt_sign_new(&key256, arr));
	assert_null(jwt_sign_new(&key256, NULL));
	cJSON_Delete(arr);
}

static void previous_secret_verifies_but_current_signs(void **state)
{
	char *old = signed_good(&other256);
	char *cur = signed_good(&key256);
	cJSON *claims = NULL;

	(void)state;
	assert_int_equal(jwt_verify(&key256, NULL, old, NOW, "farout", &claims), JWT_BAD_SIGNATURE);
	assert_int_equal(jwt_verify(&key256, &other256, old, NOW, "farout", &claims), JWT_OK);
	cJSON_Delete(claims);
	assert_int_equal(jwt_verify(&key256, &other256, cur, NOW, "farout", &claims), JWT_OK);
	cJSON_Delete(claims);
	/* Rotation never widens the algorithm: an HS384 token is still refused. */
	char *t384 = signed_good(&key384);
	assert_int_equal(jwt_verify(&key256, &other256, t384, NOW, "farout", &claims), JWT_BAD_ALGORITHM);
	free(t384);
	free(old);
	free(cur);
}

/* ---- structure ------------------------------------------------------------ */

static void malformed_part_counts(void **state)
{
	char *good = signed_good(&key256), *four = NULL;

	(void)state;
	assert_int_equal(verify256(good), JWT_OK);
	assert_int_equal(verify256(""), JWT_MALFORMED);
	assert_int_equal(verify256("abc"), JWT_MALFORMED);
	assert_int_equal(verify256("eyJhbGciOiJIUzI1NiJ9.e30"), JWT_MALFORMED);
	assert_true(asprintf(&four, "%s.e30", good) > 0);
	assert_int_equal(verify256(four), JWT_MALFORMED);
	free(four);
	assert_true(asprintf(&four, "%s.", good) > 0);
	assert_int_equal(verify256(four), JWT_MALFORMED);
	free(four);
	assert_int_equal(verify256("garbage.garbage.garbage"), JWT_MALFORMED);
	assert_int_equal(verify256("..."), JWT_MALFORMED);
	assert_int_equal(verify256(".."), JWT_MALFORMED);
	free(good);
}

static void malformed_empty_parts(void **state)
{
	char *good = signed_good(&key256), *t = NULL;
	const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
	cJSON *claims = NULL;

	(void)state;
	assert_true(asprintf(&t, "%s", dot1) > 0); /* empty header */
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
	assert_true(asprintf(&t, "%.*s.%s", (int)(dot1 - good), good, dot2) > 0); /* empty payload */
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
	assert_true(asprintf(&t, "%.*s.", (int)(dot2 - good), good) > 0); /* empty signature */
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
	assert_int_equal(jwt_verify(&key256, NULL, NULL, NOW, "farout", &claims), JWT_MALFORMED);
	assert_null(claims);
	free(good);
}

static void malformed_padding_and_alphabet(void **state)
{
	char *good = signed_good(&key256), *t = NULL;
	const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
	size_t hlen = (size_t)(dot1 - good);
	static const char bad[] = {'+', '/', '=', ' ', '\t', '\n', '%', '*', (char)0xc3};

	(void)state;
	/* "=" padding after each part. */
	assert_true(asprintf(&t, "%.*s=%s", (int)hlen, good, dot1) > 0);
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
	assert_true(asprintf(&t, "%.*s=%s", (int)(dot2 - good), good, dot2) > 0);
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
	assert_true(asprintf(&t, "%s=", good) > 0);
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
	assert_true(asprintf(&t, "%s==", good) > 0);
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
	/* Characters outside base64url in each part. */
	for (size_t i = 0; i < sizeof bad; i++) {
		t = with_char(good, 3, bad[i]);
		assert_int_equal(verify256(t), JWT_MALFORMED);
		free(t);
		t = with_char(good, hlen + 3, bad[i]);
		assert_int_equal(verify256(t), JWT_MALFORMED);
		free(t);
		t = with_char(good, (size_t)(dot2 - good) + 3, bad[i]);
		assert_int_equal(verify256(t), JWT_MALFORMED);
		free(t);
	}
	free(good);
}

/* A signature spelled with non-zero unused bits decodes to the same bytes: refused. */
static void malformed_noncanonical_signature(void **state)
{
	char *good = signed_good(&key256), *t = strdup(good);
	size_t n = strlen(t);
	const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	int v = (int)(strchr(alphabet, t[n - 1]) - alphabet);

	(void)state;
	/* 32 bytes → 43 characters: the last one carries 4 bits and 2 unused ones. */
	assert_int_equal(v & 3, 0);
	t[n - 1] = alphabet[v | 1];
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
	free(good);
}

static void malformed_header_not_json_object(void **state)
{
	static const char *const headers[] = {
		"not json",
		"[\"alg\",\"HS256\"]",
		"[{\"alg\":\"HS256\"}]",
		"\"HS256\"",
		"42",
		"null",
		"{\"alg\":\"HS256\"",
		"{\"alg\":\"HS256\"} x",
		"{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
		"{\"alg\":\"none\",\"alg\":\"HS256\"}",
		"{\"alg\":\"HS256\",\"x\":\"\xff\"}",
		"{\"alg\":\"HS256\",\"x\":\"\\u0000\"}",
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(headers); i++) {
		char *t = forge(headers[i], "{\"exp\":1900000000,\"iss\":\"farout\"}", &key256);
		assert_int_equal(verify256(t), JWT_MALFORMED);
		free(t);
	}
}

static void malformed_payload_not_json_object(void **state)
{
	static const char *const payloads[] = {
		"not json", "[1,2,3]", "\"exp\"", "1900000000", "{\"exp\":1900000000",
		"{\"exp\":1900000000,\"exp\":1}",
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(payloads); i++) {
		char *t = forge(HS256_HEADER, payloads[i], &key256);
		assert_int_equal(verify256(t), JWT_MALFORMED);
		free(t);
	}
}

/* ---- algorithm confusion -------------------------------------------------- */

static void alg_none_unsigned(void **state)
{
	char *t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"exp\":1900000000,\"iss\":\"farout\"}", NULL);

	(void)state;
	/* The classic "alg none, empty signature": refused before anything else. */
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
}

static void alg_none_signed(void **state)
{
	static const char *const algs[] = {"none", "None", "NONE", "nOnE", "hs256", "HS256 ", " HS256",
	                                   "HS384", "HS512", "RS256", "ES256", "PS256", "EdDSA", ""};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(algs); i++) {
		char header[64], *t;
		snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", algs[i]);
		t = forge(header, "{\"exp\":1900000000,\"iss\":\"farout\"}", &key256);
		assert_int_equal(verify256(t), JWT_BAD_ALGORITHM);
		free(t);
	}
}

static void alg_other_hs_size(void **state)
{
	char *t384 = signed_good(&key384), *t512 = signed_good(&key512), *t256 = signed_good(&key256);
	cJSON *claims = NULL;

	(void)state;
	assert_int_equal(verify256(t384), JWT_BAD_ALGORITHM);
	assert_int_equal(verify256(t512), JWT_BAD_ALGORITHM);
	assert_int_equal(jwt_verify(&key384, NULL, t256, NOW, "farout", &claims), JWT_BAD_ALGORITHM);
	assert_int_equal(jwt_verify(&key512, NULL, t384, NOW, "farout", &claims), JWT_BAD_ALGORITHM);
	assert_null(claims);
	free(t384);
	free(t512);
	free(t256);
}

/* An RS256 header whose "signature" is the HMAC under the secret (the key-confusion attack). */
static void alg_rs256_header(void **state)
{
	char *t = forge("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", "{\"exp\":1900000000,\"iss\":\"farout\"}",
	                &key256);

	(void)state;
	assert_int_equal(verify256(t), JWT_BAD_ALGORITHM);
	free(t);
}

static void alg_missing_or_not_string(void **state)
{
	static const char *const headers[] = {
		"{\"typ\":\"JWT\"}", "{}", "{\"alg\":null}", "{\"alg\":256}", "{\"alg\":[\"HS256\"]}",
		"{\"ALG\":\"HS256\"}",
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(headers); i++) {
		char *t = forge(headers[i], "{\"exp\":1900000000,\"iss\":\"farout\"}", &key256);
		assert_int_equal(verify256(t), JWT_BAD_ALGORITHM);
		free(t);
	}
}

static void typ_and_crit(void **state)
{
	static const struct {
		const char *header;
		enum jwt_result want;
	} cases[] = {
		{"{\"alg\":\"HS256\"}", JWT_OK},
		{"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", JWT_OK},
		{"{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"1\"}", JWT_OK},
		{"{\"alg\":\"HS256\",\"typ\":\"JWE\"}", JWT_BAD_ALGORITHM},
		{"{\"alg\":\"HS256\",\"typ\":1}", JWT_BAD_ALGORITHM},
		{"{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", JWT_BAD_ALGORITHM},
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char *t = forge(cases[i].header, "{\"exp\":1900000000,\"iss\":\"farout\"}", &key256);
		assert_int_equal(verify256(t), cases[i].want);
		free(t);
	}
}

/* ---- signature ------------------------------------------------------------ */

static void tampered_payload_raising_role(void **state)
{
	char *good = signed_good(&key256), *t = NULL, *p64;
	const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
	cJSON *c = good_claims();
	char *payload;

	(void)state;
	cJSON_ReplaceItemInObject(c, "role", cJSON_CreateString("admin"));
	payload = cJSON_PrintUnformatted(c);
	p64 = util_b64url_encode_new((const unsigned char *)payload, strlen(payload));
	assert_true(asprintf(&t, "%.*s.%s%s", (int)(dot1 - good), good, p64, dot2) > 0);
	assert_int_equal(verify256(t), JWT_BAD_SIGNATURE);
	free(t);
	free(p64);
	cJSON_free(payload);
	cJSON_Delete(c);
	free(good);
}

static void wrong_secret(void **state)
{
	char *t = signed_good(&other256);

	(void)state;
	assert_int_equal(verify256(t), JWT_BAD_SIGNATURE);
	free(t);
}

/*
 * Keyed HMAC contexts are kept per process: one must never answer for
 * different key bytes at the same address, nor for a key evicted by two
 * others, and each result must equal a fresh one-shot HMAC (forge).
 */
static void keyed_contexts_follow_the_key_bytes(void **state)
{
	unsigned char secret[] = "a-secret-of-thirty-two-bytes-0000";
	struct jwt_key k = {JWT_HS256, secret, sizeof secret - 1};
	cJSON *good = good_claims(), *claims;
	char *payload = cJSON_PrintUnformatted(good), *tokens[3], *direct;

	(void)state;
	assert_non_null(payload);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 3; i++) {
			secret[0] = (unsigned char)('a' + i);
			tokens[i] = signed_good(&k);
			direct = forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, &k);
			assert_string_equal(tokens[i], direct);
			free(direct);
		}
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++) {
				secret[0] = (unsigned char)('a' + j);
				claims = NULL;
				assert_int_equal(jwt_verify(&k, NULL, tokens[i], NOW, "farout", &claims),
				                 i == j ? JWT_OK : JWT_BAD_SIGNATURE);
				cJSON_Delete(claims);
			}
		for (int i = 0; i < 3; i++)
			free(tokens[i]);
	}
	cJSON_free(payload);
	cJSON_Delete(good);
}

static void signature_truncated_or_extended(void **state)
{
	char *good = signed_good(&key256), *t = NULL;
	size_t n = strlen(good);

	(void)state;
	/* 42 characters is a valid base64url length (31 bytes plus bits), yet the wrong size. */
	t = strndup(good, n - 3);
	assert_int_equal(verify256(t), JWT_BAD_SIGNATURE);
	free(t);
	assert_true(asprintf(&t, "%sAAAA", good) > 0);
	assert_int_equal(verify256(t), JWT_BAD_SIGNATURE);
	free(t);
	free(good);
}

/* ---- claims --------------------------------------------------------------- */

static void exp_missing_string_past(void **state)
{
	char *t;

	(void)state;
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\"}");
	assert_int_equal(verify256(t), JWT_EXPIRED);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":\"%lld\"}", (long long)NOW + 100);
	assert_int_equal(verify256(t), JWT_EXPIRED);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":null}");
	assert_int_equal(verify256(t), JWT_EXPIRED);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":true}");
	assert_int_equal(verify256(t), JWT_EXPIRED);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":%lld}", (long long)NOW - 3600);
	assert_int_equal(verify256(t), JWT_EXPIRED);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":%lld}", (long long)NOW - JWT_LEEWAY);
	assert_int_equal(verify256(t), JWT_EXPIRED);
	free(t);
	/* Within the leeway. */
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":%lld}", (long long)NOW - JWT_LEEWAY + 1);
	assert_int_equal(verify256(t), JWT_OK);
	free(t);
}

static void nbf_future(void **state)
{
	char *t;

	(void)state;
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":%lld,\"nbf\":%lld}",
	                 (long long)NOW + 3600, (long long)NOW + 600);
	assert_int_equal(verify256(t), JWT_NOT_YET_VALID);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":%lld,\"nbf\":%lld}",
	                 (long long)NOW + 3600, (long long)NOW + JWT_LEEWAY + 1);
	assert_int_equal(verify256(t), JWT_NOT_YET_VALID);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":%lld,\"nbf\":%lld}",
	                 (long long)NOW + 3600, (long long)NOW + JWT_LEEWAY);
	assert_int_equal(verify256(t), JWT_OK);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":%lld,\"nbf\":\"0\"}",
	                 (long long)NOW + 3600);
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
}

static void iat_far_future(void **state)
{
	char *t;

	(void)state;
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":%lld,\"iat\":%lld}",
	                 (long long)NOW + 7200, (long long)NOW + 3600);
	assert_int_equal(verify256(t), JWT_NOT_YET_VALID);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":%lld,\"iat\":%lld}",
	                 (long long)NOW + 7200, (long long)NOW + 10);
	assert_int_equal(verify256(t), JWT_OK);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout\",\"exp\":%lld,\"iat\":{}}",
	                 (long long)NOW + 7200);
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
}

static void wrong_or_missing_issuer(void **state)
{
	char *t;
	cJSON *claims = NULL;

	(void)state;
	t = forge_claims(HS256_HEADER, "{\"iss\":\"evil\",\"exp\":%lld}", (long long)NOW + 60);
	assert_int_equal(verify256(t), JWT_BAD_ISSUER);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":\"farout \",\"exp\":%lld}", (long long)NOW + 60);
	assert_int_equal(verify256(t), JWT_BAD_ISSUER);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"iss\":[\"farout\"],\"exp\":%lld}", (long long)NOW + 60);
	assert_int_equal(verify256(t), JWT_BAD_ISSUER);
	free(t);
	t = forge_claims(HS256_HEADER, "{\"exp\":%lld}", (long long)NOW + 60);
	assert_int_equal(verify256(t), JWT_BAD_ISSUER);
	/* No expected issuer: not checked. */
	assert_int_equal(jwt_verify(&key256, NULL, t, NOW, NULL, &claims), JWT_OK);
	cJSON_Delete(claims);
	free(t);
}

/* ---- size ----------------------------------------------------------------- */

static char *token_with_padding(size_t pad)
{
	cJSON *c = good_claims();
	char *fill = malloc(pad + 1), *t;

	memset(fill, 'x', pad);
	fill[pad] = '\0';
	cJSON_AddStringToObject(c, "fill", fill);
	t = jwt_sign_new(&key256, c);
	free(fill);
	cJSON_Delete(c);
	assert_non_null(t);
	return t;
}

static void huge_token(void **state)
{
	char *t = NULL;
	size_t pad = 2000;

	(void)state;
	/* The largest padding that still fits is accepted; one more character is not. */
	for (;; pad++) {
		char *next = token_with_padding(pad);
		if (strlen(next) > JWT_MAX_LEN) {
			assert_int_equal(verify256(next), JWT_MALFORMED);
			free(next);
			break;
		}
		free(t);
		t = next;
	}
	assert_true(strlen(t) <= JWT_MAX_LEN);
	assert_int_equal(verify256(t), JWT_OK);
	free(t);

	t = token_with_padding(100000);
	assert_int_equal(verify256(t), JWT_MALFORMED);
	free(t);
}

static void result_names(void **state)
{
	(void)state;
	assert_string_equal(jwt_result_name(JWT_OK), "ok");
	assert_string_equal(jwt_result_name(JWT_BAD_SIGNATURE), "bad signature");
	assert_string_equal(jwt_result_name(JWT_EXPIRED), "expired");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc7515_a1_hmac),
		cmocka_unit_test(keyed_contexts_follow_the_key_bytes),
		cmocka_unit_test(rfc7515_a1_verifies_before_exp),
		cmocka_unit_test(round_trip_hs256),
		cmocka_unit_test(round_trip_hs384),
		cmocka_unit_test(round_trip_hs512),
		cmocka_unit_test(sign_refuses_non_object),
		cmocka_unit_test(previous_secret_verifies_but_current_signs),
		cmocka_unit_test(malformed_part_counts),
		cmocka_unit_test(malformed_empty_parts),
		cmocka_unit_test(malformed_padding_and_alphabet),
		cmocka_unit_test(malformed_noncanonical_signature),
		cmocka_unit_test(malformed_header_not_json_object),
		cmocka_unit_test(malformed_payload_not_json_object),
		cmocka_unit_test(alg_none_unsigned),
		cmocka_unit_test(alg_none_signed),
		cmocka_unit_test(alg_other_hs_size),
		cmocka_unit_test(alg_rs256_header),
		cmocka_unit_test(alg_missing_or_not_string),
		cmocka_unit_test(typ_and_crit),
		cmocka_unit_test(tampered_payload_raising_role),
		cmocka_unit_test(wrong_secret),
		cmocka_unit_test(signature_truncated_or_extended),
		cmocka_unit_test(exp_missing_string_past),
		cmocka_unit_test(nbf_future),
		cmocka_unit_test(iat_far_future),
		cmocka_unit_test(wrong_or_missing_issuer),
		cmocka_unit_test(huge_token),
		cmocka_unit_test(result_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

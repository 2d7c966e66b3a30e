#include "jwt.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "json.h"
#include "util.h"

static const char *alg_name(enum jwt_alg alg)
{
	static const char *const names[] = {[JWT_HS256] = "HS256", [JWT_HS384] = "HS384",
	                                    [JWT_HS512] = "HS512"};

	return alg >= JWT_HS256 && alg <= JWT_HS512 ? names[alg] : "HS256";
}

static const char *alg_digest(enum jwt_alg alg)
{
	switch (alg) {
	case JWT_HS384:
		return "SHA384";
	case JWT_HS512:
		return "SHA512";
	case JWT_HS256:
		break;
	}
	return "SHA256";
}

/*
 * HMAC contexts already keyed, one per key (current and previous) and
 * process: OpenSSL 3's one-shot HMAC() looks the algorithms up and sets the
 * key up again on every call, which was most of the work of a verify. A
 * context is found by the key's bytes (a copy, wiped when replaced), never by
 * where they live.
 */
struct keyed_mac {
	enum jwt_alg alg;
	unsigned char *secret;
	size_t secret_len;
	EVP_MAC_CTX *ctx;
};

static struct keyed_mac keyed[2];
static unsigned keyed_next;

static EVP_MAC_CTX *keyed_ctx(const struct jwt_key *key)
{
	static EVP_MAC *hmac;
	struct keyed_mac *k;
	OSSL_PARAM params[2];

	for (size_t i = 0; i < UTIL_ARRAY_LEN(keyed); i++) {
		k = &keyed[i];
		if (k->ctx != NULL && k->alg == key->alg && k->secret_len == key->secret_len &&
		    CRYPTO_memcmp(k->secret, key->secret, key->secret_len) == 0)
			/* A NULL key starts a new MAC under the key already set. */
			return EVP_MAC_init(k->ctx, NULL, 0, NULL) == 1 ? k->ctx : NULL;
	}
	if (hmac == NULL && (hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return NULL;
	k = &keyed[keyed_next++ % UTIL_ARRAY_LEN(keyed)];
	EVP_MAC_CTX_free(k->ctx);
	if (k->secret != NULL)
		util_wipe(k->secret, k->secret_len);
	free(k->secret);
	memset(k, 0, sizeof *k);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                             (char *)alg_digest(key->alg), 0);
	params[1] = OSSL_PARAM_construct_end();
	k->ctx = EVP_MAC_CTX_new(hmac);
	k->secret = malloc(key->secret_len);
	if (k->ctx == NULL || k->secret == NULL ||
	    EVP_MAC_init(k->ctx, key->secret, key->secret_len, params) != 1) {
		EVP_MAC_CTX_free(k->ctx);
		free(k->secret);
		memset(k, 0, sizeof *k);
		return NULL;
	}
	memcpy(k->secret, key->secret, key->secret_len);
	k->secret_len = key->secret_len;
	k->alg = key->alg;
	return k->ctx;
}

/* HMAC of data under key; mac needs EVP_MAX_MD_SIZE bytes. 0 or -1. */
static int mac_compute(const struct jwt_key *key, const char *data, size_t n,
                       unsigned char mac[EVP_MAX_MD_SIZE], unsigned *maclen)
{
	EVP_MAC_CTX *ctx;
	size_t len = 0;

	if (key == NULL || key->secret == NULL || key->secret_len == 0 || key->secret_len > INT_MAX)
		return -1;
	ctx = keyed_ctx(key);
	if (ctx == NULL || EVP_MAC_update(ctx, (const unsigned char *)data, n) != 1 ||
	    EVP_MAC_final(ctx, mac, &len, EVP_MAX_MD_SIZE) != 1)
		return -1;
	*maclen = (unsigned)len;
	return 0;
}

char *jwt_sign_new(const struct jwt_key *key, const cJSON *claims)
{
	char header[40];
	char *payload = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL, *input = NULL, *token = NULL;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	size_t hlen, plen, slen;

	if (key == NULL || !cJSON_IsObject(claims))
		return NULL;
	snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg_name(key->alg));
	payload = cJSON_PrintUnformatted(claims);
	if (payload == NULL)
		goto out;
	h64 = util_b64url_encode_new((const unsigned char *)header, strlen(header));
	p64 = util_b64url_encode_new((const unsigned char *)payload, strlen(payload));
	if (h64 == NULL || p64 == NULL)
		goto out;
	hlen = strlen(h64);
	plen = strlen(p64);
	input = malloc(hlen + 1 + plen + 1);
	if (input == NULL)
		goto out;
	memcpy(input, h64, hlen);
	input[hlen] = '.';
	memcpy(input + hlen + 1, p64, plen + 1);
	if (mac_compute(key, input, hlen + 1 + plen, mac, &maclen) == -1)
		goto out;
	s64 = util_b64url_encode_new(mac, maclen);
	if (s64 == NULL)
		goto out;
	slen = strlen(s64);
	token = malloc(hlen + 1 + plen + 1 + slen + 1);
	if (token == NULL)
		goto out;
	memcpy(token, input, hlen + 1 + plen);
	token[hlen + 1 + plen] = '.';
	memcpy(token + hlen + 1 + plen + 1, s64, slen + 1);
out:
	util_wipe(mac, sizeof mac);
	util_free_secret(s64);
	free(input);
	free(p64);
	free(h64);
	if (payload != NULL)
		cJSON_free(payload);
	return token;
}

/* JSON text holding one object with no repeated keys, or NULL. */
static cJSON *parse_object(const unsigned char *raw, size_t n)
{
	enum json_error err;
	cJSON *obj = json_parse((const char *)raw, n, &err);

	if (obj != NULL && (!cJSON_IsObject(obj) || json_has_duplicate_keys(obj))) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	return obj;
}

/* The header may only say alg (the expected one), typ (JWT) and kid; crit asks for what we lack. */
static enum jwt_result check_header(const cJSON *header, const char *want_alg)
{
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
	const cJSON *typ = cJSON_GetObjectItemCaseSensitive(header, "typ");

	if (!cJSON_IsString(alg) || strcmp(alg->valuestring, want_alg) != 0)
		return JWT_BAD_ALGORITHM;
	if (typ != NULL && (!cJSON_IsString(typ) || strcmp(typ->valuestring, "JWT") != 0))
		return JWT_BAD_ALGORITHM;
	if (cJSON_GetObjectItemCaseSensitive(header, "crit") != NULL)
		return JWT_BAD_ALGORITHM;
	return JWT_OK;
}

static bool mac_matches(const struct jwt_key *key, const char *input, size_t n,
                        const unsigned char *sig, size_t siglen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	bool ok;

	ok = mac_compute(key, input, n, mac, &maclen) == 0 && siglen == maclen &&
	     CRYPTO_memcmp(mac, sig, maclen) == 0;
	util_wipe(mac, sizeof mac);
	return ok;
}

/* A NumericDate claim: absent (*present false), a number, or -1 for anything else. */
static int numeric_claim(const cJSON *claims, const char *name, double *value, bool *present)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(claims, name);

	*present = item != NULL;
	if (item == NULL)
		return 0;
	if (!cJSON_IsNumber(item))
		return -1;
	*value = item->valuedouble;
	return 0;
}

static enum jwt_result check_claims(const cJSON *claims, int64_t now, const char *issuer)
{
	double exp = 0, nbf = 0, iat = 0, t = (double)now;
	bool has_exp, has_nbf, has_iat;
	const cJSON *iss;

	if (numeric_claim(claims, "exp", &exp, &has_exp) == -1 || !has_exp)
		return JWT_EXPIRED;
	/* RFC 7519 §4.1.4: valid only while now is before exp. */
	if (t >= exp + JWT_LEEWAY)
		return JWT_EXPIRED;
	if (numeric_claim(claims, "nbf", &nbf, &has_nbf) == -1)
		return JWT_MALFORMED;
	if (has_nbf && t + JWT_LEEWAY < nbf)
		return JWT_NOT_YET_VALID;
	if (numeric_claim(claims, "iat", &iat, &has_iat) == -1)
		return JWT_MALFORMED;
	if (has_iat && t + JWT_LEEWAY < iat)
		return JWT_NOT_YET_VALID;
	if (issuer != NULL) {
		iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
		if (!cJSON_IsString(iss) || strcmp(iss->valuestring, issuer) != 0)
			return JWT_BAD_ISSUER;
	}
	return JWT_OK;
}

enum jwt_result jwt_verify(const struct jwt_key *key, const struct jwt_key *previous,
                           const char *token, int64_t now, const char *issuer, cJSON **claims)
{
	enum jwt_result rc = JWT_MALFORMED;
	const struct jwt_key *keys[2] = {key, previous};
	const char *dot1, *dot2;
	size_t len, hlen, plen, slen;
	unsigned char *hraw = NULL, *praw = NULL, *sig = NULL;
	size_t hrawlen = 0, prawlen = 0, siglen = 0;
	cJSON *header = NULL, *payload = NULL;
	bool alg_known = false, signed_ok = false;

	*claims = NULL;
	if (key == NULL || token == NULL)
		goto out;
	len = strnlen(token, JWT_MAX_LEN + 1);
	if (len > JWT_MAX_LEN)
		goto out;
	dot1 = memchr(token, '.', len);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
		goto out;
	hlen = (size_t)(dot1 - token);
	plen = (size_t)(dot2 - dot1 - 1);
	slen = len - (size_t)(dot2 + 1 - token);
	if (hlen == 0 || plen == 0 || slen == 0)
		goto out;
	/* Every part must be strict base64url before any of it is trusted or parsed. */
	if (util_b64url_decode_new(token, hlen, &hraw, &hrawlen) == -1 ||
	    util_b64url_decode_new(dot1 + 1, plen, &praw, &prawlen) == -1 ||
	    util_b64url_decode_new(dot2 + 1, slen, &sig, &siglen) == -1)
		goto out;
	header = parse_object(hraw, hrawlen);
	if (header == NULL)
		goto out;

	/* The header only has to agree with a key we hold; the key decides the algorithm. */
	for (size_t i = 0; i < 2 && !signed_ok; i++) {
		if (keys[i] == NULL || keys[i]->secret == NULL ||
		    check_header(header, alg_name(keys[i]->alg)) != JWT_OK)
			continue;
		alg_known = true;
		signed_ok = mac_matches(keys[i], token, hlen + 1 + plen, sig, siglen);
	}
	if (!alg_known) {
		rc = JWT_BAD_ALGORITHM;
		goto out;
	}
	if (!signed_ok) {
		rc = JWT_BAD_SIGNATURE;
		goto out;
	}
	payload = parse_object(praw, prawlen);
	if (payload == NULL) {
		rc = JWT_MALFORMED;
		goto out;
	}
	rc = check_claims(payload, now, issuer);
	if (rc == JWT_OK) {
		*claims = payload;
		payload = NULL;
	}
out:
	cJSON_Delete(payload);
	cJSON_Delete(header);
	free(sig);
	free(praw);
	free(hraw);
	return rc;
}

const char *jwt_result_name(enum jwt_result r)
{
	static const char *const names[] = {
		[JWT_OK] = "ok",
		[JWT_MALFORMED] = "malformed",
		[JWT_BAD_ALGORITHM] = "bad algorithm",
		[JWT_BAD_SIGNATURE] = "bad signature",
		[JWT_EXPIRED] = "expired",
		[JWT_NOT_YET_VALID] = "not yet valid",
		[JWT_BAD_ISSUER] = "bad issuer",
	};

	return r >= JWT_OK && r <= JWT_BAD_ISSUER ? names[r] : "unknown";
}

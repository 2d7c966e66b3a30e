/*
 * jwt — HS256/HS384/HS512 compact JWS (RFC 7515/7519), signed and verified
 * with OpenSSL's HMAC.
 *
 * The verifier decides the algorithm: the header's "alg" must equal the
 * configured one exactly, so "none", another HS size or RS256 never pass.
 * Signatures are compared with CRYPTO_memcmp; base64url is strict (no
 * padding, no stray characters, canonical trailing bits).
 *
 * Owns no table.
 */
#ifndef FAROUT_JWT_H
#define FAROUT_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>


#define JWT_MAX_LEN 4096 /* longer tokens are refused before any parsing */
#define JWT_LEEWAY 30    /* seconds allowed for clock skew on exp, nbf and iat */

enum jwt_result {
	JWT_OK,
	JWT_MALFORMED,     /* not three strict base64url parts of JSON objects, or too long */
	JWT_BAD_ALGORITHM, /* header alg is not the configured one, or typ is not JWT */
	JWT_BAD_SIGNATURE,
	JWT_EXPIRED,       /* exp missing, not a number, or past */
	JWT_NOT_YET_VALID, /* nbf or iat in the future */
	JWT_BAD_ISSUER,
};

enum jwt_alg { JWT_HS256, JWT_HS384, JWT_HS512 };

struct jwt_key {
	enum jwt_alg alg;
	const unsigned char *secret;
	size_t secret_len;
};

/*
 * Signs claims (an object; borrowed) into a compact token, caller frees.
 * The header is {"alg":"HS256","typ":"JWT"} for the key's algorithm.
 */
char *jwt_sign_new(const struct jwt_key *key, const cJSON *claims);

/*
 * Verifies token against key (and, when previous is not NULL, against that
 * key too: rotation), the time `now`, and the expected issuer. On JWT_OK,
 * *claims is the payload object (caller cJSON_Deletes it); otherwise NULL.
 */
enum jwt_result jwt_verify(const struct jwt_key *key, const struct jwt_key *previous,
                           const char *token, int64_t now, const char *issuer, cJSON **claims);

const char *jwt_result_name(enum jwt_result r);

#endif

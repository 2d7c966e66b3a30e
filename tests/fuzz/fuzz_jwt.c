/*
 * The Authorization header and jwt_verify. The first byte picks the mode:
 *   even  the rest is an Authorization header value (then a Cookie), read
 *         through auth_presented_session, which runs jwt_verify on it;
 *   odd   the rest is "<header JSON>\n<claims JSON>", signed here with the
 *         test key, so the parser behind a valid signature is reached.
 * Properties: a token accepted has an exp in the future (with leeway), an
 * iss equal to the issuer, and the configured algorithm in its header.
 */
#include "fuzz.h"

#include <openssl/hmac.h>

#include "auth.h"
#include "jwt.h"
#include "util.h"

#define SECRET "0123456789abcdef0123456789abcdef-fuzz-secret"
#define NOW 1800000000

static char *b64(const char *s, size_t n)
{
	char *out = util_b64url_encode_new((const unsigned char *)s, n);

	if (out == NULL)
		abort();
	return out;
}

static char *signed_token(const char *header, size_t hlen, const char *claims, size_t clen)
{
	char *h = b64(header, hlen), *c = b64(claims, clen), *sig, *token;
	size_t n = strlen(h) + 1 + strlen(c);
	unsigned char mac[64];
	unsigned maclen = 0;

	token = malloc(n + 1 + 100);
	if (token == NULL)
		abort();
	snprintf(token, n + 1, "%s.%s", h, c);
	HMAC(EVP_sha256(), SECRET, sizeof SECRET - 1, (const unsigned char *)token, n, mac, &maclen);
	sig = util_b64url_encode_new(mac, maclen);
	snprintf(token + n, 100, ".%s", sig);
	free(sig);
	free(h);
	free(c);
	return token;
}

static void check_accepted(const cJSON *claims)
{
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");

	FUZZ_ASSERT(cJSON_IsObject(claims));
	FUZZ_ASSERT(cJSON_IsNumber(exp) && exp->valuedouble + JWT_LEEWAY >= NOW);
	FUZZ_ASSERT(cJSON_IsString(iss) && strcmp(iss->valuestring, "farout") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt_key key = {JWT_HS256, (const unsigned char *)SECRET, sizeof SECRET - 1};
	cJSON *claims = NULL;
	char *rest;

	if (size == 0)
		return 0;
	rest = fuzz_cstr(data + 1, size - 1);
	if (data[0] % 2 == 0) {
		static struct config cfg;
		struct app app;
		struct http_req req;
		char *env[3];
		char *user_id = NULL, *jti = NULL;
		bool via_cookie;
		size_t n = strlen(rest);

		memset(&cfg, 0, sizeof cfg);
		cfg.jwt_secret = (unsigned char *)SECRET;
		cfg.jwt_secret_len = sizeof SECRET - 1;
		cfg.jwt_algorithm = JWT_HS256;
		cfg.jwt_issuer = (char *)"farout";
		memset(&app, 0, sizeof app);
		app.cfg = &cfg;
		env[0] = malloc(n + 32);
		env[1] = malloc(n + 32);
		env[2] = NULL;
		snprintf(env[0], n + 32, "HTTP_AUTHORIZATION=%s", rest);
		snprintf(env[1], n + 32, "HTTP_COOKIE=%s=%s", AUTH_COOKIE, rest);
		FUZZ_ASSERT(http_req_init(&req, env) == 0);
		if (auth_presented_session(&app, &req, &user_id, &jti, &via_cookie)) {
			FUZZ_ASSERT(user_id != NULL && jti != NULL);
			FUZZ_ASSERT(strspn(user_id, "0123456789") == strlen(user_id));
		}
		free(user_id);
		free(jti);
		http_req_cleanup(&req);
		free(env[0]);
		free(env[1]);
		if (jwt_verify(&key, NULL, rest, NOW, "farout", &claims) == JWT_OK)
			check_accepted(claims);
	} else {
		size_t n = size - 1;
		const char *nl = memchr(rest, '\n', n);
		size_t hlen = nl != NULL ? (size_t)(nl - rest) : n;
		const char *c = nl != NULL ? nl + 1 : "";
		size_t clen = nl != NULL ? n - hlen - 1 : 0;
		char *token = signed_token(rest, hlen, c, clen);
		enum jwt_result r = jwt_verify(&key, NULL, token, NOW, "farout", &claims);

		FUZZ_ASSERT((r == JWT_OK) == (claims != NULL));
		if (r == JWT_OK)
			check_accepted(claims);
		FUZZ_ASSERT(jwt_result_name(r) != NULL);
		free(token);
	}
	cJSON_Delete(claims);
	free(rest);
	return 0;
}

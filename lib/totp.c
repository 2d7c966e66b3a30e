#include "totp.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liboath/oath.h>
#include <openssl/evp.h>

#include "http.h"
#include "util.h"

/* RFC 4648 base32, lower case: the alphabet of recovery codes (no 0, 1, 8, 9). */
static const char b32_lower[] = "abcdefghijklmnopqrstuvwxyz234567";
#define AAD_PREFIX "farout-totp-v1:user:"

int totp_init(void)
{
	return oath_init() == OATH_OK ? 0 : -1;
}

int totp_secret_generate(unsigned char out[TOTP_SECRET_BYTES])
{
	return util_random_bytes(out, TOTP_SECRET_BYTES);
}

char *totp_base32_new(const unsigned char *secret, size_t n)
{
	char *out = NULL, *copy;
	size_t len = 0;

	if (oath_base32_encode((const char *)secret, n, &out, &len) != OATH_OK)
		return NULL;
	while (len > 0 && out[len - 1] == '=')
		len--;
	copy = strndup(out, len);
	util_wipe(out, len);
	free(out);
	return copy;
}

char *totp_uri_new(const char *username, const char *base32)
{
	char *label = http_urlencode_new(username), *uri = NULL;

	if (label == NULL)
		return NULL;
	if (asprintf(&uri,
	             "otpauth://totp/" TOTP_ISSUER ":%s?secret=%s&issuer=" TOTP_ISSUER
	             "&algorithm=SHA1&digits=%d&period=%d",
	             label, base32, TOTP_DIGITS, TOTP_STEP_SECONDS) < 0)
		uri = NULL;
	free(label);
	return uri;
}

int totp_code(const unsigned char *secret, size_t n, int64_t t, unsigned digits, char *out)
{
	if (t < 0 || (uint64_t)t > (uint64_t)LONG_MAX)
		return -1;
	return oath_totp_generate((const char *)secret, n, (time_t)t, TOTP_STEP_SECONDS,
	                          OATH_TOTP_DEFAULT_START_TIME, digits, out) == OATH_OK
	               ? 0
	               : -1;
}

bool totp_is_code(const char *code)
{
	size_t i;

	for (i = 0; code[i] != '\0'; i++)
		if (i >= TOTP_DIGITS || code[i] < '0' || code[i] > '9')
			return false;
	return i == TOTP_DIGITS;
}

/* liboath's compare hook: the typed code against each candidate, in constant time. */
static int compare_code(void *handle, const char *candidate)
{
	const char *typed = handle;

	return util_ct_equal(typed, TOTP_DIGITS, candidate, strnlen(candidate, TOTP_DIGITS + 1)) ? 0
	                                                                                        : 1;
}

int totp_verify(const unsigned char *secret, size_t n, int64_t now, const char *code,
                int64_t *step)
{
	uint64_t counter = 0;
	int pos = 0, rc;

	*step = 0;
	if (!totp_is_code(code))
		return 0;
	if (now < 0)
		return -1;
	rc = oath_totp_validate3_callback((const char *)secret, n, (time_t)now, TOTP_STEP_SECONDS,
	                                  OATH_TOTP_DEFAULT_START_TIME, TOTP_DIGITS, TOTP_WINDOW, &pos,
	                                  &counter, compare_code, (void *)code);
	if (rc == OATH_INVALID_OTP)
		return 0;
	if (rc < 0 || counter > (uint64_t)INT64_MAX)
		return -1;
	*step = (int64_t)counter;
	return 1;
}

/* ---- AES-256-GCM ----------------------------------------------------------- */

static int aad_of(const char *user_id, char *aad, size_t len)
{
	int n = snprintf(aad, len, AAD_PREFIX "%s", user_id);

	return n < 0 || (size_t)n >= len ? -1 : n;
}

int totp_seal(const unsigned char key[TOTP_KEY_BYTES], const char *user_id,
              const unsigned char secret[TOTP_SECRET_BYTES], struct totp_sealed *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	char aad[64];
	int aadlen = aad_of(user_id, aad, sizeof aad), len = 0, rc = -1;

	if (ctx == NULL || aadlen < 0 || util_random_bytes(out->nonce, TOTP_NONCE_BYTES) == -1)
		goto out;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, TOTP_NONCE_BYTES, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, out->nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, aadlen) != 1 ||
	    EVP_EncryptUpdate(ctx, out->ct, &len, secret, TOTP_SECRET_BYTES) != 1 ||
	    len != TOTP_SECRET_BYTES || EVP_EncryptFinal_ex(ctx, out->ct + len, &len) != 1 ||
	    len != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TOTP_TAG_BYTES, out->tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int totp_open(const unsigned char key[TOTP_KEY_BYTES], const char *user_id,
              const struct totp_sealed *in, unsigned char out[TOTP_SECRET_BYTES])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char tag[TOTP_TAG_BYTES];
	char aad[64];
	int aadlen = aad_of(user_id, aad, sizeof aad), len = 0, rc = -1;

	memcpy(tag, in->tag, sizeof tag);
	if (ctx == NULL || aadlen < 0)
		goto out;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, TOTP_NONCE_BYTES, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, in->nonce) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, aadlen) != 1 ||
	    EVP_DecryptUpdate(ctx, out, &len, in->ct, TOTP_SECRET_BYTES) != 1 ||
	    len != TOTP_SECRET_BYTES ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TOTP_TAG_BYTES, tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + len, &len) != 1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		util_wipe(out, TOTP_SECRET_BYTES);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* ---- recovery codes and token hashes ------------------------------------------- */

int totp_recovery_code(char out[TOTP_RECOVERY_LEN + 1])
{
	unsigned char r[12];
	size_t o = 0;

	if (util_random_bytes(r, sizeof r) == -1)
		return -1;
	for (size_t i = 0; i < sizeof r; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = b32_lower[r[i] & 31]; /* 256 is a multiple of 32: no bias */
	}
	out[o] = '\0';
	util_wipe(r, sizeof r);
	return 0;
}

static int sha256_hex(const char *data, size_t n, char out[TOTP_HASH_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	totp_hex(md, mdlen, out);
	return 0;
}

int totp_recovery_hash(const char *user_id, const char *typed, char out[TOTP_HASH_HEX + 1])
{
	char norm[13], buf[64];
	size_t n = 0;
	int len, rc = -1;

	for (const char *p = typed; *p != '\0'; p++) {
		char c = (char)tolower((unsigned char)*p);
		if (c == '-' || c == ' ')
			continue;
		if (n >= 12 || strchr(b32_lower, c) == NULL)
			goto out;
		norm[n++] = c;
	}
	if (n != 12)
		goto out;
	norm[n] = '\0';
	len = snprintf(buf, sizeof buf, "%s:%s", user_id, norm);
	if (len < 0 || (size_t)len >= sizeof buf)
		goto out;
	rc = sha256_hex(buf, (size_t)len, out);
out:
	util_wipe(norm, sizeof norm);
	util_wipe(buf, sizeof buf);
	return rc;
}

int totp_token_hash(const char *token, char out[TOTP_HASH_HEX + 1])
{
	return sha256_hex(token, strlen(token), out);
}

void totp_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int totp_unhex(const char *in, unsigned char *out, size_t n)
{
	if (in == NULL || strlen(in) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

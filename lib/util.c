#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

void util_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void util_free_secret(char *s)
{
	if (s == NULL)
		return;
	util_wipe(s, strlen(s));
	free(s);
}

int util_random_bytes(unsigned char *out, size_t n)
{
	if (n > INT_MAX)
		return -1;
	return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

char *util_random_token_new(size_t nbytes)
{
	unsigned char raw[64];
	char *token = NULL;

	if (nbytes == 0 || nbytes > sizeof raw)
		return NULL;
	if (util_random_bytes(raw, nbytes) == 0)
		token = util_b64url_encode_new(raw, nbytes);
	util_wipe(raw, sizeof raw);
	return token;
}

bool util_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return false;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

char *util_b64url_encode_new(const unsigned char *in, size_t n)
{
	size_t cap;
	char *out;
	int len;

	if (n > (size_t)INT_MAX / 2)
		return NULL;
	cap = 4 * ((n + 2) / 3) + 1;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (int i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return out;
}

static bool is_b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int util_b64url_decode_new(const char *in, size_t inlen, unsigned char **out, size_t *outlen)
{
	size_t padded, pad;
	unsigned char *std = NULL, *bin = NULL;
	char *again = NULL;
	int n, rc = -1;

	*out = NULL;
	*outlen = 0;
	if (inlen % 4 == 1 || inlen > (size_t)INT_MAX / 2)
		return -1;
	for (size_t i = 0; i < inlen; i++)
		if (!is_b64url_char(in[i]))
			return -1;

	pad = (4 - inlen % 4) % 4;
	padded = inlen + pad;
	std = malloc(padded + 1);
	bin = malloc(padded / 4 * 3 + 1);
	if (std == NULL || bin == NULL)
		goto out;
	for (size_t i = 0; i < inlen; i++)
		std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : (unsigned char)in[i];
	memset(std + inlen, '=', pad);
	std[padded] = '\0';

	n = EVP_DecodeBlock(bin, std, (int)padded);
	if (n < 0 || (size_t)n < pad)
		goto out;
	n -= (int)pad;
	/* Non-zero unused bits would let one value have several spellings. */
	again = util_b64url_encode_new(bin, (size_t)n);
	if (again == NULL || strlen(again) != inlen || memcmp(again, in, inlen) != 0)
		goto out;
	bin[n] = '\0';
	*out = bin;
	*outlen = (size_t)n;
	bin = NULL;
	rc = 0;
out:
	free(again);
	if (bin != NULL) {
		util_wipe(bin, padded / 4 * 3 + 1);
		free(bin);
	}
	if (std != NULL) {
		util_wipe(std, padded + 1);
		free(std);
	}
	return rc;
}

int util_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0' || !((*s >= '0' && *s <= '9') || *s == '-'))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int util_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = (uint64_t)v;
	return 0;
}

bool util_is_snowflake(const char *s)
{
	size_t n = s == NULL ? 0 : strlen(s);
	uint64_t v;

	if (n < 1 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return util_parse_u64(s, &v) == 0;
}

bool util_is_utf8(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

size_t util_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

int64_t util_now(void)
{
	return (int64_t)time(NULL);
}

void util_format_time(int64_t t, char buf[static 21])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool util_is_loopback_http(const char *url)
{
	static const char *const hosts[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};

	/* The host must end there: "http://localhost.evil.example" is not loopback. */
	for (size_t i = 0; i < UTIL_ARRAY_LEN(hosts); i++) {
		size_t n = strlen(hosts[i]);
		if (strncmp(url, hosts[i], n) == 0 && (url[n] == '\0' || url[n] == ':' || url[n] == '/'))
			return true;
	}
	return false;
}

bool util_is_blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ')
			return false;
	return true;
}

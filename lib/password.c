#include "password.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <crypt.h>

#include "util.h"

static bool is_usable(const char *password, size_t len)
{
	return password != NULL && len <= PASSWORD_MAX_BYTES && memchr(password, '\0', len) == NULL;
}

int password_hash_cost(const char *hash)
{
	long cost;
	char digits[3];

	if (hash == NULL || strlen(hash) != 60 || hash[0] != '$' || hash[1] != '2' ||
	    (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') || hash[3] != '$' || hash[6] != '$')
		return -1;
	memcpy(digits, hash + 4, 2);
	digits[2] = '\0';
	if (util_parse_long(digits, 4, 31, &cost) == -1)
		return -1;
	return (int)cost;
}

/*
 * crypt_rn into a heap crypt_data (it is ~32 KiB); the result is copied out.
 * crypt reads a C string, so the len bytes (usable: at most 72, no NUL) are
 * copied into a terminated buffer first: bytes past len must never count.
 */
static char *crypt_new(const char *password, size_t len, const char *setting)
{
	struct crypt_data *data = calloc(1, sizeof *data);
	char key[PASSWORD_MAX_BYTES + 1];
	char *out = NULL;
	const char *h;

	if (data == NULL)
		return NULL;
	memcpy(key, password, len);
	key[len] = '\0';
	h = crypt_rn(key, setting, data, (int)sizeof *data);
	if (h != NULL && h[0] != '*')
		out = strdup(h);
	util_wipe(key, sizeof key);
	util_wipe(data, sizeof *data);
	free(data);
	return out;
}

char *password_hash_new(const char *password, size_t len, int cost)
{
	unsigned char salt[16];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char *hash = NULL;

	if (!is_usable(password, len) || cost < 4 || cost > 31)
		return NULL;
	if (util_random_bytes(salt, sizeof salt) == 0 &&
	    crypt_gensalt_rn("$2b$", (unsigned long)cost, (const char *)salt, (int)sizeof salt, setting,
	                     (int)sizeof setting) != NULL)
		hash = crypt_new(password, len, setting);
	util_wipe(salt, sizeof salt);
	return hash;
}

bool password_verify(const char *password, size_t len, const char *hash)
{
	char *again;
	bool ok;

	if (password_hash_cost(hash) < 0)
		return false;
	if (!is_usable(password, len)) {
		/* Spend the same time as a real check before saying no. */
		password_verify_dummy("x", 1, password_hash_cost(hash));
		return false;
	}
	again = crypt_new(password, len, hash);
	ok = again != NULL && util_ct_equal(again, strlen(again), hash, strlen(hash));
	util_free_secret(again);
	return ok;
}

bool password_verify_dummy(const char *password, size_t len, int cost)
{
	/* A valid hash of a random string: nothing can match it, and it costs a full check. */
	char setting[64];
	char *h;

	if (cost < 4 || cost > 31)
		cost = 12;
	snprintf(setting, sizeof setting, "$2b$%02d$abcdefghijklmnopqrstuu", cost);
	if (is_usable(password, len))
		h = crypt_new(password, len, setting);
	else
		h = crypt_new("x", 1, setting);
	util_free_secret(h);
	return false;
}

bool password_check(const char *password, size_t len, const char *hash, int cost)
{
	int stored = password_hash_cost(hash);
	bool ok = false;

	if (cost < 4 || cost > 31)
		cost = 12;
	if (stored < 0) {
		password_verify_dummy(password, len, cost);
		return false;
	}
	ok = password_verify(password, len, hash);
	/* 2^stored + 2^stored + 2^(stored+1) + … + 2^(cost-1) = 2^cost. */
	for (int c = stored; c < cost; c++)
		password_verify_dummy(password, len, c);
	return ok;
}

/* Whether needle is in the len bytes at s, ignoring ASCII case (the programs use the C locale). */
static bool contains_ignoring_case(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return true;
	return false;
}

const char *password_policy_check(const char *pw, size_t len, const char *username,
                                  const char *current)
{
	_Static_assert(PASSWORD_MIN_BYTES == 10 && PASSWORD_MAX_BYTES == 72,
	               "the reason below names the limits");

	if (pw == NULL || len < PASSWORD_MIN_BYTES || len > PASSWORD_MAX_BYTES)
		return "The new password must be 10 to 72 bytes long.";
	if (memchr(pw, '\0', len) != NULL)
		return "The new password must not contain a NUL byte.";
	if (current != NULL && util_ct_equal(pw, len, current, strlen(current)))
		return "The new password must differ from the current one.";
	if (username != NULL && *username != '\0' && contains_ignoring_case(pw, len, username))
		return "The new password must not contain the username.";
	return NULL;
}

#include "strength.h"

#include <stdlib.h>
#include <string.h>

#include <zxcvbn.h>

#include "password.h"
#include "util.h"

#define WORD_MAX 256

double strength_bits(const char *pw, const char *username, const char *email)
{
	char local[WORD_MAX] = "";
	const char *words[4];
	size_t n = 0;
	double bits;

	if (username != NULL && *username != '\0')
		words[n++] = username;
	if (email != NULL) {
		size_t at = strcspn(email, "@");
		if (at > 0 && at < sizeof local) {
			memcpy(local, email, at);
			local[at] = '\0';
			words[n++] = local;
		}
	}
	words[n++] = "farout";
	words[n] = NULL;
	bits = ZxcvbnMatch(pw, words, NULL);
	util_wipe(local, sizeof local);
	return bits;
}

const char *strength_check(const char *pw, size_t len, const char *username, const char *email,
                           const char *current)
{
	const char *weak = password_policy_check(pw, len, username, current);

	if (weak != NULL)
		return weak;
	/* policy_check refused NUL bytes, so the C string is the whole password. */
	if (strength_bits(pw, username, email) < STRENGTH_MIN_BITS)
		return "The new password is too easy to guess (zxcvbn estimates fewer than 10^10 "
		       "guesses): avoid common words, names, dates, repeats and keyboard patterns, "
		       "or make it longer.";
	return NULL;
}

/*
 * strength — API.md's whole rule for a new password: password_policy_check
 * (length, NUL, not the current one, not containing the username), then
 * how guessable it is by Debian's libzxcvbn (ZxcvbnMatch), with the
 * username, the email's local part and "farout" as the user's own words:
 * at least 10^10 guesses (log2 >= STRENGTH_MIN_BITS, zxcvbn's score 4).
 * Used by POST /api/auth/password and farout-admin user add|passwd.
 * Nothing here keeps or logs the password.
 */
#ifndef FAROUT_STRENGTH_H
#define FAROUT_STRENGTH_H

#include <stddef.h>

#define STRENGTH_MIN_BITS 33.2 /* log2(10^10) = 33.22 */

/* zxcvbn's estimate (log2 of the guesses) for pw with these user words; username/email may be NULL. */
double strength_bits(const char *pw, const char *username, const char *email);

/*
 * NULL when pw (len bytes) may become the password of username (email may
 * be NULL; current NULL when not known), else one static sentence naming
 * the rule that failed (never the password).
 */
const char *strength_check(const char *pw, size_t len, const char *username, const char *email,
                           const char *current);

#endif

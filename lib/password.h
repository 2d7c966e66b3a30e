/*
 * password — bcrypt through the system's libcrypt (crypt_gensalt_rn/crypt_rn).
 *
 * New hashes are $2b$ at the configured cost; $2a$/$2b$/$2y$ hashes made by
 * other bcrypt libraries verify. bcrypt reads 72 bytes at most, so a longer
 * password never matches anything (no truncated match), and passwords are
 * taken with their length so a NUL byte can never cut one short.
 *
 * Owns no table.
 */
#ifndef FAROUT_PASSWORD_H
#define FAROUT_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_MIN_BYTES 10
#define PASSWORD_MAX_BYTES 72

/* A new $2b$ hash (caller frees), or NULL when the password is unusable (NUL, > 72 bytes) or on failure. */
char *password_hash_new(const char *password, size_t len, int cost);
/* Constant-time comparison of the recomputed hash; false for any unusable input. */
bool password_verify(const char *password, size_t len, const char *hash);
/* The same amount of work as a real check, for unknown users; always false. */
bool password_verify_dummy(const char *password, size_t len, int cost);
/*
 * The sign-in check: password_verify against hash (NULL when the user has
 * none), spending at least the work of one hash at cost whatever is stored.
 * A stored hash cheaper than cost (an imported $2a$ at 4, say) is topped up
 * with dummy hashes at its cost, cost+1, … cost-1, which add up to exactly
 * one hash at cost; an unusable or absent hash costs one dummy at cost. So
 * the answer's timing tells nothing about how (or whether) the account's
 * password is stored.
 */
bool password_check(const char *password, size_t len, const char *hash, int cost);
/* The cost of a bcrypt hash, or -1 when it is not one. */
int password_hash_cost(const char *hash);

/*
 * API.md's rule for a new password pw of len bytes: PASSWORD_MIN_BYTES to
 * PASSWORD_MAX_BYTES long, no NUL byte, not equal to current, not containing
 * username in any case. current is NULL when it is not known (an operator
 * setting someone's password), username NULL or "" when there is none.
 * Returns NULL when pw is acceptable, else one sentence saying why not
 * (static, never naming the password).
 */
const char *password_policy_check(const char *pw, size_t len, const char *username,
                                  const char *current);

#endif

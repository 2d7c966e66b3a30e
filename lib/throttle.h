/*
 * throttle — the sign-in throttle of API.md: after LOGIN_MAX_FAILURES failed
 * sign-ins for one account (or one name that matches none), or
 * THROTTLE_ADDR_FACTOR times that from one client address, within
 * LOGIN_WINDOW_SECONDS, further attempts are refused until the window ends.
 *
 * The counters are rows of farout_auth.login_attempts, so every worker and
 * host shares them. The window is fixed: it opens at the first failure and a
 * failure after it closed opens a new one. A sign-in reserves its attempt
 * (counts it) before the password is hashed, in one INSERT … ON CONFLICT
 * whose row lock serialises it per key on every host, and gives it back
 * when the password was right. Owns the login_attempts table.
 */
#ifndef FAROUT_THROTTLE_H
#define FAROUT_THROTTLE_H

#include "config.h"
#include "db.h"
#include "http.h"
#include "users.h"

#define THROTTLE_ADDR_FACTOR 4

/*
 * The key an attempt counts under (caller frees): the account's id when the
 * name matched user u, so its username and email share one count; otherwise
 * a SHA-256 of the name as typed (lower-cased when it holds '@', because
 * emails match case-insensitively), so the table never stores what people
 * typed — sometimes a password — into the name field.
 */
char *throttle_user_key_new(const struct user *u, const char *name);

/*
 * *retry_after is 0 when an attempt may go ahead, else the whole seconds
 * (at least 1) until every exceeded window has passed.
 */
enum db_status throttle_check(struct db *, const struct config *, const char *user_key,
                              const char *addr, long *retry_after);
/*
 * Reserves one attempt before the password is checked, atomically per key
 * (across workers and hosts: the row lock of INSERT … ON CONFLICT): it is
 * counted as a failure of both keys unless either already reached its limit,
 * in which case nothing is counted and *retry_after is the whole seconds (at
 * least 1) until the exceeded windows pass; else *retry_after is 0. So N
 * guesses arriving together get at most LOGIN_MAX_FAILURES checks. A refused
 * key's row holds its limit + 1 for a moment (which throttle_check and other
 * reservations read as exceeded too), then its limit again.
 */
enum db_status throttle_reserve(struct db *, const struct config *, const char *user_key,
                                const char *addr, long *retry_after);
/*
 * The reserved attempt was not a failure (the right password): both keys get
 * their one back (a count at zero goes). A finished sign-in then also calls
 * throttle_clear; a password step that leads to a second step (TOTP) does not.
 */
enum db_status throttle_release(struct db *, const char *user_key, const char *addr);
/* Counts one failure against both keys. */
enum db_status throttle_record_failure(struct db *, const struct config *, const char *user_key,
                                       const char *addr);
/* A success: the account's (or name's) count starts again; the address's stays. */
enum db_status throttle_clear(struct db *, const char *user_key);
/* Deletes expired rows: at most batch ("500"), all when batch is NULL; how many into *deleted. */
enum db_status throttle_prune(struct db *, const char *batch, long *deleted);

/*
 * The throttle before a password is checked (throttle_reserve: the attempt
 * counts as a failure from here; throttle_release gives it back when the
 * password was right), for user u (NULL when name matched nobody): true
 * with the attempt's key in *key (caller frees), false with the answer (429
 * too_many_attempts with Retry-After, 503 or 500) already in resp. what names the attempt in the log line ("login").
 */
bool throttle_allows(struct db *, const struct config *, const struct http_req *,
                     const struct user *u, const char *name, const char *what, char **key,
                     struct http_resp *);

#endif

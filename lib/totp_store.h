/*
 * totp_store — all the SQL of two-factor sign-in, and the only module that
 * touches its tables in farout_auth (migration 007):
 *   user_totp            one row per user who set it up: the sealed secret
 *                        (ciphertext, nonce, tag), enabled_at (NULL while the
 *                        setup is pending) and last_step, the newest 30 s step
 *                        accepted: a step not newer than it is refused, which
 *                        holds on every worker and host because the check and
 *                        the update are one UPDATE.
 *   totp_recovery_codes  SHA-256 of each unused recovery code; using one
 *                        deletes it.
 *   mfa_tokens           SHA-256 of each pending second step, its user and
 *                        expiry; finishing the sign-in deletes it.
 * Every value is a libpq parameter. Nothing here allocates for the caller
 * except where a function says so.
 */
#ifndef FAROUT_TOTP_STORE_H
#define FAROUT_TOTP_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "totp.h"

#define TOTP_MFA_TOKEN_SECONDS 300

struct totp_row {
	bool found;
	bool enabled;
	struct totp_sealed sealed;
};

/* The user's row (enabled or pending). row->found false when there is none. */
enum db_status totp_store_load(struct db *, const char *user_id, struct totp_row *row);
/* Whether two-factor sign-in is on for the user. */
enum db_status totp_store_is_enabled(struct db *, const char *user_id, bool *enabled);
/* The state shown to the user: on, a setup pending, recovery codes left. */
enum db_status totp_store_status(struct db *, const char *user_id, bool *enabled, bool *pending,
                                 long *recovery_left);

/*
 * Stores a new pending secret, replacing any earlier pending one. *stored is
 * false when the user already has it enabled (nothing changed).
 */
enum db_status totp_store_set_pending(struct db *, const char *user_id,
                                      const struct totp_sealed *, bool *stored);
/*
 * Turns the pending secret sealed as *expect on (so a setup replaced in the
 * meantime does not get enabled), marks step used and replaces the recovery
 * codes by the n hashes given. Several statements: run it inside the
 * caller's transaction. *enabled false when the pending row was not that one
 * any more (nothing changed).
 */
enum db_status totp_store_enable(struct db *, const char *user_id, const struct totp_sealed *expect,
                                 int64_t step, const char *const *recovery_hashes, int n,
                                 bool *enabled);
/*
 * Removes the user's secret, recovery codes and pending sign-ins (inside the
 * caller's transaction). *removed: there was a row.
 */
enum db_status totp_store_remove(struct db *, const char *user_id, bool *removed);

/*
 * Accepts step for the user if it is newer than every step accepted before
 * (one atomic UPDATE). *accepted false: a replay, or TOTP is not on.
 */
enum db_status totp_store_use_step(struct db *, const char *user_id, int64_t step, bool *accepted);
/* Deletes the recovery code with this hash; *used false when there was none (wrong or used). */
enum db_status totp_store_use_recovery(struct db *, const char *user_id, const char *hash,
                                       bool *used);

/*
 * Starts the second step of a sign-in of user_id whose first factor was
 * method ("password" or "discord"): a new random mfa_token into *token
 * (caller frees with util_free_secret), stored only as its hash, for
 * TOTP_MFA_TOKEN_SECONDS.
 */
enum db_status totp_store_mfa_begin(struct db *, const char *user_id, const char *method,
                                    char **token);
/*
 * The user and first-factor method of a live (not expired) pending step,
 * into *user_id and *method (caller frees both); both NULL when none.
 */
enum db_status totp_store_mfa_user(struct db *, const char *token_hash, char **user_id,
                                   char **method);
/* Deletes a live pending step of user_id; *consumed false when it was gone already. */
enum db_status totp_store_mfa_consume(struct db *, const char *token_hash, const char *user_id,
                                      bool *consumed);
/* Deletes expired pending sign-ins: at most batch rows, all when NULL; how many into *deleted (may be NULL). */
enum db_status totp_store_prune(struct db *, const char *batch, long *deleted);

#endif

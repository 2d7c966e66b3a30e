/*
 * mfa — the second step of a sign-in, as every sign-in route starts it
 * (API.md "Two-factor sign-in"): after a right first factor (a password, or
 * Discord), a user with TOTP on gets no session but a single-use mfa_token
 * for POST /api/auth/login/totp. Owns no table (lib/totp_store keeps the
 * tokens' hashes).
 */
#ifndef FAROUT_MFA_H
#define FAROUT_MFA_H

#include <stdbool.h>

#include "app.h"
#include "http.h"
#include "users.h"

/*
 * For user u whose first factor (method: "password" or "discord") was right:
 * *token NULL when TOTP is off (the sign-in goes on), else a new mfa_token
 * (caller frees with util_free_secret). A user with TOTP on while TOTP_KEY
 * is unset cannot sign in: that is logged and answered DB_UNAVAILABLE (503),
 * like a database down.
 */
enum db_status mfa_begin(struct app *, const struct user *u, const char *method, char **token);

/* 200 {"mfa_required": true, "mfa_token": token}. 0, or -1 with a 500 in resp. */
int mfa_answer_json(struct http_resp *, const char *token);
/*
 * For a browser (the Discord callback): 302 to public_url/login#mfa_token=…&next=…
 * The token travels in the fragment, which reaches neither a server nor a
 * Referer header. 0 or -1.
 */
int mfa_answer_redirect(struct http_resp *, const char *public_url, const char *token,
                        const char *next);

#endif

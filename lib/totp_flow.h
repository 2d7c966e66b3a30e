/*
 * totp_flow — the flows of two-factor sign-in (API.md "Two-factor sign-in")
 * that the login program's routes run once the caller is known: setup,
 * enable, disable, the state for the website, the second step of a
 * sign-in, and the code a password change asks for. Owns no table: it
 * orders lib/totp (codes, sealing), lib/totp_store (SQL) and
 * lib/auth_events (audit rows, throttle) inside farout_auth transactions.
 *
 * A "code" is either a TOTP code (6 digits) or a recovery code
 * ("abcd-efgh-ijkl", case, dashes and spaces ignored); either is used up by
 * the request that accepts it. Wrong codes count towards the account's
 * login throttle like wrong passwords. Each change commits with its audit
 * row: totp_enable, totp_disable, the sign-in it finishes (login or
 * discord_login), and every refused code (outcome invalid_code), never the
 * code itself.
 *
 * The route functions write the whole answer into resp (success or error)
 * and expect TOTP_KEY to be set (the caller answers 503 otherwise); u is
 * the caller, borrowed. Nothing is left for the caller to free.
 */
#ifndef FAROUT_TOTP_FLOW_H
#define FAROUT_TOTP_FLOW_H

#include <stdbool.h>

#include "app.h"
#include "http.h"
#include "users.h"

/* GET /api/auth/totp: {"enabled", "pending", "recovery_codes_left", "password_account"}. */
void totp_flow_status(struct app *, const struct user *u, struct http_resp *);
/* POST /api/auth/totp/setup: a new pending secret, {"secret", "otpauth_uri"}. */
void totp_flow_setup(struct app *, const struct user *u, struct http_resp *);
/* POST /api/auth/totp/enable {"code"}: on, with new recovery codes {"recovery_codes"}. */
void totp_flow_enable(struct app *, const struct http_req *, const struct user *u,
                      struct http_resp *);
/* POST /api/auth/totp/disable {"password", "code"}: off, 204. */
void totp_flow_disable(struct app *, const struct http_req *, const struct user *u,
                       struct http_resp *);
/* POST /api/auth/login/totp {"mfa_token", "code"}: the sign-in finished, answered like login. */
void totp_flow_login(struct app *, const struct http_req *, struct http_resp *);

/*
 * After the right password of an active user u at POST /api/auth/login:
 * true when the sign-in goes on as usual (TOTP is off for u); false when the
 * answer is already in resp: 200 {"mfa_required": true, "mfa_token"} with no
 * session, or 503/500 (among them: TOTP on while TOTP_KEY is unset).
 */
bool totp_flow_password_step(struct app *, const struct user *u, struct http_resp *);

/*
 * After the right current password at POST /api/auth/password: true when
 * the change may go on (TOTP off, or the body's "code" is a right TOTP or
 * recovery code, now used up); false with the answer in resp (400 without
 * a code, 401 invalid_code counted against throttle_key, 503, 500).
 */
bool totp_flow_password_change(struct app *, const struct http_req *, const struct user *u,
                               const char *throttle_key, struct http_resp *);

#endif

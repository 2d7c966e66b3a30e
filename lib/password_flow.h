/*
 * password_flow — the flows of a password: signing in with it (API.md
 * "POST /api/auth/login") and changing it ("POST /api/auth/password").
 * Owns no table: it orders lib/credentials (the bodies), lib/password and
 * lib/strength (the checks), lib/throttle, lib/auth_events (audit rows) and
 * lib/totp_flow (a second factor) around farout_auth transactions.
 *
 * Every path of a sign-in does the same work whether or not the name
 * matched: one lookup, one throttle check, one bcrypt, one counter update.
 * Each function writes the whole answer into resp; nothing is left for the
 * caller to free.
 */
#ifndef FAROUT_PASSWORD_FLOW_H
#define FAROUT_PASSWORD_FLOW_H

#include "app.h"
#include "http.h"
#include "users.h"

/* POST /api/auth/login (JSON or form): the session, the second step, or the refusal. */
void password_flow_login(struct app *, const struct http_req *, struct http_resp *);

/*
 * POST /api/auth/password by the signed-in user u (refreshed on success): the new password, every other session
 * revoked, and a new session answered like login.
 */
void password_flow_change(struct app *, const struct http_req *, struct user *u,
                          struct http_resp *);

#endif

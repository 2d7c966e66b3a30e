/*
 * login.h — what login_totp.c (two-factor sign-in) offers login.c (password
 * sign-in, sign-out, password change), the two files of the login program.
 */
#ifndef FAROUT_LOGIN_H
#define FAROUT_LOGIN_H

#include <stdbool.h>

#include "app.h"
#include "http.h"
#include "users.h"

/* GET /api/auth/totp, POST /api/auth/totp/{setup,enable,disable}, POST /api/auth/login/totp. */
void handle_totp_status(struct app *, const struct http_req *, struct http_resp *);
void handle_totp_setup(struct app *, const struct http_req *, struct http_resp *);
void handle_totp_enable(struct app *, const struct http_req *, struct http_resp *);
void handle_totp_disable(struct app *, const struct http_req *, struct http_resp *);
void handle_login_totp(struct app *, const struct http_req *, struct http_resp *);

/* Per worker: liboath's set-up. 0 or -1. */
int login_totp_init(struct app *);

/*
 * After the right password of an active user u at POST /api/auth/login:
 * true when the sign-in goes on as usual (TOTP is off for u); false when the
 * answer is already in resp: 200 {"mfa_required": true, "mfa_token"} with no
 * session, or 503/500 (among them: TOTP on while TOTP_KEY is unset).
 */
bool login_totp_password_step(struct app *, const struct user *u, struct http_resp *);

#endif

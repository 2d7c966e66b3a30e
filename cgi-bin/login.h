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

#endif

/*
 * auth — who is calling and may they: tokens from `Authorization: Bearer`
 * or the farout_session cookie, sessions as an allow-list in farout_auth,
 * roles from the database at request time, the must_change_password gate,
 * CSRF for cookie-authenticated unsafe methods, and issuing new sessions.
 * Owns no table: the rows are users.c's and sessions.c's.
 */
#ifndef FAROUT_AUTH_H
#define FAROUT_AUTH_H

#include <stdbool.h>

#include "http.h"
#include "app.h"
#include "users.h"

#define AUTH_COOKIE "farout_session"

enum role { ROLE_MEMBER, ROLE_OFFICER, ROLE_ADMIN, ROLE__MAX };

/* "member" → ROLE_MEMBER …; -1 for anything else. */
int auth_role_parse(const char *name, enum role *out);
const char *auth_role_name(enum role);

struct auth_ctx {
	struct user user; /* the row as it is now in the database */
	enum role role;   /* from user.role, not from the token */
	char *jti;        /* the session */
	bool via_cookie;  /* authenticated by the cookie, not the header */
};

enum auth_result {
	AUTH_OK,
	AUTH_NONE,        /* no token, or an invalid/expired/revoked one, or a disabled user: 401 */
	AUTH_UNAVAILABLE, /* the auth database is down: 503 */
	AUTH_ERROR,       /* 500 */
};

/* Identifies the caller without judging the route. ctx is filled only on AUTH_OK. */
enum auth_result auth_identify(struct app *, const struct http_req *, struct auth_ctx *ctx);
void auth_ctx_cleanup(struct auth_ctx *);

enum {
	/* Let a user who must change their password through (me, password, logout; not verify). */
	AUTH_ALLOW_PENDING_CHANGE = 1 << 0,
};

/*
 * The gate for a protected route: identifies the caller, then checks the
 * password-change gate, CSRF (unsafe methods with the cookie) and min_role.
 * Returns true with ctx filled, or false with the error already in resp
 * (401 not_authenticated, 403 password_change_required / csrf_failed /
 * forbidden, 503 unavailable).
 */
bool auth_require(struct app *, const struct http_req *, struct http_resp *, enum role min_role,
                  unsigned flags, struct auth_ctx *ctx);

/* The CSRF rule of API.md: Origin (or Referer) must be PUBLIC_URL's origin. */
bool auth_csrf_ok(const struct app *, const struct http_req *);

/* Writes the cookie that clears the session (Max-Age=0). */
void auth_clear_cookie(const struct app *, struct http_resp *);

/*
 * A sign-in's two halves, for callers that start the session inside their
 * own transaction: auth_session_start inserts the session row of user u,
 * signed in by method ("password" or "discord") from req (its address and
 * User-Agent are kept with the session; req may be NULL), and signs its
 * token (*token, caller frees with util_free_secret); auth_answer_login
 * answers like login: 200 with {"access_token", "token_type", "expires_in",
 * "must_change_password", "user"} plus the session cookie, 0, or -1 with a
 * 500 in resp.
 */
enum db_status auth_session_start(struct app *, const struct user *u, const struct http_req *,
                                  const char *method, char **token);
int auth_answer_login(const struct app *, const struct user *u, const char *token,
                      struct http_resp *);

/*
 * A password change as one transaction: the new hash (if the stored one is
 * still u's: *changed false otherwise), the revocation of every session of
 * the user and a new session (*token, caller frees with util_free_secret)
 * commit together, so a failure half way leaves the old password and
 * sessions intact, and its password_change audit row commits with it. u is
 * refreshed on success; req gives the new session's address and User-Agent.
 */
enum db_status auth_password_change(struct app *, const struct http_req *, struct user *u,
                                    const char *hash, bool *changed, char **token);

/*
 * The session named by the presented token, judged by signature and claims
 * only (not by the database): true with *user_id and *jti (caller frees) and
 * *via_cookie set. Logout uses it to revoke whatever state the user is in.
 */
bool auth_presented_session(const struct app *, const struct http_req *, char **user_id,
                            char **jti, bool *via_cookie);
#endif

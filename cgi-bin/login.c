/*
 * login — password sign-in, sign-out and password change (API.md
 * "POST /api/auth/login", "/logout", "/password"), the caller's sessions
 * ("Sessions the user can see and end") and the audit log's reader
 * (GET /api/admin/audit); two-factor sign-in is in login_totp.c, linked into
 * the same program.
 *
 * Bodies: login takes JSON or a form, password JSON; fields other than the
 * ones named in API.md are ignored, a named field given twice is refused.
 * A NUL byte in a name or password (JSON \u0000, form %00) is refused as a
 * malformed request (400), so it can never cut a password short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_query.h"
#include "auth.h"
#include "auth_events.h"
#include "credentials.h"
#include "json.h"
#include "log.h"
#include "login.h"
#include "password.h"
#include "strength.h"
#include "serve.h"
#include "sessions.h"
#include "throttle.h"
#include "totp_flow.h"
#include "totp_store.h"
#include "util.h"

#define LOGIN_BODY_MAX (16 * 1024)
/* One sign-in in this many also deletes a batch of expired rows. */
#define PRUNE_ONE_IN 64
#define PRUNE_BATCH "500"

static void answer_bad_credentials(struct http_resp *resp)
{
	http_resp_error(resp, 401, "invalid_credentials", "The username or password is incorrect.");
}

/* ---- POST /api/auth/login --------------------------------------------------- */

static void maybe_prune(struct app *app)
{
	unsigned char r;

	if (util_random_bytes(&r, 1) == 0 && r % PRUNE_ONE_IN == 0) {
		if (throttle_prune(&app->auth_db, PRUNE_BATCH, NULL) != DB_OK)
			log_warn("pruning expired login_attempts failed");
		if (sessions_prune(&app->auth_db, PRUNE_BATCH, NULL) != DB_OK)
			log_warn("pruning expired sessions failed");
		if (totp_store_prune(&app->auth_db, PRUNE_BATCH, NULL) != DB_OK)
			log_warn("pruning expired mfa_tokens failed");
	}
}

/*
 * Every path up to the answer does the same work whether or not the name
 * matched, and whether or not the account has a password: one lookup, one
 * throttle check, one bcrypt of the configured cost, one counter update.
 */
static void handle_login(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	const struct config *cfg = app->cfg;
	struct credentials c;
	struct user u;
	bool found = false, ok, stale = false;
	char *key = NULL, *new_hash = NULL, *token = NULL;
	enum db_status st;

	memset(&u, 0, sizeof u);
	memset(&c, 0, sizeof c);
	/*
	 * Login CSRF: a form posted from another site would sign the victim's
	 * browser into the attacker's account. A browser says where a POST comes
	 * from; when it does, it must be this site. (curl and scripts send neither.)
	 */
	if ((http_req_header(req, "Origin") != NULL || http_req_header(req, "Referer") != NULL) &&
	    !auth_csrf_ok(app, req)) {
		log_info("login refused: csrf");
		http_resp_error(resp, 403, "csrf_failed", "A sign-in must come from this site's origin.");
		goto out;
	}
	if (credentials_read(req, &c, resp) == -1)
		goto out;
	st = users_find_login(&app->auth_db, c.username, &u, &found);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!auth_events_throttle(app, req, found ? &u : NULL, c.username, "login", "login", &key, resp))
		goto out;

	/* One hash's worth of work at BCRYPT_COST, whatever is stored (or not). */
	ok = password_check(c.password, strlen(c.password), found ? u.hashed_password : NULL,
	                    cfg->bcrypt_cost);
	if (!ok) {
		/* throttle_allows counted it already: the row only. */
		st = auth_events_failure(app, req, NULL, "login", "invalid_credentials",
		                         found ? u.id : c.username);
		if (st != DB_OK) {
			app_answer_db_error(resp, st);
			goto out;
		}
		if (found)
			log_info("login failed for user %s", u.id);
		else
			log_info("login failed for an unknown name");
		answer_bad_credentials(resp);
		goto out;
	}
	/* The right password is no failure: the reservation is given back. */
	st = throttle_release(&app->auth_db, key, req->remote_addr);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!u.is_active) {
		log_info("login refused: user %s is disabled", u.id);
		auth_events_failure(app, req, NULL, "login", "account_disabled", u.id);
		http_resp_error(resp, 403, "account_disabled", "This account is disabled.");
		goto out;
	}
	/* TOTP on: the answer is the second step; the failure count stays until it is done. */
	if (!login_totp_password_step(app, &u, resp))
		goto out;

	if (password_hash_cost(u.hashed_password) < cfg->bcrypt_cost) {
		/* A failed re-hash only postpones the upgrade to the next sign-in. */
		new_hash = password_hash_new(c.password, strlen(c.password), cfg->bcrypt_cost);
	}
	st = auth_events_login(app, req, &u, u.hashed_password, new_hash, &token, &stale);
	if (st == DB_OK && !stale)
		st = throttle_clear(&app->auth_db, key);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (stale) {
		log_info("login of user %s refused: the password changed meanwhile", u.id);
		answer_bad_credentials(resp);
		goto out;
	}
	if (auth_answer_login(app, &u, token, resp) == 0)
		log_info("login of user %s%s", u.id, new_hash != NULL ? " (password re-hashed)" : "");
	maybe_prune(app);
out:
	util_free_secret(token);
	util_free_secret(new_hash);
	free(key);
	user_cleanup(&u);
	credentials_cleanup(&c);
}

/* ---- POST /api/auth/logout -------------------------------------------------- */

static void handle_logout(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	char *user_id = NULL, *jti = NULL;
	bool via_cookie = false;
	enum db_status st;

	/* A token that does not verify names no session: there is nothing to revoke. */
	if (auth_presented_session(app, req, &user_id, &jti, &via_cookie)) {
		if (via_cookie && !auth_csrf_ok(app, req)) {
			log_info("logout refused: csrf");
			http_resp_error(resp, 403, "csrf_failed",
			                "A cookie-authenticated request must come from this site's origin.");
			goto out;
		}
		st = auth_events_logout(app, req, user_id, jti);
		if (st != DB_OK) {
			app_answer_db_error(resp, st);
			goto out;
		}
		log_info("logout of user %s", user_id);
	}
	auth_clear_cookie(app, resp);
	http_resp_empty(resp, 204);
out:
	free(user_id);
	free(jti);
}

/* ---- POST /api/auth/password ------------------------------------------------ */

static void handle_password(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	const struct config *cfg = app->cfg;
	struct auth_ctx ctx;
	struct password_change p;
	const char *weak;
	char *key = NULL, *hash = NULL, *token = NULL;
	bool changed = false;
	enum db_status st;

	memset(&p, 0, sizeof p);
	if (!auth_require(app, req, resp, ROLE_MEMBER, AUTH_ALLOW_PENDING_CHANGE, &ctx))
		return;
	if (password_change_read(req, ctx.user.hashed_password != NULL, &p, resp) == -1)
		goto out;
	/* A current password sent by a user who has none is nothing to compare with. */
	weak = strength_check(p.next, strlen(p.next), ctx.user.username, ctx.user.email,
	                      ctx.user.hashed_password != NULL ? p.current : NULL);
	if (weak != NULL) {
		http_resp_error(resp, 400, "weak_password", weak);
		goto out;
	}

	/* Guessing the current password with a stolen session counts like guessing at login. */
	if (!auth_events_throttle(app, req, &ctx.user, ctx.user.username, "password change",
	                          "password_change", &key, resp))
		goto out;
	if (ctx.user.hashed_password != NULL &&
	    !password_check(p.current, strlen(p.current), ctx.user.hashed_password, cfg->bcrypt_cost)) {
		/* throttle_allows counted it already: the row only. */
		st = auth_events_failure(app, req, NULL, "password_change", "invalid_credentials",
		                         ctx.user.id);
		if (st != DB_OK) {
			app_answer_db_error(resp, st);
			goto out;
		}
		log_info("password change refused for user %s: wrong current password", ctx.user.id);
		answer_bad_credentials(resp);
		goto out;
	}
	/* The right password is no failure; a wrong code then counts on its own. */
	if ((st = throttle_release(&app->auth_db, key, req->remote_addr)) != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!totp_flow_password_change(app, req, &ctx.user, key, resp))
		goto out;

	hash = password_hash_new(p.next, strlen(p.next), cfg->bcrypt_cost);
	if (hash == NULL) {
		http_resp_error(resp, 500, "internal_error", "The password could not be hashed.");
		goto out;
	}
	st = auth_password_change(app, req, &ctx.user, hash, &changed, &token);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!changed) {
		log_info("password change refused for user %s: changed concurrently", ctx.user.id);
		answer_bad_credentials(resp);
		goto out;
	}
	if (throttle_clear(&app->auth_db, key) != DB_OK)
		log_warn("could not clear the sign-in failures of user %s", ctx.user.id);
	log_info("password changed for user %s; every other session revoked", ctx.user.id);
	auth_answer_login(app, &ctx.user, token, resp);
out:
	util_free_secret(token);
	util_free_secret(hash);
	free(key);
	password_change_cleanup(&p);
	auth_ctx_cleanup(&ctx);
}

/* ---- sessions: GET/DELETE /api/auth/sessions[/{id}] ------------------------- */

static void handle_sessions_list(struct app *app, const struct http_req *req,
                                 struct http_resp *resp)
{
	struct auth_ctx ctx;
	enum db_status st;
	cJSON *body;

	if (!auth_require(app, req, resp, ROLE_MEMBER, 0, &ctx))
		return;
	body = sessions_list_json_new(&app->auth_db, ctx.user.id, ctx.jti, &st);
	if (body == NULL)
		app_answer_db_error(resp, st);
	else
		http_resp_json(resp, 200, body);
	cJSON_Delete(body);
	auth_ctx_cleanup(&ctx);
}

/* Ending sessions and their audit row commit together (lib/auth_events). */
static void handle_session_end(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;
	bool found = false, was_current = false;
	enum db_status st;

	if (!auth_require(app, req, resp, ROLE_MEMBER, 0, &ctx))
		return;
	st = auth_events_end_session(app, req, ctx.user.id, ctx.jti, req->param, &found, &was_current);
	if (st != DB_OK)
		app_answer_db_error(resp, st);
	else if (!found)
		http_resp_error(resp, 404, "not_found", "You have no live session with this id.");
	else {
		log_info("user %s ended a session%s", ctx.user.id, was_current ? " (the current one)" : "");
		if (was_current)
			auth_clear_cookie(app, resp);
		http_resp_empty(resp, 204);
	}
	auth_ctx_cleanup(&ctx);
}

static void handle_sessions_end_others(struct app *app, const struct http_req *req,
                                       struct http_resp *resp)
{
	struct auth_ctx ctx;
	long ended = 0;
	enum db_status st;

	if (!auth_require(app, req, resp, ROLE_MEMBER, 0, &ctx))
		return;
	st = auth_events_end_others(app, req, ctx.user.id, ctx.jti, &ended);
	if (st != DB_OK)
		app_answer_db_error(resp, st);
	else {
		log_info("user %s ended %ld other session(s)", ctx.user.id, ended);
		http_resp_empty(resp, 204);
	}
	auth_ctx_cleanup(&ctx);
}

/* ---- GET /api/admin/audit --------------------------------------------------- */

static void handle_audit_list(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct audit_params params;
	struct auth_ctx ctx;
	const char *detail;
	enum db_status st;
	cJSON *body = NULL;

	if (!auth_require(app, req, resp, ROLE_ADMIN, 0, &ctx))
		return;
	if (audit_params_parse(req, &params, &detail) == -1)
		http_resp_error(resp, 400, "invalid_request", detail);
	else if ((body = audit_query_json_new(&app->auth_db, &params.filter, &st)) == NULL)
		app_answer_db_error(resp, st);
	else
		http_resp_json(resp, 200, body);
	cJSON_Delete(body);
	audit_params_cleanup(&params);
	auth_ctx_cleanup(&ctx);
}

int main(int argc, char **argv)
{
	static const struct route routes[] = {
		{"POST", "/api/auth/login", handle_login, ROUTE_BODY_JSON | ROUTE_BODY_FORM, LOGIN_BODY_MAX},
		{"POST", "/api/auth/logout", handle_logout, 0, 0},
		{"POST", "/api/auth/password", handle_password, ROUTE_BODY_JSON, 0},
		{"GET", "/api/auth/sessions", handle_sessions_list, 0, 0},
		{"DELETE", "/api/auth/sessions", handle_sessions_end_others, 0, 0},
		{"DELETE", "/api/auth/sessions/{id}", handle_session_end, 0, 0},
		{"GET", "/api/admin/audit", handle_audit_list, 0, 0},
		{"POST", "/api/auth/login/totp", handle_login_totp, ROUTE_BODY_JSON, LOGIN_BODY_MAX},
		{"GET", "/api/auth/totp", handle_totp_status, 0, 0},
		{"POST", "/api/auth/totp/setup", handle_totp_setup, 0, 0},
		{"POST", "/api/auth/totp/enable", handle_totp_enable, ROUTE_BODY_JSON, 0},
		{"POST", "/api/auth/totp/disable", handle_totp_disable, ROUTE_BODY_JSON, 0},
	};
	static const struct program prog = {
		.name = "login",
		.routes = routes,
		.nroutes = UTIL_ARRAY_LEN(routes),
		.config_needs = CONFIG_NEED_DB | CONFIG_NEED_JWT,
		.init = login_totp_init,
	};

	return serve_main(&prog, argc, argv);
}

/*
 * login — password sign-in, sign-out and password change (API.md
 * "POST /api/auth/login", "/logout", "/password"), the caller's sessions
 * ("Sessions the user can see and end") and the audit log's reader
 * (GET /api/admin/audit); two-factor sign-in is in login_totp.c, linked into
 * the same program. The flows of a password are in lib/password_flow.
 *
 * Bodies: login takes JSON or a form, password JSON; fields other than the
 * ones named in API.md are ignored, a named field given twice is refused.
 * A NUL byte in a name or password (JSON \u0000, form %00) is refused as a
 * malformed request (400), so it can never cut a password short.
 */
#include <stdlib.h>

#include "audit_query.h"
#include "auth.h"
#include "auth_events.h"
#include "log.h"
#include "login.h"
#include "password_flow.h"
#include "serve.h"
#include "sessions.h"
#include "util.h"

#define LOGIN_BODY_MAX (16 * 1024)

/* ---- POST /api/auth/login, POST /api/auth/password --------------------------- */

static void handle_login(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	password_flow_login(app, req, resp);
}

static void handle_password(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;

	if (!auth_require(app, req, resp, ROLE_MEMBER, AUTH_ALLOW_PENDING_CHANGE, &ctx))
		return;
	password_flow_change(app, req, &ctx.user, resp);
	auth_ctx_cleanup(&ctx);
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

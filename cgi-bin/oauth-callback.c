/*
 * oauth-callback — Discord sign-in (API.md "GET /api/auth/discord/login" and
 * "GET /api/auth/discord/callback"): send the browser to Discord with a
 * fresh state and PKCE challenge, then take it back, exchange the code, and
 * sign the Discord user in (or link them to the signed-in user).
 *
 * The login route answers its errors as JSON with their status (it either
 * redirects to Discord or fails). The callback redirects — to PUBLIC_URL +
 * next, or to PUBLIC_URL/login?error=CODE — unless the request accepts
 * application/json, which gets the login body or the error body instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_events.h"
#include "discord.h"
#include "discord_sign_in.h"
#include "log.h"
#include "metrics.h"
#include "mfa.h"
#include "oauth.h"
#include "serve.h"
#include "util.h"

struct worker {
	struct discord_client discord;
	struct oauth_keys keys;
	bool curl_ready;
};

static void answer(struct http_resp *resp, enum oauth_result r)
{
	const struct oauth_answer *a = oauth_answer(r);

	http_resp_error(resp, a->status, a->code, a->detail);
}

static void handle_login(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct worker *w = app->program;
	const struct config *cfg = app->cfg;
	enum oauth_result r = OAUTH_ERROR;
	struct auth_ctx ctx;
	struct oauth_flow flow = {0};
	bool have_ctx = false;
	char *next_raw = NULL, *link = NULL, *next = NULL, *url = NULL;
	int has_link;
	long retry_after = 0;

	if (!cfg->discord_configured) {
		r = OAUTH_UNAVAILABLE;
		goto out;
	}
	has_link = http_query_get(req, "link", &link);
	if (has_link == -1 || (has_link == 1 && strcmp(link, "1") != 0 && strcmp(link, "0") != 0)) {
		r = OAUTH_INVALID_REQUEST;
		goto out;
	}
	/* A next that does not even decode is no path on this site: it becomes "/". */
	if (http_query_get(req, "next", &next_raw) == -1)
		next_raw = NULL;
	if ((next = oauth_next_path_new(next_raw)) == NULL)
		goto out;

	if (has_link == 1 && strcmp(link, "1") == 0) {
		switch (auth_identify(app, req, &ctx)) {
		case AUTH_OK:
			have_ctx = true;
			break;
		case AUTH_NONE:
			r = OAUTH_NOT_AUTHENTICATED;
			goto out;
		case AUTH_UNAVAILABLE:
			r = OAUTH_UNAVAILABLE;
			goto out;
		default:
			goto out;
		}
		/* API.md's gate: nothing but me, verify, password and logout before the change. */
		if (ctx.user.must_change_password) {
			r = OAUTH_PASSWORD_CHANGE_REQUIRED;
			goto out;
		}
	}
	struct oauth_starter who = {req->remote_addr, have_ctx ? ctx.user.id : NULL,
	                            have_ctx ? ctx.jti : NULL};
	r = oauth_flow_begin(&app->auth_db, &w->keys, next, &who, &flow, &retry_after);
	if (r != OAUTH_OK)
		goto out;
	if ((url = oauth_authorize_url_new(cfg, flow.state, flow.challenge)) == NULL ||
	    http_resp_redirect(resp, url) == -1 || oauth_cookie_set(resp, cfg, flow.binding) == -1)
		r = OAUTH_ERROR;
out:
	if (r == OAUTH_UNAVAILABLE && !cfg->discord_configured)
		http_resp_error(resp, 503, "unavailable", "Discord sign-in is not configured here.");
	else if (r != OAUTH_OK)
		answer(resp, r);
	if (r == OAUTH_TOO_MANY_FLOWS) {
		char seconds[24];
		snprintf(seconds, sizeof seconds, "%ld", retry_after);
		http_resp_header(resp, "Retry-After", seconds);
	}
	free(url);
	oauth_flow_cleanup(&flow);
	if (have_ctx)
		auth_ctx_cleanup(&ctx);
	free(next);
	free(next_raw);
	free(link);
}

static void handle_callback(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct worker *w = app->program;
	const struct config *cfg = app->cfg;
	bool json = http_req_accepts(req, "application/json");
	enum oauth_result r = OAUTH_INVALID_STATE;
	struct oauth_pending pending = {0};
	struct discord_user du = {0};
	struct discord_member member = {0}; /* stays empty without a server gate */
	struct user u = {0};
	char *state = NULL, *binding = NULL, *error = NULL, *code = NULL;
	char *session = NULL, *mfa = NULL;
	int has_error;

	if (!cfg->discord_configured) {
		r = OAUTH_UNAVAILABLE;
		goto out;
	}
	if (http_query_get(req, "state", &state) != 1)
		state = NULL;
	binding = http_req_cookie_dup(req, OAUTH_COOKIE);
	r = oauth_flow_consume(&app->auth_db, &w->keys, state, binding, &pending);
	if (r != OAUTH_OK)
		goto out;

	/* Discord's own error values are never echoed: only these two outcomes exist. */
	has_error = http_query_get(req, "error", &error);
	if (has_error != 0) {
		r = has_error == 1 && strcmp(error, "access_denied") == 0 ? OAUTH_ACCESS_DENIED
		                                                           : OAUTH_INVALID_REQUEST;
		log_info("discord callback: the user or Discord ended the flow (%s)",
		         r == OAUTH_ACCESS_DENIED ? "access_denied" : "another error");
		goto out;
	}
	if (http_query_get(req, "code", &code) != 1 || *code == '\0' || strlen(code) > OAUTH_CODE_MAX) {
		r = OAUTH_INVALID_REQUEST;
		goto out;
	}

	r = discord_sign_in_identify(&w->discord, cfg, code, pending.code_verifier, &du, &member);
	if (r == OAUTH_OK)
		r = discord_sign_in_accounts(app, req, &pending, &du, &member, &u, &session, &mfa);
	if (r != OAUTH_OK)
		goto out;

	if (mfa != NULL) {
		if ((json ? mfa_answer_json(resp, mfa)
		          : mfa_answer_redirect(resp, cfg->public_url, mfa, pending.next_path)) == -1)
			r = OAUTH_ERROR;
		goto out;
	}
	if (auth_answer_login(app, &u, session, resp) == -1) {
		r = OAUTH_ERROR;
		goto out;
	}
	log_info("discord sign-in: user %s (discord %s)%s", u.id, du.id,
	         pending.link_user_id != NULL ? " linked" : "");
	/* The login body (with the token) is for JSON callers; a browser has the cookie. */
	if (!json && http_resp_redirect_to(resp, cfg->public_url, pending.next_path) == -1)
		r = OAUTH_ERROR;
out:
	metrics_login("discord", oauth_answer(r)->code);
	if (r != OAUTH_OK) {
		auth_events_discord_failure(app, req, pending.link_user_id, &du, r);
		discord_sign_in_answer_failure(resp, cfg, json, r);
	}
	/* The flow is over whichever way it ended. */
	oauth_cookie_set(resp, cfg, NULL);
	user_cleanup(&u);
	discord_user_cleanup(&du);
	discord_member_cleanup(&member);
	oauth_pending_cleanup(&pending);
	util_free_secret(session);
	util_free_secret(mfa);
	util_free_secret(code);
	util_free_secret(binding);
	free(error);
	free(state);
}

static int init(struct app *app)
{
	struct worker *w = calloc(1, sizeof *w);

	if (w == NULL)
		return -1;
	app->program = w;
	if (discord_global_init() == -1)
		return -1;
	w->curl_ready = true;
	if (discord_client_init(&w->discord, app->cfg) == -1 || oauth_keys_init(&w->keys, app->cfg) == -1)
		return -1;
	return 0;
}

static void cleanup(struct app *app)
{
	struct worker *w = app->program;

	if (w == NULL)
		return;
	discord_client_cleanup(&w->discord);
	oauth_keys_cleanup(&w->keys);
	if (w->curl_ready)
		discord_global_cleanup();
	free(w);
	app->program = NULL;
}

int main(int argc, char **argv)
{
	static const struct route routes[] = {
		{"GET", "/api/auth/discord/login", handle_login, 0, 0},
		{"GET", "/api/auth/discord/callback", handle_callback, 0, 0},
	};
	static const struct program prog = {
		.name = "oauth-callback",
		.routes = routes,
		.nroutes = UTIL_ARRAY_LEN(routes),
		.config_needs = CONFIG_NEED_DB | CONFIG_NEED_JWT,
		.init = init,
		.cleanup = cleanup,
	};

	return serve_main(&prog, argc, argv);
}

/*
 * me — who is calling (API.md "GET /api/auth/me") and nginx's auth_request
 * check ("GET /api/auth/verify[?role=…]").
 *
 * me lets a user with a pending password change through: the website needs
 * to know who it is talking to in order to ask for the change. verify does
 * not (403 password_change_required): nothing nginx guards may open to an
 * account still on its first, possibly default, password. verify needs only
 * the auth database; me also reads the caller's member row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "members.h"
#include "serve.h"
#include "util.h"

static void add_identity_headers(struct http_resp *resp, const struct auth_ctx *ctx)
{
	http_resp_header(resp, "X-Auth-User-Id", ctx->user.id);
	http_resp_header(resp, "X-Auth-Username", ctx->user.username);
	http_resp_header(resp, "X-Auth-Role", auth_role_name(ctx->role));
}

static void handle_me(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;
	cJSON *body = NULL, *member = NULL;
	bool found = false;
	enum db_status st = DB_OK;

	if (!auth_require(app, req, resp, ROLE_MEMBER, AUTH_ALLOW_PENDING_CHANGE, &ctx))
		return;
	/* Without a Discord id there is no row to read, but the answer still depends on the database. */
	if (ctx.user.discord_id != NULL)
		st = members_find(&app->app_db, ctx.user.discord_id, &member, &found);
	else if (!db_ping(&app->app_db))
		st = DB_UNAVAILABLE;
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	body = users_to_json(&ctx.user);
	if (body == NULL) {
		http_resp_error(resp, 500, "internal_error", "The answer could not be built.");
		goto out;
	}
	if (found && member != NULL) {
		cJSON_AddItemToObject(body, "member", member);
		member = NULL;
	} else {
		cJSON_AddNullToObject(body, "member");
	}
	if (http_resp_json(resp, 200, body) == -1) {
		http_resp_error(resp, 500, "internal_error", "The answer could not be built.");
		goto out;
	}
	add_identity_headers(resp, &ctx);
out:
	cJSON_Delete(member);
	cJSON_Delete(body);
	auth_ctx_cleanup(&ctx);
}

/*
 * The role to require: member when absent. An unknown value is a mistake in
 * nginx's configuration, answered 400 rather than guessed at.
 */
static int verify_min_role(const struct http_req *req, enum role *min_role)
{
	char *value = NULL;
	int found = http_query_get(req, "role", &value);
	int rc = 0;

	*min_role = ROLE_MEMBER;
	if (found == -1 || (found == 1 && auth_role_parse(value, min_role) == -1))
		rc = -1;
	free(value);
	return rc;
}

static void handle_verify(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;
	enum role min_role;

	if (verify_min_role(req, &min_role) == -1) {
		http_resp_error(resp, 400, "invalid_request", "role must be member, officer or admin.");
		return;
	}
	if (!auth_require(app, req, resp, min_role, 0, &ctx))
		return;
	http_resp_empty(resp, 204);
	add_identity_headers(resp, &ctx);
	auth_ctx_cleanup(&ctx);
}

int main(int argc, char **argv)
{
	static const struct route routes[] = {
		{"GET", "/api/auth/me", handle_me, 0, 0},
		{"GET", "/api/auth/verify", handle_verify, 0, 0},
	};
	static const struct program prog = {
		.name = "me",
		.routes = routes,
		.nroutes = UTIL_ARRAY_LEN(routes),
		.config_needs = CONFIG_NEED_DB | CONFIG_NEED_JWT,
	};

	return serve_main(&prog, argc, argv);
}

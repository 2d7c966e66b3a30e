/*
 * members — the member directory (API.md "Members"): list and search, one
 * member, the caller's own row, and role-checked create, patch and delete.
 *
 * Every route first asks lib/auth who is calling (401/403/503 answered
 * there, CSRF included), with the role read from the database on this very
 * request. A path segment that cannot be a Discord id names no member: 404.
 */
#include <string.h>

#include "member_events.h"
#include "auth.h"
#include "log.h"
#include "members.h"
#include "serve.h"
#include "util.h"

static void answer_json(struct http_resp *resp, int status, const cJSON *body)
{
	if (http_resp_json(resp, status, body) == -1)
		http_resp_error(resp, 500, "internal_error", "The response could not be built.");
}

static void answer_not_found(struct http_resp *resp)
{
	http_resp_error(resp, 404, "not_found", "No member has this Discord id.");
}

static void handle_list(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;
	struct members_query q;
	enum db_status st;
	char detail[256];
	cJSON *page = NULL;

	memset(&ctx, 0, sizeof ctx);
	memset(&q, 0, sizeof q);
	if (!auth_require(app, req, resp, ROLE_MEMBER, 0, &ctx))
		goto out;
	switch (members_query_parse(req->query, &q, detail, sizeof detail)) {
	case MEMBERS_CHECK_OK:
		break;
	case MEMBERS_CHECK_NO_MEMORY:
		http_resp_error(resp, 500, "internal_error", "Out of memory.");
		goto out;
	default:
		http_resp_error(resp, 400, "invalid_request", detail);
		goto out;
	}
	st = members_list(&app->app_db, &q, &page);
	if (st != DB_OK)
		app_answer_db_error(resp, st);
	else
		answer_json(resp, 200, page);
out:
	cJSON_Delete(page);
	members_query_cleanup(&q);
	auth_ctx_cleanup(&ctx);
}

static void answer_member_of(struct app *app, const char *discord_id, struct http_resp *resp)
{
	cJSON *member = NULL;
	bool found = false;
	enum db_status st = members_find(&app->app_db, discord_id, &member, &found);

	if (st != DB_OK)
		app_answer_db_error(resp, st);
	else if (!found)
		answer_not_found(resp);
	else
		answer_json(resp, 200, member);
	cJSON_Delete(member);
}

static void handle_me(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;

	memset(&ctx, 0, sizeof ctx);
	if (!auth_require(app, req, resp, ROLE_MEMBER, 0, &ctx))
		goto out;
	/* Local accounts (the seeded admin) have no Discord id, so no member row. */
	if (ctx.user.discord_id == NULL)
		http_resp_error(resp, 404, "not_found", "Your account has no member profile.");
	else
		answer_member_of(app, ctx.user.discord_id, resp);
out:
	auth_ctx_cleanup(&ctx);
}

static void handle_get(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;

	memset(&ctx, 0, sizeof ctx);
	if (!auth_require(app, req, resp, ROLE_MEMBER, 0, &ctx))
		goto out;
	if (!util_is_snowflake(req->param))
		answer_not_found(resp);
	else
		answer_member_of(app, req->param, resp);
out:
	auth_ctx_cleanup(&ctx);
}

/* The caller and the body of a write: false with the answer in resp; both need cleanup either way. */
static bool admit_write(struct app *app, const struct http_req *req, struct http_resp *resp,
                        enum role min_role, enum members_mode mode, struct auth_ctx *ctx,
                        struct members_change *change)
{
	memset(ctx, 0, sizeof *ctx);
	memset(change, 0, sizeof *change);
	return auth_require(app, req, resp, min_role, 0, ctx) && members_change_read(req, resp, mode, change);
}

static void handle_create(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;
	struct members_change change;
	char location[64];
	enum db_status st;
	cJSON *member = NULL;

	if (!admit_write(app, req, resp, ROLE_ADMIN, MEMBERS_FOR_CREATE, &ctx, &change))
		goto out;
	st = member_events_create(app, req, ctx.user.id, &change, &member);
	if (st == DB_CONFLICT) {
		http_resp_error(resp, 409, "conflict", "A member with this discord_id already exists.");
		goto out;
	}
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	log_info("member %s created by user %s", change.discord_id, ctx.user.id);
	snprintf(location, sizeof location, "/api/members/%s", change.discord_id);
	answer_json(resp, 201, member);
	http_resp_header(resp, "Location", location);
out:
	cJSON_Delete(member);
	members_change_cleanup(&change);
	auth_ctx_cleanup(&ctx);
}

/*
 * The order the API promises: the body's 400s (syntax, unknown fields,
 * values) come first, then 404 for an id that cannot exist, then the 403s,
 * which need no row, and only then the one UPDATE, whose empty result is the
 * 404 of a well-formed id without a member.
 */
static void handle_patch(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;
	struct members_change change;
	const char *field = NULL;
	char detail[160];
	enum db_status st;
	cJSON *member = NULL;
	bool self, found = false;

	if (!admit_write(app, req, resp, ROLE_MEMBER, MEMBERS_FOR_PATCH, &ctx, &change))
		goto out;
	if (!util_is_snowflake(req->param)) {
		answer_not_found(resp);
		goto out;
	}
	self = ctx.user.discord_id != NULL && strcmp(ctx.user.discord_id, req->param) == 0;
	switch (members_change_allowed(&change, ctx.role, self, &field)) {
	case MEMBERS_ALLOWED:
		break;
	case MEMBERS_FORBIDDEN:
		http_resp_error(resp, 403, "forbidden", "Members may change only their own profile.");
		goto out;
	case MEMBERS_FORBIDDEN_FIELD:
		snprintf(detail, sizeof detail, "Your role does not allow you to change %s%s.", field,
		         self ? "" : " of another member");
		http_resp_field_error(resp, 403, "forbidden_field", detail, field);
		goto out;
	}
	st = member_events_update(app, req, ctx.user.id, req->param, &change, &member, &found);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!found) {
		answer_not_found(resp);
		goto out;
	}
	log_info("member %s changed by user %s", req->param, ctx.user.id);
	answer_json(resp, 200, member);
out:
	cJSON_Delete(member);
	members_change_cleanup(&change);
	auth_ctx_cleanup(&ctx);
}

static void handle_delete(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;
	enum db_status st;
	bool found = false;

	memset(&ctx, 0, sizeof ctx);
	if (!auth_require(app, req, resp, ROLE_ADMIN, 0, &ctx))
		goto out;
	if (!util_is_snowflake(req->param)) {
		answer_not_found(resp);
		goto out;
	}
	st = member_events_delete(app, req, ctx.user.id, req->param, &found);
	if (st != DB_OK)
		app_answer_db_error(resp, st);
	else if (!found)
		answer_not_found(resp);
	else {
		log_info("member %s deleted by user %s", req->param, ctx.user.id);
		http_resp_empty(resp, 204);
	}
out:
	auth_ctx_cleanup(&ctx);
}

int main(int argc, char **argv)
{
	/*
	 * The dispatcher takes the first route that matches a path and method:
	 * GET /api/members/me sits before the {discord_id} pattern, while PATCH
	 * and DELETE of /api/members/me reach the pattern with "me", which is no
	 * Discord id, hence 404.
	 */
	static const struct route routes[] = {
		{"GET", "/api/members", handle_list, 0, 0},
		{"POST", "/api/members", handle_create, ROUTE_BODY_JSON, 0},
		{"GET", "/api/members/me", handle_me, 0, 0},
		{"GET", "/api/members/{discord_id}", handle_get, 0, 0},
		{"PATCH", "/api/members/{discord_id}", handle_patch, ROUTE_BODY_JSON, 0},
		{"DELETE", "/api/members/{discord_id}", handle_delete, 0, 0},
	};
	static const struct program prog = {
		.name = "members",
		.routes = routes,
		.nroutes = UTIL_ARRAY_LEN(routes),
		.config_needs = CONFIG_NEED_DB | CONFIG_NEED_JWT,
	};

	return serve_main(&prog, argc, argv);
}

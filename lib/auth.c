#include "auth.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "json.h"
#include "jwt.h"
#include "log.h"
#include "sessions.h"
#include "util.h"

#define JTI_BYTES 32    /* 256 random bits; 43 base64url characters */

static const char *const role_names[ROLE__MAX] = {"member", "officer", "admin"};

int auth_role_parse(const char *name, enum role *out)
{
	for (int i = 0; i < ROLE__MAX; i++)
		if (name != NULL && strcmp(name, role_names[i]) == 0) {
			*out = (enum role)i;
			return 0;
		}
	return -1;
}

const char *auth_role_name(enum role r)
{
	return r >= 0 && r < ROLE__MAX ? role_names[r] : "member";
}

void auth_ctx_cleanup(struct auth_ctx *ctx)
{
	user_cleanup(&ctx->user);
	free(ctx->jti);
	memset(ctx, 0, sizeof *ctx);
}

/* ---- tokens --------------------------------------------------------------- */

/* The presented token (the Authorization header wins over the cookie), or NULL. */
static char *token_dup(const struct http_req *req, bool *via_cookie)
{
	const char *h = http_req_header(req, "Authorization");
	size_t n;

	*via_cookie = false;
	/* Another scheme (Basic from a proxy in front, say) is not ours to judge. */
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ')
			h++;
		n = strlen(h);
		while (n > 0 && h[n - 1] == ' ')
			n--;
		return strndup(h, n);
	}
	*via_cookie = true;
	return http_req_cookie_dup(req, AUTH_COOKIE);
}

static bool is_decimal_id(const char *s)
{
	long v;

	return util_parse_long(s, 1, 2147483647L, &v) == 0 && s[0] != '-';
}

/*
 * Signature and claims: on success *user_id and *jti are the token's sub and
 * jti (newly allocated). Sessions are an allow-list, so a token without a
 * usable jti or sub is as good as none.
 */
static bool token_session(const struct config *cfg, const char *token, char **user_id, char **jti)
{
	struct jwt_key key, previous;
	cJSON *claims = NULL;
	const char *sub, *id;
	enum jwt_result r;
	bool ok = false;

	*user_id = *jti = NULL;
	if (token == NULL || *token == '\0')
		return false;
	config_jwt_keys(cfg, &key, &previous);
	r = jwt_verify(&key, previous.secret != NULL ? &previous : NULL, token, util_now(),
	               cfg->jwt_issuer, &claims);
	if (r != JWT_OK) {
		log_info("token refused: %s", jwt_result_name(r));
		goto out;
	}
	sub = json_string(claims, "sub");
	id = json_string(claims, "jti");
	if (sub == NULL || !is_decimal_id(sub) || id == NULL || *id == '\0' ||
	    strlen(id) > SESSIONS_JTI_MAX) {
		log_info("token refused: no usable sub or jti");
		goto out;
	}
	*user_id = strdup(sub);
	*jti = strdup(id);
	ok = *user_id != NULL && *jti != NULL;
	if (!ok) {
		free(*user_id);
		free(*jti);
		*user_id = *jti = NULL;
	}
out:
	cJSON_Delete(claims);
	return ok;
}

bool auth_presented_session(const struct app *app, const struct http_req *req, char **user_id,
                            char **jti, bool *via_cookie)
{
	char *token = token_dup(req, via_cookie);
	bool ok = token_session(app->cfg, token, user_id, jti);

	util_free_secret(token);
	return ok;
}

/* ---- identify ------------------------------------------------------------- */

enum auth_result auth_identify(struct app *app, const struct http_req *req, struct auth_ctx *ctx)
{
	enum auth_result rc = AUTH_NONE;
	char *user_id = NULL, *jti = NULL;
	bool via_cookie = false, found = false;
	enum db_status st;

	memset(ctx, 0, sizeof *ctx);
	if (!auth_presented_session(app, req, &user_id, &jti, &via_cookie))
		goto out;
	st = users_find_by_session(&app->auth_db, jti, user_id, &ctx->user, &found);
	if (st != DB_OK) {
		rc = st == DB_UNAVAILABLE ? AUTH_UNAVAILABLE : AUTH_ERROR;
		goto out;
	}
	if (!found) {
		log_info("token refused: session unknown, revoked or expired");
		goto out;
	}
	if (!ctx->user.is_active) {
		log_info("token refused: user %s is disabled", ctx->user.id);
		user_cleanup(&ctx->user);
		goto out;
	}
	if (auth_role_parse(ctx->user.role, &ctx->role) == -1) {
		/* A role this build does not know grants nothing beyond a member's. */
		log_warn("user %s has an unknown role; treated as member", ctx->user.id);
		ctx->role = ROLE_MEMBER;
	}
	ctx->jti = jti;
	jti = NULL;
	ctx->via_cookie = via_cookie;
	rc = AUTH_OK;
out:
	free(user_id);
	free(jti);
	return rc;
}

/* ---- CSRF ----------------------------------------------------------------- */

bool auth_csrf_ok(const struct app *app, const struct http_req *req)
{
	return app->cfg->public_origin != NULL && http_req_from_origin(req, app->cfg->public_origin);
}

static bool is_unsafe_method(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 || strcmp(m, "PUT") == 0 ||
	       strcmp(m, "DELETE") == 0;
}

/* ---- the gate ------------------------------------------------------------- */

bool auth_require(struct app *app, const struct http_req *req, struct http_resp *resp,
                  enum role min_role, unsigned flags, struct auth_ctx *ctx)
{
	enum auth_result r = auth_identify(app, req, ctx);

	if (r == AUTH_NONE) {
		http_resp_error(resp, 401, "not_authenticated", "A valid session token is required.");
		return false;
	}
	if (r != AUTH_OK) {
		app_answer_db_error(resp, r == AUTH_UNAVAILABLE ? DB_UNAVAILABLE : DB_ERROR);
		return false;
	}
	if (ctx->via_cookie && is_unsafe_method(req->method) && !auth_csrf_ok(app, req)) {
		log_info("csrf refused for user %s", ctx->user.id);
		http_resp_error(resp, 403, "csrf_failed",
		                "A cookie-authenticated request must come from this site's origin.");
		goto refuse;
	}
	if (ctx->user.must_change_password && !(flags & AUTH_ALLOW_PENDING_CHANGE)) {
		http_resp_error(resp, 403, "password_change_required",
		                "Change your password (POST /api/auth/password) first.");
		goto refuse;
	}
	if (ctx->role < min_role) {
		http_resp_error(resp, 403, "forbidden", "Your role does not allow this.");
		goto refuse;
	}
	return true;
refuse:
	auth_ctx_cleanup(ctx);
	return false;
}

/* ---- sessions ------------------------------------------------------------- */

static cJSON *claims_new(const struct config *cfg, const struct user *u, const char *jti,
                         int64_t now)
{
	cJSON *c = cJSON_CreateObject();

	if (c != NULL && cJSON_AddStringToObject(c, "sub", u->id) != NULL &&
	    cJSON_AddStringToObject(c, "username", u->username) != NULL &&
	    cJSON_AddStringToObject(c, "role", u->role) != NULL &&
	    cJSON_AddNumberToObject(c, "iat", (double)now) != NULL &&
	    cJSON_AddNumberToObject(c, "exp", (double)(now + config_token_lifetime(cfg))) != NULL &&
	    cJSON_AddStringToObject(c, "jti", jti) != NULL &&
	    cJSON_AddStringToObject(c, "iss", cfg->jwt_issuer) != NULL &&
	    cJSON_AddBoolToObject(c, "must_change_password", u->must_change_password) != NULL)
		return c;
	cJSON_Delete(c);
	return NULL;
}

/* The User-Agent as stored: at most 256 bytes, cut at a character boundary, bytes of invalid UTF-8 as '?'. */
static const char *user_agent_clip(const struct http_req *req, char out[SESSIONS_USER_AGENT_MAX + 1])
{
	const char *ua = req != NULL ? http_req_header(req, "User-Agent") : NULL;

	if (ua == NULL || *ua == '\0')
		return NULL;
	audit_clip(ua, out, SESSIONS_USER_AGENT_MAX);
	if (!util_is_utf8(out, strlen(out)))
		for (char *p = out; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	return out;
}

enum db_status auth_session_start(struct app *app, const struct user *u, const struct http_req *req,
                                  const char *method, char **token)
{
	const struct config *cfg = app->cfg;
	struct jwt_key key, previous;
	enum db_status st = DB_ERROR;
	int64_t now = util_now();
	char *jti = util_random_token_new(JTI_BYTES);
	char ua[SESSIONS_USER_AGENT_MAX + 1], ip[AUDIT_ADDR_MAX + 1];
	struct sessions_meta meta = {NULL, NULL, method};
	cJSON *claims = NULL;

	*token = NULL;
	if (jti == NULL)
		goto out;
	if (req != NULL && req->remote_addr[0] != '\0')
		meta.ip = audit_clip(req->remote_addr, ip, AUDIT_ADDR_MAX);
	meta.user_agent = user_agent_clip(req, ua);
	st = sessions_insert(&app->auth_db, jti, u->id, now + config_token_lifetime(cfg), &meta);
	if (st != DB_OK)
		goto out;
	st = DB_ERROR;
	claims = claims_new(cfg, u, jti, now);
	config_jwt_keys(cfg, &key, &previous);
	if (claims == NULL || (*token = jwt_sign_new(&key, claims)) == NULL)
		goto out;
	st = DB_OK;
out:
	cJSON_Delete(claims);
	free(jti);
	return st;
}

int auth_answer_login(const struct app *app, const struct user *u, const char *token,
                      struct http_resp *resp)
{
	long lifetime = config_token_lifetime(app->cfg);
	cJSON *body = cJSON_CreateObject(), *user = users_to_json(u);
	int rc = -1;

	if (body == NULL || user == NULL)
		goto out;
	if (cJSON_AddStringToObject(body, "access_token", token) == NULL ||
	    cJSON_AddStringToObject(body, "token_type", "bearer") == NULL ||
	    cJSON_AddNumberToObject(body, "expires_in", (double)lifetime) == NULL ||
	    cJSON_AddBoolToObject(body, "must_change_password", u->must_change_password) == NULL)
		goto out;
	cJSON_AddItemToObject(body, "user", user);
	user = NULL;
	if (http_resp_cookie(resp, AUTH_COOKIE, token, lifetime,
	                     app->cfg->public_https ? HTTP_COOKIE_SECURE : 0) == -1 ||
	    http_resp_json(resp, 200, body) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		/* A half-built answer must not carry the session cookie. */
		buf_reset(&resp->headers);
		http_resp_error(resp, 500, "internal_error", "The login answer could not be built.");
	}
	cJSON_Delete(user);
	if (body != NULL) {
		/* The body holds the token; cJSON frees without wiping. */
		cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "access_token");
		if (cJSON_IsString(t))
			util_wipe(t->valuestring, strlen(t->valuestring));
	}
	cJSON_Delete(body);
	return rc;
}

void auth_clear_cookie(const struct app *app, struct http_resp *resp)
{
	http_resp_cookie(resp, AUTH_COOKIE, "", 0, app->cfg->public_https ? HTTP_COOKIE_SECURE : 0);
}

enum db_status auth_password_change(struct app *app, const struct http_req *req, struct user *u,
                                    const char *hash, bool *changed, char **token)
{
	struct audit_event ev = {"password_change", "ok", NULL, NULL, NULL, NULL, NULL};
	cJSON *detail = NULL;
	long revoked = 0;
	enum db_status st;

	*token = NULL;
	st = db_begin(&app->auth_db);
	if (st != DB_OK)
		return st;
	st = users_set_password(&app->auth_db, u, hash, changed);
	if (st == DB_OK && *changed)
		st = sessions_revoke_all(&app->auth_db, u->id, &revoked);
	if (st == DB_OK && *changed)
		st = auth_session_start(app, u, req, "password", token);
	if (st == DB_OK && *changed) {
		/* The row goes in with the change it records (u was refreshed: read its id now). */
		audit_from_req(&ev, req);
		ev.actor_user_id = ev.target = u->id;
		detail = cJSON_CreateObject();
		ev.detail = detail;
		st = detail != NULL && cJSON_AddNumberToObject(detail, "sessions_ended", (double)revoked)
		         ? audit_record(&app->auth_db, &ev)
		         : DB_ERROR;
	}
	if (st == DB_OK && *changed)
		st = db_commit(&app->auth_db);
	if (st != DB_OK || !*changed) {
		db_rollback(&app->auth_db);
		util_free_secret(*token);
		*token = NULL;
	}
	cJSON_Delete(detail);
	return st;
}

/*
 * login — password sign-in, sign-out and password change (API.md
 * "POST /api/auth/login", "/logout", "/password").
 *
 * Bodies: login takes JSON or a form, password JSON; fields other than the
 * ones named in API.md are ignored, a named field given twice is refused.
 * A NUL byte in a name or password (JSON \u0000, form %00) is refused as a
 * malformed request (400), so it can never cut a password short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "json.h"
#include "log.h"
#include "password.h"
#include "serve.h"
#include "sessions.h"
#include "throttle.h"
#include "util.h"

#define LOGIN_BODY_MAX (16 * 1024)
/* One sign-in in this many also deletes a batch of expired rows. */
#define PRUNE_ONE_IN 64
#define PRUNE_BATCH "500"

static void answer_bad_credentials(struct http_resp *resp)
{
	http_resp_error(resp, 401, "invalid_credentials", "The username or password is incorrect.");
}

static void answer_throttled(struct http_resp *resp, long retry_after)
{
	char secs[24];

	snprintf(secs, sizeof secs, "%ld", retry_after > 0 ? retry_after : 1);
	http_resp_error(resp, 429, "too_many_attempts",
	                "Too many failed sign-ins; try again after the Retry-After delay.");
	http_resp_header(resp, "Retry-After", secs);
}

/*
 * The sign-in throttle before a password is checked, for user u (NULL when
 * name matched nobody): true with the attempt's key in *key (caller frees),
 * false with the answer (429, 503 or 500) already in resp.
 */
static bool throttle_allows(struct app *app, const struct http_req *req, const struct user *u,
                            const char *name, const char *what, char **key,
                            struct http_resp *resp)
{
	long retry_after = 0;
	enum db_status st;

	*key = throttle_user_key_new(u, name);
	if (*key == NULL) {
		app_answer_db_error(resp, DB_ERROR);
		return false;
	}
	st = throttle_check(&app->auth_db, app->cfg, *key, req->remote_addr, &retry_after);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		return false;
	}
	if (retry_after > 0) {
		log_info("%s refused: too many failures (%s)", what,
		         u != NULL ? "known account" : "unknown name");
		answer_throttled(resp, retry_after);
		return false;
	}
	return true;
}

/* ---- request bodies ------------------------------------------------------- */

struct credentials {
	char *username;
	char *password;
};

static void credentials_cleanup(struct credentials *c)
{
	util_free_secret(c->username);
	util_free_secret(c->password);
	memset(c, 0, sizeof *c);
}

/* The JSON body as an object with no repeated keys, or NULL with a 400 in resp. */
static cJSON *json_body(const struct http_req *req, struct http_resp *resp)
{
	enum json_error err;
	cJSON *body = json_parse(req->body.data, req->body.len, &err);

	if (body == NULL) {
		http_resp_error(resp, 400, "invalid_request", json_error_detail(err));
		return NULL;
	}
	if (!cJSON_IsObject(body) || json_has_duplicate_keys(body)) {
		http_resp_error(resp, 400, "invalid_request",
		                "The body must be a JSON object without repeated keys.");
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

/* A string field copied out of the body (its copy in the tree is wiped). */
static char *take_string(cJSON *body, const char *key)
{
	cJSON *item = cJSON_GetObjectItemCaseSensitive(body, key);
	char *copy;

	if (!cJSON_IsString(item))
		return NULL;
	copy = strdup(item->valuestring);
	util_wipe(item->valuestring, strlen(item->valuestring));
	return copy;
}

static int credentials_from_json(const struct http_req *req, struct credentials *c,
                                 struct http_resp *resp)
{
	cJSON *body = json_body(req, resp);
	int rc = -1;

	if (body == NULL)
		return -1;
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "username")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "password"))) {
		http_resp_error(resp, 400, "invalid_request", "username and password must be strings.");
		goto out;
	}
	c->username = take_string(body, "username");
	c->password = take_string(body, "password");
	if (c->username == NULL || c->password == NULL) {
		http_resp_error(resp, 500, "internal_error", "Out of memory.");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(body);
	return rc;
}

static int credentials_from_form(const struct http_req *req, struct credentials *c,
                                 struct http_resp *resp)
{
	const char *form = req->body.data != NULL ? req->body.data : "";
	size_t len = req->body.len;

	if (http_form_count(form, len, "username") != 1 || http_form_count(form, len, "password") != 1) {
		http_resp_error(resp, 400, "invalid_request", "username and password are each required once.");
		return -1;
	}
	if (http_form_get(form, len, "username", &c->username) != 1 ||
	    http_form_get(form, len, "password", &c->password) != 1) {
		http_resp_error(resp, 400, "invalid_request", "The form body is malformed.");
		return -1;
	}
	/* The name goes to PostgreSQL as text; JSON bodies were checked by json_parse. */
	if (!util_is_utf8(c->username, strlen(c->username))) {
		http_resp_error(resp, 400, "invalid_request", "username is not valid UTF-8.");
		return -1;
	}
	return 0;
}

static int read_credentials(const struct http_req *req, struct credentials *c,
                            struct http_resp *resp)
{
	memset(c, 0, sizeof *c);
	if (http_req_is_content_type(req, "application/json"))
		return credentials_from_json(req, c, resp);
	return credentials_from_form(req, c, resp);
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
	bool found = false, ok;
	char *key = NULL, *new_hash = NULL;
	enum db_status st;

	memset(&u, 0, sizeof u);
	if (read_credentials(req, &c, resp) == -1)
		goto out;
	st = users_find_login(&app->auth_db, c.username, &u, &found);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!throttle_allows(app, req, found ? &u : NULL, c.username, "login", &key, resp))
		goto out;

	if (found && u.hashed_password != NULL) {
		ok = password_verify(c.password, strlen(c.password), u.hashed_password);
	} else {
		password_verify_dummy(c.password, strlen(c.password), cfg->bcrypt_cost);
		ok = false;
	}
	if (!ok) {
		/* A failure that cannot be counted is not answered as a plain failure. */
		st = throttle_record_failure(&app->auth_db, cfg, key, req->remote_addr);
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
	if (!u.is_active) {
		log_info("login refused: user %s is disabled", u.id);
		http_resp_error(resp, 403, "account_disabled", "This account is disabled.");
		goto out;
	}

	if (password_hash_cost(u.hashed_password) < cfg->bcrypt_cost) {
		/* A failed re-hash only postpones the upgrade to the next sign-in. */
		new_hash = password_hash_new(c.password, strlen(c.password), cfg->bcrypt_cost);
	}
	st = users_record_login(&app->auth_db, &u, new_hash);
	if (st == DB_OK)
		st = throttle_clear(&app->auth_db, key);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (auth_issue_login(app, &u, resp) == 0)
		log_info("login of user %s%s", u.id, new_hash != NULL ? " (password re-hashed)" : "");
	maybe_prune(app);
out:
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
		st = sessions_revoke(&app->auth_db, user_id, jti);
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

struct password_change {
	char *current; /* NULL when not given */
	char *next;
};

static void password_change_cleanup(struct password_change *p)
{
	util_free_secret(p->current);
	util_free_secret(p->next);
	memset(p, 0, sizeof *p);
}

static int read_password_change(const struct http_req *req, bool has_password,
                                struct password_change *p, struct http_resp *resp)
{
	cJSON *body = json_body(req, resp), *current;
	int rc = -1;

	memset(p, 0, sizeof *p);
	if (body == NULL)
		return -1;
	current = cJSON_GetObjectItemCaseSensitive(body, "current_password");
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "new_password"))) {
		http_resp_error(resp, 400, "invalid_request", "new_password must be a string.");
		goto out;
	}
	/* null is how a client says "I have no password yet". */
	if (current != NULL && !cJSON_IsString(current) && !cJSON_IsNull(current)) {
		http_resp_error(resp, 400, "invalid_request", "current_password must be a string.");
		goto out;
	}
	if (has_password && !cJSON_IsString(current)) {
		http_resp_error(resp, 400, "invalid_request", "current_password is required.");
		goto out;
	}
	p->next = take_string(body, "new_password");
	if (cJSON_IsString(current))
		p->current = take_string(body, "current_password");
	if (p->next == NULL || (cJSON_IsString(current) && p->current == NULL)) {
		http_resp_error(resp, 500, "internal_error", "Out of memory.");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(body);
	return rc;
}

/*
 * The new hash, the revocation of every session and the new session commit
 * together: a failure half way leaves the old password and sessions intact.
 */
static enum db_status store_password(struct app *app, struct user *u, const char *hash,
                                     bool *changed, char **token)
{
	enum db_status st;

	*token = NULL;
	st = db_begin(&app->auth_db);
	if (st != DB_OK)
		return st;
	st = users_set_password(&app->auth_db, u, hash, changed);
	if (st == DB_OK && *changed)
		st = sessions_revoke_all(&app->auth_db, u->id, NULL);
	if (st == DB_OK && *changed)
		st = auth_session_start(app, u, token);
	if (st == DB_OK && *changed)
		st = db_commit(&app->auth_db);
	if (st != DB_OK || !*changed) {
		db_rollback(&app->auth_db);
		util_free_secret(*token);
		*token = NULL;
	}
	return st;
}

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
	if (read_password_change(req, ctx.user.hashed_password != NULL, &p, resp) == -1)
		goto out;
	/* A current password sent by a user who has none is nothing to compare with. */
	weak = password_policy_check(p.next, strlen(p.next), ctx.user.username,
	                             ctx.user.hashed_password != NULL ? p.current : NULL);
	if (weak != NULL) {
		http_resp_error(resp, 400, "weak_password", weak);
		goto out;
	}

	/* Guessing the current password with a stolen session counts like guessing at login. */
	if (!throttle_allows(app, req, &ctx.user, ctx.user.username, "password change", &key, resp))
		goto out;
	if (ctx.user.hashed_password != NULL &&
	    !password_verify(p.current, strlen(p.current), ctx.user.hashed_password)) {
		st = throttle_record_failure(&app->auth_db, cfg, key, req->remote_addr);
		if (st != DB_OK) {
			app_answer_db_error(resp, st);
			goto out;
		}
		log_info("password change refused for user %s: wrong current password", ctx.user.id);
		answer_bad_credentials(resp);
		goto out;
	}

	hash = password_hash_new(p.next, strlen(p.next), cfg->bcrypt_cost);
	if (hash == NULL) {
		http_resp_error(resp, 500, "internal_error", "The password could not be hashed.");
		goto out;
	}
	st = store_password(app, &ctx.user, hash, &changed, &token);
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

int main(int argc, char **argv)
{
	static const struct route routes[] = {
		{"POST", "/api/auth/login", handle_login, ROUTE_BODY_JSON | ROUTE_BODY_FORM, LOGIN_BODY_MAX},
		{"POST", "/api/auth/logout", handle_logout, 0, 0},
		{"POST", "/api/auth/password", handle_password, ROUTE_BODY_JSON, 0},
	};
	static const struct program prog = {
		.name = "login",
		.routes = routes,
		.nroutes = UTIL_ARRAY_LEN(routes),
		.config_needs = CONFIG_NEED_DB | CONFIG_NEED_JWT,
	};

	return serve_main(&prog, argc, argv);
}

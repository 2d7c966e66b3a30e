/*
 * totp_flow — the multi-step flows of two-factor sign-in (API.md
 * "Two-factor sign-in") behind the login program's routes: checking and
 * using up a code, setup, enable, disable, the second step of a sign-in and
 * the code a password change asks for, each with its transaction and audit
 * row. See totp_flow.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_events.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "mfa.h"
#include "password.h"
#include "throttle.h"
#include "totp.h"
#include "totp_flow.h"
#include "totp_store.h"
#include "util.h"

static void answer_invalid_code(struct http_resp *resp)
{
	http_resp_error(resp, 401, "invalid_code", "The code is wrong or was already used.");
}

/*
 * Checks code, a TOTP or recovery code of user_id, and uses it up (the step
 * can never be accepted again; the recovery code is deleted). *ok false for a
 * wrong, malformed or already used code; *kind says which kind of code it
 * was ("totp" or "recovery_code"). A secret that does not open under
 * TOTP_KEY is DB_ERROR (logged): the key changed, or the row was tampered with.
 */
static enum db_status use_code(struct app *app, const char *user_id, const char *code, bool *ok,
                               const char **kind)
{
	unsigned char secret[TOTP_SECRET_BYTES];
	char hash[TOTP_HASH_HEX + 1];
	struct totp_row row;
	enum db_status st;
	int64_t step = 0;
	int match;

	*ok = false;
	*kind = totp_is_code(code) ? "totp" : "recovery_code";
	if (!totp_is_code(code)) {
		if (totp_recovery_hash(user_id, code, hash) == -1)
			return DB_OK; /* neither kind of code: simply wrong */
		st = totp_store_use_recovery(&app->auth_db, user_id, hash, ok);
		if (st == DB_OK && *ok)
			log_info("recovery code used by user %s", user_id);
		return st;
	}
	st = totp_store_load(&app->auth_db, user_id, &row);
	if (st != DB_OK || !row.found || !row.enabled)
		return st;
	if (totp_open(app->cfg->totp_key, user_id, &row.sealed, secret) == -1) {
		log_error("the TOTP secret of user %s does not open under TOTP_KEY", user_id);
		return DB_ERROR;
	}
	match = totp_verify(secret, sizeof secret, util_now(), code, &step);
	util_wipe(secret, sizeof secret);
	if (match == -1)
		return DB_ERROR;
	if (match == 1) {
		st = totp_store_use_step(&app->auth_db, user_id, step, ok);
		if (st == DB_OK && !*ok)
			log_info("TOTP code of user %s refused: its step was already used", user_id);
	}
	return st;
}

/*
 * A wrong code: counted like a wrong password, with its audit row (event),
 * then 401 invalid_code. key is NULL when the attempt was reserved (by
 * auth_events_throttle) and so is counted already.
 */
static void refuse_code(struct app *app, const struct http_req *req, const char *key,
                        const char *user_id, const char *event, struct http_resp *resp)
{
	enum db_status st = auth_events_failure(app, req, key, event, "invalid_code", user_id);

	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		return;
	}
	log_info("%s refused for user %s: wrong code", event, user_id);
	answer_invalid_code(resp);
}

/* The body's string fields names[0..n-1] into out[] (caller frees); false with a 400 in resp. */
static bool read_fields(const struct http_req *req, const char *const *names, char **out, size_t n,
                        struct http_resp *resp)
{
	cJSON *body = http_req_json_object(req, resp);
	bool ok = false;

	for (size_t i = 0; i < n; i++)
		out[i] = NULL;
	if (body == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, names[i]))) {
			char detail[96];
			snprintf(detail, sizeof detail, "%s must be a string.", names[i]);
			http_resp_error(resp, 400, "invalid_request", detail);
			goto out;
		}
		out[i] = json_take_string(body, names[i]);
		if (out[i] == NULL) {
			http_resp_error(resp, 500, "internal_error", "Out of memory.");
			goto out;
		}
	}
	ok = true;
out:
	cJSON_Delete(body);
	if (!ok)
		for (size_t i = 0; i < n; i++) {
			util_free_secret(out[i]);
			out[i] = NULL;
		}
	return ok;
}

/* ---- GET /api/auth/totp ------------------------------------------------------ */

void totp_flow_status(struct app *app, const struct user *u, struct http_resp *resp)
{
	bool enabled, pending;
	long left;
	enum db_status st;
	cJSON *body = NULL;

	st = totp_store_status(&app->auth_db, u->id, &enabled, &pending, &left);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	body = cJSON_CreateObject();
	if (body == NULL || cJSON_AddBoolToObject(body, "enabled", enabled) == NULL ||
	    cJSON_AddBoolToObject(body, "pending", pending) == NULL ||
	    cJSON_AddNumberToObject(body, "recovery_codes_left", (double)left) == NULL ||
	    cJSON_AddBoolToObject(body, "password_account", u->hashed_password != NULL) == NULL ||
	    http_resp_json(resp, 200, body) == -1)
		http_resp_error(resp, 500, "internal_error", "The answer could not be built.");
out:
	cJSON_Delete(body);
}

/* ---- POST /api/auth/totp/setup ------------------------------------------------ */

void totp_flow_setup(struct app *app, const struct user *u, struct http_resp *resp)
{
	unsigned char secret[TOTP_SECRET_BYTES];
	struct totp_sealed sealed;
	char *b32 = NULL, *uri = NULL;
	cJSON *body = NULL;
	bool stored;
	enum db_status st;

	if (u->hashed_password == NULL) {
		http_resp_error(resp, 400, "invalid_request",
		                "Two-factor sign-in is for accounts with a password; set one first.");
		goto out;
	}
	if (totp_secret_generate(secret) == -1 ||
	    totp_seal(app->cfg->totp_key, u->id, secret, &sealed) == -1 ||
	    (b32 = totp_base32_new(secret, sizeof secret)) == NULL ||
	    (uri = totp_uri_new(u->username, b32)) == NULL) {
		http_resp_error(resp, 500, "internal_error", "The secret could not be made.");
		goto out;
	}
	st = totp_store_set_pending(&app->auth_db, u->id, &sealed, &stored);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!stored) {
		http_resp_error(resp, 409, "conflict",
		                "Two-factor sign-in is already on; turn it off first to set up a new one.");
		goto out;
	}
	body = cJSON_CreateObject();
	if (body == NULL || cJSON_AddStringToObject(body, "secret", b32) == NULL ||
	    cJSON_AddStringToObject(body, "otpauth_uri", uri) == NULL ||
	    http_resp_json(resp, 200, body) == -1) {
		http_resp_error(resp, 500, "internal_error", "The answer could not be built.");
		goto out;
	}
	log_info("TOTP setup started by user %s", u->id);
out:
	if (body != NULL) {
		cJSON *s = cJSON_GetObjectItemCaseSensitive(body, "secret");
		cJSON *o = cJSON_GetObjectItemCaseSensitive(body, "otpauth_uri");
		if (cJSON_IsString(s))
			util_wipe(s->valuestring, strlen(s->valuestring));
		if (cJSON_IsString(o))
			util_wipe(o->valuestring, strlen(o->valuestring));
		cJSON_Delete(body);
	}
	util_wipe(secret, sizeof secret);
	util_free_secret(b32);
	util_free_secret(uri);
}

/* ---- POST /api/auth/totp/enable ------------------------------------------------ */

/* Turning it on and its audit row commit whole or not at all. */
static enum db_status enable(struct app *app, const struct http_req *req, const char *user_id,
                             const struct totp_sealed *s, int64_t step, const char *const *hashes,
                             bool *enabled)
{
	enum db_status st = db_begin(&app->auth_db);

	*enabled = false;
	if (st == DB_OK)
		st = totp_store_enable(&app->auth_db, user_id, s, step, hashes, TOTP_RECOVERY_CODES,
		                       enabled);
	if (st == DB_OK && *enabled)
		st = auth_events_record(app, req, "totp_enable", "ok", user_id, user_id, NULL);
	if (st == DB_OK && *enabled)
		st = db_commit(&app->auth_db);
	if (st != DB_OK || !*enabled)
		db_rollback(&app->auth_db);
	return st;
}

static cJSON *recovery_codes_new(const char *user_id, char hashes[][TOTP_HASH_HEX + 1])
{
	cJSON *list = cJSON_CreateArray();
	char code[TOTP_RECOVERY_LEN + 1];

	for (int i = 0; list != NULL && i < TOTP_RECOVERY_CODES; i++) {
		cJSON *item;
		if (totp_recovery_code(code) == -1 || totp_recovery_hash(user_id, code, hashes[i]) == -1 ||
		    (item = cJSON_CreateString(code)) == NULL) {
			cJSON_Delete(list);
			list = NULL;
			break;
		}
		cJSON_AddItemToArray(list, item);
	}
	util_wipe(code, sizeof code);
	return list;
}

static void wipe_strings(cJSON *array)
{
	cJSON *item;

	cJSON_ArrayForEach(item, array)
		if (cJSON_IsString(item))
			util_wipe(item->valuestring, strlen(item->valuestring));
}

void totp_flow_enable(struct app *app, const struct http_req *req, const struct user *u,
                      struct http_resp *resp)
{
	static const char *const fields[] = {"code"};
	char hashes[TOTP_RECOVERY_CODES][TOTP_HASH_HEX + 1];
	const char *hash_list[TOTP_RECOVERY_CODES];
	unsigned char secret[TOTP_SECRET_BYTES];
	struct totp_row row;
	char *code = NULL;
	cJSON *body = NULL, *codes = NULL;
	bool enabled = false;
	int64_t step = 0;
	int match;
	enum db_status st;

	memset(secret, 0, sizeof secret);
	if (!read_fields(req, fields, &code, 1, resp))
		goto out;
	st = totp_store_load(&app->auth_db, u->id, &row);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (row.found && row.enabled) {
		http_resp_error(resp, 409, "conflict", "Two-factor sign-in is already on.");
		goto out;
	}
	if (!row.found) {
		http_resp_error(resp, 400, "invalid_request",
		                "There is no pending setup; call POST /api/auth/totp/setup first.");
		goto out;
	}
	if (totp_open(app->cfg->totp_key, u->id, &row.sealed, secret) == -1) {
		log_error("the pending TOTP secret of user %s does not open under TOTP_KEY", u->id);
		http_resp_error(resp, 500, "internal_error", "The pending secret could not be read.");
		goto out;
	}
	match = totp_verify(secret, sizeof secret, util_now(), code, &step);
	if (match == -1) {
		http_resp_error(resp, 500, "internal_error", "The code could not be checked.");
		goto out;
	}
	if (match == 0) {
		log_info("TOTP enable refused for user %s: wrong code", u->id);
		/* Its row only: a wrong first code guesses nothing, so it is not throttled. */
		st = auth_events_failure(app, req, NULL, "totp_enable", "invalid_code", u->id);
		if (st != DB_OK) {
			app_answer_db_error(resp, st);
			goto out;
		}
		http_resp_error(resp, 400, "invalid_code",
		                "The code does not match the new secret; check the phone's clock.");
		goto out;
	}
	codes = recovery_codes_new(u->id, hashes);
	if (codes == NULL) {
		http_resp_error(resp, 500, "internal_error", "Recovery codes could not be made.");
		goto out;
	}
	for (int i = 0; i < TOTP_RECOVERY_CODES; i++)
		hash_list[i] = hashes[i];
	st = enable(app, req, u->id, &row.sealed, step, hash_list, &enabled);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!enabled) {
		http_resp_error(resp, 409, "conflict",
		                "The setup changed meanwhile (another setup or enable); start again.");
		goto out;
	}
	body = cJSON_CreateObject();
	if (body == NULL) {
		http_resp_error(resp, 500, "internal_error", "The answer could not be built.");
		goto out;
	}
	cJSON_AddItemToObject(body, "recovery_codes", codes);
	codes = NULL;
	if (http_resp_json(resp, 200, body) == -1) {
		http_resp_error(resp, 500, "internal_error", "The answer could not be built.");
		goto out;
	}
	log_info("TOTP enabled for user %s", u->id);
out:
	if (body != NULL) {
		wipe_strings(cJSON_GetObjectItemCaseSensitive(body, "recovery_codes"));
		cJSON_Delete(body);
	}
	if (codes != NULL) {
		wipe_strings(codes);
		cJSON_Delete(codes);
	}
	util_wipe(secret, sizeof secret);
	util_free_secret(code);
}

/* ---- POST /api/auth/totp/disable ------------------------------------------------ */

/* Turning it off and its audit row (which kind of code confirmed it) commit whole or not at all. */
static enum db_status disable(struct app *app, const struct http_req *req, const char *user_id,
                              const char *kind)
{
	cJSON *detail = cJSON_CreateObject();
	enum db_status st = detail != NULL && cJSON_AddStringToObject(detail, "code", kind) != NULL
	                            ? db_begin(&app->auth_db)
	                            : DB_ERROR;
	bool removed = false;

	if (st == DB_OK)
		st = totp_store_remove(&app->auth_db, user_id, &removed);
	if (st == DB_OK)
		st = auth_events_record(app, req, "totp_disable", "ok", user_id, user_id, detail);
	if (st == DB_OK)
		st = db_commit(&app->auth_db);
	if (st != DB_OK)
		db_rollback(&app->auth_db);
	cJSON_Delete(detail);
	return st;
}

void totp_flow_disable(struct app *app, const struct http_req *req, const struct user *u,
                       struct http_resp *resp)
{
	static const char *const fields[] = {"password", "code"};
	char *in[2] = {NULL, NULL}, *key = NULL;
	const char *kind = NULL;
	bool enabled, ok;
	enum db_status st;

	if (!read_fields(req, fields, in, 2, resp))
		goto out;
	st = totp_store_is_enabled(&app->auth_db, u->id, &enabled);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!enabled) {
		http_resp_error(resp, 409, "conflict", "Two-factor sign-in is not on.");
		goto out;
	}
	/* Guessing with a stolen session counts like guessing at login. */
	if (!auth_events_throttle(app, req, u, u->username, "TOTP disable",
	                          "totp_disable", &key, resp))
		goto out;
	if (u->hashed_password == NULL ||
	    !password_verify(in[0], strlen(in[0]), u->hashed_password)) {
		/* Reserved by auth_events_throttle: the row only. */
		st = auth_events_failure(app, req, NULL, "totp_disable", "invalid_credentials",
		                         u->id);
		if (st != DB_OK) {
			app_answer_db_error(resp, st);
			goto out;
		}
		log_info("TOTP disable refused for user %s: wrong password", u->id);
		http_resp_error(resp, 401, "invalid_credentials", "The password is incorrect.");
		goto out;
	}
	st = use_code(app, u->id, in[1], &ok, &kind);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!ok) {
		refuse_code(app, req, NULL, u->id, "totp_disable", resp);
		goto out;
	}
	st = disable(app, req, u->id, kind);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (throttle_release(&app->auth_db, key, req->remote_addr) != DB_OK ||
	    throttle_clear(&app->auth_db, key) != DB_OK)
		log_warn("could not clear the sign-in failures of user %s", u->id);
	log_info("TOTP disabled by user %s", u->id);
	http_resp_empty(resp, 204);
out:
	util_free_secret(in[0]);
	util_free_secret(in[1]);
	free(key);
}

/* ---- POST /api/auth/login/totp --------------------------------------------------- */

static void answer_step_gone(struct http_resp *resp)
{
	http_resp_error(resp, 401, "invalid_credentials",
	                "This sign-in has expired or was finished; sign in with the password again.");
}

/* The audit event of a sign-in whose first factor was method. */
static const char *sign_in_event(const char *method)
{
	return strcmp(method, "discord") == 0 ? "discord_login" : "login";
}

/*
 * Token, code, the user's last_login, the new session (of the first factor's
 * method) and the audit row commit together: a failure half way leaves the
 * token and the code unused.
 */
static enum db_status finish_sign_in(struct app *app, const struct http_req *req,
                                     const char *token_hash, struct user *u, const char *method,
                                     const char *code, bool *token_ok, bool *code_ok, char **jwt)
{
	cJSON *detail = cJSON_CreateObject();
	const char *kind = NULL;
	enum db_status st = detail != NULL ? db_begin(&app->auth_db) : DB_ERROR;

	*token_ok = *code_ok = false;
	*jwt = NULL;
	if (st == DB_OK)
		st = totp_store_mfa_consume(&app->auth_db, token_hash, u->id, token_ok);
	if (st == DB_OK && *token_ok)
		st = use_code(app, u->id, code, code_ok, &kind);
	if (st == DB_OK && *token_ok && *code_ok)
		st = users_record_login(&app->auth_db, u, NULL);
	if (st == DB_OK && *token_ok && *code_ok)
		st = auth_session_start(app, u, req, method, jwt);
	if (st == DB_OK && *token_ok && *code_ok &&
	    (cJSON_AddStringToObject(detail, "method", method) == NULL ||
	     cJSON_AddStringToObject(detail, "second_factor", kind) == NULL ||
	     (u->must_change_password && cJSON_AddTrueToObject(detail, "must_change_password") == NULL)))
		st = DB_ERROR;
	if (st == DB_OK && *token_ok && *code_ok)
		st = auth_events_record(app, req, sign_in_event(method), "ok", u->id, u->id, detail);
	if (st == DB_OK && *token_ok && *code_ok)
		st = db_commit(&app->auth_db);
	if (st != DB_OK || !*token_ok || !*code_ok) {
		db_rollback(&app->auth_db);
		util_free_secret(*jwt);
		*jwt = NULL;
	}
	cJSON_Delete(detail);
	return st;
}

void totp_flow_login(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	static const char *const fields[] = {"mfa_token", "code"};
	char hash[TOTP_HASH_HEX + 1];
	char *in[2] = {NULL, NULL}, *user_id = NULL, *method = NULL, *key = NULL, *jwt = NULL;
	struct user u;
	bool found = false, token_ok, code_ok;
	enum db_status st;

	memset(&u, 0, sizeof u);
	if (!read_fields(req, fields, in, 2, resp))
		goto out;
	if (totp_token_hash(in[0], hash) == -1) {
		http_resp_error(resp, 500, "internal_error", "The token could not be checked.");
		goto out;
	}
	st = totp_store_mfa_user(&app->auth_db, hash, &user_id, &method);
	if (st == DB_OK && user_id != NULL)
		st = users_find_by_id(&app->auth_db, user_id, &u, &found);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!found) {
		log_info("second sign-in step refused: unknown, used or expired mfa_token");
		answer_step_gone(resp);
		goto out;
	}
	if (!u.is_active) {
		log_info("login refused: user %s is disabled", u.id);
		auth_events_failure(app, req, NULL, sign_in_event(method), "account_disabled", u.id);
		http_resp_error(resp, 403, "account_disabled", "This account is disabled.");
		goto out;
	}
	if (!auth_events_throttle(app, req, &u, u.username, "second sign-in step",
	                          sign_in_event(method), &key, resp))
		goto out;
	st = finish_sign_in(app, req, hash, &u, method, in[1], &token_ok, &code_ok, &jwt);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!token_ok) {
		log_info("second sign-in step of user %s refused: mfa_token used meanwhile", u.id);
		answer_step_gone(resp);
		goto out;
	}
	if (!code_ok) {
		refuse_code(app, req, NULL, u.id, sign_in_event(method), resp);
		goto out;
	}
	if (throttle_release(&app->auth_db, key, req->remote_addr) != DB_OK ||
	    throttle_clear(&app->auth_db, key) != DB_OK)
		log_warn("could not clear the sign-in failures of user %s", u.id);
	/* A Discord sign-in was counted by the callback already. */
	if (strcmp(method, "password") == 0)
		metrics_login("password", "ok");
	if (auth_answer_login(app, &u, jwt, resp) == 0)
		log_info("login of user %s (%s, then a second factor)", u.id, method);
out:
	util_free_secret(jwt);
	util_free_secret(in[0]);
	util_free_secret(in[1]);
	free(user_id);
	free(method);
	free(key);
	user_cleanup(&u);
}

/* ---- the password step of POST /api/auth/login ----------------------------------- */

bool totp_flow_password_step(struct app *app, const struct user *u, struct http_resp *resp)
{
	char *token = NULL;
	enum db_status st = mfa_begin(app, u, "password", &token);

	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		return false;
	}
	if (token == NULL)
		return true;
	if (mfa_answer_json(resp, token) == 0)
		log_info("login of user %s: password right, waiting for the second factor", u->id);
	util_free_secret(token);
	return false;
}

/* ---- POST /api/auth/password of a user with TOTP on ---------------------------------- */

bool totp_flow_password_change(struct app *app, const struct http_req *req, const struct user *u,
                               const char *throttle_key, struct http_resp *resp)
{
	cJSON *body = NULL, *item;
	char *code = NULL;
	const char *kind = NULL;
	bool enabled = false, ok = false, go_on = false;
	enum db_status st;

	st = totp_store_is_enabled(&app->auth_db, u->id, &enabled);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!enabled) {
		go_on = true;
		goto out;
	}
	if (app->cfg->totp_key == NULL) {
		log_error("password change refused: user %s has two-factor sign-in on but TOTP_KEY is "
		          "not set", u->id);
		http_resp_error(resp, 503, "unavailable",
		                "Two-factor sign-in is not available on this server right now.");
		goto out;
	}
	body = http_req_json_object(req, resp);
	if (body == NULL)
		goto out;
	item = cJSON_GetObjectItemCaseSensitive(body, "code");
	if (!cJSON_IsString(item)) {
		http_resp_error(resp, 400, "invalid_request",
		                "code (a TOTP or recovery code) is required: two-factor sign-in is on.");
		goto out;
	}
	code = json_take_string(body, "code");
	if (code == NULL) {
		http_resp_error(resp, 500, "internal_error", "Out of memory.");
		goto out;
	}
	st = use_code(app, u->id, code, &ok, &kind);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!ok) {
		refuse_code(app, req, throttle_key, u->id, "password_change", resp);
		goto out;
	}
	go_on = true;
out:
	cJSON_Delete(body);
	util_free_secret(code);
	return go_on;
}

/*
 * password_flow — the flows of a password: sign-in with one (API.md
 * "POST /api/auth/login") and changing it ("POST /api/auth/password"),
 * each with its throttle, its audit rows and its transaction. See
 * password_flow.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_events.h"
#include "credentials.h"
#include "log.h"
#include "password.h"
#include "password_flow.h"
#include "sessions.h"
#include "strength.h"
#include "throttle.h"
#include "totp_flow.h"
#include "totp_store.h"
#include "util.h"

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
void password_flow_login(struct app *app, const struct http_req *req, struct http_resp *resp)
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
	if (!totp_flow_password_step(app, &u, resp))
		goto out;

	if (password_hash_cost(u.hashed_password) < cfg->bcrypt_cost) {
		/* A failed re-hash only postpones the upgrade to the next sign-in. */
		new_hash = password_hash_new(c.password, strlen(c.password), cfg->bcrypt_cost);
	}
	st = auth_events_login(app, req, &u, u.hashed_password, new_hash, &token, &stale);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (stale) {
		log_info("login of user %s refused: the password changed meanwhile", u.id);
		answer_bad_credentials(resp);
		goto out;
	}
	/*
	 * The session is committed: failing to clear the count must not refuse
	 * it (as for a password change).
	 */
	if (throttle_clear(&app->auth_db, key) != DB_OK)
		log_warn("could not clear the sign-in failures of user %s", u.id);
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

/* ---- POST /api/auth/password ------------------------------------------------ */

void password_flow_change(struct app *app, const struct http_req *req, struct user *u,
                          struct http_resp *resp)
{
	const struct config *cfg = app->cfg;
	struct password_change p;
	const char *weak;
	char *key = NULL, *hash = NULL, *token = NULL;
	bool changed = false;
	enum db_status st;

	memset(&p, 0, sizeof p);
	if (password_change_read(req, u->hashed_password != NULL, &p, resp) == -1)
		goto out;
	/* A current password sent by a user who has none is nothing to compare with. */
	weak = strength_check(p.next, strlen(p.next), u->username, u->email,
	                      u->hashed_password != NULL ? p.current : NULL);
	if (weak != NULL) {
		http_resp_error(resp, 400, "weak_password", weak);
		goto out;
	}

	/* Guessing the current password with a stolen session counts like guessing at login. */
	if (!auth_events_throttle(app, req, u, u->username, "password change",
	                          "password_change", &key, resp))
		goto out;
	if (u->hashed_password != NULL &&
	    !password_check(p.current, strlen(p.current), u->hashed_password, cfg->bcrypt_cost)) {
		/* throttle_allows counted it already: the row only. */
		st = auth_events_failure(app, req, NULL, "password_change", "invalid_credentials",
		                         u->id);
		if (st != DB_OK) {
			app_answer_db_error(resp, st);
			goto out;
		}
		log_info("password change refused for user %s: wrong current password", u->id);
		answer_bad_credentials(resp);
		goto out;
	}
	/* The right password is no failure; a wrong code then counts on its own. */
	if ((st = throttle_release(&app->auth_db, key, req->remote_addr)) != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!totp_flow_password_change(app, req, u, key, resp))
		goto out;

	hash = password_hash_new(p.next, strlen(p.next), cfg->bcrypt_cost);
	if (hash == NULL) {
		http_resp_error(resp, 500, "internal_error", "The password could not be hashed.");
		goto out;
	}
	st = auth_password_change(app, req, u, hash, &changed, &token);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		goto out;
	}
	if (!changed) {
		log_info("password change refused for user %s: changed concurrently", u->id);
		answer_bad_credentials(resp);
		goto out;
	}
	if (throttle_clear(&app->auth_db, key) != DB_OK)
		log_warn("could not clear the sign-in failures of user %s", u->id);
	log_info("password changed for user %s; every other session revoked", u->id);
	auth_answer_login(app, u, token, resp);
out:
	util_free_secret(token);
	util_free_secret(hash);
	free(key);
	password_change_cleanup(&p);
}

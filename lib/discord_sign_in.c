/*
 * discord_sign_in — the steps of a Discord callback after its state was
 * checked. See discord_sign_in.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "auth_events.h"
#include "discord_sign_in.h"
#include "guild.h"
#include "mfa.h"
#include "util.h"

enum oauth_result discord_sign_in_identify(struct discord_client *dc, const struct config *cfg,
                                           const char *code, const char *code_verifier,
                                           struct discord_user *du,
                                           struct discord_member *member)
{
	char *token = NULL;
	enum oauth_result r;

	r = oauth_result_of_discord(discord_exchange_code(dc, code, code_verifier, &token));
	if (r != OAUTH_OK)
		goto out;
	r = oauth_result_of_discord(discord_fetch_user(dc, token, du));
	/* With a server gate, not being in it refuses the user before anything is written. */
	if (r == OAUTH_OK)
		r = oauth_result_of_discord(guild_fetch_member(dc, cfg, token, member));
	if (r == OAUTH_INVALID_GRANT)
		r = OAUTH_DISCORD_UNAVAILABLE;
out:
	/* Used, kept nowhere: it identified the user (and their server roles), which is all we wanted. */
	util_free_secret(token);
	return r;
}

enum oauth_result discord_sign_in_accounts(struct app *app, const struct http_req *req,
                                           const struct oauth_pending *pending,
                                           const struct discord_user *du,
                                           const struct discord_member *member, struct user *u,
                                           char **session, char **mfa)
{
	enum oauth_result r;
	enum db_status st;

	/*
	 * A link is a change of the account: it commits with its audit row and
	 * the session. A sign-in's refresh of the profile commits on its own
	 * (its retries on a lost race need their own statements).
	 */
	if (pending->link_user_id != NULL) {
		st = db_begin(&app->auth_db);
		r = st == DB_OK ? oauth_user_link(&app->auth_db, pending->link_user_id, pending->link_jti, du, u)
		                : st == DB_UNAVAILABLE ? OAUTH_UNAVAILABLE : OAUTH_ERROR;
	} else {
		r = oauth_user_sign_in(&app->auth_db, du, u);
		/* TOTP on: a second step as after a password, no session yet (a link's session passed it). */
		st = r == OAUTH_OK ? mfa_begin(app, u, "discord", mfa) : DB_OK;
		if (st == DB_OK && r == OAUTH_OK && *mfa == NULL)
			st = db_begin(&app->auth_db);
		if (st != DB_OK)
			r = st == DB_UNAVAILABLE ? OAUTH_UNAVAILABLE : OAUTH_ERROR;
	}
	/* Discord's roles set the user's role, in the session's transaction when one is open. */
	if (r == OAUTH_OK && (st = guild_sync_role(app, req, member, u, *mfa != NULL)) != DB_OK)
		r = st == DB_UNAVAILABLE ? OAUTH_UNAVAILABLE : OAUTH_ERROR;
	if (r == OAUTH_OK && *mfa == NULL)
		r = auth_events_discord_commit(app, req, u, du, pending->link_user_id != NULL, session);
	if (r != OAUTH_OK) {
		db_rollback(&app->auth_db);
		return r;
	}
	/* The member row is derived data: its failure is logged there and repaired next time. */
	if (oauth_member_upsert(&app->app_db, du, member->nick) == 0)
		guild_sync_rank(app, req, member, du->id);
	return OAUTH_OK;
}

void discord_sign_in_answer_failure(struct http_resp *resp, const struct config *cfg, bool json,
                                    enum oauth_result r)
{
	const struct oauth_answer *a = oauth_answer(r);
	char path[96];

	if (json) {
		http_resp_error(resp, a->status, a->code, a->detail);
		return;
	}
	snprintf(path, sizeof path, "/login?error=%s", a->code);
	if (http_resp_redirect_to(resp, cfg->public_url, path) == -1)
		http_resp_error(resp, 500, "internal_error", "The redirect could not be built.");
}

#include "auth_events.h"

#include <string.h>

#include "audit.h"
#include "auth.h"
#include "metrics.h"
#include "sessions.h"
#include "throttle.h"
#include "util.h"

enum db_status auth_events_record(struct app *app, const struct http_req *req, const char *event,
                                  const char *outcome, const char *actor, const char *target,
                                  const cJSON *detail)
{
	struct audit_event ev = {event, outcome, actor, target, NULL, NULL, detail};

	audit_from_req(&ev, req);
	return audit_record(&app->auth_db, &ev);
}

/* COMMIT when st is DB_OK, else ROLLBACK; the final status. */
static enum db_status finish(struct app *app, enum db_status st)
{
	if (st == DB_OK)
		st = db_commit(&app->auth_db);
	if (st != DB_OK)
		db_rollback(&app->auth_db);
	return st;
}

enum db_status auth_events_failure(struct app *app, const struct http_req *req, const char *key,
                                   const char *event, const char *outcome, const char *target)
{
	enum db_status st = db_begin(&app->auth_db);

	if (strcmp(event, "login") == 0)
		metrics_login("password", outcome);
	if (st == DB_OK && key != NULL)
		st = throttle_record_failure(&app->auth_db, app->cfg, key, req->remote_addr);
	if (st == DB_OK)
		st = auth_events_record(app, req, event, outcome, NULL, target, NULL);
	return finish(app, st);
}

bool auth_events_throttle(struct app *app, const struct http_req *req, const struct user *u,
                          const char *name, const char *what, const char *event, char **key,
                          struct http_resp *resp)
{
	if (throttle_allows(&app->auth_db, app->cfg, req, u, name, what, key, resp))
		return true;
	if (resp->status == 429)
		auth_events_failure(app, req, NULL, event, "too_many_attempts", u != NULL ? u->id : name);
	return false;
}

enum db_status auth_events_login(struct app *app, const struct http_req *req, struct user *u,
                                 const char *verified_hash, const char *new_hash, char **token,
                                 bool *stale)
{
	cJSON *detail = cJSON_CreateObject();
	enum db_status st = DB_ERROR;
	bool same = false;

	*token = NULL;
	*stale = false;
	/* must_change_password is not a failure: the row says ok and notes it. */
	if (detail == NULL || cJSON_AddStringToObject(detail, "method", "password") == NULL ||
	    (u->must_change_password &&
	     cJSON_AddTrueToObject(detail, "must_change_password") == NULL))
		goto out;
	if ((st = db_begin(&app->auth_db)) != DB_OK)
		goto out;
	/* Issue 10 #2: a login racing a password change must not outlive it. */
	st = users_lock_password(&app->auth_db, u->id, verified_hash, &same);
	if (st == DB_OK && !same) {
		*stale = true;
		db_rollback(&app->auth_db);
		goto out;
	}
	st = users_record_login(&app->auth_db, u, new_hash);
	if (st == DB_OK)
		st = auth_session_start(app, u, req, "password", token);
	if (st == DB_OK)
		st = auth_events_record(app, req, "login", "ok", u->id, u->id, detail);
	st = finish(app, st);
	if (st == DB_OK)
		metrics_login("password", "ok");
	else {
		util_free_secret(*token);
		*token = NULL;
	}
out:
	cJSON_Delete(detail);
	return st;
}

enum db_status auth_events_logout(struct app *app, const struct http_req *req, const char *user_id,
                                  const char *jti)
{
	enum db_status st = db_begin(&app->auth_db);

	if (st == DB_OK)
		st = sessions_revoke(&app->auth_db, user_id, jti);
	if (st == DB_OK)
		st = auth_events_record(app, req, "logout", "ok", user_id, user_id, NULL);
	return finish(app, st);
}

enum db_status auth_events_end_session(struct app *app, const struct http_req *req, const char *user_id,
                                       const char *current_jti, const char *public_id,
                                       bool *found, bool *was_current)
{
	cJSON *detail = cJSON_CreateObject();
	enum db_status st = detail != NULL ? db_begin(&app->auth_db) : DB_ERROR;

	*found = *was_current = false;
	if (st == DB_OK)
		st = sessions_end_one(&app->auth_db, user_id, public_id, current_jti, found, was_current);
	if (st == DB_OK && *found) {
		if (cJSON_AddStringToObject(detail, "scope", "one") == NULL ||
		    cJSON_AddStringToObject(detail, "session", public_id) == NULL ||
		    cJSON_AddBoolToObject(detail, "current", *was_current) == NULL)
			st = DB_ERROR;
		else
			st = auth_events_record(app, req, "session_end", "ok", user_id, user_id, detail);
	}
	if (detail != NULL)
		st = finish(app, st);
	cJSON_Delete(detail);
	return st;
}

enum db_status auth_events_end_others(struct app *app, const struct http_req *req, const char *user_id,
                                      const char *current_jti, long *ended)
{
	cJSON *detail = cJSON_CreateObject();
	enum db_status st = detail != NULL ? db_begin(&app->auth_db) : DB_ERROR;

	*ended = 0;
	if (st == DB_OK)
		st = sessions_end_others(&app->auth_db, user_id, current_jti, ended);
	if (st == DB_OK)
		st = cJSON_AddStringToObject(detail, "scope", "others") != NULL &&
		             cJSON_AddNumberToObject(detail, "sessions_ended", (double)*ended) != NULL
		         ? auth_events_record(app, req, "session_end", "ok", user_id, user_id, detail)
		         : DB_ERROR;
	if (detail != NULL)
		st = finish(app, st);
	cJSON_Delete(detail);
	return st;
}

enum oauth_result auth_events_discord_commit(struct app *app, const struct http_req *req,
                                             const struct user *u, const struct discord_user *du,
                                             bool link, char **session)
{
	cJSON *detail = cJSON_CreateObject();
	enum db_status st = DB_ERROR;

	*session = NULL;
	if (detail != NULL && cJSON_AddStringToObject(detail, "discord_id", du->id) != NULL)
		st = auth_session_start(app, u, req, "discord", session);
	if (st == DB_OK)
		st = auth_events_record(app, req, link ? "discord_link" : "discord_login", "ok", u->id,
		                        u->id, detail);
	st = finish(app, st);
	cJSON_Delete(detail);
	if (st == DB_OK)
		return OAUTH_OK;
	util_free_secret(*session);
	*session = NULL;
	return st == DB_UNAVAILABLE ? OAUTH_UNAVAILABLE : OAUTH_ERROR;
}

void auth_events_discord_failure(struct app *app, const struct http_req *req, const char *link_user_id,
                                 const struct discord_user *du, enum oauth_result r)
{
	auth_events_record(app, req, link_user_id != NULL ? "discord_link" : "discord_login",
	                   oauth_answer(r)->code, link_user_id, du->id, NULL);
}

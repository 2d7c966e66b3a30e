#include "member_events.h"

#include "audit.h"
#include "log.h"

cJSON *member_events_fields_new(const struct members_change *change)
{
	cJSON *detail = cJSON_CreateObject(), *names;

	if (detail == NULL || (names = cJSON_AddArrayToObject(detail, "fields")) == NULL)
		goto fail;
	for (size_t i = 0; i < change->nset; i++) {
		cJSON *name = cJSON_CreateString(members_field_name(change->order[i]));
		if (name == NULL)
			goto fail;
		cJSON_AddItemToArray(names, name);
	}
	return detail;
fail:
	cJSON_Delete(detail);
	return NULL;
}

enum db_status member_events_commit_db(struct db *auth_db, struct db *app_db,
                                       struct audit_event *ev)
{
	enum db_status st = audit_record(auth_db, ev);

	if (st != DB_OK) {
		db_rollback(app_db);
		return st;
	}
	st = db_commit(app_db);
	if (st != DB_OK) {
		db_rollback(app_db);
		ev->outcome = "rolled_back";
		if (audit_record(auth_db, ev) != DB_OK)
			log_error("%s of member %s was recorded but did not commit", ev->event,
			          ev->target != NULL ? ev->target : "?");
	}
	return st;
}

enum db_status member_events_commit(struct app *app, const struct http_req *req, const char *event,
                                    const char *actor_user_id, const char *discord_id,
                                    const cJSON *detail)
{
	struct audit_event ev = {event, "ok", actor_user_id, discord_id, NULL, NULL, detail};

	audit_from_req(&ev, req);
	return member_events_commit_db(&app->auth_db, &app->app_db, &ev);
}

enum db_status member_events_create(struct app *app, const struct http_req *req, const char *actor_user_id,
                                    const struct members_change *change, cJSON **member)
{
	cJSON *detail = member_events_fields_new(change);
	enum db_status st;

	if (detail == NULL)
		return DB_ERROR;
	st = db_begin(&app->app_db);
	if (st == DB_OK)
		st = members_create(&app->app_db, change, member);
	if (st == DB_OK)
		st = member_events_commit(app, req, "member_create", actor_user_id, change->discord_id,
		                          detail);
	else
		db_rollback(&app->app_db);
	cJSON_Delete(detail);
	return st;
}

enum db_status member_events_update(struct app *app, const struct http_req *req, const char *actor_user_id,
                                    const char *discord_id, const struct members_change *change,
                                    cJSON **member, bool *found)
{
	cJSON *fields = member_events_fields_new(change);
	enum db_status st;

	if (fields == NULL)
		return DB_ERROR;
	st = db_begin(&app->app_db);
	if (st == DB_OK)
		st = members_update(&app->app_db, discord_id, change, member, found);
	if (st == DB_OK && *found)
		st = member_events_commit(app, req, "member_update", actor_user_id, discord_id, fields);
	else
		db_rollback(&app->app_db);
	cJSON_Delete(fields);
	return st;
}

enum db_status member_events_delete(struct app *app, const struct http_req *req, const char *actor_user_id,
                                    const char *discord_id, bool *found)
{
	enum db_status st = db_begin(&app->app_db);

	if (st == DB_OK)
		st = members_delete(&app->app_db, discord_id, found);
	if (st == DB_OK && *found)
		st = member_events_commit(app, req, "member_delete", actor_user_id, discord_id, NULL);
	else
		db_rollback(&app->app_db);
	return st;
}

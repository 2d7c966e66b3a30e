/*
 * member_events — the audit rows of member changes (member_create,
 * member_update, member_delete), which live in farout_auth while the members
 * they record live in farout. Owns no table.
 *
 * No transaction spans the two databases, so the order keeps "no change
 * without its row": the caller runs the change in an open farout transaction
 * (db_begin on app->app_db), member_events_commit commits the audit row in
 * farout_auth and only then the change. When the row cannot be written the
 * change rolls back. When the final COMMIT fails after the row was written, a
 * second row with outcome "rolled_back" and the same request id says so.
 */
#ifndef FAROUT_MEMBER_EVENTS_H
#define FAROUT_MEMBER_EVENTS_H

#include <cjson/cJSON.h>

#include "app.h"
#include "audit.h"
#include "db.h"
#include "http.h"
#include "members.h"

/* {"fields": [names of the fields the change sets]}: names only, never values. Caller frees. */
cJSON *member_events_fields_new(const struct members_change *);

/*
 * The audit row of event by actor_user_id on member discord_id, then the
 * open farout transaction's COMMIT (or its ROLLBACK when the row failed).
 * DB_OK when both committed; else the failing status.
 */
enum db_status member_events_commit(struct app *, const struct http_req *, const char *event,
                                    const char *actor_user_id, const char *discord_id,
                                    const cJSON *detail);

/*
 * The writes of the members routes, each its farout transaction with its
 * audit row as above (member_create, member_update, member_delete; the
 * detail names the fields set, never their values) by actor_user_id.
 * *member: the row as written (caller frees; NULL unless DB_OK and found).
 * A create of an existing discord_id is DB_CONFLICT; *found false when no
 * member has that discord_id (nothing written).
 */
enum db_status member_events_create(struct app *, const struct http_req *, const char *actor_user_id,
                                    const struct members_change *, cJSON **member);
enum db_status member_events_update(struct app *, const struct http_req *, const char *actor_user_id,
                                    const char *discord_id, const struct members_change *,
                                    cJSON **member, bool *found);
enum db_status member_events_delete(struct app *, const struct http_req *, const char *actor_user_id,
                                    const char *discord_id, bool *found);

/*
 * member_events_commit for a caller without a request (farout-admin): ev's
 * row in auth_db, then the COMMIT of app_db's open transaction, in that
 * order and with the same "rolled_back" row when the COMMIT fails.
 */
enum db_status member_events_commit_db(struct db *auth_db, struct db *app_db,
                                       struct audit_event *ev);

#endif

#include "guild.h"

#include <stdlib.h>
#include <string.h>

#include "auth_events.h"
#include "log.h"
#include "member_events.h"
#include "members.h"

/* {"by": "discord"}: Discord made the change, no user did (actor_user_id NULL). */
static cJSON *by_discord_new(void)
{
	cJSON *detail = cJSON_CreateObject();

	if (detail != NULL && cJSON_AddStringToObject(detail, "by", "discord") == NULL) {
		cJSON_Delete(detail);
		detail = NULL;
	}
	return detail;
}

bool guild_is_gated(const struct config *cfg)
{
	return cfg->discord_guild_id != NULL;
}

enum discord_result guild_fetch_member(struct discord_client *c, const struct config *cfg,
                                       const char *access_token, struct discord_member *m)
{
	memset(m, 0, sizeof *m);
	if (!guild_is_gated(cfg))
		return DISCORD_OK;
	return discord_fetch_member(c, access_token, cfg->discord_guild_id, m);
}

const char *guild_rank_for(const struct config *cfg, const struct discord_member *m)
{
	for (size_t i = 0; i < cfg->discord_nrank_roles; i++)
		if (discord_member_has_role(m, cfg->discord_rank_roles[i].role_id))
			return cfg->discord_rank_roles[i].rank;
	return NULL;
}

static bool holds_officer_role(const struct config *cfg, const struct discord_member *m)
{
	for (size_t i = 0; i < cfg->discord_nofficer_roles; i++)
		if (discord_member_has_role(m, cfg->discord_officer_roles[i]))
			return true;
	return false;
}

const char *guild_role_for(const struct config *cfg, const struct discord_member *m,
                           const char *current)
{
	bool officer;

	if (cfg->discord_nofficer_roles == 0 || current == NULL)
		return current;
	officer = holds_officer_role(cfg, m);
	if (officer && strcmp(current, "member") == 0)
		return "officer";
	if (!officer && strcmp(current, "officer") == 0)
		return "member";
	return current; /* admin, or already right */
}

enum db_status guild_sync_role(struct app *app, const struct http_req *req,
                               const struct discord_member *m, struct user *u, bool own_transaction)
{
	const char *to = guild_role_for(app->cfg, m, u->role);
	char *from;
	cJSON *detail = NULL;
	enum db_status st;
	bool changed = false;

	if (to == u->role)
		return DB_OK;
	if ((from = strdup(u->role)) == NULL)
		return DB_ERROR;
	st = own_transaction ? db_begin(&app->auth_db) : DB_OK;
	if (st == DB_OK)
		st = users_change_role(&app->auth_db, u, from, to, &changed);
	if (st != DB_OK || !changed)
		goto out;
	st = DB_ERROR;
	if ((detail = by_discord_new()) == NULL || cJSON_AddStringToObject(detail, "from", from) == NULL ||
	    cJSON_AddStringToObject(detail, "to", u->role) == NULL)
		goto out;
	st = auth_events_record(app, req, "role_change", "ok", NULL, u->id, detail);
	if (st == DB_OK)
		log_info("discord server roles: user %s is now %s (was %s)", u->id, u->role, from);
out:
	if (own_transaction && st == DB_OK)
		st = db_commit(&app->auth_db);
	if (own_transaction && st != DB_OK)
		db_rollback(&app->auth_db);
	cJSON_Delete(detail);
	free(from);
	return st;
}

int guild_sync_rank(struct app *app, const struct http_req *req, const struct discord_member *m,
                    const char *discord_id)
{
	const char *rank = guild_rank_for(app->cfg, m);
	char *old = NULL;
	cJSON *detail = NULL, *fields;
	enum db_status st;

	if (rank == NULL)
		return 0;
	if ((st = db_begin(&app->app_db)) != DB_OK)
		goto out;
	st = members_set_rank(&app->app_db, discord_id, rank, &old);
	if (st == DB_OK && old == NULL) {
		st = db_commit(&app->app_db); /* nothing changed: nothing to record */
		goto out;
	}
	if (st == DB_OK) {
		st = DB_ERROR;
		if ((detail = by_discord_new()) != NULL &&
		    (fields = cJSON_AddArrayToObject(detail, "fields")) != NULL &&
		    cJSON_AddItemToArray(fields, cJSON_CreateString("rank")))
			/* The row first, then the change: it commits only when its row did. */
			st = member_events_commit(app, req, "member_update", NULL, discord_id, detail);
	}
out:
	if (st != DB_OK) {
		db_rollback(&app->app_db);
		log_warn("discord server roles: rank of member %s not set (%s); the next sign-in repairs it",
		         discord_id, st == DB_UNAVAILABLE ? "a database is unavailable" : "query failed");
	} else if (old != NULL) {
		log_info("discord server roles: member %s rank \"%s\" (was \"%s\")", discord_id, rank, old);
	}
	cJSON_Delete(detail);
	free(old);
	return st == DB_OK ? 0 : -1;
}

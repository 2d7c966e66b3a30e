#include "guild.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "members.h"

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

enum db_status guild_sync_role(struct db *db, const struct config *cfg,
                               const struct discord_member *m, struct user *u)
{
	const char *to = guild_role_for(cfg, m, u->role);
	char *from;
	enum db_status st;
	bool changed = false;

	if (to == u->role)
		return DB_OK;
	if ((from = strdup(u->role)) == NULL)
		return DB_ERROR;
	st = users_change_role(db, u, from, to, &changed);
	if (st == DB_OK && changed)
		log_info("discord server roles: user %s is now %s (was %s)", u->id, u->role, from);
	free(from);
	return st;
}

int guild_sync_rank(struct db *db, const struct config *cfg, const struct discord_member *m,
                    const char *discord_id)
{
	const char *rank = guild_rank_for(cfg, m);
	char *old = NULL;
	enum db_status st;

	if (rank == NULL)
		return 0;
	st = members_set_rank(db, discord_id, rank, &old);
	if (st != DB_OK) {
		log_warn("discord server roles: rank of member %s not set (%s); the next sign-in repairs it",
		         discord_id, st == DB_UNAVAILABLE ? "app database unavailable" : "query failed");
		return -1;
	}
	if (old != NULL)
		log_info("discord server roles: member %s rank \"%s\" (was \"%s\")", discord_id, rank, old);
	free(old);
	return 0;
}

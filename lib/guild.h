/*
 * guild — what membership of the Farout Discord server means for a sign-in
 * (API.md "Discord server membership"): the user's role from
 * DISCORD_OFFICER_ROLES and the member's rank from DISCORD_RANK_ROLES.
 *
 * The HTTP call is lib/discord's (discord_fetch_member); the SQL is
 * lib/users' and lib/members'. This module only decides:
 * - rank: the first DISCORD_RANK_ROLES pair, in the order configured, whose
 *   role the member holds; none held (or no list) leaves the rank alone;
 * - role: with DISCORD_OFFICER_ROLES set, a `member` holding one of them
 *   becomes `officer` and an `officer` holding none becomes `member`;
 *   `admin` (and any role this build does not know) is never touched.
 *   Without DISCORD_OFFICER_ROLES, roles are left to the operators.
 * Owns no table: the role is users.c's to write, the rank members.c's.
 * Nothing here owns memory beyond what its functions say.
 */
#ifndef FAROUT_GUILD_H
#define FAROUT_GUILD_H

#include <stdbool.h>

#include "app.h"
#include "config.h"
#include "db.h"
#include "discord.h"
#include "http.h"
#include "users.h"

/* True when DISCORD_GUILD_ID is set: every Discord sign-in is checked against the server. */
bool guild_is_gated(const struct config *);

/*
 * The user's membership of the server (discord_fetch_member) when there is
 * a gate; without one, DISCORD_OK and *m left empty, with no call made. An
 * empty member changes nothing below, so callers need not ask which it was.
 */
enum discord_result guild_fetch_member(struct discord_client *, const struct config *,
                                       const char *access_token, struct discord_member *m);

/* The rank the member's roles give (borrowed from the config), or NULL for "keep it". */
const char *guild_rank_for(const struct config *, const struct discord_member *);

/*
 * The role the user should have after this sign-in, given their current
 * role (borrowed: a static name or `current` itself). Equal to current when
 * nothing changes.
 */
const char *guild_role_for(const struct config *, const struct discord_member *, const char *current);

/*
 * Brings u's role in line with guild_role_for: one UPDATE, only when it
 * differs (u is refreshed), and its audit row, role_change with no actor and
 * detail {"by": "discord", "from", "to"}. Both go into the farout_auth
 * transaction the caller has open (the sign-in's), or, with own_transaction,
 * into one of their own (a sign-in waiting for its second factor has none).
 * DB_OK also when a concurrent change got there first (then nothing is
 * written). Logged when it changes.
 */
enum db_status guild_sync_role(struct app *, const struct http_req *,
                               const struct discord_member *, struct user *u, bool own_transaction);

/*
 * Sets the member row's rank from guild_rank_for, when there is one and it
 * differs, with its audit row (member_update with no actor and detail
 * {"fields": ["rank"], "by": "discord"}, committed before the change as
 * member_events does). Derived data like the rest of the member row: 0, or
 * -1 after logging why (the next sign-in repairs it); never a reason to
 * fail a sign-in.
 */
int guild_sync_rank(struct app *, const struct http_req *, const struct discord_member *,
                    const char *discord_id);

#endif

/*
 * discord — the calls the sign-in makes to Discord, over libcurl: the
 * authorization-code exchange (POST {DISCORD_API_BASE}/oauth2/token), the
 * user lookup (GET {DISCORD_API_BASE}/users/@me) and, when DISCORD_GUILD_ID
 * is set, the user's membership of that server
 * (GET {DISCORD_API_BASE}/users/@me/guilds/{guild}/member).
 *
 * One client per worker, reused for every request, so connections to
 * Discord stay open between sign-ins. Every transfer: https only (plain http
 * only when DISCORD_API_BASE is a loopback http URL, the test server), TLS
 * verification on, DISCORD_TIMEOUT_MS for the whole transfer, no redirects,
 * at most DISCORD_BODY_MAX bytes of answer. Client authentication is HTTP
 * Basic. The access token, the code, the verifier and the client secret are
 * wiped from our buffers after use and never logged.
 *
 * Owns no table.
 */
#ifndef FAROUT_DISCORD_H
#define FAROUT_DISCORD_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define DISCORD_BODY_MAX (64 * 1024)

enum discord_result {
	DISCORD_OK,
	DISCORD_INVALID_GRANT, /* Discord refused the code (a 4xx other than 429) */
	DISCORD_UNAVAILABLE,   /* 5xx, 429, timeout, no connection, bad answer */
	DISCORD_NOT_MEMBER,    /* the member lookup: 404 or 403, the user is not in the server */
};

struct discord_client {
	const struct config *cfg; /* borrowed; outlives the client */
	void *curl;               /* CURL *, kept between requests */
};

/* The user object, validated: id is a snowflake, username is set. The client owns nothing here. */
struct discord_user {
	char *id;
	char *username;      /* names_username_new: printable ASCII, no '@', at most DISCORD_NAME_MAX */
	char *global_name;   /* names_display_new; NULL when absent, null, empty or invisible */
	char *discriminator; /* NULL when absent or not 1-4 digits */
	char *avatar;        /* NULL when absent or not a plain hash */
	char *email;         /* NULL when absent or not plausible */
	bool verified;
};

#define DISCORD_NAME_MAX 32 /* Discord's own limit for username, global_name and nick */
#define DISCORD_MEMBER_ROLES_MAX 250 /* Discord's limit of roles in one server */

/* The user's membership of the server, validated: every role id is a snowflake. Owns its strings. */
struct discord_member {
	char *nick;   /* server nickname; NULL when absent, null, blank or not clean UTF-8 */
	char **roles; /* role ids, as Discord listed them */
	size_t nroles;
};

/* Once per process, before any client: curl_global_init. 0 or -1. */
int discord_global_init(void);
void discord_global_cleanup(void);

/* 0, or -1 when libcurl could not make a handle. */
int discord_client_init(struct discord_client *, const struct config *);
void discord_client_cleanup(struct discord_client *);

/*
 * Exchanges an authorization code (with its PKCE verifier) for an access
 * token. On DISCORD_OK *access_token is set: a secret the caller frees with
 * util_free_secret as soon as it is used.
 */
enum discord_result discord_exchange_code(struct discord_client *, const char *code,
                                          const char *code_verifier, char **access_token);

/* GET /users/@me; any failure is DISCORD_UNAVAILABLE. On DISCORD_OK *u is filled. */
enum discord_result discord_fetch_user(struct discord_client *, const char *access_token,
                                       struct discord_user *u);

void discord_user_cleanup(struct discord_user *);

/*
 * GET /users/@me/guilds/{guild_id}/member with the user's token (scope
 * guilds.members.read). DISCORD_NOT_MEMBER for 404/403; anything else that
 * is not a member object (401, 429, 5xx, timeout, bad JSON) is
 * DISCORD_UNAVAILABLE. A 429 is never retried: the worker is not held past
 * DISCORD_TIMEOUT_MS, and Discord's retry_after goes to the log. On
 * DISCORD_OK *m is filled.
 */
enum discord_result discord_fetch_member(struct discord_client *, const char *access_token,
                                         const char *guild_id, struct discord_member *m);
/* True when m holds role_id. */
bool discord_member_has_role(const struct discord_member *m, const char *role_id);
void discord_member_cleanup(struct discord_member *);

/*
 * The parsers behind the calls, exposed for tests. Both take the raw
 * answer body. discord_parse_token returns 0 with *access_token (a secret,
 * see above) or -1; discord_parse_user returns 0 with *u filled or -1.
 */
int discord_parse_token(const char *body, size_t len, char **access_token);
int discord_parse_user(const char *body, size_t len, struct discord_user *u);
/* The member object: 0 with *m filled, or -1 (no roles array, a role that is not a snowflake, …). */
int discord_parse_member(const char *body, size_t len, struct discord_member *m);

#endif

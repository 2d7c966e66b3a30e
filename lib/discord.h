/*
 * discord — the two calls the sign-in makes to Discord, over libcurl:
 * the authorization-code exchange (POST {DISCORD_API_BASE}/oauth2/token) and
 * the user lookup (GET {DISCORD_API_BASE}/users/@me).
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
};

struct discord_client {
	const struct config *cfg; /* borrowed; outlives the client */
	void *curl;               /* CURL *, kept between requests */
};

/* The user object, validated: id is a snowflake, username is set. The client owns nothing here. */
struct discord_user {
	char *id;
	char *username;      /* at most DISCORD_NAME_MAX code points */
	char *global_name;   /* NULL when absent, null or empty */
	char *discriminator; /* NULL when absent or not 1-4 digits */
	char *avatar;        /* NULL when absent or not a plain hash */
	char *email;         /* NULL when absent or not plausible */
	bool verified;
};

#define DISCORD_NAME_MAX 32 /* Discord's own limit for username and global_name */

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
 * The parsers behind the two calls, exposed for tests. Both take the raw
 * answer body. discord_parse_token returns 0 with *access_token (a secret,
 * see above) or -1; discord_parse_user returns 0 with *u filled or -1.
 */
int discord_parse_token(const char *body, size_t len, char **access_token);
int discord_parse_user(const char *body, size_t len, struct discord_user *u);

#endif

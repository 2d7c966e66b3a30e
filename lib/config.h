/*
 * config — the environment, read and validated once at start, read-only after.
 *
 * config_load() checks every variable of API.md "Configuration", including the
 * optional ones that are set, and fills *cfg. On a bad or missing value it
 * writes one line naming the variable into err and returns -1; nothing in
 * that line repeats a secret. After loading, the secret values in the process
 * environment are wiped so they cannot leak through /proc/PID/environ or a child.
 *
 * Owns no table.
 */
#ifndef FAROUT_CONFIG_H
#define FAROUT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "jwt.h"
#include "log.h"

/* What a program needs to start; anything unset beyond this keeps its default. */
enum {
	CONFIG_NEED_DB = 1 << 0,  /* DATABASE_URL and AUTH_DATABASE_URL */
	CONFIG_NEED_JWT = 1 << 1, /* JWT_SECRET */
};

/* One pair of DISCORD_RANK_ROLES: members holding role_id get rank. */
struct config_rank_role {
	char *role_id; /* a snowflake */
	char *rank;    /* a valid members.rank (members_is_rank) */
};

/* Longest list DISCORD_RANK_ROLES / DISCORD_OFFICER_ROLES may hold (a server has at most 250 roles). */
#define CONFIG_ROLES_MAX 250

/* The placeholder shipped in .env.example: never accepted as a secret. */
#define CONFIG_SECRET_PLACEHOLDER "change-me-to-a-random-string-of-at-least-32-bytes"

struct config {
	char *database_url;      /* libpq URI of `farout`, +driver prefix removed */
	char *auth_database_url; /* libpq URI of `farout_auth` */
	bool db_prepared_statements; /* DB_PREPARED_STATEMENTS: on (default) or off */

	unsigned char *jwt_secret;
	size_t jwt_secret_len;
	unsigned char *jwt_secret_previous; /* NULL when not rotating */
	size_t jwt_secret_previous_len;
	enum jwt_alg jwt_algorithm;
	const char *jwt_algorithm_name; /* "HS256", … */
	long jwt_expiration_days;
	char *jwt_issuer;

	char *public_url;    /* without a trailing slash */
	char *public_origin; /* scheme://host[:port] */
	bool public_https;

	bool discord_configured; /* client id and secret set */
	char *discord_client_id;
	char *discord_client_secret;
	char *discord_redirect_uri;  /* default: PUBLIC_URL/api/auth/discord/callback */
	char *discord_api_base;      /* without a trailing slash */
	char *discord_authorize_url;
	long discord_timeout_ms;

	/* The Discord server gate (API.md "Discord server membership"); NULL: no gate. */
	char *discord_guild_id;
	struct config_rank_role *discord_rank_roles; /* in the order given */
	size_t discord_nrank_roles;
	char **discord_officer_roles;
	size_t discord_nofficer_roles;

	int bcrypt_cost;
	long login_max_failures;
	long login_window_seconds;

	/* LOG_TARGET, LOG_LEVEL; DEFAULT when unset: serve_main() picks per way of running. */
	enum log_target log_target;
	enum log_level log_level;
	long audit_retention_days; /* farout-admin prune deletes older audit events */

	/* TOTP_KEY: 32 bytes (AES-256) for the TOTP secrets; NULL when unset (TOTP routes 503). */
	unsigned char *totp_key;
};

int config_load(struct config *cfg, unsigned needs, char *err, size_t errlen);
void config_cleanup(struct config *cfg);
/*
 * The signing key and the previous one, pointing into cfg (borrowed, valid
 * while cfg is); previous->secret is NULL when no rotation is under way.
 */
void config_jwt_keys(const struct config *cfg, struct jwt_key *key, struct jwt_key *previous);
/* Seconds a token lives: JWT_EXPIRATION_DAYS * 86400. */
long config_token_lifetime(const struct config *cfg);

#endif

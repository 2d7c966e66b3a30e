#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "members.h"
#include "util.h"

struct loader {
	char *err;
	size_t errlen;
	bool failed;
};

static int fail(struct loader *l, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct loader *l, const char *name, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	if (l->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "configuration: %s %s", name, why);
	l->failed = true;
	return -1;
}

static const char *get(const char *name)
{
	const char *v = getenv(name);
	return (v != NULL && *v != '\0') ? v : NULL;
}

static char *dup_or_null(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

static void wipe_env(const char *name)
{
	char *v = getenv(name);

	if (v != NULL)
		util_wipe(v, strlen(v));
}

static int load_long(struct loader *l, const char *name, long def, long min, long max, long *out)
{
	const char *v = get(name);

	*out = def;
	if (v == NULL)
		return 0;
	if (util_parse_long(v, min, max, out) == -1)
		return fail(l, name, "must be a whole number from %ld to %ld", min, max);
	return 0;
}

/* on/off (true/false, 1/0, yes/no are taken too). */
static int load_switch(struct loader *l, const char *name, bool def, bool *out)
{
	static const char *const on[] = {"on", "true", "1", "yes"}, *const off[] = {"off", "false", "0", "no"};
	const char *v = get(name);

	*out = def;
	if (v == NULL)
		return 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(on); i++) {
		if (strcasecmp(v, on[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, off[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return fail(l, name, "must be on or off");
}

/* SQLAlchemy-style "postgresql+asyncpg://" → "postgresql://": libpq knows no drivers. */
static char *load_db_url(struct loader *l, const char *name, bool required)
{
	const char *v = get(name), *plus, *scheme_end;
	char *url, *errmsg = NULL;
	PQconninfoOption *opts;

	if (v == NULL) {
		if (required)
			fail(l, name, "is required (a libpq URI such as postgresql://user@host/db)");
		return NULL;
	}
	scheme_end = strstr(v, "://");
	if (scheme_end == NULL) {
		fail(l, name, "must be a postgresql:// URI");
		return NULL;
	}
	plus = memchr(v, '+', (size_t)(scheme_end - v));
	size_t scheme_len = (size_t)((plus != NULL ? plus : scheme_end) - v);
	if (!((scheme_len == 10 && strncmp(v, "postgresql", 10) == 0) ||
	      (scheme_len == 8 && strncmp(v, "postgres", 8) == 0))) {
		fail(l, name, "must be a postgresql:// URI");
		return NULL;
	}
	if (asprintf(&url, "postgresql%s", scheme_end) < 0) {
		fail(l, name, "could not be copied (out of memory)");
		return NULL;
	}
	opts = PQconninfoParse(url, &errmsg);
	if (opts == NULL) {
		PQfreemem(errmsg);
		util_free_secret(url);
		fail(l, name, "is not a valid libpq URI");
		return NULL;
	}
	PQconninfoFree(opts);
	return url;
}

static int load_secret(struct loader *l, const char *name, bool required,
                       unsigned char **out, size_t *outlen)
{
	const char *v = get(name);
	size_t n;

	*out = NULL;
	*outlen = 0;
	if (v == NULL)
		return required ? fail(l, name, "is required (at least 32 random bytes)") : 0;
	n = strlen(v);
	if (strcmp(v, CONFIG_SECRET_PLACEHOLDER) == 0)
		return fail(l, name, "is still the .env.example placeholder; generate one with `openssl rand -base64 48`");
	if (n < 32)
		return fail(l, name, "is too short: at least 32 bytes are required");
	*out = (unsigned char *)strdup(v);
	if (*out == NULL)
		return fail(l, name, "could not be copied (out of memory)");
	*outlen = n;
	return 0;
}

/* http(s)://host[:port] with at most a trailing "/": the origin is the URL. */
static int load_public_url(struct loader *l, struct config *cfg)
{
	const char *v = get("PUBLIC_URL");
	const char *host;
	size_t n;

	if (v == NULL)
		v = "http://localhost:8080";
	if (strncmp(v, "https://", 8) == 0) {
		cfg->public_https = true;
		host = v + 8;
	} else if (strncmp(v, "http://", 7) == 0) {
		host = v + 7;
	} else {
		return fail(l, "PUBLIC_URL", "must start with http:// or https://");
	}
	n = strlen(v);
	if (n > 0 && v[n - 1] == '/')
		n--;
	if (*host == '\0' || *host == '/' || strchr(host, '?') || strchr(host, '#') ||
	    (strchr(host, '/') != NULL && strchr(host, '/') < v + n) || strchr(host, '@'))
		return fail(l, "PUBLIC_URL", "must be scheme://host[:port] with no path, query or user");
	for (const char *p = v; p < v + n; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
			return fail(l, "PUBLIC_URL", "contains a character not allowed in a URL");
	cfg->public_url = strndup(v, n);
	cfg->public_origin = strndup(v, n);
	if (cfg->public_url == NULL || cfg->public_origin == NULL)
		return fail(l, "PUBLIC_URL", "could not be copied (out of memory)");
	return 0;
}

/* Discord is reached over https; plain http only to a loopback test server. */
static char *load_discord_url(struct loader *l, const char *name, const char *def)
{
	const char *v = get(name);
	size_t n;

	if (v == NULL)
		v = def;
	if (strncmp(v, "https://", 8) != 0 && !util_is_loopback_http(v)) {
		fail(l, name, "must be an https:// URL (plain http only for 127.0.0.1/localhost)");
		return NULL;
	}
	for (const char *p = v; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f) {
			fail(l, name, "contains a character not allowed in a URL");
			return NULL;
		}
	n = strlen(v);
	while (n > 0 && v[n - 1] == '/')
		n--;
	return strndup(v, n);
}

/*
 * Discord counts as configured when the client id and secret are set; the
 * redirect URI defaults to PUBLIC_URL's callback path. Called after PUBLIC_URL.
 */
static int load_discord(struct loader *l, struct config *cfg)
{
	const char *id = get("DISCORD_CLIENT_ID"), *secret = get("DISCORD_CLIENT_SECRET");
	const char *redirect = get("DISCORD_REDIRECT_URI");

	if (id != NULL && secret == NULL)
		return fail(l, "DISCORD_CLIENT_SECRET", "is required when DISCORD_CLIENT_ID is set");
	if (id == NULL && secret != NULL)
		return fail(l, "DISCORD_CLIENT_ID", "is required when DISCORD_CLIENT_SECRET is set");
	if (id != NULL)
		for (const char *p = id; *p != '\0'; p++)
			if (*p < '0' || *p > '9')
				return fail(l, "DISCORD_CLIENT_ID", "must be the application's numeric id");
	if (redirect != NULL) {
		if (strncmp(redirect, "https://", 8) != 0 && strncmp(redirect, "http://", 7) != 0)
			return fail(l, "DISCORD_REDIRECT_URI", "must be an http(s) URL");
		for (const char *p = redirect; *p != '\0'; p++)
			if (*p <= ' ' || *p >= 0x7f)
				return fail(l, "DISCORD_REDIRECT_URI", "contains a character not allowed in a URL");
		cfg->discord_redirect_uri = strdup(redirect);
	} else if (cfg->public_url != NULL &&
	           asprintf(&cfg->discord_redirect_uri, "%s/api/auth/discord/callback",
	                    cfg->public_url) < 0) {
		cfg->discord_redirect_uri = NULL;
	}
	cfg->discord_configured = id != NULL && secret != NULL;
	cfg->discord_client_id = dup_or_null(id);
	cfg->discord_client_secret = dup_or_null(secret);
	cfg->discord_api_base = load_discord_url(l, "DISCORD_API_BASE", "https://discord.com/api");
	cfg->discord_authorize_url =
		load_discord_url(l, "DISCORD_AUTHORIZE_URL", "https://discord.com/oauth2/authorize");
	return load_long(l, "DISCORD_TIMEOUT_MS", 10000, 100, 120000, &cfg->discord_timeout_ms);
}

/* ---- the Discord server gate ---------------------------------------------- */

/* [*start, *end) without the spaces around it. */
static void trim(const char **start, const char **end)
{
	while (*start < *end && **start == ' ')
		(*start)++;
	while (*end > *start && (*end)[-1] == ' ')
		(*end)--;
}

/* A snowflake given as [p, e): 1-20 digits that fit 64 bits, copied into out (21 bytes). */
static bool copy_snowflake(const char *p, const char *e, char out[21])
{
	size_t n = (size_t)(e - p);

	if (n < 1 || n > 20)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return util_is_snowflake(out);
}

/*
 * Splits a comma-separated list into its entries, spaces around each
 * trimmed, and calls take() for each one (numbered from 1). An empty entry
 * or more than CONFIG_ROLES_MAX of them is refused. 0 or -1 (already failed).
 */
static int each_entry(struct loader *l, const char *name, const char *v,
                      int (*take)(struct loader *, const char *name, size_t i, const char *p,
                                  const char *e, struct config *),
                      struct config *cfg)
{
	size_t i = 0;

	for (const char *p = v;; i++) {
		const char *comma = strchr(p, ',');
		const char *e = comma != NULL ? comma : p + strlen(p);
		const char *ts = p, *te = e;

		trim(&ts, &te);
		if (ts == te)
			return fail(l, name, "has an empty entry (number %zu); separate entries with one comma", i + 1);
		if (i == CONFIG_ROLES_MAX)
			return fail(l, name, "lists more than %d entries", CONFIG_ROLES_MAX);
		if (take(l, name, i + 1, ts, te, cfg) == -1)
			return -1;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static bool is_listed(char *const *ids, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

static int take_rank_role(struct loader *l, const char *name, size_t i, const char *p, const char *e,
                          struct config *cfg)
{
	const char *eq = memchr(p, '=', (size_t)(e - p));
	const char *is = p, *ie, *rs, *re = e;
	char id[21];
	struct config_rank_role *pair;

	if (eq == NULL)
		return fail(l, name, "entry %zu is not <role_id>=<rank>", i);
	ie = eq;
	rs = eq + 1;
	trim(&is, &ie);
	trim(&rs, &re);
	if (!copy_snowflake(is, ie, id))
		return fail(l, name, "entry %zu: the role id is not a Discord id (1-20 digits)", i);
	for (size_t k = 0; k < cfg->discord_nrank_roles; k++)
		if (strcmp(cfg->discord_rank_roles[k].role_id, id) == 0)
			return fail(l, name, "lists role %s twice", id);
	pair = &cfg->discord_rank_roles[cfg->discord_nrank_roles];
	if ((pair->rank = strndup(rs, (size_t)(re - rs))) == NULL)
		return fail(l, name, "could not be copied (out of memory)");
	cfg->discord_nrank_roles++; /* owned from here, freed by config_cleanup */
	if (!members_is_rank(pair->rank))
		return fail(l, name, "entry %zu: the rank must be 1-%d characters of text", i, MEMBERS_RANK_MAX);
	/* "1=Pilot 2=Captain" is a missing comma, not a rank. */
	if (strchr(pair->rank, '=') != NULL)
		return fail(l, name, "entry %zu: the rank holds a second '=' (a comma missing?)", i);
	if ((pair->role_id = strdup(id)) == NULL)
		return fail(l, name, "could not be copied (out of memory)");
	return 0;
}

static int take_officer_role(struct loader *l, const char *name, size_t i, const char *p,
                             const char *e, struct config *cfg)
{
	char id[21];

	if (!copy_snowflake(p, e, id))
		return fail(l, name, "entry %zu is not a Discord role id (1-20 digits)", i);
	if (is_listed(cfg->discord_officer_roles, cfg->discord_nofficer_roles, id))
		return fail(l, name, "lists role %s twice", id);
	if ((cfg->discord_officer_roles[cfg->discord_nofficer_roles] = strdup(id)) == NULL)
		return fail(l, name, "could not be copied (out of memory)");
	cfg->discord_nofficer_roles++;
	return 0;
}

/*
 * DISCORD_GUILD_ID, DISCORD_RANK_ROLES, DISCORD_OFFICER_ROLES. The role lists
 * mean nothing without the server, so either of them without it is refused
 * rather than silently ignored.
 */
static int load_guild(struct loader *l, struct config *cfg)
{
	const char *guild = get("DISCORD_GUILD_ID");
	const char *ranks = get("DISCORD_RANK_ROLES"), *officers = get("DISCORD_OFFICER_ROLES");
	char id[21];

	if (guild != NULL) {
		if (!copy_snowflake(guild, guild + strlen(guild), id))
			return fail(l, "DISCORD_GUILD_ID", "must be the server's id (1-20 digits; "
			                                   "Developer Mode, then Copy Server ID)");
		if ((cfg->discord_guild_id = strdup(id)) == NULL)
			return fail(l, "DISCORD_GUILD_ID", "could not be copied (out of memory)");
	}
	if (ranks != NULL) {
		if (guild == NULL)
			return fail(l, "DISCORD_RANK_ROLES", "needs DISCORD_GUILD_ID (the server whose roles it names)");
		cfg->discord_rank_roles = calloc(CONFIG_ROLES_MAX, sizeof *cfg->discord_rank_roles);
		if (cfg->discord_rank_roles == NULL)
			return fail(l, "DISCORD_RANK_ROLES", "could not be copied (out of memory)");
		if (each_entry(l, "DISCORD_RANK_ROLES", ranks, take_rank_role, cfg) == -1)
			return -1;
	}
	if (officers != NULL) {
		if (guild == NULL)
			return fail(l, "DISCORD_OFFICER_ROLES", "needs DISCORD_GUILD_ID (the server whose roles it names)");
		cfg->discord_officer_roles = calloc(CONFIG_ROLES_MAX, sizeof *cfg->discord_officer_roles);
		if (cfg->discord_officer_roles == NULL)
			return fail(l, "DISCORD_OFFICER_ROLES", "could not be copied (out of memory)");
		if (each_entry(l, "DISCORD_OFFICER_ROLES", officers, take_officer_role, cfg) == -1)
			return -1;
	}
	return 0;
}

static int load_jwt(struct loader *l, struct config *cfg, bool required)
{
	static const struct {
		const char *name;
		enum jwt_alg alg;
	} algs[] = {{"HS256", JWT_HS256}, {"HS384", JWT_HS384}, {"HS512", JWT_HS512}};
	const char *alg = get("JWT_ALGORITHM"), *issuer = get("JWT_ISSUER");

	load_secret(l, "JWT_SECRET", required, &cfg->jwt_secret, &cfg->jwt_secret_len);
	load_secret(l, "JWT_SECRET_PREVIOUS", false, &cfg->jwt_secret_previous,
	            &cfg->jwt_secret_previous_len);
	cfg->jwt_algorithm_name = NULL;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(algs); i++)
		if (alg == NULL ? i == 0 : strcmp(alg, algs[i].name) == 0) {
			cfg->jwt_algorithm = algs[i].alg;
			cfg->jwt_algorithm_name = algs[i].name;
		}
	if (cfg->jwt_algorithm_name == NULL)
		return fail(l, "JWT_ALGORITHM", "must be HS256, HS384 or HS512");
	load_long(l, "JWT_EXPIRATION_DAYS", 7, 1, 365, &cfg->jwt_expiration_days);
	if (issuer == NULL)
		issuer = "farout";
	if (strlen(issuer) > 128)
		return fail(l, "JWT_ISSUER", "must be at most 128 characters");
	for (const char *p = issuer; *p != '\0'; p++)
		if (*p < ' ' || *p == '"' || *p == '\\' || *p == 0x7f)
			return fail(l, "JWT_ISSUER", "must be printable text without quotes or backslashes");
	cfg->jwt_issuer = strdup(issuer);
	return 0;
}

static int load_log(struct loader *l, struct config *cfg)
{
	const char *t = get("LOG_TARGET"), *level = get("LOG_LEVEL");
	int v;

	if (t != NULL) {
		if ((v = log_parse_target(t)) == -1)
			return fail(l, "LOG_TARGET", "must be stderr or syslog");
		cfg->log_target = (enum log_target)v;
	}
	if (level != NULL) {
		if ((v = log_parse_level(level)) == -1)
			return fail(l, "LOG_LEVEL", "must be error, warn or info");
		cfg->log_level = (enum log_level)v;
	}
	return 0;
}

/* TOTP_KEY: optional; when set, exactly 32 bytes in base64 (`openssl rand -base64 32`). */
static int load_totp_key(struct loader *l, struct config *cfg)
{
	const char *v = get("TOTP_KEY");
	char *url = NULL;
	unsigned char *key = NULL;
	size_t n, keylen = 0;
	int rc = 0;

	if (v == NULL)
		return 0;
	n = strlen(v);
	url = strdup(v);
	if (url == NULL)
		return fail(l, "TOTP_KEY", "could not be copied (out of memory)");
	/* Standard base64 (+/ and = padding) or base64url, one canonical spelling. */
	while (n > 0 && url[n - 1] == '=')
		url[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		url[i] = url[i] == '+' ? '-' : url[i] == '/' ? '_' : url[i];
	if (util_b64url_decode_new(url, n, &key, &keylen) == -1 || keylen != 32)
		rc = fail(l, "TOTP_KEY", "must be 32 random bytes in base64 (`openssl rand -base64 32`)");
	else {
		cfg->totp_key = key;
		key = NULL;
	}
	util_free_secret(url);
	if (key != NULL) {
		util_wipe(key, keylen);
		free(key);
	}
	return rc;
}

int config_load(struct config *cfg, unsigned needs, char *err, size_t errlen)
{
	struct loader l = {err, errlen, false};
	long cost;

	memset(cfg, 0, sizeof *cfg);
	cfg->database_url = load_db_url(&l, "DATABASE_URL", needs & CONFIG_NEED_DB);
	cfg->auth_database_url = load_db_url(&l, "AUTH_DATABASE_URL", needs & CONFIG_NEED_DB);
	load_switch(&l, "DB_PREPARED_STATEMENTS", true, &cfg->db_prepared_statements);
	load_jwt(&l, cfg, needs & CONFIG_NEED_JWT);
	load_public_url(&l, cfg);
	load_discord(&l, cfg);
	load_guild(&l, cfg);
	load_long(&l, "BCRYPT_COST", 12, 4, 31, &cost);
	cfg->bcrypt_cost = (int)cost;
	load_long(&l, "LOGIN_MAX_FAILURES", 5, 1, 1000, &cfg->login_max_failures);
	load_long(&l, "LOGIN_WINDOW_SECONDS", 900, 1, 7 * 86400, &cfg->login_window_seconds);
	load_log(&l, cfg);
	load_long(&l, "AUDIT_RETENTION_DAYS", 365, 1, 36500, &cfg->audit_retention_days);
	load_totp_key(&l, cfg);

	wipe_env("JWT_SECRET");
	wipe_env("JWT_SECRET_PREVIOUS");
	wipe_env("DISCORD_CLIENT_SECRET");
	wipe_env("TOTP_KEY");
	if (l.failed) {
		config_cleanup(cfg);
		return -1;
	}
	if (cfg->jwt_issuer == NULL || cfg->discord_api_base == NULL ||
	    cfg->discord_authorize_url == NULL) {
		snprintf(err, errlen, "configuration: out of memory");
		config_cleanup(cfg);
		return -1;
	}
	return 0;
}

static void free_secret_bytes(unsigned char *p, size_t n)
{
	util_wipe(p, n);
	free(p);
}

void config_cleanup(struct config *cfg)
{
	util_free_secret(cfg->database_url);
	util_free_secret(cfg->auth_database_url);
	free_secret_bytes(cfg->jwt_secret, cfg->jwt_secret_len);
	free_secret_bytes(cfg->jwt_secret_previous, cfg->jwt_secret_previous_len);
	free(cfg->jwt_issuer);
	free(cfg->public_url);
	free(cfg->public_origin);
	free(cfg->discord_client_id);
	util_free_secret(cfg->discord_client_secret);
	free(cfg->discord_redirect_uri);
	free(cfg->discord_api_base);
	free(cfg->discord_authorize_url);
	free_secret_bytes(cfg->totp_key, 32);
	free(cfg->discord_guild_id);
	for (size_t i = 0; i < cfg->discord_nrank_roles; i++) {
		free(cfg->discord_rank_roles[i].role_id);
		free(cfg->discord_rank_roles[i].rank);
	}
	free(cfg->discord_rank_roles);
	for (size_t i = 0; i < cfg->discord_nofficer_roles; i++)
		free(cfg->discord_officer_roles[i]);
	free(cfg->discord_officer_roles);
	memset(cfg, 0, sizeof *cfg);
}

long config_token_lifetime(const struct config *cfg)
{
	return cfg->jwt_expiration_days * 86400L;
}

void config_jwt_keys(const struct config *cfg, struct jwt_key *key, struct jwt_key *previous)
{
	*key = (struct jwt_key){cfg->jwt_algorithm, cfg->jwt_secret, cfg->jwt_secret_len};
	*previous = (struct jwt_key){cfg->jwt_algorithm, cfg->jwt_secret_previous,
	                             cfg->jwt_secret_previous_len};
}

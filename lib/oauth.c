#include "oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "members.h"
#include "sessions.h"
#include "util.h"

#define STATE_PART_LEN 43 /* 32 bytes as unpadded base64url */
#define STATE_KEY_LABEL "farout oauth state v1"
#define USERNAME_COUNTERS 100 /* name_<id>_2 … name_<id>_101 after the digit variants */
#define UPSERT_ROUNDS 3       /* a unique index lost to a concurrent sign-in: look again */

#define STR(x) #x
#define XSTR(x) STR(x)

static const struct oauth_answer answers[OAUTH__MAX] = {
	[OAUTH_OK] = {200, "ok", "Signed in."},
	[OAUTH_INVALID_REQUEST] = {400, "invalid_request", "The sign-in request was malformed."},
	[OAUTH_INVALID_STATE] = {400, "invalid_state",
	                         "The sign-in link is invalid, expired or already used; start again."},
	[OAUTH_ACCESS_DENIED] = {400, "access_denied", "Discord sign-in was cancelled."},
	[OAUTH_INVALID_GRANT] = {400, "invalid_grant",
	                         "Discord did not accept the sign-in code; start again."},
	[OAUTH_NOT_AUTHENTICATED] = {401, "not_authenticated",
	                             "Sign in first to link a Discord account."},
	[OAUTH_ACCOUNT_DISABLED] = {403, "account_disabled", "This account is disabled."},
	[OAUTH_PASSWORD_CHANGE_REQUIRED] = {403, "password_change_required",
	                                    "Change your password before linking a Discord account."},
	[OAUTH_ALREADY_LINKED] = {409, "discord_already_linked",
	                          "This Discord account is already linked to another user."},
	[OAUTH_HAS_OTHER_DISCORD] = {409, "discord_already_linked",
	                             "Your account is already linked to another Discord account."},
	[OAUTH_TOO_MANY_FLOWS] = {429, "too_many_attempts",
	                       "Too many Discord sign-ins in progress from this address; wait a few "
	                       "minutes."},
	[OAUTH_DISCORD_UNAVAILABLE] = {502, "discord_unavailable",
	                               "Discord could not be reached; try again shortly."},
	[OAUTH_NOT_GUILD_MEMBER] = {403, "not_guild_member",
	                            "This sign-in is for members of the Farout Discord server."},
	[OAUTH_UNAVAILABLE] = {503, "unavailable", "The service is temporarily unavailable."},
	[OAUTH_ERROR] = {500, "internal_error", "The sign-in could not be completed."},
};

const struct oauth_answer *oauth_answer(enum oauth_result r)
{
	return &answers[(unsigned)r < OAUTH__MAX ? r : OAUTH_ERROR];
}

enum oauth_result oauth_result_of_discord(enum discord_result d)
{
	if (d == DISCORD_OK)
		return OAUTH_OK;
	if (d == DISCORD_NOT_MEMBER)
		return OAUTH_NOT_GUILD_MEMBER;
	return d == DISCORD_INVALID_GRANT ? OAUTH_INVALID_GRANT : OAUTH_DISCORD_UNAVAILABLE;
}

static enum oauth_result from_db(enum db_status st)
{
	return st == DB_UNAVAILABLE ? OAUTH_UNAVAILABLE : OAUTH_ERROR;
}

/* ---- keys and state ------------------------------------------------------ */

static int derive_key(const unsigned char *secret, size_t len, unsigned char out[OAUTH_KEY_LEN])
{
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), secret, (int)len, (const unsigned char *)STATE_KEY_LABEL,
	         strlen(STATE_KEY_LABEL), out, &n) == NULL || n != OAUTH_KEY_LEN)
		return -1;
	return 0;
}

int oauth_keys_init(struct oauth_keys *k, const struct config *cfg)
{
	memset(k, 0, sizeof *k);
	if (cfg->jwt_secret == NULL || derive_key(cfg->jwt_secret, cfg->jwt_secret_len, k->current) == -1)
		return -1;
	if (cfg->jwt_secret_previous != NULL) {
		if (derive_key(cfg->jwt_secret_previous, cfg->jwt_secret_previous_len, k->previous) == -1)
			return -1;
		k->has_previous = true;
	}
	return 0;
}

void oauth_keys_cleanup(struct oauth_keys *k)
{
	util_wipe(k, sizeof *k);
}

static char *state_mac_new(const unsigned char key[OAUTH_KEY_LEN], const char *nonce, size_t n)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char *out = NULL;

	if (HMAC(EVP_sha256(), key, OAUTH_KEY_LEN, (const unsigned char *)nonce, n, mac, &len) != NULL)
		out = util_b64url_encode_new(mac, len);
	util_wipe(mac, sizeof mac);
	return out;
}

char *oauth_state_new(const struct oauth_keys *k)
{
	char *nonce = util_random_token_new(32), *mac = NULL, *state = NULL;

	if (nonce != NULL && (mac = state_mac_new(k->current, nonce, strlen(nonce))) != NULL &&
	    asprintf(&state, "%s.%s", nonce, mac) < 0)
		state = NULL;
	free(mac);
	free(nonce);
	return state;
}

static bool mac_matches(const unsigned char key[OAUTH_KEY_LEN], const char *state)
{
	char *mac = state_mac_new(key, state, STATE_PART_LEN);
	bool ok = mac != NULL &&
	          util_ct_equal(mac, strlen(mac), state + STATE_PART_LEN + 1, STATE_PART_LEN);

	free(mac);
	return ok;
}

static bool is_b64url(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

bool oauth_state_is_authentic(const struct oauth_keys *k, const char *state)
{
	if (state == NULL || strlen(state) != 2 * STATE_PART_LEN + 1 ||
	    state[STATE_PART_LEN] != '.' || !is_b64url(state, STATE_PART_LEN) ||
	    !is_b64url(state + STATE_PART_LEN + 1, STATE_PART_LEN))
		return false;
	return mac_matches(k->current, state) || (k->has_previous && mac_matches(k->previous, state));
}

/* Lower-case hex SHA-256 of s: how states and bindings are stored. NULL on failure. */
static char *sha256_hex_new(const char *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *hex = NULL;

	if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) == 1 && (hex = malloc(2 * n + 1)) != NULL)
		for (unsigned int i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return hex;
}

/* ---- PKCE ------------------------------------------------------------------ */

char *oauth_pkce_verifier_new(void)
{
	return util_random_token_new(32);
}

char *oauth_pkce_challenge_new(const char *verifier)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *out = NULL;

	if (EVP_Digest(verifier, strlen(verifier), md, &n, EVP_sha256(), NULL) == 1)
		out = util_b64url_encode_new(md, n);
	util_wipe(md, sizeof md);
	return out;
}

/* ---- next -------------------------------------------------------------------- */

static bool needs_escape(unsigned char c)
{
	return c >= 0x80 || c == ' ' || c == '"' || c == '<' || c == '>' || c == '`' || c == '{' ||
	       c == '}' || c == '|' || c == '^';
}

char *oauth_next_path_new(const char *next)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = next != NULL ? strcspn(next, "#") : 0;
	bool ok = n >= 1 && n <= OAUTH_NEXT_MAX && next[0] == '/' && next[1] != '/' && next[1] != '\\';
	char *out, *o;

	for (size_t i = 0; ok && i < n; i++)
		if ((unsigned char)next[i] < 0x20 || next[i] == 0x7f || next[i] == '\\')
			ok = false;
	if (!ok)
		return strdup("/");
	if ((out = malloc(3 * n + 1)) == NULL)
		return NULL;
	o = out;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)next[i];
		if (needs_escape(c)) {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return out;
}

/* ---- the flow ------------------------------------------------------------------ */

void oauth_flow_cleanup(struct oauth_flow *f)
{
	free(f->state);
	util_free_secret(f->binding);
	free(f->challenge);
	memset(f, 0, sizeof *f);
}

enum oauth_result oauth_flow_begin(struct db *db, const struct oauth_keys *k,
                                   const char *next_path, const struct oauth_starter *who,
                                   struct oauth_flow *f, long *retry_after)
{
	enum oauth_result r = OAUTH_ERROR;
	char *verifier = NULL, *state_hash = NULL, *browser_hash = NULL;
	enum db_status st;
	PGresult *res = NULL;
	long wait = 0;

	memset(f, 0, sizeof *f);
	if ((f->state = oauth_state_new(k)) == NULL || (f->binding = util_random_token_new(32)) == NULL ||
	    (verifier = oauth_pkce_verifier_new()) == NULL ||
	    (f->challenge = oauth_pkce_challenge_new(verifier)) == NULL ||
	    (state_hash = sha256_hex_new(f->state)) == NULL ||
	    (browser_hash = sha256_hex_new(f->binding)) == NULL) {
		log_error("oauth: could not create a state (random source or memory)");
		goto out;
	}
	const char *params[] = {state_hash, browser_hash, verifier, next_path, who->link_user_id,
	                        who->link_jti, who->addr != NULL ? who->addr : ""};
	/*
	 * Expired flows go with each new one, so the table never grows past ten
	 * minutes' worth; and one address holds at most OAUTH_FLOWS_PER_ADDR
	 * live ones (two racing requests may both pass the count: nginx's
	 * limit_req in front bounds that). Answers (inserted, seconds until the
	 * address's oldest flow ends).
	 */
	res = db_exec(db,
	              "WITH expired AS (DELETE FROM oauth_states WHERE expires_at < now()), "
	              "live AS (SELECT count(*) AS n, ceil(extract(epoch FROM min(expires_at) - now())) "
	              "AS wait FROM oauth_states WHERE client_addr = $7 AND expires_at >= now()), "
	              "ins AS (INSERT INTO oauth_states (state_hash, browser_hash, code_verifier, "
	              "next_path, link_user_id, link_jti, client_addr, expires_at) "
	              "SELECT $1, $2, $3, $4, $5::integer, $6, $7, now() + interval '"
	              XSTR(OAUTH_STATE_TTL) " seconds' FROM live WHERE live.n < "
	              XSTR(OAUTH_FLOWS_PER_ADDR) " RETURNING 1) "
	              "SELECT (SELECT count(*) FROM ins), (SELECT wait::int8 FROM live)",
	              7, params, &st);
	if (res == NULL) {
		r = from_db(st);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "1") == 0) {
		r = OAUTH_OK;
	} else {
		r = OAUTH_TOO_MANY_FLOWS;
		if (util_parse_long(PQgetvalue(res, 0, 1), 0, OAUTH_STATE_TTL, &wait) == -1)
			wait = OAUTH_STATE_TTL;
		log_info("oauth: %s holds %d live flows; refused", who->addr, OAUTH_FLOWS_PER_ADDR);
	}
out:
	PQclear(res);
	if (retry_after != NULL)
		*retry_after = wait > 0 ? wait : 1;
	util_free_secret(verifier);
	free(state_hash);
	free(browser_hash);
	if (r != OAUTH_OK)
		oauth_flow_cleanup(f);
	return r;
}

char *oauth_authorize_url_new(const struct config *cfg, const char *state, const char *challenge)
{
	char *id = http_urlencode_new(cfg->discord_client_id);
	char *redirect = http_urlencode_new(cfg->discord_redirect_uri);
	char *st = http_urlencode_new(state), *ch = http_urlencode_new(challenge);
	const char *sep = strchr(cfg->discord_authorize_url, '?') != NULL ? "&" : "?";
	char *url = NULL;

	if (id != NULL && redirect != NULL && st != NULL && ch != NULL &&
	    asprintf(&url,
	             "%s%sresponse_type=code&client_id=%s&scope=identify%%20email%s&redirect_uri=%s"
	             "&state=%s&code_challenge=%s&code_challenge_method=S256",
	             cfg->discord_authorize_url, sep, id,
	             cfg->discord_guild_id != NULL ? "%20guilds.members.read" : "", redirect, st,
	             ch) < 0)
		url = NULL;
	free(id);
	free(redirect);
	free(st);
	free(ch);
	return url;
}

void oauth_pending_cleanup(struct oauth_pending *p)
{
	util_free_secret(p->code_verifier);
	free(p->next_path);
	free(p->link_user_id);
	free(p->link_jti);
	memset(p, 0, sizeof *p);
}

enum oauth_result oauth_flow_consume(struct db *db, const struct oauth_keys *k, const char *state,
                                     const char *binding, struct oauth_pending *p)
{
	enum oauth_result r = OAUTH_INVALID_STATE;
	char *state_hash = NULL, *browser_hash = NULL;
	PGresult *res = NULL;
	enum db_status st;
	const char *why = NULL;

	memset(p, 0, sizeof *p);
	if (state == NULL || *state == '\0') {
		why = "no state";
		goto out;
	}
	if (!oauth_state_is_authentic(k, state)) {
		why = "forged or malformed state";
		goto out;
	}
	if (binding == NULL || *binding == '\0') {
		why = "no flow cookie";
		goto out;
	}
	if ((state_hash = sha256_hex_new(state)) == NULL ||
	    (browser_hash = sha256_hex_new(binding)) == NULL) {
		r = OAUTH_ERROR;
		goto out;
	}
	/* Deleted as it is read: a second use finds nothing, on any host. */
	const char *params[] = {state_hash, browser_hash};
	res = db_exec(db,
	              "DELETE FROM oauth_states WHERE state_hash = $1 AND browser_hash = $2 "
	              "RETURNING code_verifier, next_path, link_user_id::text, expires_at > now(), "
	              "link_jti",
	              2, params, &st);
	if (res == NULL) {
		r = from_db(st);
		goto out;
	}
	if (PQntuples(res) != 1) {
		why = "unknown or used state, or another browser's";
		goto out;
	}
	if (!db_bool(res, 0, 3)) {
		why = "expired state";
		goto out;
	}
	const char *link = db_value(res, 0, 2), *jti = db_value(res, 0, 4);
	if (link != NULL && jti == NULL) {
		why = "a link flow without its session";
		goto out;
	}
	p->code_verifier = strdup(PQgetvalue(res, 0, 0));
	p->next_path = strdup(PQgetvalue(res, 0, 1));
	p->link_user_id = link != NULL ? strdup(link) : NULL;
	p->link_jti = jti != NULL ? strdup(jti) : NULL;
	if (p->code_verifier == NULL || p->next_path == NULL ||
	    (link != NULL && p->link_user_id == NULL) || (jti != NULL && p->link_jti == NULL)) {
		r = OAUTH_ERROR;
		goto out;
	}
	r = OAUTH_OK;
out:
	if (why != NULL)
		log_info("discord callback refused: %s", why);
	if (res != NULL) {
		/* The verifier was in the result. */
		if (PQntuples(res) == 1)
			util_wipe(PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)));
		PQclear(res);
	}
	free(state_hash);
	free(browser_hash);
	if (r != OAUTH_OK)
		oauth_pending_cleanup(p);
	return r;
}

static const char prune_sql[] =
	"DELETE FROM oauth_states WHERE state_hash = ANY (ARRAY("
	"SELECT state_hash FROM oauth_states WHERE expires_at < now() - interval '1 day'"
	" LIMIT $1::bigint))";

enum db_status oauth_states_prune(struct db *db, const char *batch, long *deleted)
{
	return db_run_count(db, prune_sql, 1, &batch, deleted); /* LIMIT NULL is no limit */
}

int oauth_cookie_set(struct http_resp *resp, const struct config *cfg, const char *value)
{
	char line[256];
	int n, rc;

	n = snprintf(line, sizeof line, "%s=%s; Path=%s; HttpOnly; SameSite=Lax; Max-Age=%d%s",
	             OAUTH_COOKIE, value != NULL ? value : "", OAUTH_COOKIE_PATH,
	             value != NULL ? OAUTH_STATE_TTL : 0, cfg->public_https ? "; Secure" : "");
	rc = n < 0 || (size_t)n >= sizeof line ? -1 : http_resp_header(resp, "Set-Cookie", line);
	util_wipe(line, sizeof line);
	return rc;
}

/* ---- users --------------------------------------------------------------------- */

char *oauth_username_candidate_new(const char *name, const char *discord_id, unsigned attempt)
{
	size_t idlen = strlen(discord_id);
	/* Suffix lengths 4, 6, 8, … shorter than the id, then the whole id. */
	unsigned shorter = idlen >= 5 ? (unsigned)((idlen - 5) / 2 + 1) : 0;
	char *out = NULL;
	int n;

	if (attempt == 0)
		return strdup(name);
	if (attempt <= shorter) {
		size_t len = 4 + 2 * (size_t)(attempt - 1);
		n = asprintf(&out, "%s_%s", name, discord_id + idlen - len);
	} else if (attempt == shorter + 1) {
		n = asprintf(&out, "%s_%s", name, discord_id);
	} else if (attempt - shorter - 1 <= USERNAME_COUNTERS) {
		n = asprintf(&out, "%s_%s_%u", name, discord_id, attempt - shorter);
	} else {
		return NULL;
	}
	return n < 0 ? NULL : out;
}

/* What a sign-in writes: the email only when Discord says it verified it. */
static struct users_discord discord_fields(const struct discord_user *du)
{
	struct users_discord d = {du->id, du->discriminator, du->avatar,
	                          du->verified ? du->email : NULL};
	return d;
}

/* Refreshes a returning Discord user. OAUTH_OK, or a retry (DB_CONFLICT) via *again. */
static enum oauth_result refresh_user(struct db *db, const char *id, const struct discord_user *du,
                                      struct user *u, bool *again)
{
	struct users_discord d = discord_fields(du);
	bool found = false;
	enum db_status st = users_discord_refresh(db, id, &d, u, &found);

	if (st != DB_OK) {
		*again = st == DB_CONFLICT;
		return from_db(st);
	}
	return found ? OAUTH_OK : OAUTH_ACCOUNT_DISABLED; /* disabled between the look-up and now */
}

/* A new user under the first free name candidate; *again when a unique index was lost to a race. */
static enum oauth_result insert_user(struct db *db, const struct discord_user *du, struct user *u,
                                     bool *again)
{
	struct users_discord d = discord_fields(du);
	enum db_status st;
	bool inserted = false;
	char *name;

	for (unsigned attempt = 0;; attempt++) {
		if ((name = oauth_username_candidate_new(du->username, du->id, attempt)) == NULL) {
			log_error("oauth: no free username for discord user %s", du->id);
			return OAUTH_ERROR;
		}
		st = users_discord_insert(db, name, &d, u, &inserted);
		free(name);
		if (st != DB_OK) {
			*again = st == DB_CONFLICT;
			return from_db(st);
		}
		if (inserted) {
			log_info("oauth: new user %s \"%s\" for discord user %s", u->id, u->username, du->id);
			return OAUTH_OK;
		}
	}
}

enum oauth_result oauth_user_sign_in(struct db *db, const struct discord_user *du, struct user *u)
{
	enum oauth_result r = OAUTH_ERROR;

	memset(u, 0, sizeof *u);
	for (int round = 0; round < UPSERT_ROUNDS; round++) {
		bool again = false, active = false, found = false;
		char *id = NULL;
		enum db_status st = users_find_discord(db, du->id, &id, &active, &found);

		if (st != DB_OK)
			return from_db(st);
		if (found)
			r = active ? refresh_user(db, id, du, u, &again) : OAUTH_ACCOUNT_DISABLED;
		else
			r = insert_user(db, du, u, &again);
		free(id);
		if (!again)
			break;
	}
	return r;
}

enum oauth_result oauth_user_link(struct db *db, const char *user_id, const char *jti,
                                  const struct discord_user *du, struct user *u)
{
	struct users_discord d = discord_fields(du);
	enum oauth_result r = OAUTH_ERROR;

	memset(u, 0, sizeof *u);
	for (int round = 0; round < UPSERT_ROUNDS; round++) {
		struct user cur = {0};
		bool found = false, linked = false, other;
		char *owner = NULL;
		enum db_status st = users_find_by_id(db, user_id, &cur, &found);

		if (st != DB_OK)
			return from_db(st);
		/* The session that started the flow must still be live: a stolen token that
		 * was logged out (or outlived a password change) links nothing. */
		bool live = false;
		if (found && (st = sessions_is_live(db, user_id, jti, &live)) != DB_OK) {
			user_cleanup(&cur);
			return from_db(st);
		}
		if (!found || !live)
			r = OAUTH_NOT_AUTHENTICATED;
		else if (!cur.is_active)
			r = OAUTH_ACCOUNT_DISABLED;
		else if (cur.must_change_password)
			r = OAUTH_PASSWORD_CHANGE_REQUIRED;
		else if (cur.discord_id != NULL && strcmp(cur.discord_id, du->id) != 0)
			r = OAUTH_HAS_OTHER_DISCORD;
		else
			r = OAUTH_OK;
		user_cleanup(&cur);
		if (r != OAUTH_OK)
			return r;

		if ((st = users_discord_owner(db, du->id, &owner)) != DB_OK)
			return from_db(st);
		other = owner != NULL && strcmp(owner, user_id) != 0;
		free(owner);
		if (other)
			return OAUTH_ALREADY_LINKED;

		/*
		 * The caller's transaction is open: a refused UPDATE would abort it and
		 * every look-up of the next round, so the UPDATE gets a savepoint.
		 */
		if ((st = db_run(db, "SAVEPOINT oauth_link", 0, NULL)) != DB_OK)
			return from_db(st);
		st = users_discord_link(db, user_id, jti, &d, u, &linked);
		if (st == DB_CONFLICT &&
		    (st = db_run(db, "ROLLBACK TO SAVEPOINT oauth_link", 0, NULL)) == DB_OK) {
			r = OAUTH_ERROR; /* the Discord id or the email was taken meanwhile: look again */
			continue;
		}
		if (st != DB_OK)
			return from_db(st);
		if (linked) {
			log_info("oauth: user %s linked discord user %s", u->id, du->id);
			return OAUTH_OK;
		}
		r = OAUTH_ERROR; /* the row changed between the checks and the update: look again */
	}
	return r;
}

/* ---- the member ------------------------------------------------------------------ */

char *oauth_avatar_url_new(const struct discord_user *du)
{
	uint64_t id = 0, disc = 0;
	char *url = NULL;
	int n;

	if (du->avatar != NULL) {
		bool animated = strncmp(du->avatar, "a_", 2) == 0;
		n = asprintf(&url, "https://cdn.discordapp.com/avatars/%s/%s.%s", du->id, du->avatar,
		             animated ? "gif" : "png");
	} else {
		util_parse_u64(du->id, &id);
		if (du->discriminator != NULL)
			util_parse_u64(du->discriminator, &disc);
		/* Discord's default avatars: by id since the 2023 usernames ("0"), by tag before. */
		unsigned index = disc == 0 ? (unsigned)((id >> 22) % 6) : (unsigned)(disc % 5);
		n = asprintf(&url, "https://cdn.discordapp.com/embed/avatars/%u.png", index);
	}
	return n < 0 ? NULL : url;
}

int oauth_member_upsert(struct db *db, const struct discord_user *du, const char *nick)
{
	char *avatar_url = oauth_avatar_url_new(du);
	const char *display = nick != NULL && members_is_display_name(nick) ? nick
	                      : du->global_name != NULL                     ? du->global_name
	                                                                    : du->username;
	enum db_status st = DB_ERROR;

	if (avatar_url != NULL) {
		st = members_upsert_discord(db, du->id, display, avatar_url);
	}
	free(avatar_url);
	if (st == DB_OK)
		return 0;
	log_warn("oauth: member row for discord user %s not written (%s); the next sign-in repairs it",
	         du->id, st == DB_UNAVAILABLE ? "app database unavailable" : "query failed");
	return -1;
}

#include "discord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "buf.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "names.h"
#include "util.h"

#define TOKEN_MAX 512   /* Discord's are 30 characters; anything this long is not one */
#define EMAIL_MAX 254   /* RFC 5321's path limit, and it fits the 255-character column */
#define AVATAR_MAX 64   /* hashes are 32 hex digits, "a_" + 32 when animated */
#define USER_AGENT "farout-auth (https://github.com/farout; 1.0)"

int discord_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void discord_global_cleanup(void)
{
	curl_global_cleanup();
}

int discord_client_init(struct discord_client *c, const struct config *cfg)
{
	c->cfg = cfg;
	c->curl = curl_easy_init();
	return c->curl != NULL ? 0 : -1;
}

void discord_client_cleanup(struct discord_client *c)
{
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

void discord_user_cleanup(struct discord_user *u)
{
	free(u->id);
	free(u->username);
	free(u->global_name);
	free(u->discriminator);
	free(u->avatar);
	util_free_secret(u->email);
	memset(u, 0, sizeof *u);
}

/* ---- parsing -------------------------------------------------------------- */

/* The answer held tokens (access and refresh): no copy of them may outlive it. */
static void delete_wiped(cJSON *item)
{
	for (cJSON *i = item; i != NULL; i = i->next) {
		if (cJSON_IsString(i) && i->valuestring != NULL)
			util_wipe(i->valuestring, strlen(i->valuestring));
		if (i->child != NULL)
			delete_wiped(i->child);
	}
}

static bool is_visible_ascii(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

int discord_parse_token(const char *body, size_t len, char **access_token)
{
	enum json_error err;
	cJSON *root = json_parse(body, len, &err);
	const char *token = cJSON_IsObject(root) ? json_string(root, "access_token") : NULL;
	int rc = -1;

	*access_token = NULL;
	/* It goes into an Authorization header: nothing that could end or split one. */
	if (token != NULL && is_visible_ascii(token, TOKEN_MAX)) {
		*access_token = strdup(token);
		rc = *access_token != NULL ? 0 : -1;
	}
	if (root != NULL) {
		delete_wiped(root);
		cJSON_Delete(root);
	}
	return rc;
}

static bool has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool is_discriminator(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 4)
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* It becomes part of a CDN URL: only the characters hashes are made of. */
static bool is_avatar_hash(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > AVATAR_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      *s == '_'))
			return false;
	return true;
}

static bool is_plausible_email(const char *s)
{
	const char *at = strchr(s, '@');

	return is_visible_ascii(s, EMAIL_MAX) && at != NULL && at != s && at[1] != '\0' &&
	       strchr(at + 1, '@') == NULL;
}

/* A string member, or NULL when it is absent, null, empty, not a string or holds controls. */
static const char *clean_string(const cJSON *obj, const char *key)
{
	const char *s = json_string(obj, key);

	return s != NULL && *s != '\0' && !has_control(s) ? s : NULL;
}

int discord_parse_user(const char *body, size_t len, struct discord_user *u)
{
	enum json_error err;
	cJSON *root = json_parse(body, len, &err);
	const char *id, *username, *s;
	int rc = -1;

	memset(u, 0, sizeof *u);
	if (!cJSON_IsObject(root))
		goto out;
	id = json_string(root, "id");
	username = clean_string(root, "username");
	if (id == NULL || !util_is_snowflake(id) || username == NULL)
		goto out;
	/* Names become ours only through lib/names: no look-alikes, no '@', nothing invisible. */
	if ((u->id = strdup(id)) == NULL ||
	    (u->username = names_username_new(username, DISCORD_NAME_MAX)) == NULL)
		goto out;
	if ((s = clean_string(root, "global_name")) != NULL &&
	    names_display_new(s, DISCORD_NAME_MAX, &u->global_name) == -1)
		goto out;
	if ((s = clean_string(root, "discriminator")) != NULL && is_discriminator(s) &&
	    (u->discriminator = strdup(s)) == NULL)
		goto out;
	if ((s = clean_string(root, "avatar")) != NULL && is_avatar_hash(s) &&
	    (u->avatar = strdup(s)) == NULL)
		goto out;
	if ((s = clean_string(root, "email")) != NULL && is_plausible_email(s) &&
	    (u->email = strdup(s)) == NULL)
		goto out;
	u->verified = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "verified"));
	rc = 0;
out:
	if (rc == -1)
		discord_user_cleanup(u);
	if (root != NULL) {
		delete_wiped(root);
		cJSON_Delete(root);
	}
	return rc;
}

/* ---- transfers ------------------------------------------------------------ */

static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct buf *body = userdata;
	size_t n = size * nmemb;

	/* A short count makes libcurl abort the transfer: the cap holds. */
	return buf_append(body, data, n) == 0 ? n : 0;
}

/* Wipes every header line (they carry credentials) and frees the list. */
static void free_headers(struct curl_slist *list)
{
	for (struct curl_slist *l = list; l != NULL; l = l->next)
		util_wipe(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

/* Appends a header line; frees (wiped) the whole list and returns NULL when out of memory. */
static struct curl_slist *add_header(struct curl_slist *list, const char *line)
{
	struct curl_slist *grown = curl_slist_append(list, line);

	if (grown == NULL)
		free_headers(list);
	return grown;
}

/*
 * One request with every safety option set afresh (curl_easy_reset keeps
 * the open connections, not the options). form NULL: GET; else POST form.
 * Returns 0 with *status set, or -1 when no HTTP answer came (logged).
 */
static int perform(struct discord_client *c, const char *what, const char *url,
                   struct curl_slist *headers, const struct buf *form, struct buf *body,
                   long *status)
{
	CURL *h = c->curl;
	char errbuf[CURL_ERROR_SIZE] = "";
	const char *protocols = util_is_loopback_http(c->cfg->discord_api_base) ? "http,https" : "https";
	CURLcode rc;
	int ret = -1;

	*status = 0;
	curl_easy_reset(h);
	if (curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->cfg->discord_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->cfg->discord_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    (form != NULL &&
	     (curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form->len) != CURLE_OK ||
	      curl_easy_setopt(h, CURLOPT_POSTFIELDS, form->data) != CURLE_OK))) {
		log_error("discord %s: libcurl refused an option", what);
		goto out;
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		/* libcurl's message names the host and the cause, never headers or bodies. */
		log_warn("discord %s: %s", what,
		         rc == CURLE_WRITE_ERROR ? "the answer was larger than allowed"
		         : errbuf[0] != '\0'     ? errbuf
		                                 : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	ret = 0;
out:
	/* Forgets every option, so nothing points at our buffers once they are wiped and freed. */
	curl_easy_reset(h);
	return ret;
}

/* Discord's OAuth error code ("invalid_grant", …) for the log, when it is a plain word. */
static void log_refusal(const char *what, long status, const struct buf *body)
{
	enum json_error err;
	cJSON *root = json_parse(body->data, body->len, &err);
	const char *code = cJSON_IsObject(root) ? json_string(root, "error") : NULL;
	bool plain = code != NULL && strlen(code) <= 40;

	for (const char *p = code; plain && *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
			plain = false;
	log_warn("discord %s: HTTP %ld%s%s", what, status, plain ? " " : "", plain ? code : "");
	if (root != NULL) {
		delete_wiped(root);
		cJSON_Delete(root);
	}
}

/* "Authorization: Basic base64(urlenc(id):urlenc(secret))", RFC 6749 2.3.1; caller wipes. */
static char *basic_header_new(const struct config *cfg)
{
	char *id = http_urlencode_new(cfg->discord_client_id);
	char *secret = http_urlencode_new(cfg->discord_client_secret);
	char *pair = NULL, *line = NULL;
	unsigned char *b64 = NULL;
	size_t pair_len = 0, b64_cap = 0;

	if (id == NULL || secret == NULL || asprintf(&pair, "%s:%s", id, secret) < 0) {
		pair = NULL;
		goto out;
	}
	pair_len = strlen(pair);
	b64_cap = 4 * ((pair_len + 2) / 3) + 1;
	if ((b64 = malloc(b64_cap)) == NULL)
		goto out;
	EVP_EncodeBlock(b64, (const unsigned char *)pair, (int)pair_len);
	if (asprintf(&line, "Authorization: Basic %s", (const char *)b64) < 0)
		line = NULL;
out:
	if (b64 != NULL) {
		util_wipe(b64, b64_cap);
		free(b64);
	}
	util_free_secret(pair);
	util_free_secret(secret);
	free(id);
	return line;
}

/* Appends "&name=value" (value URL-encoded) to a form; the caller wipes the form. */
static int form_add(struct buf *form, const char *name, const char *value)
{
	char *enc = http_urlencode_new(value);
	int rc = -1;

	if (enc != NULL)
		rc = buf_printf(form, "%s%s=%s", form->len > 0 ? "&" : "", name, enc);
	util_free_secret(enc);
	return rc;
}

enum discord_result discord_exchange_code(struct discord_client *c, const char *code,
                                          const char *code_verifier, char **access_token)
{
	enum discord_result result = DISCORD_UNAVAILABLE;
	struct curl_slist *headers = NULL;
	struct buf form, body;
	char *url = NULL, *auth = NULL;
	long status;

	*access_token = NULL;
	buf_init(&form, 8 * 1024);
	buf_init(&body, DISCORD_BODY_MAX);
	if (asprintf(&url, "%s/oauth2/token", c->cfg->discord_api_base) < 0) {
		url = NULL;
		goto out;
	}
	if (form_add(&form, "grant_type", "authorization_code") == -1 ||
	    form_add(&form, "code", code) == -1 ||
	    form_add(&form, "redirect_uri", c->cfg->discord_redirect_uri) == -1 ||
	    form_add(&form, "code_verifier", code_verifier) == -1)
		goto out;
	if ((auth = basic_header_new(c->cfg)) == NULL ||
	    (headers = add_header(NULL, auth)) == NULL ||
	    (headers = add_header(headers, "Accept: application/json")) == NULL ||
	    (headers = add_header(headers, "Content-Type: application/x-www-form-urlencoded")) == NULL ||
	    (headers = add_header(headers, "Expect:")) == NULL)
		goto out;
	if (perform(c, "token exchange", url, headers, &form, &body, &status) == -1)
		goto out;
	if (status >= 200 && status < 300) {
		if (discord_parse_token(body.data, body.len, access_token) == 0)
			result = DISCORD_OK;
		else
			log_warn("discord token exchange: the answer holds no usable access_token");
	} else {
		log_refusal("token exchange", status, &body);
		/* A refused code is the user's problem; a rate limit or an outage is Discord's. */
		if (status >= 400 && status < 500 && status != 429)
			result = DISCORD_INVALID_GRANT;
	}
out:
	free_headers(headers);
	util_free_secret(auth);
	buf_wipe_cleanup(&form);
	buf_wipe_cleanup(&body);
	free(url);
	return result;
}

/* A GET with the user's access token; 0 with *status and the answer in body, -1 when no answer came. */
static int get_as_user(struct discord_client *c, const char *what, const char *url,
                       const char *access_token, struct buf *body, long *status)
{
	struct curl_slist *headers = NULL;
	char *auth = NULL;
	int rc = -1;

	if (asprintf(&auth, "Authorization: Bearer %s", access_token) < 0) {
		auth = NULL;
		goto out;
	}
	if ((headers = add_header(NULL, auth)) == NULL ||
	    (headers = add_header(headers, "Accept: application/json")) == NULL)
		goto out;
	rc = perform(c, what, url, headers, NULL, body, status);
out:
	free_headers(headers);
	util_free_secret(auth);
	return rc;
}

enum discord_result discord_fetch_user(struct discord_client *c, const char *access_token,
                                       struct discord_user *u)
{
	enum discord_result result = DISCORD_UNAVAILABLE;
	struct buf body;
	char *url = NULL;
	long status;

	memset(u, 0, sizeof *u);
	buf_init(&body, DISCORD_BODY_MAX);
	if (asprintf(&url, "%s/users/@me", c->cfg->discord_api_base) < 0) {
		url = NULL;
		goto out;
	}
	if (get_as_user(c, "users/@me", url, access_token, &body, &status) == -1)
		goto out;
	if (status < 200 || status >= 300)
		log_refusal("users/@me", status, &body);
	else if (discord_parse_user(body.data, body.len, u) == -1)
		log_warn("discord users/@me: the answer is not a user object with an id and a username");
	else
		result = DISCORD_OK;
out:
	buf_wipe_cleanup(&body);
	free(url);
	return result;
}

/* ---- the server gate -------------------------------------------------------- */

void discord_member_cleanup(struct discord_member *m)
{
	free(m->nick);
	for (size_t i = 0; i < m->nroles; i++)
		free(m->roles[i]);
	free(m->roles);
	memset(m, 0, sizeof *m);
}

bool discord_member_has_role(const struct discord_member *m, const char *role_id)
{
	for (size_t i = 0; i < m->nroles; i++)
		if (strcmp(m->roles[i], role_id) == 0)
			return true;
	return false;
}

int discord_parse_member(const char *body, size_t len, struct discord_member *m)
{
	enum json_error err;
	cJSON *root = json_parse(body, len, &err);
	const cJSON *roles, *role;
	const char *nick;
	int rc = -1;

	memset(m, 0, sizeof *m);
	if (!cJSON_IsObject(root))
		goto out;
	roles = cJSON_GetObjectItemCaseSensitive(root, "roles");
	if (!cJSON_IsArray(roles) || cJSON_GetArraySize(roles) > DISCORD_MEMBER_ROLES_MAX)
		goto out;
	if ((m->roles = calloc((size_t)cJSON_GetArraySize(roles) + 1, sizeof *m->roles)) == NULL)
		goto out;
	cJSON_ArrayForEach(role, roles) {
		if (!cJSON_IsString(role) || !util_is_snowflake(role->valuestring))
			goto out;
		if ((m->roles[m->nroles] = strdup(role->valuestring)) == NULL)
			goto out;
		m->nroles++;
	}
	/* A nickname that is not clean text is no nickname: the Discord name is used instead. */
	nick = clean_string(root, "nick");
	/* Like a global name: invisible characters go, and a nick of nothing else is none. */
	if (nick != NULL && util_is_utf8(nick, strlen(nick)) && !util_is_blank(nick) &&
	    names_display_new(nick, DISCORD_NAME_MAX, &m->nick) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		discord_member_cleanup(m);
	cJSON_Delete(root);
	return rc;
}

/* Discord's retry_after (seconds, a number in the 429 body) for the log; -1 when absent. */
static double retry_after(const struct buf *body)
{
	enum json_error err;
	cJSON *root = json_parse(body->data, body->len, &err);
	const cJSON *v = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "retry_after")
	                                      : NULL;
	double s = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9 ? v->valuedouble : -1;

	cJSON_Delete(root);
	return s;
}

enum discord_result discord_fetch_member(struct discord_client *c, const char *access_token,
                                         const char *guild_id, struct discord_member *m)
{
	enum discord_result result = DISCORD_UNAVAILABLE;
	struct buf body;
	char *url = NULL;
	long status;
	double wait;

	memset(m, 0, sizeof *m);
	buf_init(&body, DISCORD_BODY_MAX);
	/* guild_id is a snowflake (checked at start): nothing in it needs escaping. */
	if (asprintf(&url, "%s/users/@me/guilds/%s/member", c->cfg->discord_api_base, guild_id) < 0) {
		url = NULL;
		goto out;
	}
	if (get_as_user(c, "guild member", url, access_token, &body, &status) == -1)
		goto out;
	if (status == 404 || status == 403) {
		log_info("discord guild member: HTTP %ld, the user is not in the server", status);
		result = DISCORD_NOT_MEMBER;
	} else if (status == 429) {
		/* Waiting it out would hold this worker (and the browser) past the timeout. */
		wait = retry_after(&body);
		if (wait >= 0)
			log_warn("discord guild member: rate limited (retry_after %.3g s); not retried", wait);
		else
			log_warn("discord guild member: rate limited; not retried");
	} else if (status < 200 || status >= 300) {
		log_refusal("guild member", status, &body);
	} else if (discord_parse_member(body.data, body.len, m) == -1) {
		log_warn("discord guild member: the answer is not a member object with a roles list");
	} else {
		result = DISCORD_OK;
	}
out:
	buf_wipe_cleanup(&body);
	free(url);
	return result;
}

#include "throttle.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "app.h"
#include "log.h"
#include "util.h"


char *throttle_user_key_new(const struct user *u, const char *name)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t n = strlen(name);
	char *folded = NULL, *key = NULL;
	bool ok;

	if (u != NULL && u->id != NULL) {
		if (asprintf(&key, "id:%s", u->id) < 0)
			key = NULL;
		return key;
	}
	folded = strdup(name);
	if (folded == NULL)
		return NULL;
	if (strchr(folded, '@') != NULL)
		for (char *p = folded; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	ok = EVP_Digest(folded, n, md, &mdlen, EVP_sha256(), NULL) == 1;
	util_free_secret(folded);
	if (!ok)
		return NULL;
	key = malloc(5 + 2 * mdlen + 1);
	if (key == NULL)
		return NULL;
	memcpy(key, "name:", 5);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(key + 5 + 2 * i, 3, "%02x", md[i]);
	return key;
}

static const char *addr_key(const char *addr)
{
	/* A CGI server that passes no address still gets one shared counter. */
	return addr != NULL && *addr != '\0' ? addr : "unknown";
}

enum db_status throttle_check(struct db *db, const struct config *cfg, const char *user_key,
                              const char *addr, long *retry_after)
{
	char user_max[24], addr_max[24];
	const char *params[4] = {user_key, addr_key(addr), user_max, addr_max};
	enum db_status st;
	PGresult *res;
	long secs = 0;

	*retry_after = 0;
	snprintf(user_max, sizeof user_max, "%ld", cfg->login_max_failures);
	snprintf(addr_max, sizeof addr_max, "%ld", cfg->login_max_failures * THROTTLE_ADDR_FACTOR);
	res = db_exec(db,
	              "SELECT coalesce(max(ceil(extract(epoch FROM expires_at - now()))), 0)::bigint"
	              " FROM login_attempts WHERE expires_at > now() AND"
	              " ((kind = 'user' AND key = $1 AND failures >= $3::integer) OR"
	              "  (kind = 'addr' AND key = $2 AND failures >= $4::integer))",
	              4, params, &st);
	if (st == DB_OK) {
		if (PQntuples(res) != 1 ||
		    util_parse_long(PQgetvalue(res, 0, 0), 0, 7L * 86400 + 1, &secs) == -1)
			st = DB_ERROR;
		else
			*retry_after = secs;
	}
	PQclear(res);
	return st;
}

enum db_status throttle_record_failure(struct db *db, const struct config *cfg,
                                       const char *user_key, const char *addr)
{
	char window[24];
	const char *params[3] = {user_key, addr_key(addr), window};

	snprintf(window, sizeof window, "%ld", cfg->login_window_seconds);
	/* Rows are always locked user first, then address: concurrent sign-ins cannot deadlock. */
	return db_run(db,
	              "INSERT INTO login_attempts AS a (kind, key, failures, window_start, expires_at)"
	              " VALUES ('user', $1, 1, now(), now() + $3::integer * interval '1 second'),"
	              "        ('addr', $2, 1, now(), now() + $3::integer * interval '1 second')"
	              " ON CONFLICT (kind, key) DO UPDATE SET"
	              "  failures = CASE WHEN a.expires_at > now() THEN a.failures + 1 ELSE 1 END,"
	              "  window_start = CASE WHEN a.expires_at > now() THEN a.window_start ELSE now() END,"
	              "  expires_at = CASE WHEN a.expires_at > now() THEN a.expires_at"
	              "                    ELSE EXCLUDED.expires_at END",
	              3, params);
}

enum db_status throttle_reserve(struct db *db, const struct config *cfg, const char *user_key,
                                const char *addr, long *retry_after)
{
	char window[24], user_max[24], addr_max[24];
	const char *params[5] = {user_key, addr_key(addr), window, user_max, addr_max};
	enum db_status st;
	PGresult *res;
	bool over[2] = {false, false};
	long secs, wait = 0;

	*retry_after = 0;
	snprintf(window, sizeof window, "%ld", cfg->login_window_seconds);
	snprintf(user_max, sizeof user_max, "%ld", cfg->login_max_failures);
	snprintf(addr_max, sizeof addr_max, "%ld", cfg->login_max_failures * THROTTLE_ADDR_FACTOR);
	/*
	 * One statement; rows are locked user first, then address, as everywhere.
	 * A key below its limit counts one more; a key at it is set to limit + 1,
	 * which is how the answer tells "refused" from "the last one allowed".
	 */
	res = db_exec(db,
	              "INSERT INTO login_attempts AS a (kind, key, failures, window_start, expires_at)"
	              " VALUES ('user', $1, 1, now(), now() + $3::integer * interval '1 second'),"
	              "        ('addr', $2, 1, now(), now() + $3::integer * interval '1 second')"
	              " ON CONFLICT (kind, key) DO UPDATE SET"
	              "  failures = CASE WHEN a.expires_at <= now() THEN 1"
	              "   WHEN a.failures >= CASE a.kind WHEN 'user' THEN $4::integer ELSE $5::integer END"
	              "   THEN CASE a.kind WHEN 'user' THEN $4::integer ELSE $5::integer END + 1"
	              "   ELSE a.failures + 1 END,"
	              "  window_start = CASE WHEN a.expires_at > now() THEN a.window_start ELSE now() END,"
	              "  expires_at = CASE WHEN a.expires_at > now() THEN a.expires_at"
	              "                    ELSE EXCLUDED.expires_at END"
	              " RETURNING kind, failures > CASE kind WHEN 'user' THEN $4::integer"
	              "  ELSE $5::integer END, greatest(ceil(extract(epoch FROM expires_at - now())), 1)"
	              "  ::bigint",
	              5, params, &st);
	if (st != DB_OK) {
		PQclear(res);
		return st;
	}
	for (int r = 0; r < PQntuples(res) && r < 2; r++) {
		int k = strcmp(PQgetvalue(res, r, 0), "user") == 0 ? 0 : 1;
		over[k] = db_bool(res, r, 1);
		if (over[k] && util_parse_long(PQgetvalue(res, r, 2), 1, 7L * 86400 + 1, &secs) == 0 &&
		    secs > wait)
			wait = secs;
	}
	PQclear(res);
	if (!over[0] && !over[1])
		return DB_OK;
	*retry_after = wait > 0 ? wait : 1;
	/*
	 * Refused attempts do not count: a key over its limit goes back to the
	 * limit, one still below it gets its one back. User first, then address.
	 */
	for (int k = 0; k < 2 && st == DB_OK; k++) {
		const char *undo[4] = {k == 0 ? "user" : "addr", params[k], params[3 + k],
		                       over[k] ? "true" : "false"};
		st = db_run(db,
		            "UPDATE login_attempts SET failures = CASE WHEN $4::boolean"
		            " THEN least(failures, $3::integer) ELSE greatest(failures - 1, 0) END"
		            " WHERE kind = $1 AND key = $2",
		            4, undo);
	}
	return st;
}

enum db_status throttle_release(struct db *db, const char *user_key, const char *addr)
{
	enum db_status st = DB_OK;

	/* User first, then address, as every statement here locks them. */
	for (int k = 0; k < 2 && st == DB_OK; k++) {
		const char *params[2] = {k == 0 ? "user" : "addr", k == 0 ? user_key : addr_key(addr)};
		/* The two sub-statements touch the row only if failures > 1, or only if not. */
		st = db_run(db,
		            "WITH back AS (UPDATE login_attempts SET failures = failures - 1"
		            " WHERE kind = $1 AND key = $2 AND failures > 1) "
		            "DELETE FROM login_attempts WHERE kind = $1 AND key = $2 AND failures <= 1",
		            2, params);
	}
	return st;
}

enum db_status throttle_clear(struct db *db, const char *user_key)
{
	const char *params[1] = {user_key};

	return db_run(db, "DELETE FROM login_attempts WHERE kind = 'user' AND key = $1", 1, params);
}

static const char prune_sql[] =
	"DELETE FROM login_attempts WHERE ctid = ANY (ARRAY("
	"SELECT ctid FROM login_attempts WHERE expires_at < now() LIMIT $1::bigint))";

enum db_status throttle_prune(struct db *db, const char *batch, long *deleted)
{
	return db_run_count(db, prune_sql, 1, &batch, deleted); /* LIMIT NULL is no limit */
}

/* ---- the gate before a password is checked ----------------------------------------- */

static void answer_throttled(struct http_resp *resp, long retry_after)
{
	char secs[24];

	snprintf(secs, sizeof secs, "%ld", retry_after > 0 ? retry_after : 1);
	http_resp_error(resp, 429, "too_many_attempts",
	                "Too many failed sign-ins; try again after the Retry-After delay.");
	http_resp_header(resp, "Retry-After", secs);
}

bool throttle_allows(struct db *db, const struct config *cfg, const struct http_req *req,
                     const struct user *u, const char *name, const char *what, char **key,
                     struct http_resp *resp)
{
	long retry_after = 0;
	enum db_status st;

	*key = throttle_user_key_new(u, name);
	if (*key == NULL) {
		app_answer_db_error(resp, DB_ERROR);
		return false;
	}
	/* The attempt is counted now, before any hash: parallel guesses cannot overtake the count. */
	st = throttle_reserve(db, cfg, *key, req->remote_addr, &retry_after);
	if (st != DB_OK) {
		app_answer_db_error(resp, st);
		return false;
	}
	if (retry_after > 0) {
		log_info("%s refused: too many failures (%s)", what,
		         u != NULL ? "known account" : "unknown name");
		answer_throttled(resp, retry_after);
		return false;
	}
	return true;
}

#include "totp_store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define MFA_TOKEN_BYTES 32 /* 256 random bits */

enum db_status totp_store_load(struct db *db, const char *user_id, struct totp_row *row)
{
	const char *params[1] = {user_id};
	enum db_status st;
	PGresult *res;

	memset(row, 0, sizeof *row);
	res = db_exec(db,
	              "SELECT encode(secret_ct, 'hex'), encode(nonce, 'hex'), encode(tag, 'hex'),"
	              " enabled_at IS NOT NULL FROM user_totp WHERE user_id = $1",
	              1, params, &st);
	if (st == DB_OK && PQntuples(res) == 1) {
		if (totp_unhex(db_value(res, 0, 0), row->sealed.ct, TOTP_SECRET_BYTES) == -1 ||
		    totp_unhex(db_value(res, 0, 1), row->sealed.nonce, TOTP_NONCE_BYTES) == -1 ||
		    totp_unhex(db_value(res, 0, 2), row->sealed.tag, TOTP_TAG_BYTES) == -1) {
			log_error("user_totp row of user %s is malformed", user_id);
			st = DB_ERROR;
		} else {
			row->found = true;
			row->enabled = db_bool(res, 0, 3);
		}
	}
	PQclear(res);
	return st;
}

enum db_status totp_store_is_enabled(struct db *db, const char *user_id, bool *enabled)
{
	const char *params[1] = {user_id};
	enum db_status st;
	PGresult *res;

	*enabled = false;
	res = db_exec(db, "SELECT 1 FROM user_totp WHERE user_id = $1 AND enabled_at IS NOT NULL", 1,
	              params, &st);
	if (st == DB_OK)
		*enabled = PQntuples(res) == 1;
	PQclear(res);
	return st;
}

enum db_status totp_store_status(struct db *db, const char *user_id, bool *enabled, bool *pending,
                                 long *recovery_left)
{
	const char *params[1] = {user_id};
	enum db_status st;
	PGresult *res;

	*enabled = *pending = false;
	*recovery_left = 0;
	res = db_exec(db,
	              "SELECT t.enabled_at IS NOT NULL,"
	              " (SELECT count(*) FROM totp_recovery_codes r WHERE r.user_id = t.user_id)"
	              " FROM user_totp t WHERE t.user_id = $1",
	              1, params, &st);
	if (st == DB_OK && PQntuples(res) == 1) {
		*enabled = db_bool(res, 0, 0);
		*pending = !*enabled;
		if (util_parse_long(PQgetvalue(res, 0, 1), 0, LONG_MAX, recovery_left) == -1)
			st = DB_ERROR;
	}
	PQclear(res);
	return st;
}

enum db_status totp_store_set_pending(struct db *db, const char *user_id,
                                      const struct totp_sealed *s, bool *stored)
{
	char ct[2 * TOTP_SECRET_BYTES + 1], nonce[2 * TOTP_NONCE_BYTES + 1], tag[2 * TOTP_TAG_BYTES + 1];
	const char *params[4] = {user_id, ct, nonce, tag};
	enum db_status st;
	long rows = 0;

	totp_hex(s->ct, TOTP_SECRET_BYTES, ct);
	totp_hex(s->nonce, TOTP_NONCE_BYTES, nonce);
	totp_hex(s->tag, TOTP_TAG_BYTES, tag);
	st = db_run_count(db,
	              "INSERT INTO user_totp AS t (user_id, secret_ct, nonce, tag)"
	              " VALUES ($1, decode($2, 'hex'), decode($3, 'hex'), decode($4, 'hex'))"
	              " ON CONFLICT (user_id) DO UPDATE SET secret_ct = EXCLUDED.secret_ct,"
	              "  nonce = EXCLUDED.nonce, tag = EXCLUDED.tag, created_at = now(), last_step = NULL"
	              " WHERE t.enabled_at IS NULL",
	              4, params, &rows);
	*stored = st == DB_OK && rows > 0;
	return st;
}

enum db_status totp_store_enable(struct db *db, const char *user_id, const struct totp_sealed *expect,
                                 int64_t step, const char *const *recovery_hashes, int n,
                                 bool *enabled)
{
	char nonce[2 * TOTP_NONCE_BYTES + 1], stepbuf[24];
	const char *params[3] = {user_id, nonce, stepbuf};
	enum db_status st;
	long rows = 0;

	totp_hex(expect->nonce, TOTP_NONCE_BYTES, nonce);
	snprintf(stepbuf, sizeof stepbuf, "%lld", (long long)step);
	st = db_run_count(db,
	                  "UPDATE user_totp SET enabled_at = now(), last_step = $3::bigint"
	                  " WHERE user_id = $1 AND enabled_at IS NULL AND nonce = decode($2, 'hex')",
	                  3, params, &rows);
	*enabled = st == DB_OK && rows > 0;
	if (st == DB_OK && *enabled)
		st = db_run(db, "DELETE FROM totp_recovery_codes WHERE user_id = $1", 1, params);
	for (int i = 0; st == DB_OK && *enabled && i < n; i++) {
		const char *p[2] = {user_id, recovery_hashes[i]};
		st = db_run(db, "INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES ($1, $2)", 2,
		            p);
	}
	if (st != DB_OK)
		*enabled = false;
	return st;
}

enum db_status totp_store_remove(struct db *db, const char *user_id, bool *removed)
{
	const char *params[1] = {user_id};
	long rows = 0;
	enum db_status st =
		db_run_count(db, "DELETE FROM user_totp WHERE user_id = $1", 1, params, &rows);

	*removed = st == DB_OK && rows > 0;
	if (st == DB_OK)
		st = db_run(db, "DELETE FROM totp_recovery_codes WHERE user_id = $1", 1, params);
	if (st == DB_OK)
		st = db_run(db, "DELETE FROM mfa_tokens WHERE user_id = $1", 1, params);
	if (st != DB_OK)
		*removed = false;
	return st;
}

enum db_status totp_store_use_step(struct db *db, const char *user_id, int64_t step, bool *accepted)
{
	char stepbuf[24];
	const char *params[2] = {user_id, stepbuf};
	enum db_status st;
	long rows = 0;

	snprintf(stepbuf, sizeof stepbuf, "%lld", (long long)step);
	st = db_run_count(db,
	                  "UPDATE user_totp SET last_step = $2::bigint WHERE user_id = $1"
	                  " AND enabled_at IS NOT NULL AND (last_step IS NULL OR last_step < $2::bigint)",
	                  2, params, &rows);
	*accepted = st == DB_OK && rows > 0;
	return st;
}

enum db_status totp_store_use_recovery(struct db *db, const char *user_id, const char *hash,
                                       bool *used)
{
	const char *params[2] = {user_id, hash};
	long rows = 0;
	enum db_status st =
		db_run_count(db, "DELETE FROM totp_recovery_codes WHERE user_id = $1 AND code_hash = $2",
		             2, params, &rows);

	*used = st == DB_OK && rows > 0;
	return st;
}

enum db_status totp_store_mfa_begin(struct db *db, const char *user_id, const char *method,
                                    char **token)
{
	char secs[24], hash[TOTP_HASH_HEX + 1];
	const char *params[4] = {hash, user_id, secs, method};
	enum db_status st;

	*token = util_random_token_new(MFA_TOKEN_BYTES);
	if (*token == NULL || totp_token_hash(*token, hash) == -1) {
		util_free_secret(*token);
		*token = NULL;
		return DB_ERROR;
	}
	snprintf(secs, sizeof secs, "%d", TOTP_MFA_TOKEN_SECONDS);
	st = db_run(db,
	            "INSERT INTO mfa_tokens (token_hash, user_id, expires_at, method)"
	            " VALUES ($1, $2, now() + $3::integer * interval '1 second', $4)",
	            4, params);
	if (st != DB_OK) {
		util_free_secret(*token);
		*token = NULL;
	}
	return st;
}

enum db_status totp_store_mfa_user(struct db *db, const char *token_hash, char **user_id,
                                   char **method)
{
	const char *params[1] = {token_hash};
	enum db_status st;
	PGresult *res;

	*user_id = *method = NULL;
	res = db_exec(db,
	              "SELECT user_id, method FROM mfa_tokens WHERE token_hash = $1 AND expires_at > now()",
	              1, params, &st);
	if (st == DB_OK && PQntuples(res) == 1) {
		*user_id = strdup(PQgetvalue(res, 0, 0));
		*method = strdup(PQgetvalue(res, 0, 1));
		if (*user_id == NULL || *method == NULL) {
			free(*user_id);
			free(*method);
			*user_id = *method = NULL;
			st = DB_ERROR;
		}
	}
	PQclear(res);
	return st;
}

enum db_status totp_store_mfa_consume(struct db *db, const char *token_hash, const char *user_id,
                                      bool *consumed)
{
	const char *params[2] = {token_hash, user_id};
	long rows = 0;
	enum db_status st = db_run_count(db,
	                                 "DELETE FROM mfa_tokens WHERE token_hash = $1 AND user_id = $2"
	                                 " AND expires_at > now()",
	                                 2, params, &rows);

	*consumed = st == DB_OK && rows > 0;
	return st;
}

static const char prune_sql[] =
	"DELETE FROM mfa_tokens WHERE token_hash = ANY (ARRAY("
	"SELECT token_hash FROM mfa_tokens WHERE expires_at < now() LIMIT $1::bigint))";

enum db_status totp_store_prune(struct db *db, const char *batch, long *deleted)
{
	return db_run_count(db, prune_sql, 1, &batch, deleted); /* LIMIT NULL is no limit */
}

#include "members.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "json.h"
#include "log.h"
#include "util.h"

/* ---- the writable fields --------------------------------------------------- */

enum kind { KIND_NAME, KIND_BIO, KIND_URL, KIND_RANK, KIND_ARRAY, KIND_OBJECT };

/*
 * The only place column names come from: a request's keys merely pick
 * entries here. min_role is who may write the field on anyone; self_may lets
 * the member themself write it on their own row.
 */
static const struct field {
	const char *name; /* the JSON key and the column: the same word */
	const char *cast; /* how the text parameter becomes the column's type */
	enum kind kind;
	bool nullable;
	bool self_may;
	enum role min_role;
} fields[MEMBERS_FIELD__MAX] = {
	[MEMBERS_DISPLAY_NAME] = {"display_name", "", KIND_NAME, false, true, ROLE_ADMIN},
	[MEMBERS_BIO] = {"bio", "", KIND_BIO, true, true, ROLE_ADMIN},
	[MEMBERS_AVATAR_URL] = {"avatar_url", "", KIND_URL, true, false, ROLE_ADMIN},
	[MEMBERS_RANK] = {"rank", "", KIND_RANK, false, false, ROLE_OFFICER},
	[MEMBERS_MISSIONS_COMPLETED] = {"missions_completed", "::jsonb", KIND_ARRAY, false, false,
	                                ROLE_OFFICER},
	[MEMBERS_TRAININGS_COMPLETED] = {"trainings_completed", "::jsonb", KIND_ARRAY, false, false,
	                                 ROLE_OFFICER},
	[MEMBERS_STATS] = {"stats", "::jsonb", KIND_OBJECT, false, false, ROLE_OFFICER},
};

const char *members_field_name(enum members_field f)
{
	return f >= 0 && f < MEMBERS_FIELD__MAX ? fields[f].name : "";
}

static int field_lookup(const char *name)
{
	for (int f = 0; f < MEMBERS_FIELD__MAX; f++)
		if (name != NULL && strcmp(fields[f].name, name) == 0)
			return f;
	return -1;
}

/* ---- validators --------------------------------------------------------------- */

/*
 * C0 controls, DEL and the C1 block (U+0080–U+009F, UTF-8 C2 80–C2 9F).
 * A line-oriented field must not hold them: they break rosters, logs and
 * terminals, and no one types them on purpose.
 */
static bool has_control(const char *s, bool allow_line_breaks)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (allow_line_breaks && (*p == '\n' || *p == '\r' || *p == '\t'))
			continue;
		if (*p < 0x20 || *p == 0x7f)
			return true;
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return true;
	}
	return false;
}

static bool is_label(const char *s, size_t max)
{
	size_t n;

	if (s == NULL || !util_is_utf8(s, strlen(s)))
		return false;
	n = util_utf8_len(s);
	return n >= 1 && n <= max && !util_is_blank(s) && !has_control(s, false);
}

bool members_is_display_name(const char *s)
{
	return is_label(s, MEMBERS_DISPLAY_NAME_MAX);
}

bool members_is_rank(const char *s)
{
	return is_label(s, MEMBERS_RANK_MAX);
}

bool members_is_bio(const char *s)
{
	return s != NULL && util_is_utf8(s, strlen(s)) && util_utf8_len(s) <= MEMBERS_BIO_MAX &&
	       !has_control(s, true);
}

/* http(s)://host… in printable ASCII: what an <img src> can load, nothing a browser would run. */
bool members_is_avatar_url(const char *s)
{
	size_t n = s == NULL ? 0 : strlen(s), skip;

	if (n == 0 || n > MEMBERS_AVATAR_URL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	if (strncasecmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else
		return false;
	/* A host must follow; "http:///x", "http://:80" and "http://@" name none. */
	return strchr("/?#:@", s[skip]) == NULL;
}

/*
 * The most bytes one member's JSON can take: the fixed keys and punctuation,
 * ids and timestamps (about 400 bytes), each text field at 4 bytes per code
 * point (cJSON writes UTF-8 as it is; quotes, backslashes, newlines and tabs
 * take 2), avatar_url at 2 per byte, and the JSONB fields at their cap. A
 * full page of them must fit the response.
 */
#define MEMBERS_ROW_JSON_MAX                                                                    \
	(400 + 4 * (MEMBERS_DISPLAY_NAME_MAX + MEMBERS_BIO_MAX + MEMBERS_RANK_MAX) +              \
	 2 * MEMBERS_AVATAR_URL_MAX + 3 * MEMBERS_JSON_FIELD_MAX)
_Static_assert(MEMBERS_JSON_FIELD_MAX == 3500, "kind_rule() names the limit");
_Static_assert((long)MEMBERS_LIMIT_MAX * (MEMBERS_ROW_JSON_MAX + 1) + 1024 <= HTTP_RESP_BODY_MAX,
               "a full page of the largest members must fit the response cap");

/* Bytes of s as a JSON string the way PostgreSQL's jsonb prints it, quotes included. */
static size_t pg_string_len(const char *s)
{
	size_t n = 2;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\' || *p == '\b' || *p == '\f' || *p == '\n' || *p == '\r' ||
		    *p == '\t')
			n += 2;
		else if (*p < 0x20)
			n += 6;
		else
			n++;
	}
	return n;
}

/*
 * At least as many bytes as PostgreSQL's text of item as jsonb: ", " and
 * ": " separators, and numbers in plain notation (1e+300 comes back as 301
 * digits), bounded by the %.17g form plus its exponent.
 */
static size_t pg_json_len(const cJSON *item)
{
	size_t n = 0, count = 0;
	char num[40];
	const char *e;

	if (cJSON_IsNumber(item)) {
		snprintf(num, sizeof num, "%.17g", item->valuedouble);
		n = strlen(num) + 2;
		if ((e = strchr(num, 'e')) != NULL)
			n += (size_t)labs(strtol(e + 1, NULL, 10));
		return n;
	}
	if (cJSON_IsString(item))
		return pg_string_len(item->valuestring);
	if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
		for (const cJSON *c = item->child; c != NULL; c = c->next, count++) {
			n += pg_json_len(c);
			if (cJSON_IsObject(item))
				n += pg_string_len(c->string) + 2;
		}
		return n + 2 + (count > 0 ? 2 * (count - 1) : 0);
	}
	return 5; /* true, false, null */
}

/*
 * JSONB keeps the last of two equal keys and cannot hold infinities (cJSON
 * would print them as null): both would silently change what was sent, so
 * they are refused at any depth.
 */
static bool is_clean_json(const cJSON *item)
{
	if (cJSON_IsNumber(item))
		return isfinite(item->valuedouble);
	if (cJSON_IsObject(item) && json_has_duplicate_keys(item))
		return false;
	if (cJSON_IsObject(item) || cJSON_IsArray(item))
		for (const cJSON *c = item->child; c != NULL; c = c->next)
			if (!is_clean_json(c))
				return false;
	return true;
}

/* ---- parsing a body --------------------------------------------------------- */

static void say(char *detail, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *detail, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (detail == NULL || n == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, n, fmt, ap);
	va_end(ap);
}

/*
 * A key from the request, fit to quote in an error: short and printable, so
 * the detail is never cut inside a character and stays one line.
 */
static const char *quotable(const char *key)
{
	size_t n = key == NULL ? 0 : strlen(key);

	if (n == 0 || n > 64 || !util_is_utf8(key, n) || has_control(key, false) ||
	    strchr(key, '\'') != NULL)
		return "(unnamed)";
	return key;
}

void members_change_cleanup(struct members_change *c)
{
	free(c->discord_id);
	for (int f = 0; f < MEMBERS_FIELD__MAX; f++)
		free(c->value[f]);
	memset(c, 0, sizeof *c);
}

static const char *kind_rule(enum kind k)
{
	switch (k) {
	case KIND_NAME:
		return "a string of 1 to 64 characters, not only spaces, without control characters";
	case KIND_RANK:
		return "a string of 1 to 32 characters, not only spaces, without control characters";
	case KIND_BIO:
		return "null or a string of at most 2000 characters (line breaks and tabs are the "
		       "only control characters allowed)";
	case KIND_URL:
		return "null or an http:// or https:// URL of at most 512 printable ASCII characters";
	case KIND_ARRAY:
		return "a JSON array of at most 3500 bytes as stored (separators and numbers written "
		       "out in full)";
	case KIND_OBJECT:
		return "a JSON object of at most 3500 bytes as stored (separators and numbers written "
		       "out in full)";
	}
	return "valid";
}

/* The text sent for one field into *out (NULL for JSON null); -1 when invalid, -2 out of memory. */
static int field_value(const struct field *fd, const cJSON *item, char **out)
{
	static bool (*const text_ok[])(const char *) = {
		[KIND_NAME] = members_is_display_name,
		[KIND_RANK] = members_is_rank,
		[KIND_BIO] = members_is_bio,
		[KIND_URL] = members_is_avatar_url,
	};
	const char *s = cJSON_IsString(item) ? item->valuestring : NULL;
	bool is_json = fd->kind == KIND_ARRAY || fd->kind == KIND_OBJECT;
	bool ok;

	*out = NULL;
	if (cJSON_IsNull(item))
		return fd->nullable ? 0 : -1;
	if (is_json)
		ok = (fd->kind == KIND_ARRAY ? cJSON_IsArray(item) : cJSON_IsObject(item)) &&
		     is_clean_json(item) && pg_json_len(item) <= MEMBERS_JSON_FIELD_MAX;
	else
		ok = text_ok[fd->kind](s);
	if (!ok)
		return -1;
	*out = is_json ? cJSON_PrintUnformatted(item) : strdup(s);
	return *out == NULL ? -2 : 0;
}

enum members_check members_change_parse(const cJSON *body, enum members_mode mode,
                                        struct members_change *c, const char **field,
                                        char *detail, size_t detail_len)
{
	enum members_check rc = MEMBERS_CHECK_INVALID;
	bool create = mode == MEMBERS_FOR_CREATE;
	const cJSON *item;

	memset(c, 0, sizeof *c);
	*field = NULL;
	if (!cJSON_IsObject(body)) {
		say(detail, detail_len, "The body must be a JSON object.");
		goto out;
	}
	if (json_has_duplicate_keys(body)) {
		say(detail, detail_len, "The body names a field twice.");
		goto out;
	}
	if (body->child == NULL) {
		say(detail, detail_len,
		    create ? "discord_id and display_name are required."
		           : "The body names no field to change.");
		goto out;
	}
	/* Every unknown key is a 400 of its own kind, found before any value is judged. */
	for (item = body->child; item != NULL; item = item->next) {
		if (create && strcmp(item->string, "discord_id") == 0)
			continue;
		if (field_lookup(item->string) < 0) {
			rc = MEMBERS_CHECK_UNKNOWN_FIELD;
			*field = item->string;
			say(detail, detail_len, "'%s' is not a field that can be written.",
			    quotable(item->string));
			goto out;
		}
	}
	for (item = body->child; item != NULL; item = item->next) {
		int f = field_lookup(item->string), r;

		*field = item->string;
		if (f < 0) { /* discord_id, when creating */
			if (!cJSON_IsString(item) || !util_is_snowflake(item->valuestring)) {
				say(detail, detail_len, "discord_id must be a string of 1 to 20 digits that "
				                        "fits an unsigned 64-bit integer.");
				goto out;
			}
			if ((c->discord_id = strdup(item->valuestring)) == NULL) {
				rc = MEMBERS_CHECK_NO_MEMORY;
				goto out;
			}
			continue;
		}
		r = field_value(&fields[f], item, &c->value[f]);
		if (r == -2) {
			rc = MEMBERS_CHECK_NO_MEMORY;
			goto out;
		}
		if (r == -1) {
			say(detail, detail_len, "%s must be %s.", fields[f].name, kind_rule(fields[f].kind));
			goto out;
		}
		c->set[f] = true;
		c->order[c->nset++] = (enum members_field)f;
	}
	*field = NULL;
	if (create && c->discord_id == NULL) {
		*field = "discord_id";
		say(detail, detail_len, "discord_id is required.");
		goto out;
	}
	if (create && !c->set[MEMBERS_DISPLAY_NAME]) {
		*field = "display_name";
		say(detail, detail_len, "display_name is required.");
		goto out;
	}
	rc = MEMBERS_CHECK_OK;
out:
	if (rc != MEMBERS_CHECK_OK)
		members_change_cleanup(c);
	else
		*field = NULL;
	return rc;
}

bool members_change_read(const struct http_req *req, struct http_resp *resp,
                         enum members_mode mode, struct members_change *change)
{
	enum json_error jerr;
	enum members_check ck;
	const char *field = NULL;
	char detail[256];
	cJSON *body = json_parse(req->body.data, req->body.len, &jerr);

	memset(change, 0, sizeof *change);
	if (body == NULL) {
		http_resp_error(resp, 400, "invalid_request", json_error_detail(jerr));
		return false;
	}
	ck = members_change_parse(body, mode, change, &field, detail, sizeof detail);
	if (ck == MEMBERS_CHECK_UNKNOWN_FIELD)
		http_resp_field_error(resp, 400, "unknown_field", detail, field);
	else if (ck == MEMBERS_CHECK_INVALID)
		http_resp_field_error(resp, 400, "invalid_request", detail, field);
	else if (ck == MEMBERS_CHECK_NO_MEMORY)
		http_resp_error(resp, 500, "internal_error", "Out of memory.");
	cJSON_Delete(body);
	return ck == MEMBERS_CHECK_OK;
}

/* ---- who may write what ------------------------------------------------------------ */

enum members_permission members_change_allowed(const struct members_change *c, enum role role,
                                               bool self, const char **field)
{
	*field = NULL;
	if (role < ROLE_OFFICER && !self)
		return MEMBERS_FORBIDDEN;
	for (size_t i = 0; i < c->nset; i++) {
		const struct field *fd = &fields[c->order[i]];

		if (role >= fd->min_role || (self && fd->self_may))
			continue;
		*field = fd->name;
		return MEMBERS_FORBIDDEN_FIELD;
	}
	return MEMBERS_ALLOWED;
}

/* ---- statements ----------------------------------------------------------------------- */

enum write_kind { WRITE_UPDATE, WRITE_INSERT, WRITE_UPSERT };

/*
 * UPDATE … SET a = $2, b = $3::jsonb WHERE discord_id = $1, or the INSERT
 * (optionally ON CONFLICT … DO UPDATE) with the same parameters. Columns
 * come from fields[] in table order; $1 is always the discord_id.
 */
static int write_sql(const struct members_change *c, enum write_kind kind, const char *discord_id,
                     struct buf *sql, const char **values, int *n)
{
	int rc = 0, p = 1;

	buf_init(sql, 8192);
	values[0] = discord_id;
	if (kind == WRITE_UPDATE) {
		rc |= buf_puts(sql, "UPDATE members AS m SET ");
		for (int f = 0; f < MEMBERS_FIELD__MAX; f++) {
			if (!c->set[f])
				continue;
			values[p] = c->value[f];
			rc |= buf_printf(sql, "%s%s = $%d%s", p > 1 ? ", " : "", fields[f].name, p + 1,
			                 fields[f].cast);
			p++;
		}
		rc |= buf_puts(sql, " WHERE m.discord_id = $1");
	} else {
		rc |= buf_puts(sql, "INSERT INTO members AS m (discord_id");
		for (int f = 0; f < MEMBERS_FIELD__MAX; f++)
			if (c->set[f])
				rc |= buf_printf(sql, ", %s", fields[f].name);
		rc |= buf_puts(sql, ") VALUES ($1");
		for (int f = 0; f < MEMBERS_FIELD__MAX; f++) {
			if (!c->set[f])
				continue;
			values[p] = c->value[f];
			rc |= buf_printf(sql, ", $%d%s", p + 1, fields[f].cast);
			p++;
		}
		rc |= buf_puts(sql, ")");
		if (kind == WRITE_UPSERT) {
			/* A no-op first assignment, so every given field can follow with ", ". */
			rc |= buf_puts(sql, " ON CONFLICT (discord_id) DO UPDATE"
			                    " SET discord_id = EXCLUDED.discord_id");
			for (int f = 0; f < MEMBERS_FIELD__MAX; f++)
				if (c->set[f])
					rc |= buf_printf(sql, ", %s = EXCLUDED.%s", fields[f].name, fields[f].name);
		}
	}
	rc |= buf_puts(sql, " RETURNING " MEMBERS_COLUMNS);
	if (kind == WRITE_UPSERT)
		rc |= buf_puts(sql, ", (m.xmax = 0)");
	*n = p;
	if (rc != 0) {
		buf_cleanup(sql);
		return -1;
	}
	return 0;
}

int members_update_sql(const struct members_change *c, const char *discord_id, struct buf *sql,
                       const char **values, int *n)
{
	return write_sql(c, WRITE_UPDATE, discord_id, sql, values, n);
}

cJSON *members_row_to_json(const PGresult *res, int r, int c0)
{
	cJSON *m = cJSON_CreateObject();
	const char *v;
	long id;
	bool ok;

	if (m == NULL)
		return NULL;
	ok = util_parse_long(db_value(res, r, c0), 0, LONG_MAX, &id) == 0 &&
	     cJSON_AddNumberToObject(m, "id", (double)id) != NULL &&
	     json_add_string_or_null(m, "discord_id", db_value(res, r, c0 + 1)) != NULL &&
	     json_add_string_or_null(m, "display_name", db_value(res, r, c0 + 2)) != NULL &&
	     json_add_string_or_null(m, "bio", db_value(res, r, c0 + 3)) != NULL &&
	     json_add_string_or_null(m, "avatar_url", db_value(res, r, c0 + 4)) != NULL &&
	     json_add_string_or_null(m, "rank", db_value(res, r, c0 + 5)) != NULL;
	/* PostgreSQL's own JSON text, passed through: no number is rounded on the way out. */
	for (int i = 0; ok && i < 3; i++) {
		static const char *const names[] = {"missions_completed", "trainings_completed", "stats"};
		v = db_value(res, r, c0 + 6 + i);
		ok = cJSON_AddRawToObject(m, names[i], v != NULL ? v : "null") != NULL;
	}
	for (int i = 0; ok && i < 2; i++) {
		static const char *const names[] = {"created_at", "updated_at"};
		char when[21];
		long t;
		ok = util_parse_long(db_value(res, r, c0 + 9 + i), LONG_MIN, LONG_MAX, &t) == 0;
		if (ok) {
			util_format_time(t, when);
			ok = cJSON_AddStringToObject(m, names[i], when) != NULL;
		}
	}
	if (!ok) {
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}

/* The row of a one-row result as JSON, or NULL when there is none; DB_ERROR when out of memory. */
static enum db_status one_member(PGresult *res, cJSON **member, bool *found)
{
	*found = PQntuples(res) > 0;
	if (!*found)
		return DB_OK;
	*member = members_row_to_json(res, 0, 0);
	return *member != NULL ? DB_OK : DB_ERROR;
}

enum db_status members_find(struct db *db, const char *discord_id, cJSON **member, bool *found)
{
	const char *values[] = {discord_id};
	enum db_status st;
	PGresult *res;

	*member = NULL;
	*found = false;
	res = db_exec(db, "SELECT " MEMBERS_COLUMNS " FROM members AS m WHERE m.discord_id = $1", 1,
	              values, &st);
	if (res != NULL)
		st = one_member(res, member, found);
	PQclear(res);
	return st;
}

enum db_status members_create(struct db *db, const struct members_change *c, cJSON **member)
{
	const char *values[MEMBERS_FIELD__MAX + 1];
	struct buf sql;
	enum db_status st = DB_ERROR;
	PGresult *res = NULL;
	bool found;
	int n;

	*member = NULL;
	if (write_sql(c, WRITE_INSERT, c->discord_id, &sql, values, &n) == -1)
		return DB_ERROR;
	res = db_exec(db, sql.data, n, values, &st);
	if (res != NULL)
		st = one_member(res, member, &found);
	PQclear(res);
	buf_cleanup(&sql);
	return st;
}

enum db_status members_update(struct db *db, const char *discord_id, const struct members_change *c,
                              cJSON **member, bool *found)
{
	const char *values[MEMBERS_FIELD__MAX + 1];
	struct buf sql;
	enum db_status st = DB_ERROR;
	PGresult *res = NULL;
	int n;

	*member = NULL;
	*found = false;
	if (write_sql(c, WRITE_UPDATE, discord_id, &sql, values, &n) == -1)
		return DB_ERROR;
	res = db_exec(db, sql.data, n, values, &st);
	if (res != NULL)
		st = one_member(res, member, found);
	PQclear(res);
	buf_cleanup(&sql);
	return st;
}

enum db_status members_delete(struct db *db, const char *discord_id, bool *found)
{
	const char *values[] = {discord_id};
	enum db_status st;
	PGresult *res;

	*found = false;
	res = db_exec(db, "DELETE FROM members WHERE discord_id = $1 RETURNING id", 1, values, &st);
	if (res != NULL)
		*found = PQntuples(res) > 0;
	PQclear(res);
	return st;
}

enum db_status members_set_rank(struct db *db, const char *discord_id, const char *rank,
                                char **old_rank)
{
	const char *values[] = {discord_id, rank};
	enum db_status st;
	PGresult *res;

	*old_rank = NULL;
	/* The row is locked as its old rank is read, so the old value returned is the one replaced. */
	res = db_exec(db,
	              "UPDATE members AS m SET rank = $2 "
	              "FROM (SELECT id, rank FROM members WHERE discord_id = $1 FOR UPDATE) AS old "
	              "WHERE m.id = old.id AND old.rank <> $2 RETURNING old.rank",
	              2, values, &st);
	if (res != NULL && PQntuples(res) == 1 && (*old_rank = strdup(PQgetvalue(res, 0, 0))) == NULL)
		st = DB_ERROR;
	PQclear(res);
	return st;
}

/* ---- the directory ------------------------------------------------------------------------ */

void members_query_cleanup(struct members_query *q)
{
	free(q->rank);
	free(q->q);
	memset(q, 0, sizeof *q);
}

enum members_check members_query_parse(const char *query, struct members_query *q, char *detail,
                                       size_t detail_len)
{
	static const char *const names[] = {"rank", "q", "limit", "offset", NULL};
	char *values[4] = {NULL, NULL, NULL, NULL};
	enum members_check rc = MEMBERS_CHECK_INVALID;
	const char *p = query != NULL ? query : "", *key = NULL;
	size_t len = strlen(p), key_len = 0;
	char name[65];
	int found;

	memset(q, 0, sizeof *q);
	q->limit = MEMBERS_LIMIT_DEFAULT;
	switch (http_form_check(p, len, names, &key, &key_len)) {
	case HTTP_FORM_OK:
		break;
	case HTTP_FORM_UNKNOWN:
		snprintf(name, sizeof name, "%.*s", key_len < sizeof name ? (int)key_len : 0, key);
		say(detail, detail_len, "Unknown query parameter '%s'; use rank, q, limit or offset.",
		    quotable(name));
		goto out;
	case HTTP_FORM_TWICE:
		say(detail, detail_len, "The query parameter %.*s is given twice.", (int)key_len, key);
		goto out;
	}
	for (int k = 0; k < 4; k++) {
		if ((found = http_form_get(p, len, names[k], &values[k])) == 0)
			continue;
		if (found != 1 || !util_is_utf8(values[k], strlen(values[k]))) {
			say(detail, detail_len, "The query parameter %s is not valid percent-encoded UTF-8.",
			    names[k]);
			goto out;
		}
	}
	if (values[0] != NULL && !members_is_rank(values[0])) {
		say(detail, detail_len, "rank must be 1 to 32 characters without control characters.");
		goto out;
	}
	if (values[2] != NULL && util_parse_long(values[2], 1, MEMBERS_LIMIT_MAX, &q->limit) == -1) {
		say(detail, detail_len, "limit must be a whole number from 1 to %d.", MEMBERS_LIMIT_MAX);
		goto out;
	}
	if (values[3] != NULL && util_parse_long(values[3], 0, LONG_MAX, &q->offset) == -1) {
		say(detail, detail_len, "offset must be a whole number of at least 0.");
		goto out;
	}
	q->rank = values[0];
	values[0] = NULL;
	if (values[1] != NULL && values[1][0] != '\0') {
		q->q = values[1];
		values[1] = NULL;
	}
	rc = MEMBERS_CHECK_OK;
out:
	for (int i = 0; i < 4; i++)
		free(values[i]);
	if (rc != MEMBERS_CHECK_OK)
		members_query_cleanup(q);
	return rc;
}

/* '%', '_' and '\' match themselves; the rest of q is a substring anywhere in the name. */
static char *like_pattern_new(const char *q)
{
	size_t n = strlen(q);
	char *pat = malloc(2 * n + 3), *o = pat;

	if (pat == NULL)
		return NULL;
	*o++ = '%';
	for (; *q != '\0'; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			*o++ = '\\';
		*o++ = *q;
	}
	*o++ = '%';
	*o = '\0';
	return pat;
}

/*
 * The page and its total in one round trip: the total is an uncorrelated
 * subquery, computed once. Without q it is a sum over member_rank_counts,
 * kept exact by triggers (migration 004), because counting 10,000 rows costs
 * about a millisecond of CPU per request, more than the rest of the page.
 * With q the matching rows are counted through the trigram index. The page
 * itself walks ix_members_display_name_id (or its rank twin) and stops after
 * offset + limit rows. A page past the end has no row to carry the total, so
 * then, and only then, the count runs alone.
 */
#define COUNT_PLAIN                                                                         \
	"SELECT coalesce(sum(n), 0) FROM member_rank_counts WHERE $1::text IS NULL OR rank = $1"
#define COUNT_SEARCH(pattern)                                                               \
	"SELECT count(*) FROM members WHERE ($1::text IS NULL OR rank = $1)"                \
	" AND display_name ILIKE " pattern " ESCAPE '\\'"
#define PAGE_END " ORDER BY m.display_name, m.id LIMIT $2::bigint OFFSET $3::bigint"

static const char list_plain_sql[] =
	"SELECT (" COUNT_PLAIN "), " MEMBERS_COLUMNS
	" FROM members AS m WHERE ($1::text IS NULL OR m.rank = $1)" PAGE_END;
static const char list_search_sql[] =
	"SELECT (" COUNT_SEARCH("$4") "), " MEMBERS_COLUMNS
	" FROM members AS m WHERE ($1::text IS NULL OR m.rank = $1)"
	" AND m.display_name ILIKE $4 ESCAPE '\\'" PAGE_END;

static enum db_status count_alone(struct db *db, const char *rank, const char *pattern,
                                  long *total)
{
	const char *values[] = {rank, pattern};
	enum db_status st;
	PGresult *res = db_exec(db, pattern != NULL ? COUNT_SEARCH("$2") : COUNT_PLAIN,
	                        pattern != NULL ? 2 : 1, values, &st);

	if (res != NULL && (PQntuples(res) != 1 ||
	                    util_parse_long(db_value(res, 0, 0), 0, LONG_MAX, total) == -1))
		st = DB_ERROR;
	PQclear(res);
	return st;
}

enum db_status members_list(struct db *db, const struct members_query *q, cJSON **out)
{
	char limit[24], offset[24];
	char *pattern = NULL;
	const char *values[4];
	enum db_status st = DB_ERROR;
	PGresult *res = NULL;
	cJSON *body = NULL, *items;
	long total = 0;
	int rows;

	*out = NULL;
	snprintf(limit, sizeof limit, "%ld", q->limit);
	snprintf(offset, sizeof offset, "%ld", q->offset);
	values[0] = q->rank;
	values[1] = limit;
	values[2] = offset;
	if (q->q != NULL && (pattern = like_pattern_new(q->q)) == NULL)
		goto out;
	values[3] = pattern;
	res = db_exec(db, pattern != NULL ? list_search_sql : list_plain_sql, pattern != NULL ? 4 : 3,
	              values, &st);
	if (res == NULL)
		goto out;
	rows = PQntuples(res);
	if (rows > 0)
		st = util_parse_long(db_value(res, 0, 0), 0, LONG_MAX, &total) == 0 ? DB_OK : DB_ERROR;
	else if (q->offset > 0)
		st = count_alone(db, q->rank, pattern, &total);
	if (st != DB_OK)
		goto out;
	st = DB_ERROR;
	body = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(body, "items");
	if (items == NULL)
		goto out;
	for (int r = 0; r < rows; r++) {
		cJSON *m = members_row_to_json(res, r, 1);
		if (m == NULL)
			goto out;
		cJSON_AddItemToArray(items, m);
	}
	if (json_add_integer(body, "total", total) == NULL ||
	    json_add_integer(body, "limit", q->limit) == NULL ||
	    json_add_integer(body, "offset", q->offset) == NULL)
		goto out;
	*out = body;
	body = NULL;
	st = DB_OK;
out:
	cJSON_Delete(body);
	PQclear(res);
	free(pattern);
	return st;
}

/* ---- the operators' roster (farout-admin members) ------------------------------------------ */

PGresult *members_roster(struct db *db, enum db_status *st)
{
	return db_exec(db, "SELECT discord_id, rank, display_name FROM members ORDER BY display_name, id",
	               0, NULL, st);
}

enum db_status members_upsert(struct db *db, const struct members_change *c, bool *created)
{
	const char *values[MEMBERS_FIELD__MAX + 1];
	enum db_status st = DB_ERROR;
	struct buf sql;
	PGresult *res;
	int nv;

	*created = false;
	if (write_sql(c, WRITE_UPSERT, c->discord_id, &sql, values, &nv) == -1)
		return DB_ERROR;
	res = db_exec(db, sql.data, nv, values, &st);
	buf_cleanup(&sql);
	if (res != NULL)
		*created = db_bool(res, 0, MEMBERS_NCOLUMNS);
	PQclear(res);
	return st;
}

enum db_status members_upsert_discord(struct db *db, const char *discord_id,
                                      const char *display_name, const char *avatar_url)
{
	const char *params[] = {discord_id, display_name, avatar_url};

	/* A member's own display name is theirs once the row exists; only the picture follows Discord. */
	return db_run(db,
	              "INSERT INTO members (discord_id, display_name, avatar_url) VALUES ($1, $2, $3) "
	              "ON CONFLICT (discord_id) DO UPDATE SET avatar_url = EXCLUDED.avatar_url "
	              "WHERE members.avatar_url IS DISTINCT FROM EXCLUDED.avatar_url",
	              3, params);
}

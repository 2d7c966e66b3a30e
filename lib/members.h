/*
 * members — the rows of farout.members, their JSON (API.md "Member"), the
 * directory search, and who may write which field.
 *
 * Requests reach the table in two steps. members_change_parse() turns a JSON
 * body into a struct members_change: every key must name an entry of a fixed
 * table of writable fields, every value is validated and kept as the text
 * libpq will send (JSON text for the JSONB fields). members_update() and
 * members_create() then build their statement from that fixed table only, so
 * no byte of the request ever becomes SQL; values travel as $n parameters.
 *
 * Owns the members table (and reads member_rank_counts, kept by triggers).
 *
 * Member JSON handed out (cJSON *) belongs to the caller (cJSON_Delete). The
 * JSONB fields are raw items holding PostgreSQL's own JSON text, so numbers
 * come out exactly as stored; print the tree rather than walking them.
 */
#ifndef FAROUT_MEMBERS_H
#define FAROUT_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "buf.h"
#include "db.h"

#define MEMBERS_LIMIT_DEFAULT 50
#define MEMBERS_LIMIT_MAX 200

#define MEMBERS_DISPLAY_NAME_MAX 64 /* characters (code points), like varchar(64) */
#define MEMBERS_BIO_MAX 2000
#define MEMBERS_RANK_MAX 32
#define MEMBERS_AVATAR_URL_MAX 512
/*
 * Each JSONB field (missions_completed, trainings_completed, stats) holds at
 * most this many bytes of JSON as PostgreSQL prints it back (with its ", "
 * and ": " separators and every number written out in full), so that a page
 * of MEMBERS_LIMIT_MAX rows always fits the response cap (see members.c).
 */
#define MEMBERS_JSON_FIELD_MAX 3500

/* The writable fields, in the order of the API's Member object. */
enum members_field {
	MEMBERS_DISPLAY_NAME,
	MEMBERS_BIO,
	MEMBERS_AVATAR_URL,
	MEMBERS_RANK,
	MEMBERS_MISSIONS_COMPLETED,
	MEMBERS_TRAININGS_COMPLETED,
	MEMBERS_STATS,
	MEMBERS_FIELD__MAX
};

/* A validated body. value[f] is the text sent to PostgreSQL; NULL with set[f] means SQL NULL. */
struct members_change {
	char *discord_id; /* POST only */
	bool set[MEMBERS_FIELD__MAX];
	char *value[MEMBERS_FIELD__MAX];
	/* The fields in the order the request named them, for "the first field …" answers. */
	enum members_field order[MEMBERS_FIELD__MAX];
	size_t nset;
};

void members_change_cleanup(struct members_change *);
/* The JSON key (and column) of a field: "display_name", … */
const char *members_field_name(enum members_field);

enum members_check {
	MEMBERS_CHECK_OK,
	MEMBERS_CHECK_INVALID,       /* 400 invalid_request */
	MEMBERS_CHECK_UNKNOWN_FIELD, /* 400 unknown_field */
	MEMBERS_CHECK_NO_MEMORY,     /* 500 */
};

enum members_mode {
	MEMBERS_FOR_PATCH,  /* at least one writable field */
	MEMBERS_FOR_CREATE, /* also discord_id; discord_id and display_name required */
};

/*
 * Checks a parsed body in the order the API promises: an object, no key
 * twice, not empty, every key known (else UNKNOWN_FIELD naming the first
 * unknown one), then every value. On failure detail holds one sentence for
 * the error body, naming the field, and *field the field's key (borrowed from
 * body) when one field is to blame, else NULL; *change is then empty but
 * still needs members_change_cleanup.
 */
enum members_check members_change_parse(const cJSON *body, enum members_mode mode,
                                        struct members_change *change, const char **field,
                                        char *detail, size_t detail_len);

/* Field validators, exposed for the unit tests and the import command. */
bool members_is_display_name(const char *s);
bool members_is_rank(const char *s);
bool members_is_bio(const char *s);
bool members_is_avatar_url(const char *s);

enum members_permission {
	MEMBERS_ALLOWED,
	MEMBERS_FORBIDDEN,       /* 403 forbidden: a plain member writing someone else */
	MEMBERS_FORBIDDEN_FIELD, /* 403 forbidden_field: *field names the first such field */
};

/*
 * The API's write rules: the member themself (self) may write display_name
 * and bio; an officer also rank, missions_completed, trainings_completed and
 * stats, on anyone; an admin every field on anyone.
 */
enum members_permission members_change_allowed(const struct members_change *, enum role role,
                                               bool self, const char **field);

/*
 * members_change_parse over the request's JSON body, answering the failures:
 * 400 invalid_request / unknown_field (with "field"), or 500. true when
 * *change is ready; it needs members_change_cleanup either way.
 */
bool members_change_read(const struct http_req *, struct http_resp *, enum members_mode,
                         struct members_change *change);

/*
 * The statement members_update() runs, for the unit tests: the SET list comes
 * from the fixed field table, $1 is the discord_id and the values follow in
 * field order. sql and values (n of them, borrowed from change) are filled;
 * the caller frees sql (buf_cleanup). 0, or -1 when out of memory.
 */
int members_update_sql(const struct members_change *, const char *discord_id, struct buf *sql,
                       const char **values, int *n);

/*
 * The column list every statement returns, in the order members_row_to_json
 * expects (alias m). Timestamps travel as whole Unix seconds and are written
 * as RFC 3339 in C: to_char() on 100 timestamps costs a page of 50 members
 * about 0.1 ms more.
 */
#define MEMBERS_TIME(col) "floor(date_part('epoch', " col "))::int8"
#define MEMBERS_COLUMNS                                                                   \
	"m.id, m.discord_id, m.display_name, m.bio, m.avatar_url, m.rank, "               \
	"m.missions_completed, m.trainings_completed, m.stats, " MEMBERS_TIME("m.created_at") \
	", " MEMBERS_TIME("m.updated_at")
#define MEMBERS_NCOLUMNS 11

/* The API.md Member object of a row read with MEMBERS_COLUMNS from col0. Caller cJSON_Deletes. */
cJSON *members_row_to_json(const PGresult *, int row, int col0);

/* By discord_id. *member is NULL when not found (or on failure). */
enum db_status members_find(struct db *, const char *discord_id, cJSON **member, bool *found);

struct members_query {
	char *rank; /* NULL: every rank */
	char *q;    /* NULL: no search; a case-insensitive substring of display_name */
	long limit;
	long offset;
};

/*
 * Reads rank, q, limit and offset from a query string (limit defaults to 50,
 * 1–200; offset to 0). Any other parameter, a parameter given twice, a bad
 * escape or a value out of range is MEMBERS_CHECK_INVALID with detail naming
 * the parameter. An empty q means no search. The query owns its strings.
 */
enum members_check members_query_parse(const char *query, struct members_query *,
                                       char *detail, size_t detail_len);
void members_query_cleanup(struct members_query *);

/* {"items": [...], "total": N, "limit": L, "offset": O} into *out (caller cJSON_Deletes). */
enum db_status members_list(struct db *, const struct members_query *, cJSON **out);

/* *member is the new row; DB_CONFLICT when the discord_id exists. */
enum db_status members_create(struct db *, const struct members_change *, cJSON **member);
/* One UPDATE … RETURNING; *found false (and *member NULL) when no row has that discord_id. */
enum db_status members_update(struct db *, const char *discord_id, const struct members_change *,
                              cJSON **member, bool *found);
enum db_status members_delete(struct db *, const char *discord_id, bool *found);
/*
 * Sets the member's rank unless it already is that. *old_rank (the caller
 * frees it) is the rank it replaced, or NULL when nothing changed (no such
 * member, or the same rank).
 */
enum db_status members_set_rank(struct db *, const char *discord_id, const char *rank,
                                char **old_rank);

/*
 * For `farout-admin members list`: discord_id, rank, display_name of every
 * member by display_name. The caller PQclear()s it; NULL with *st on failure.
 */
PGresult *members_roster(struct db *, enum db_status *st);
/* Creates the member of a MEMBERS_FOR_CREATE change, or updates its given fields when it exists. */
enum db_status members_upsert(struct db *, const struct members_change *, bool *created);
/* What a Discord sign-in writes: the row, or only a changed avatar_url when it exists. */
enum db_status members_upsert_discord(struct db *, const char *discord_id,
                                      const char *display_name, const char *avatar_url);

#endif

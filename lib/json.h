/*
 * json — thin helpers over cJSON for request bodies and responses.
 *
 * json_parse() is the one door for untrusted JSON: it checks length, UTF-8,
 * nesting depth (32) and NUL escapes before handing the text to cJSON, and
 * the number of members per object (JSON_MAX_KEYS) after, so handlers only
 * ever see well-formed trees of bounded shape. The caller owns the returned
 * tree (cJSON_Delete). Getters borrow from the tree.
 *
 * Owns no table.
 */
#ifndef FAROUT_JSON_H
#define FAROUT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define JSON_MAX_DEPTH 32
#define JSON_MAX_KEYS 1000 /* members of one object; a 64 KiB body could hold ~13,000 */

enum json_error {
	JSON_OK,
	JSON_MALFORMED,  /* not JSON, or trailing bytes */
	JSON_TOO_DEEP,   /* nested deeper than JSON_MAX_DEPTH */
	JSON_BAD_UTF8,   /* invalid UTF-8 in the text */
	JSON_HAS_NUL,    /* a string holds \u0000, which C strings and PostgreSQL text cannot */
	JSON_TOO_MANY_KEYS, /* an object has more than JSON_MAX_KEYS members */
};

cJSON *json_parse(const char *text, size_t len, enum json_error *err);
const char *json_error_detail(enum json_error err);

/* The member's string value, or NULL when absent or not a string. */
const char *json_string(const cJSON *obj, const char *key);
/*
 * True when an object holds the same key twice (cJSON keeps both). Sorts the
 * keys (n log n), so a body of thousands of keys costs no more than its
 * parse; also true when out of memory, which callers treat as a refusal.
 */
bool json_has_duplicate_keys(const cJSON *obj);

/*
 * A copy of the string member key (caller frees, util_free_secret for
 * secrets), or NULL when absent, not a string or out of memory. The value in
 * the tree is wiped, so a secret lives on in one place only.
 */
char *json_take_string(cJSON *obj, const char *key);

/* Printed compactly; the caller frees with cJSON_free. */
char *json_print_new(const cJSON *item);

/*
 * Adds key: v written as a decimal integer. cJSON keeps numbers as doubles,
 * which print 2^63-1 as 9.2233720368547758e+18; this prints every digit.
 * Returns the new item or NULL.
 */
cJSON *json_add_integer(cJSON *obj, const char *key, long long v);

/* Adds key: value, where value NULL becomes JSON null. Returns the new item or NULL. */
cJSON *json_add_string_or_null(cJSON *obj, const char *key, const char *value);

#endif

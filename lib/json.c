#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/*
 * A scan of the raw text for depth, \u0000 and raw control characters in
 * strings before cJSON sees it: cJSON's own limit is 1000 levels, and it
 * silently cuts strings at an escaped or raw NUL.
 */
static enum json_error prescan(const char *s, size_t len)
{
	int depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_string) {
			if (c == '\\' && i + 1 < len) {
				if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
					return JSON_HAS_NUL;
				i++;
			} else if (c == '"') {
				in_string = false;
			} else if ((unsigned char)c < 0x20) {
				/* JSON requires control characters in strings to be escaped;
				 * cJSON takes them raw, and a raw NUL would cut the C string short. */
				return JSON_MALFORMED;
			}
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > JSON_MAX_DEPTH)
				return JSON_TOO_DEEP;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == '\0') {
			return JSON_MALFORMED;
		}
	}
	return JSON_OK;
}

/* False when an object anywhere in the tree has more than JSON_MAX_KEYS members. */
static bool keys_within_cap(const cJSON *item)
{
	int n = 0;

	for (const cJSON *c = item->child; c != NULL; c = c->next) {
		if (cJSON_IsObject(item) && ++n > JSON_MAX_KEYS)
			return false;
		if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && !keys_within_cap(c))
			return false;
	}
	return true;
}

cJSON *json_parse(const char *text, size_t len, enum json_error *err)
{
	const char *end = NULL;
	cJSON *root;

	*err = JSON_MALFORMED;
	if (text == NULL || len == 0)
		return NULL;
	if (!util_is_utf8(text, len)) {
		*err = JSON_BAD_UTF8;
		return NULL;
	}
	if ((*err = prescan(text, len)) != JSON_OK)
		return NULL;
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (root == NULL) {
		*err = JSON_MALFORMED;
		return NULL;
	}
	/* cJSON stops after the first value; anything but whitespace after it is junk. */
	for (; end != NULL && end < text + len; end++)
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
			cJSON_Delete(root);
			*err = JSON_MALFORMED;
			return NULL;
		}
	/* The prescan bounded the depth, so this recursion is at most 32 deep. */
	if ((cJSON_IsObject(root) || cJSON_IsArray(root)) && !keys_within_cap(root)) {
		cJSON_Delete(root);
		*err = JSON_TOO_MANY_KEYS;
		return NULL;
	}
	*err = JSON_OK;
	return root;
}

const char *json_error_detail(enum json_error err)
{
	switch (err) {
	case JSON_OK:
		return "The body is valid JSON.";
	case JSON_TOO_DEEP:
		return "The JSON body is nested deeper than 32 levels.";
	case JSON_BAD_UTF8:
		return "The body is not valid UTF-8.";
	case JSON_HAS_NUL:
		return "Strings may not contain NUL characters.";
	case JSON_TOO_MANY_KEYS:
		return "A JSON object in the body has more than 1000 members.";
	case JSON_MALFORMED:
		break;
	}
	return "The body is not valid JSON.";
}

const char *json_string(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool json_has_duplicate_keys(const cJSON *obj)
{
	const char **keys;
	size_t n = 0, i = 0;
	bool dup = false;

	for (const cJSON *c = obj ? obj->child : NULL; c != NULL; c = c->next)
		n += c->string != NULL;
	if (n < 2)
		return false;
	if ((keys = malloc(n * sizeof *keys)) == NULL)
		return true;
	for (const cJSON *c = obj->child; c != NULL; c = c->next)
		if (c->string != NULL)
			keys[i++] = c->string;
	qsort(keys, n, sizeof *keys, compare_keys);
	for (i = 1; i < n && !dup; i++)
		dup = strcmp(keys[i - 1], keys[i]) == 0;
	free(keys);
	return dup;
}

char *json_print_new(const cJSON *item)
{
	return cJSON_PrintUnformatted(item);
}

cJSON *json_add_integer(cJSON *obj, const char *key, long long v)
{
	char text[24];

	snprintf(text, sizeof text, "%lld", v);
	return cJSON_AddRawToObject(obj, key, text);
}

cJSON *json_add_string_or_null(cJSON *obj, const char *key, const char *value)
{
	return value != NULL ? cJSON_AddStringToObject(obj, key, value)
	                     : cJSON_AddNullToObject(obj, key);
}

char *json_take_string(cJSON *obj, const char *key)
{
	cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	char *copy;

	if (!cJSON_IsString(item))
		return NULL;
	copy = strdup(item->valuestring);
	util_wipe(item->valuestring, strlen(item->valuestring));
	return copy;
}

/*
 * json_parse (the one door for untrusted JSON) and json_has_duplicate_keys.
 * Properties: a tree that comes out is nested at most JSON_MAX_DEPTH deep,
 * holds at most JSON_MAX_KEYS members per object, and every string and key
 * in it is valid UTF-8 of the length cJSON reports (no NUL cut it short);
 * the linear duplicate-key check agrees with a plain quadratic reference.
 */
#include "fuzz.h"

#include "json.h"
#include "util.h"

static bool reference_has_duplicates(const cJSON *obj)
{
	for (const cJSON *a = obj->child; a != NULL; a = a->next)
		for (const cJSON *b = a->next; b != NULL; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return true;
	return false;
}

static void check(const cJSON *item, int depth)
{
	int n = 0;

	FUZZ_ASSERT(depth <= JSON_MAX_DEPTH);
	if (item->string != NULL)
		FUZZ_ASSERT(util_is_utf8(item->string, strlen(item->string)));
	if (cJSON_IsString(item))
		FUZZ_ASSERT(util_is_utf8(item->valuestring, strlen(item->valuestring)));
	if (cJSON_IsObject(item)) {
		for (const cJSON *c = item->child; c != NULL; c = c->next)
			n++;
		FUZZ_ASSERT(n <= JSON_MAX_KEYS);
		FUZZ_ASSERT(json_has_duplicate_keys(item) == reference_has_duplicates(item));
	}
	if (cJSON_IsObject(item) || cJSON_IsArray(item))
		for (const cJSON *c = item->child; c != NULL; c = c->next)
			check(c, depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum json_error err;
	cJSON *root = json_parse((const char *)data, size, &err);

	FUZZ_ASSERT((root != NULL) == (err == JSON_OK));
	FUZZ_ASSERT(json_error_detail(err) != NULL);
	if (root != NULL) {
		char *printed = json_print_new(root);
		check(root, 0);
		cJSON_free(printed);
	}
	cJSON_Delete(root);
	return 0;
}

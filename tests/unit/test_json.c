/* json: the one door for untrusted JSON — depth, NUL escapes, UTF-8,
 * trailing bytes — and the small helpers around cJSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static enum json_error parse_err(const char *text, size_t len)
{
	enum json_error err = JSON_OK;
	cJSON *root = json_parse(text, len, &err);

	if (err == JSON_OK)
		assert_non_null(root);
	else
		assert_null(root);
	cJSON_Delete(root);
	return err;
}

#define PARSES(s) assert_int_equal(parse_err((s), strlen(s)), JSON_OK)
#define REFUSED(s, e) assert_int_equal(parse_err((s), strlen(s)), (e))

/* depth levels of open, then close: "[[[...]]]" or {"a":{"a":...}}. */
static char *nested_new(int depth, bool objects)
{
	size_t cap = (size_t)depth * 8 + 16, o = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	for (int i = 0; i < depth; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s", objects ? "{\"a\":" : "[");
	o += (size_t)snprintf(s + o, cap - o, "1");
	for (int i = 0; i < depth; i++)
		s[o++] = objects ? '}' : ']';
	s[o] = '\0';
	return s;
}

static void test_depth_limit(void **state)
{
	(void)state;
	for (int objects = 0; objects <= 1; objects++) {
		char *ok = nested_new(JSON_MAX_DEPTH, objects), *deep = nested_new(JSON_MAX_DEPTH + 1, objects);
		char *very = nested_new(5000, objects);

		PARSES(ok);
		REFUSED(deep, JSON_TOO_DEEP);
		REFUSED(very, JSON_TOO_DEEP);
		free(ok);
		free(deep);
		free(very);
	}
	PARSES("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{\"a\":1}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"); /* 32, mixed */
	REFUSED("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{\"a\":1}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", JSON_TOO_DEEP);
}

/* Brackets inside strings are text, not nesting. */
static void test_depth_ignores_strings(void **state)
{
	(void)state;
	PARSES("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}");
	PARSES("{\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\":1}");
	PARSES("[\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]");
	/* Siblings do not add up: 40 arrays side by side are one level each. */
	PARSES("[[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],"
	       "[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[]]");
}

static void test_nul_escape_refused(void **state)
{
	(void)state;
	REFUSED("{\"a\":\"\\u0000\"}", JSON_HAS_NUL);
	REFUSED("{\"a\":\"abc\\u0000def\"}", JSON_HAS_NUL);
	REFUSED("{\"\\u0000\":1}", JSON_HAS_NUL);
	REFUSED("[\"\\u0000\"]", JSON_HAS_NUL);
	/* An escaped backslash followed by the text u0000 is not a NUL. */
	PARSES("{\"a\":\"\\\\u0000\"}");
	PARSES("{\"a\":\"\\u0001\"}");
	PARSES("{\"a\":\"\\u00e9\"}");
}

/* A raw NUL inside a string would reach handlers as a shortened C string
 * ("Admin123!\0junk" as "Admin123!"): a password must never be cut that way. */
static void test_raw_nul_refused(void **state)
{
	static const char in_string[] = "{\"password\":\"Admin123!\0junk\"}";
	static const char in_key[] = "{\"pass\0word\":\"x\"}";
	static const char after[] = "{}\0";

	(void)state;
	assert_int_equal(parse_err(in_string, sizeof in_string - 1), JSON_MALFORMED);
	assert_int_equal(parse_err(in_key, sizeof in_key - 1), JSON_MALFORMED);
	assert_int_equal(parse_err(after, sizeof after - 1), JSON_MALFORMED);
}

/* RFC 8259 §7: control characters in strings must be escaped. */
static void test_raw_control_characters_refused(void **state)
{
	(void)state;
	REFUSED("{\"a\":\"line\nbreak\"}", JSON_MALFORMED);
	REFUSED("{\"a\":\"tab\there\"}", JSON_MALFORMED);
	REFUSED("{\"a\x01\":1}", JSON_MALFORMED);
	PARSES("{\"a\":\"line\\nbreak\\ttab\"}");
	PARSES("{\n\t\"a\": 1\r\n}"); /* whitespace between tokens is fine */
}

static void test_bad_utf8_refused(void **state)
{
	(void)state;
	REFUSED("{\"a\":\"\xc3\x28\"}", JSON_BAD_UTF8);
	REFUSED("{\"a\":\"\xc0\xaf\"}", JSON_BAD_UTF8);         /* overlong */
	REFUSED("{\"a\":\"\xed\xa0\x80\"}", JSON_BAD_UTF8);     /* surrogate */
	REFUSED("{\"a\":\"\xf4\x90\x80\x80\"}", JSON_BAD_UTF8); /* past U+10FFFF */
	REFUSED("{\"a\":\"\xe2\x82\"}", JSON_BAD_UTF8);         /* truncated */
	REFUSED("{\"\xff\":1}", JSON_BAD_UTF8);
	PARSES("{\"a\":\"h\xc3\xa9llo \xf0\x9f\x98\x80\"}");
}

static void test_trailing_junk_refused(void **state)
{
	(void)state;
	REFUSED("{} x", JSON_MALFORMED);
	REFUSED("{}{}", JSON_MALFORMED);
	REFUSED("{\"a\":1}}", JSON_MALFORMED);
	REFUSED("[1]]", JSON_MALFORMED);
	REFUSED("{}\n,", JSON_MALFORMED);
	REFUSED("1 2", JSON_MALFORMED);
	PARSES("{} \t\r\n");
	PARSES(" \n{\"a\":1}");
}

static void test_malformed(void **state)
{
	enum json_error err = JSON_OK;

	(void)state;
	REFUSED("", JSON_MALFORMED);
	REFUSED("{", JSON_MALFORMED);
	REFUSED("[1,]", JSON_MALFORMED);
	REFUSED("{\"a\":}", JSON_MALFORMED);
	REFUSED("{'a':1}", JSON_MALFORMED);
	REFUSED("{\"a\":1,}", JSON_MALFORMED);
	REFUSED("nul", JSON_MALFORMED);
	assert_null(json_parse(NULL, 0, &err));
	assert_int_equal(err, JSON_MALFORMED);
	/* Only the given length is read: "{}" cut to "{". */
	assert_int_equal(parse_err("{}", 1), JSON_MALFORMED);
}

static void test_duplicate_keys(void **state)
{
	enum json_error err;
	cJSON *dup = json_parse("{\"a\":1,\"b\":2,\"a\":3}", 19, &err);
	cJSON *uniq = json_parse("{\"a\":1,\"b\":{\"a\":2}}", 19, &err);
	cJSON *cased = json_parse("{\"a\":1,\"A\":2}", 13, &err);

	(void)state;
	assert_non_null(dup);
	assert_non_null(uniq);
	assert_non_null(cased);
	assert_true(json_has_duplicate_keys(dup));
	assert_false(json_has_duplicate_keys(uniq));
	assert_false(json_has_duplicate_keys(cased));
	assert_false(json_has_duplicate_keys(NULL));
	cJSON_Delete(dup);
	cJSON_Delete(uniq);
	cJSON_Delete(cased);
}

/* An object of n keys "k0".."k<n-1>", the last one renamed to dup when dup is not NULL. */
static char *object_text(int n, const char *dup)
{
	char *text = malloc((size_t)n * 16 + 16), *o = text;

	assert_non_null(text);
	*o++ = '{';
	for (int i = 0; i < n; i++) {
		if (i == n - 1 && dup != NULL)
			o += sprintf(o, "%s\"%s\":1", i ? "," : "", dup);
		else
			o += sprintf(o, "%s\"k%d\":1", i ? "," : "", i);
	}
	strcpy(o, "}");
	return text;
}

/*
 * Issue 10 #8: one 64 KiB object with ~6,000 keys cost 85-165 ms in the
 * quadratic duplicate check, and any member could send it. Now objects hold
 * at most JSON_MAX_KEYS members (at any depth) and the check sorts.
 */
static void test_many_keys_attack(void **state)
{
	char *text, *nested;
	cJSON *root;
	enum json_error err;

	(void)state;
	text = object_text(6000, NULL);
	assert_true(strlen(text) < 64 * 1024);
	REFUSED(text, JSON_TOO_MANY_KEYS);
	nested = malloc(strlen(text) + 32);
	sprintf(nested, "[{\"stats\":%s}]", text);
	REFUSED(nested, JSON_TOO_MANY_KEYS);
	free(nested);
	free(text);

	text = object_text(JSON_MAX_KEYS + 1, NULL);
	REFUSED(text, JSON_TOO_MANY_KEYS);
	free(text);
	/* An array may be long: only objects are capped. */
	text = malloc(3 * 5000 + 3);
	strcpy(text, "[1");
	for (int i = 1; i < 5000; i++)
		strcat(text, ",1");
	strcat(text, "]");
	PARSES(text);
	free(text);

	text = object_text(JSON_MAX_KEYS, NULL);
	root = json_parse(text, strlen(text), &err);
	assert_non_null(root);
	assert_false(json_has_duplicate_keys(root));
	cJSON_Delete(root);
	free(text);
	text = object_text(JSON_MAX_KEYS, "k0");
	root = json_parse(text, strlen(text), &err);
	assert_non_null(root);
	assert_true(json_has_duplicate_keys(root));
	cJSON_Delete(root);
	free(text);
	text = object_text(JSON_MAX_KEYS, "k998");
	root = json_parse(text, strlen(text), &err);
	assert_true(json_has_duplicate_keys(root));
	cJSON_Delete(root);
	free(text);
}

/* Issue 10 #11: a huge offset came back as 9.2233720368547758e+18. */
static void test_integers_printed_whole(void **state)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	(void)state;
	assert_non_null(json_add_integer(o, "max", 9223372036854775807LL));
	assert_non_null(json_add_integer(o, "min", -9223372036854775807LL - 1));
	assert_non_null(json_add_integer(o, "zero", 0));
	text = json_print_new(o);
	assert_string_equal(text, "{\"max\":9223372036854775807,\"min\":-9223372036854775808,\"zero\":0}");
	cJSON_free(text);
	cJSON_Delete(o);
}

static void test_typed_getters(void **state)
{
	static const char text[] = "{\"s\":\"x\",\"n\":1,\"z\":null,\"b\":true,\"o\":{},\"S\":\"y\"}";
	enum json_error err;
	cJSON *root = json_parse(text, sizeof text - 1, &err);

	(void)state;
	assert_non_null(root);
	assert_string_equal(json_string(root, "s"), "x");
	assert_string_equal(json_string(root, "S"), "y"); /* keys are case-sensitive */
	assert_null(json_string(root, "n"));
	assert_null(json_string(root, "z"));
	assert_null(json_string(root, "b"));
	assert_null(json_string(root, "o"));
	assert_null(json_string(root, "missing"));
	cJSON_Delete(root);
}

static void test_string_or_null_and_print(void **state)
{
	cJSON *obj = cJSON_CreateObject();
	char *text;

	(void)state;
	assert_non_null(json_add_string_or_null(obj, "bio", NULL));
	assert_non_null(json_add_string_or_null(obj, "name", "N\"elly"));
	text = json_print_new(obj);
	assert_string_equal(text, "{\"bio\":null,\"name\":\"N\\\"elly\"}");
	cJSON_free(text);
	cJSON_Delete(obj);
}

static void test_error_details(void **state)
{
	(void)state;
	assert_non_null(strstr(json_error_detail(JSON_TOO_DEEP), "32"));
	assert_non_null(strstr(json_error_detail(JSON_BAD_UTF8), "UTF-8"));
	assert_non_null(strstr(json_error_detail(JSON_HAS_NUL), "NUL"));
	assert_non_null(strstr(json_error_detail(JSON_MALFORMED), "JSON"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_depth_ignores_strings),
		cmocka_unit_test(test_nul_escape_refused),
		cmocka_unit_test(test_raw_nul_refused),
		cmocka_unit_test(test_raw_control_characters_refused),
		cmocka_unit_test(test_bad_utf8_refused),
		cmocka_unit_test(test_trailing_junk_refused),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_many_keys_attack),
		cmocka_unit_test(test_integers_printed_whole),
		cmocka_unit_test(test_typed_getters),
		cmocka_unit_test(test_string_or_null_and_print),
		cmocka_unit_test(test_error_details),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

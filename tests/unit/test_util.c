/* util: base64url (RFC 4648 §10 vectors in the url alphabet, strict decoding),
 * constant-time compare, strict number parsing, snowflakes, UTF-8, time. */
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static void assert_encodes(const char *raw, size_t n, const char *expected)
{
	char *enc = util_b64url_encode_new((const unsigned char *)raw, n);
	unsigned char *dec = NULL;
	size_t declen = 99;

	assert_non_null(enc);
	assert_string_equal(enc, expected);
	assert_int_equal(util_b64url_decode_new(enc, strlen(enc), &dec, &declen), 0);
	assert_int_equal(declen, n);
	if (n > 0)
		assert_memory_equal(dec, raw, n);
	assert_int_equal(dec[n], '\0'); /* the promised spare NUL */
	free(dec);
	free(enc);
}

/* RFC 4648 §10, padding removed (§5 base64url is used unpadded in JWS). */
static void test_b64url_rfc4648_vectors(void **state)
{
	(void)state;
	assert_encodes("", 0, "");
	assert_encodes("f", 1, "Zg");
	assert_encodes("fo", 2, "Zm8");
	assert_encodes("foo", 3, "Zm9v");
	assert_encodes("foob", 4, "Zm9vYg");
	assert_encodes("fooba", 5, "Zm9vYmE");
	assert_encodes("foobar", 6, "Zm9vYmFy");
}

/* The two characters where base64url differs from base64: '-' for '+', '_' for '/'. */
static void test_b64url_url_alphabet(void **state)
{
	(void)state;
	assert_encodes("\xfb\xff", 2, "-_8");
	assert_encodes("\xff\xff\xbe", 3, "__--");
	assert_encodes("\xfb\xef\xbe", 3, "----");
	assert_encodes("\0", 1, "AA");
}

static void assert_rejected(const char *in, size_t n)
{
	unsigned char *out = (unsigned char *)"sentinel";
	size_t outlen = 42;

	assert_int_equal(util_b64url_decode_new(in, n, &out, &outlen), -1);
	assert_null(out);
	assert_int_equal(outlen, 0);
}

static void test_b64url_strict_rejects(void **state)
{
	(void)state;
	assert_rejected("Zg==", 4);      /* padding */
	assert_rejected("Zm8=", 4);
	assert_rejected("+_8", 3);       /* standard alphabet */
	assert_rejected("-/8", 3);
	assert_rejected("Zm9 v", 5);     /* whitespace anywhere */
	assert_rejected("Zm9v\n", 5);
	assert_rejected(" Zm9v", 5);
	assert_rejected("Zm9v\t", 5);
	assert_rejected("Zm\09v", 5);    /* a NUL inside the given length */
	assert_rejected("Zh", 2);        /* 'f' is "Zg": non-zero unused bits */
	assert_rejected("Zm9", 3);       /* "fo" is "Zm8" */
	assert_rejected("-_9", 3);
	assert_rejected("Zm9vY", 5);     /* length % 4 == 1 can hold no whole byte */
	assert_rejected("Z", 1);
	assert_rejected("Zm9v\xc3\xa9", 6);
}

static void test_b64url_roundtrip_all_lengths(void **state)
{
	unsigned char raw[64];

	(void)state;
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof raw; n++) {
		char *enc = util_b64url_encode_new(raw, n);
		unsigned char *dec = NULL;
		size_t declen = 0;

		assert_non_null(enc);
		assert_int_equal(strlen(enc), (4 * n + 2) / 3);
		assert_null(strpbrk(enc, "+/="));
		assert_int_equal(util_b64url_decode_new(enc, strlen(enc), &dec, &declen), 0);
		assert_int_equal(declen, n);
		if (n > 0)
			assert_memory_equal(dec, raw, n);
		free(dec);
		free(enc);
	}
}

static void test_random_token(void **state)
{
	char *a = util_random_token_new(32), *b = util_random_token_new(32);
	unsigned char *dec = NULL;
	size_t declen = 0;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(strlen(a), 43);
	assert_string_not_equal(a, b);
	assert_int_equal(util_b64url_decode_new(a, strlen(a), &dec, &declen), 0);
	assert_int_equal(declen, 32);
	assert_null(util_random_token_new(0));
	assert_null(util_random_token_new(65));
	free(dec);
	free(a);
	free(b);
}

static void test_ct_equal(void **state)
{
	(void)state;
	assert_true(util_ct_equal("abc", 3, "abc", 3));
	assert_false(util_ct_equal("abc", 3, "abd", 3));
	assert_false(util_ct_equal("abc", 3, "xbc", 3));
	assert_false(util_ct_equal("abc", 3, "abcd", 4)); /* a prefix is not equal */
	assert_false(util_ct_equal("abcd", 4, "abc", 3));
	assert_true(util_ct_equal("", 0, "", 0));
	assert_true(util_ct_equal("a\0b", 3, "a\0b", 3));
	assert_false(util_ct_equal("a\0b", 3, "a\0c", 3)); /* bytes after a NUL count */
}

static void assert_long(const char *s, long min, long max, int rc, long expected)
{
	long v = -12345;

	assert_int_equal(util_parse_long(s, min, max, &v), rc);
	assert_int_equal(v, rc == 0 ? expected : -12345); /* untouched on failure */
}

static void test_parse_long(void **state)
{
	(void)state;
	assert_long("0", 0, 10, 0, 0);
	assert_long("10", 0, 10, 0, 10);
	assert_long("-1", -5, 5, 0, -1);
	assert_long("-0", -5, 5, 0, 0);
	assert_long("007", 0, 10, 0, 7);
	assert_long("9223372036854775807", LONG_MIN, LONG_MAX, 0, LONG_MAX);
	assert_long("-9223372036854775808", LONG_MIN, LONG_MAX, 0, LONG_MIN);

	assert_long("11", 0, 10, -1, 0);    /* above max */
	assert_long("-1", 0, 10, -1, 0);    /* below min */
	assert_long("9223372036854775808", LONG_MIN, LONG_MAX, -1, 0); /* overflow */
	assert_long("-9223372036854775809", LONG_MIN, LONG_MAX, -1, 0);
	assert_long("", 0, 10, -1, 0);
	assert_long(" 1", 0, 10, -1, 0);
	assert_long("1 ", 0, 10, -1, 0);
	assert_long("+1", 0, 10, -1, 0);
	assert_long("1x", 0, 10, -1, 0);
	assert_long("0x10", 0, 100, -1, 0);
	assert_long("1e3", 0, 10000, -1, 0);
	assert_long("1.0", 0, 10, -1, 0);
	assert_long("-", -5, 5, -1, 0);
	assert_long("--1", -5, 5, -1, 0);
	assert_long("\t1", 0, 10, -1, 0);
	assert_long(NULL, 0, 10, -1, 0);
}

static void assert_u64(const char *s, int rc, uint64_t expected)
{
	uint64_t v = 777;

	assert_int_equal(util_parse_u64(s, &v), rc);
	if (rc == 0)
		assert_true(v == expected);
	else
		assert_true(v == 777);
}

static void test_parse_u64(void **state)
{
	(void)state;
	assert_u64("0", 0, 0);
	assert_u64("18446744073709551615", 0, UINT64_MAX);
	assert_u64("80351110224678912", 0, 80351110224678912ULL);
	assert_u64("18446744073709551616", -1, 0); /* 2^64 */
	assert_u64("99999999999999999999", -1, 0);
	assert_u64("-1", -1, 0);                  /* strtoull would wrap it */
	assert_u64("+1", -1, 0);
	assert_u64(" 1", -1, 0);
	assert_u64("1 ", -1, 0);
	assert_u64("", -1, 0);
	assert_u64("12a", -1, 0);
	assert_u64(NULL, -1, 0);
}

static void test_snowflake(void **state)
{
	(void)state;
	assert_true(util_is_snowflake("80351110224678912"));
	assert_true(util_is_snowflake("0"));
	assert_true(util_is_snowflake("18446744073709551615"));
	assert_false(util_is_snowflake("18446744073709551616"));
	assert_false(util_is_snowflake("99999999999999999999"));
	assert_false(util_is_snowflake("123456789012345678901")); /* 21 digits */
	assert_false(util_is_snowflake("000000000000000000001"));
	assert_false(util_is_snowflake(""));
	assert_false(util_is_snowflake(NULL));
	assert_false(util_is_snowflake("-1"));
	assert_false(util_is_snowflake("+1"));
	assert_false(util_is_snowflake(" 1"));
	assert_false(util_is_snowflake("1 "));
	assert_false(util_is_snowflake("12a"));
	assert_false(util_is_snowflake("1e5"));
	assert_false(util_is_snowflake("\xd9\xa1")); /* ARABIC-INDIC DIGIT ONE */
}

#define UTF8_OK(s) assert_true(util_is_utf8((s), sizeof(s) - 1))
#define UTF8_BAD(s) assert_false(util_is_utf8((s), sizeof(s) - 1))

static void test_utf8_valid(void **state)
{
	(void)state;
	UTF8_OK("");
	UTF8_OK("plain ascii");
	UTF8_OK("a\0b");                 /* NUL is valid UTF-8; callers decide about it */
	UTF8_OK("\x7f");
	UTF8_OK("\xc2\x80");             /* U+0080, smallest 2-byte */
	UTF8_OK("\xc3\xa9");             /* é */
	UTF8_OK("\xdf\xbf");             /* U+07FF */
	UTF8_OK("\xe0\xa0\x80");         /* U+0800, smallest 3-byte */
	UTF8_OK("\xe2\x82\xac");         /* € */
	UTF8_OK("\xed\x9f\xbf");         /* U+D7FF, just below the surrogates */
	UTF8_OK("\xee\x80\x80");         /* U+E000, just above */
	UTF8_OK("\xef\xbf\xbf");         /* U+FFFF */
	UTF8_OK("\xf0\x90\x80\x80");     /* U+10000, smallest 4-byte */
	UTF8_OK("\xf0\x9f\x98\x80");     /* 😀 */
	UTF8_OK("\xf4\x8f\xbf\xbf");     /* U+10FFFF, the last code point */
}

static void test_utf8_overlongs(void **state)
{
	(void)state;
	UTF8_BAD("\xc0\x80");            /* NUL in two bytes (modified UTF-8) */
	UTF8_BAD("\xc0\xaf");            /* '/' */
	UTF8_BAD("\xc1\xbf");
	UTF8_BAD("\xe0\x80\x80");
	UTF8_BAD("\xe0\x80\xaf");
	UTF8_BAD("\xe0\x9f\xbf");        /* U+07FF in three bytes */
	UTF8_BAD("\xf0\x80\x80\x80");
	UTF8_BAD("\xf0\x8f\xbf\xbf");    /* U+FFFF in four bytes */
}

static void test_utf8_surrogates(void **state)
{
	(void)state;
	UTF8_BAD("\xed\xa0\x80");        /* U+D800 */
	UTF8_BAD("\xed\xaf\xbf");        /* U+DBFF */
	UTF8_BAD("\xed\xb0\x80");        /* U+DC00 */
	UTF8_BAD("\xed\xbf\xbf");        /* U+DFFF */
	UTF8_BAD("\xed\xa0\xbd\xed\xb8\x80"); /* a CESU-8 pair */
}

static void test_utf8_beyond_unicode(void **state)
{
	(void)state;
	UTF8_BAD("\xf4\x90\x80\x80");    /* U+110000 */
	UTF8_BAD("\xf5\x80\x80\x80");
	UTF8_BAD("\xf7\xbf\xbf\xbf");
	UTF8_BAD("\xf8\x88\x80\x80\x80"); /* old 5-byte form */
	UTF8_BAD("\xfc\x84\x80\x80\x80\x80");
	UTF8_BAD("\xfe");
	UTF8_BAD("\xff");
}

static void test_utf8_truncated_and_stray(void **state)
{
	(void)state;
	UTF8_BAD("\xc3");
	UTF8_BAD("abc\xc3");
	UTF8_BAD("\xe2\x82");
	UTF8_BAD("\xf0\x9f\x98");
	UTF8_BAD("\xf0\x9f");
	UTF8_BAD("\x80");                /* a lone continuation byte */
	UTF8_BAD("a\xbfz");
	UTF8_BAD("\xc3\x41");            /* lead byte then ASCII */
	UTF8_BAD("\xe2\x28\xa1");
	UTF8_BAD("\xf0\x9f\x98\x28");
	UTF8_BAD("\xc3\xc3\xa9");
	/* The length given is what counts, not a NUL: é cut after its first byte. */
	assert_false(util_is_utf8("\xc3\xa9", 1));
	assert_true(util_is_utf8("\xc3\xa9", 2));
}

static void test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(util_utf8_len(""), 0);
	assert_int_equal(util_utf8_len("abc"), 3);
	assert_int_equal(util_utf8_len("h\xc3\xa9llo"), 5);
	assert_int_equal(util_utf8_len("\xe2\x82\xac\xf0\x9f\x98\x80"), 2);
}

static void assert_time(int64_t t, const char *expected)
{
	char buf[21];

	memset(buf, 'x', sizeof buf);
	util_format_time(t, buf);
	assert_string_equal(buf, expected);
}

static void test_format_time(void **state)
{
	(void)state;
	assert_time(0, "1970-01-01T00:00:00Z");
	assert_time(951782400, "2000-02-29T00:00:00Z");
	assert_time(1700000000, "2023-11-14T22:13:20Z");
	assert_time(INT64_C(2147483648), "2038-01-19T03:14:08Z"); /* past 32-bit time_t */
	assert_time(INT64_C(4102444800), "2100-01-01T00:00:00Z");
	assert_true(util_now() > 1700000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_rfc4648_vectors),
		cmocka_unit_test(test_b64url_url_alphabet),
		cmocka_unit_test(test_b64url_strict_rejects),
		cmocka_unit_test(test_b64url_roundtrip_all_lengths),
		cmocka_unit_test(test_random_token),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_snowflake),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_overlongs),
		cmocka_unit_test(test_utf8_surrogates),
		cmocka_unit_test(test_utf8_beyond_unicode),
		cmocka_unit_test(test_utf8_truncated_and_stray),
		cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_format_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

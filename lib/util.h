/*
 * util — small primitives every module needs, built on OpenSSL where OpenSSL
 * already does the job: wiping secrets, random bytes, constant-time compare,
 * base64url, strict number parsing and UTF-8 validation.
 *
 * Owns no table.
 */
#ifndef FAROUT_UTIL_H
#define FAROUT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTIL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Wipe with a call the compiler cannot drop (OPENSSL_cleanse). */
void util_wipe(void *p, size_t n);
/* Wipe a NUL-terminated secret and free it; NULL is fine. */
void util_free_secret(char *s);

/* 0 on success, -1 when the CSPRNG fails. */
int util_random_bytes(unsigned char *out, size_t n);
/* nbytes random bytes as unpadded base64url; caller frees. NULL on failure. */
char *util_random_token_new(size_t nbytes);

/* Constant time when the lengths match; unequal lengths are simply false. */
bool util_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Unpadded base64url (RFC 4648 §5); caller frees. */
char *util_b64url_encode_new(const unsigned char *in, size_t n);
/*
 * Strict decode: only the base64url alphabet, no padding, no whitespace, and
 * the unused low bits of the last character must be zero (one canonical
 * spelling per value). *out is malloc'd with a spare NUL after *outlen bytes.
 */
int util_b64url_decode_new(const char *in, size_t inlen, unsigned char **out, size_t *outlen);

/* Decimal integers only: no sign games, no spaces, no trailing junk, in range. */
int util_parse_long(const char *s, long min, long max, long *out);
int util_parse_u64(const char *s, uint64_t *out);
/* 1-20 ASCII digits that fit an unsigned 64-bit integer (a Discord snowflake). */
bool util_is_snowflake(const char *s);

/* An http:// URL of 127.0.0.1, localhost or [::1], the host ending there (not "localhost.evil"). */
bool util_is_loopback_http(const char *url);

/* Well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF). */
bool util_is_utf8(const char *s, size_t n);
/* True when s is empty or holds only spaces. */
bool util_is_blank(const char *s);
/* Number of code points in valid UTF-8. */
size_t util_utf8_len(const char *s);

/* Seconds since the epoch, as an int64 so 2038 is not our problem. */
int64_t util_now(void);
/* RFC 3339 UTC with Z from a Unix time; buf needs 21 bytes. */
void util_format_time(int64_t t, char buf[static 21]);

#endif

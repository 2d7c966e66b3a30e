/*
 * totp — the cryptography of two-factor sign-in (API.md "Two-factor
 * sign-in"): RFC 6238 codes (HMAC-SHA-1, 6 digits, 30 s steps) computed and
 * checked by Debian's liboath, base32 from liboath, TOTP secrets sealed with
 * AES-256-GCM under TOTP_KEY (OpenSSL EVP), recovery codes and the hashes
 * stored in place of recovery codes and mfa_tokens.
 *
 * No SQL here: the tables are lib/totp_store's. Functions returning memory
 * say _new; secrets (raw secrets, base32 secrets, recovery codes, tokens)
 * are freed with util_free_secret or wiped by the caller.
 */
#ifndef FAROUT_TOTP_H
#define FAROUT_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOTP_KEY_BYTES 32     /* AES-256 */
#define TOTP_SECRET_BYTES 20  /* 160 bits: RFC 4226's recommended HMAC-SHA-1 key size */
#define TOTP_NONCE_BYTES 12   /* GCM's 96-bit nonce, random per seal */
#define TOTP_TAG_BYTES 16
#define TOTP_DIGITS 6
#define TOTP_STEP_SECONDS 30
#define TOTP_WINDOW 1         /* steps accepted either side of the current one */
#define TOTP_RECOVERY_CODES 10
#define TOTP_RECOVERY_LEN 14  /* "abcd-efgh-ijkl": 12 base32 characters, 60 bits */
#define TOTP_HASH_HEX 64      /* SHA-256 as lower-case hex */
#define TOTP_ISSUER "Farout"

/* liboath's global set-up; call once per process before anything below. 0 or -1. */
int totp_init(void);

/* A fresh random secret of TOTP_SECRET_BYTES into out. 0 or -1. */
int totp_secret_generate(unsigned char out[TOTP_SECRET_BYTES]);
/* base32 of a secret (RFC 4648, upper case, without '=' padding); caller frees with util_free_secret. */
char *totp_base32_new(const unsigned char *secret, size_t n);
/* otpauth://totp/Farout:<username>?secret=…&issuer=Farout&algorithm=SHA1&digits=6&period=30; caller frees. */
char *totp_uri_new(const char *username, const char *base32);

/*
 * The RFC 6238 code of secret for the step holding Unix time t, with digits
 * digits (6 here; 8 for the RFC's test vectors), into out (digits + 1 bytes).
 * 0 or -1.
 */
int totp_code(const unsigned char *secret, size_t n, int64_t t, unsigned digits, char *out);

/* True for a well-formed TOTP code: TOTP_DIGITS ASCII digits. */
bool totp_is_code(const char *code);
/*
 * Checks code against the steps of now ± TOTP_WINDOW (compared in constant
 * time). Returns 1 with the matching step number (t / 30) in *step, 0 when
 * no step matches, -1 on failure.
 */
int totp_verify(const unsigned char *secret, size_t n, int64_t now, const char *code,
                int64_t *step);

/*
 * A secret sealed for one user: AES-256-GCM with a random nonce, the user
 * id as additional authenticated data, so a sealed secret copied to another
 * user's row does not open.
 */
struct totp_sealed {
	unsigned char nonce[TOTP_NONCE_BYTES];
	unsigned char tag[TOTP_TAG_BYTES];
	unsigned char ct[TOTP_SECRET_BYTES];
};

int totp_seal(const unsigned char key[TOTP_KEY_BYTES], const char *user_id,
              const unsigned char secret[TOTP_SECRET_BYTES], struct totp_sealed *out);
/* 0 with the secret in out, -1 when it does not open (other key, other user, tampered). */
int totp_open(const unsigned char key[TOTP_KEY_BYTES], const char *user_id,
              const struct totp_sealed *in, unsigned char out[TOTP_SECRET_BYTES]);

/* A new random recovery code "abcd-efgh-ijkl" into out (TOTP_RECOVERY_LEN + 1 bytes). 0 or -1. */
int totp_recovery_code(char out[TOTP_RECOVERY_LEN + 1]);
/*
 * The stored form of a recovery code typed by user_id: the code is
 * normalised (case, '-' and spaces ignored), then SHA-256("<user_id>:<code>")
 * as hex into out. -1 when the text cannot be a recovery code.
 */
int totp_recovery_hash(const char *user_id, const char *typed, char out[TOTP_HASH_HEX + 1]);

/* SHA-256 of an opaque token (an mfa_token) as hex into out. 0 or -1. */
int totp_token_hash(const char *token, char out[TOTP_HASH_HEX + 1]);

/* Lower-case hex of n bytes into out (2n + 1 bytes); and back (exactly n bytes, else -1). */
void totp_hex(const unsigned char *in, size_t n, char *out);
int totp_unhex(const char *in, unsigned char *out, size_t n);

#endif

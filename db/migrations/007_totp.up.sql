-- Migration 007: two-factor sign-in (API.md "Two-factor sign-in"), in
-- tables of its own; lib/totp_store.c holds every statement on them.
--
-- user_totp: one row per user who set it up. The TOTP secret is stored only
-- sealed with AES-256-GCM under TOTP_KEY (ciphertext, 96-bit nonce, 128-bit
-- tag), the user id bound as additional data, so a copied row does not open
-- for another user. enabled_at is NULL while the setup waits for its first
-- code. last_step is the newest 30 s step accepted: a code of that step or an
-- older one is refused, so a code works once on every worker and host.
--
-- totp_recovery_codes: SHA-256 of each unused recovery code (never the code);
-- a code is deleted as it is used.
--
-- mfa_tokens: the second step of a sign-in in progress, 300 s, single use:
-- only the SHA-256 of the token is kept, with the user it belongs to and the
-- first factor's method (the session it ends in records it).

-- @database auth
CREATE TABLE user_totp (
    user_id    integer     PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_ct  bytea       NOT NULL CHECK (octet_length(secret_ct) = 20),
    nonce      bytea       NOT NULL CHECK (octet_length(nonce) = 12),
    tag        bytea       NOT NULL CHECK (octet_length(tag) = 16),
    created_at timestamptz NOT NULL DEFAULT now(),
    enabled_at timestamptz NULL,
    last_step  bigint      NULL
);

CREATE TABLE totp_recovery_codes (
    user_id    integer     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_tokens (
    token_hash text        PRIMARY KEY,
    user_id    integer     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method     varchar(16) NOT NULL CHECK (method IN ('password', 'discord')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX ix_mfa_tokens_user_id ON mfa_tokens (user_id);
CREATE INDEX ix_mfa_tokens_expires_at ON mfa_tokens (expires_at);
-- @done Two-factor sign-in tables created

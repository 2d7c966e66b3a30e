-- Migration 002: what API.md's "Authentication" needs beyond the Phase 1
-- tables, in tables of its own (the seed's users table is left as it is).
--
-- sessions is the allow-list of issued tokens: a token is accepted only while
-- its jti has a row here that is neither revoked nor expired. login_attempts
-- holds the sign-in throttle's counters, so they hold across processes and
-- hosts. Expired rows of both are pruned by the login program (a bounded
-- DELETE on a small fraction of sign-ins) and by `farout-admin prune`.

-- @database auth
CREATE TABLE IF NOT EXISTS sessions (
    jti        varchar(64) PRIMARY KEY,
    user_id    integer     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NULL
);
CREATE INDEX IF NOT EXISTS ix_sessions_user_id ON sessions (user_id);
CREATE INDEX IF NOT EXISTS ix_sessions_expires_at ON sessions (expires_at);

-- One row per throttled key: kind 'user' (an account, or a name that matches
-- none) or 'addr' (a client address). The window is fixed: it starts at the
-- first failure and ends at expires_at; a failure after that starts a new one.
-- Checking is one primary-key lookup and counting one INSERT … ON CONFLICT.
CREATE TABLE IF NOT EXISTS login_attempts (
    kind         varchar(8)  NOT NULL CHECK (kind IN ('user', 'addr')),
    key          text        NOT NULL,
    failures     integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_start timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS ix_login_attempts_expires_at ON login_attempts (expires_at);
-- @done Sessions and login throttle tables created

-- Migration 003: Discord sign-in flows in progress (API.md "GET
-- /api/auth/discord/login" and ".../callback").
--
-- One row per flow, for at most 600 seconds; the callback deletes it as it
-- reads it, so a state works once on any host. Only hashes of the state and
-- of the browser's farout_oauth cookie are kept: a copy of this table lets
-- nobody finish someone else's flow. code_verifier is the PKCE secret that
-- must reach the token exchange and nothing else. Linking flows name the
-- user being linked; deleting that user ends them.

-- @database auth
CREATE TABLE oauth_states (
    state_hash    text        PRIMARY KEY,
    browser_hash  text        NOT NULL,
    code_verifier text        NOT NULL,
    next_path     text        NOT NULL,
    link_user_id  integer     NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
-- Each new flow deletes the expired ones.
CREATE INDEX ix_oauth_states_expires_at ON oauth_states (expires_at);
CREATE INDEX ix_oauth_states_link_user_id ON oauth_states (link_user_id);
-- @done OAuth states table created

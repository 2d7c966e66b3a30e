-- Migration 005: hardening (issue 10) of the Discord flows in farout_auth.
--
-- A linking flow (GET /api/auth/discord/login?link=1) is bound to the session
-- that started it (link_jti): the callback links only while that session is
-- live, and revoking the session (logout, password change, farout-admin
-- logout/passwd/disable, any UPDATE that sets revoked_at, or deleting it)
-- ends the flow at once, whatever program or host does it. client_addr is
-- REMOTE_ADDR of the browser that started a flow: one address may hold only
-- a bounded number of live flows (lib/oauth.h OAUTH_FLOWS_PER_ADDR).

-- @database auth
-- Flows started before this migration name no session: they are ended.
DELETE FROM oauth_states WHERE link_user_id IS NOT NULL;
ALTER TABLE oauth_states
    ADD COLUMN link_jti    varchar(64) NULL REFERENCES sessions (jti) ON DELETE CASCADE,
    ADD COLUMN client_addr text        NOT NULL DEFAULT '';
CREATE INDEX ix_oauth_states_link_jti ON oauth_states (link_jti);
CREATE INDEX ix_oauth_states_client_addr ON oauth_states (client_addr, expires_at);

CREATE FUNCTION oauth_states_end_link_flows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM oauth_states WHERE link_jti = NEW.jti;
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_revoked_end_link_flows
    AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL)
    EXECUTE FUNCTION oauth_states_end_link_flows();
-- @done OAuth flows bound to their session and counted per address

-- Reverts migration 005: flows lose their session binding and address.

-- @database auth
DROP TRIGGER IF EXISTS sessions_revoked_end_link_flows ON sessions;
DROP FUNCTION IF EXISTS oauth_states_end_link_flows();
DROP INDEX IF EXISTS ix_oauth_states_client_addr;
DROP INDEX IF EXISTS ix_oauth_states_link_jti;
ALTER TABLE oauth_states DROP COLUMN IF EXISTS client_addr, DROP COLUMN IF EXISTS link_jti;
-- @done OAuth flow session binding removed

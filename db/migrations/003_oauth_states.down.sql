-- Reverts migration 003: Discord sign-ins in progress are lost (users start again).

-- @database auth
DROP TABLE IF EXISTS oauth_states;
-- @done OAuth states table dropped

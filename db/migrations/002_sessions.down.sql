-- Reverts migration 002: every session ends (all tokens stop working) and
-- the sign-in throttle forgets its counters.

-- @database auth
DROP TABLE IF EXISTS login_attempts;
DROP TABLE IF EXISTS sessions;
-- @done Sessions and login throttle tables dropped

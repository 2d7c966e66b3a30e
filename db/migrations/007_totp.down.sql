-- Reverts migration 007: every user's two-factor sign-in is turned off.

-- @database auth
DROP TABLE IF EXISTS mfa_tokens;
DROP TABLE IF EXISTS totp_recovery_codes;
DROP TABLE IF EXISTS user_totp;
-- @done Two-factor sign-in tables dropped

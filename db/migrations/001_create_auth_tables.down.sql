-- Reverts migration 001: drops the Phase 1 tables and every row in them.

-- @database app
DROP TABLE IF EXISTS members;
DROP FUNCTION IF EXISTS members_set_updated_at();
-- @done Members table dropped

-- @database auth
DROP TABLE IF EXISTS users;
-- @done Users table dropped

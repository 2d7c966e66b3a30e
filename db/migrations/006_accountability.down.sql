-- Reverts migration 006: the audit log is dropped with every event in it, and
-- sessions lose their address, agent, method and public id (the sessions
-- themselves stay valid).

-- @database auth
DROP TABLE IF EXISTS audit_events;
DROP INDEX IF EXISTS ix_sessions_public_id;
ALTER TABLE sessions
    DROP COLUMN IF EXISTS method,
    DROP COLUMN IF EXISTS user_agent,
    DROP COLUMN IF EXISTS ip,
    DROP COLUMN IF EXISTS public_id;
-- @done audit_events dropped, session metadata removed

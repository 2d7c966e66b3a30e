-- Migration 006: accountability (API.md "Sessions the user can see and end",
-- "Audit log").
--
-- sessions is our own table, so it gains what the session list shows: the
-- client address, the User-Agent (at most 256 bytes) and the sign-in method,
-- recorded at sign-in, and public_id, the opaque identifier the API shows.
-- public_id is random and unrelated to the jti: knowing it lets nobody build
-- or guess a token. Sessions made before this migration get a public_id and
-- no address, agent or method.
--
-- audit_events holds one row per security event, written in the same
-- transaction as the change it records. It never holds a password, code,
-- token, secret or hash. actor_user_id has no foreign key on purpose: the
-- log outlives what it talks about.

-- @database auth
ALTER TABLE sessions
    ADD COLUMN IF NOT EXISTS public_id  uuid        NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN IF NOT EXISTS ip         varchar(64) NULL,
    ADD COLUMN IF NOT EXISTS user_agent text        NULL CHECK (octet_length(user_agent) <= 256),
    ADD COLUMN IF NOT EXISTS method     varchar(16) NULL CHECK (method IN ('password', 'discord'));
CREATE UNIQUE INDEX IF NOT EXISTS ix_sessions_public_id ON sessions (public_id);

CREATE TABLE IF NOT EXISTS audit_events (
    id            bigserial    PRIMARY KEY,
    at            timestamptz  NOT NULL DEFAULT now(),
    event         varchar(32)  NOT NULL,
    outcome       varchar(64)  NOT NULL,
    actor_user_id integer      NULL,
    target        varchar(256) NULL,
    ip            varchar(64)  NULL,
    request_id    varchar(64)  NULL,
    detail        jsonb        NOT NULL DEFAULT '{}'::jsonb
);
-- GET /api/admin/audit pages newest first by id (the primary key), optionally
-- by event and by user (as actor or as the target user); farout-admin audit
-- adds --since and prune deletes by age (at).
CREATE INDEX IF NOT EXISTS ix_audit_events_event_id ON audit_events (event, id);
CREATE INDEX IF NOT EXISTS ix_audit_events_actor_id ON audit_events (actor_user_id, id);
CREATE INDEX IF NOT EXISTS ix_audit_events_target_id ON audit_events (target, id);
CREATE INDEX IF NOT EXISTS ix_audit_events_at ON audit_events (at);
-- @done Session metadata and audit_events table created

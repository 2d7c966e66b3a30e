-- Migration 001: the Phase 1 schema, column for column as the original
-- SQLAlchemy models defined it (index names included), so a database created
-- by the original Python migration is adopted as-is: IF NOT EXISTS lets this
-- migration be recorded over it without touching its rows.

-- @database auth
CREATE TABLE IF NOT EXISTS users (
    id                   serial       PRIMARY KEY,
    discord_id           varchar(32)  NULL,
    username             varchar(64)  NOT NULL,
    discriminator        varchar(8)   NULL,
    avatar               varchar(255) NULL,
    email                varchar(255) NULL,
    hashed_password      varchar(255) NULL,
    role                 varchar(32)  NOT NULL DEFAULT 'member',
    must_change_password boolean      NOT NULL DEFAULT false,
    created_at           timestamptz  NOT NULL DEFAULT now(),
    last_login           timestamptz  NULL,
    is_active            boolean      NOT NULL DEFAULT true
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_users_discord_id ON users (discord_id);
CREATE UNIQUE INDEX IF NOT EXISTS ix_users_username ON users (username);
CREATE UNIQUE INDEX IF NOT EXISTS ix_users_email ON users (email);
CREATE INDEX IF NOT EXISTS ix_users_role ON users (role);
-- @done Users table created

-- @database app
CREATE TABLE IF NOT EXISTS members (
    id                  serial       PRIMARY KEY,
    discord_id          varchar(32)  NOT NULL,
    display_name        varchar(64)  NOT NULL,
    bio                 text         NULL,
    avatar_url          varchar(512) NULL,
    rank                varchar(32)  NOT NULL DEFAULT 'member',
    missions_completed  jsonb        NOT NULL DEFAULT '[]'::jsonb,
    trainings_completed jsonb        NOT NULL DEFAULT '[]'::jsonb,
    stats               jsonb        NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    updated_at          timestamptz  NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_members_discord_id ON members (discord_id);
CREATE INDEX IF NOT EXISTS ix_members_rank ON members (rank);

-- The original relied on the ORM's onupdate, which only its own sessions
-- honoured; a trigger keeps updated_at right for every writer. now() is the
-- transaction's start time, the usual meaning of "when this change was made".
CREATE OR REPLACE FUNCTION members_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER members_set_updated_at
    BEFORE UPDATE ON members
    FOR EACH ROW EXECUTE FUNCTION members_set_updated_at();
-- @done Members table created

-- Migration 004 undone: the directory's indexes and rank counts. pg_trgm is
-- dropped too; if something else came to depend on it, PostgreSQL refuses and
-- this section is rolled back as a whole.

-- @database app
DROP TRIGGER IF EXISTS member_rank_counts_truncate ON members;
DROP TRIGGER IF EXISTS member_rank_counts_delete ON members;
DROP TRIGGER IF EXISTS member_rank_counts_update ON members;
DROP TRIGGER IF EXISTS member_rank_counts_insert ON members;
DROP FUNCTION IF EXISTS member_rank_counts_clear();
DROP FUNCTION IF EXISTS member_rank_counts_track();
DROP TABLE IF EXISTS member_rank_counts;
DROP INDEX IF EXISTS ix_members_display_name_trgm;
DROP INDEX IF EXISTS ix_members_rank_display_name_id;
DROP INDEX IF EXISTS ix_members_display_name_id;
DROP EXTENSION IF EXISTS pg_trgm;
-- @done Member directory indexes and rank counts dropped

-- The global stream orders events by (commit_tx, position), where commit_tx is the id of the
-- transaction that inserted the event (its top-level id, also under a savepoint). Readers only
-- see commit groups below their snapshot's xmin: every transaction with a smaller id has ended,
-- and every transaction still running or yet to start has a greater one, so nothing can ever
-- commit before a position a reader has passed. The append statement is unchanged: the column
-- fills itself. Existing events all get this migration's transaction id, so they stay in
-- position order, before every later event.
ALTER TABLE events
    ADD COLUMN commit_tx BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);

-- The stream's index replaces the index by position alone (nothing reads by position without
-- the commit group), so appends still maintain two indexes. Positions stay unique: they come
-- from an identity.
DROP INDEX IF EXISTS events_by_position;
CREATE UNIQUE INDEX IF NOT EXISTS events_by_commit ON events (commit_tx, position);

-- How far each projection has read: the two parts of its stream position.
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    commit_tx  BIGINT      NOT NULL,
    position   BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- The global stream reads events by position across both levels of the journal: `recent_events`
-- is keyed by position already; `events` gets an index by position. Merges insert into `events`
-- in position order within each actor, and positions only grow, so the index is appended at its
-- end, off the append's hot path (a merge, not every batch, writes it).
CREATE INDEX IF NOT EXISTS events_by_position ON events (position);

-- How far each projection has read: the two parts of its stream position.
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name       TEXT    NOT NULL PRIMARY KEY,
    commit_tx  INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    updated_at TEXT    NOT NULL
) WITHOUT ROWID;

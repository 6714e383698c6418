-- Registry: one row per actor, updated by every append in the same transaction as its events.
CREATE TABLE IF NOT EXISTS actors (
    actor_id      TEXT    NOT NULL PRIMARY KEY,
    machine_type  TEXT    NOT NULL,
    -- The authority for the optimistic lock: appends are decided against it under the write lock.
    head_version  INTEGER NOT NULL,
    state_tag     TEXT    NOT NULL,
    -- Timestamps are fixed-width RFC 3339 text in UTC with microseconds
    -- ('2024-05-01T12:00:00.000000Z'), which sorts in time order.
    entered_at    TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    last_activity TEXT    NOT NULL,
    -- A lower bound of the positions of the actor's events still in `recent_events`; meaningful
    -- only while greater than `journal_state.merged_through` (older values are stale: merged).
    recent_from   INTEGER
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS actors_by_machine_type ON actors (machine_type, actor_id);

-- The journal has two levels. Appends land in `recent_events`, keyed by position only, so a
-- batch of many actors fills a few fresh pages at the end of one B-tree. A merge moves them, in
-- bulk and sorted by (actor_id, version), into `events`, clustered by (actor_id, version), where
-- reads of one actor's history are a sequential scan. Reads see both levels.
--
-- `position` is assigned from `journal_state.last_position`: strictly increasing across actors,
-- never reused (also after deletes), for the life of the database.
CREATE TABLE IF NOT EXISTS recent_events (
    position       INTEGER PRIMARY KEY,
    actor_id       TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    machine_type   TEXT    NOT NULL,
    tag            TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    -- The payload exactly as the codec produced it.
    payload        TEXT    NOT NULL,
    -- JSON object: correlation_id, causation_id, writer_id.
    metadata       TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL
);

-- The merged journal. The primary key (actor_id, version) is the backstop against a duplicate
-- version: a row that would duplicate one already here stays in `recent_events`, where reads
-- report it as corrupt data instead of losing either row.
CREATE TABLE IF NOT EXISTS events (
    actor_id       TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    position       INTEGER NOT NULL,
    machine_type   TEXT    NOT NULL,
    tag            TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL,
    PRIMARY KEY (actor_id, version)
) WITHOUT ROWID;

-- One row: the last position assigned, and the merge watermark: every row of `recent_events`
-- has a greater position.
CREATE TABLE IF NOT EXISTS journal_state (
    id             INTEGER PRIMARY KEY CHECK (id = 0),
    last_position  INTEGER NOT NULL,
    merged_through INTEGER NOT NULL
);

INSERT OR IGNORE INTO journal_state (id, last_position, merged_through) VALUES (0, 0, 0);

-- Snapshots, keyed by version: many per actor, the latest is the greatest version.
CREATE TABLE IF NOT EXISTS snapshots (
    actor_id       TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    state_tag      TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT    NOT NULL,
    entered_at     TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    PRIMARY KEY (actor_id, version)
) WITHOUT ROWID;

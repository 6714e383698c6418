-- Registry: one row per actor, updated by every append in the same transaction as its events.
CREATE TABLE IF NOT EXISTS actors (
    actor_id      TEXT    NOT NULL PRIMARY KEY,
    machine_type  TEXT    NOT NULL,
    head_version  INTEGER NOT NULL,
    state_tag     TEXT    NOT NULL,
    -- Timestamps are fixed-width RFC 3339 text in UTC with microseconds
    -- ('2024-05-01T12:00:00.000000Z'), which sorts in time order.
    entered_at    TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    last_activity TEXT    NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS actors_by_machine_type ON actors (machine_type, actor_id);

-- Journal. `position` is the rowid (AUTOINCREMENT: never reused, so strictly increasing across
-- actors for the life of the database); `(actor_id, version)` is the unique key that makes a
-- duplicate version impossible.
CREATE TABLE IF NOT EXISTS events (
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id       TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    machine_type   TEXT    NOT NULL,
    tag            TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    -- The payload exactly as the codec produced it.
    payload        TEXT    NOT NULL,
    -- JSON object: correlation_id, causation_id, writer_id.
    metadata       TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL,
    UNIQUE (actor_id, version)
);

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

-- Tables are created in the store's schema: connections set `search_path` to it, so names here
-- are unqualified (and sqlx's `_sqlx_migrations` table lives in that schema too).

-- Registry: one row per actor, updated by every append in the same statement as its events.
-- Ids use the "C" collation so they order by bytes, like every other backend.
CREATE TABLE IF NOT EXISTS actors (
    actor_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    machine_type  TEXT        NOT NULL,
    head_version  BIGINT      NOT NULL,
    state_tag     TEXT        NOT NULL,
    entered_at    TIMESTAMPTZ NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_activity TIMESTAMPTZ NOT NULL
);

CREATE INDEX IF NOT EXISTS actors_by_machine_type ON actors (machine_type, actor_id);

-- Journal. The payload is TEXT so it round-trips byte for byte (JSONB would re-serialise it);
-- cast `payload::jsonb` to query it. `position` orders events across actors.
CREATE TABLE IF NOT EXISTS events (
    actor_id       TEXT COLLATE "C" NOT NULL,
    version        BIGINT      NOT NULL,
    machine_type   TEXT        NOT NULL,
    tag            TEXT        NOT NULL,
    schema_version BIGINT      NOT NULL,
    payload        TEXT        NOT NULL,
    metadata       JSONB       NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL,
    position       BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (actor_id, version)
);

CREATE UNIQUE INDEX IF NOT EXISTS events_by_position ON events (position);

-- Snapshots, keyed by version: many per actor, the latest is the greatest version.
CREATE TABLE IF NOT EXISTS snapshots (
    actor_id       TEXT COLLATE "C" NOT NULL,
    version        BIGINT      NOT NULL,
    state_tag      TEXT        NOT NULL,
    schema_version BIGINT      NOT NULL,
    payload        TEXT        NOT NULL,
    entered_at     TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (actor_id, version)
);

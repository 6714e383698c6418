-- The insertion-ordered level of the outbox, as `recent_events` is for the journal: appends
-- write their durable actions here, so a batch for a thousand actors fills a few fresh pages
-- instead of dirtying one page per actor of `durable_actions` (which is clustered by actor).
-- The journal's merge moves every row into `durable_actions` in key order, many batches at a
-- time; a row is in one of the two tables at any time (a key written twice behind the
-- registry's back stays here, and every merge reports it). Same columns and meaning as
-- `durable_actions`. With no index by actor, reads of one actor's actions scan this level,
-- which the merge keeps short (`SqliteOptions::merge_after`).
CREATE TABLE IF NOT EXISTS recent_actions (
    actor_id      TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    machine_type  TEXT    NOT NULL,
    codec         TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_by    TEXT    NOT NULL DEFAULT '',
    claimed_until TEXT    NOT NULL,
    last_cause    TEXT    NOT NULL DEFAULT '',
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

-- What dispatchers poll, and how a dispatcher finds the row it holds when it records an
-- attempt (by the end of its claim, then the key): the pending rows by the end of their claim.
CREATE INDEX IF NOT EXISTS recent_actions_due
    ON recent_actions (claimed_until) WHERE status = 'pending';

-- The transactional outbox: one row per durable action, inserted in the transaction of the
-- event that declared it, so it exists exactly when the event does. Its key (actor, version of
-- that event, action name) is the action's idempotency key.
--
-- `status` is 'pending' until an attempt succeeds ('succeeded') or the retries run out
-- ('dead'). A pending row is claimed by one dispatcher (`claimed_by`) until `claimed_until`:
-- no other dispatcher runs it before then; once that time has passed (its dispatcher died, or
-- gave it up) any dispatcher may claim it. Times are RFC 3339 text in UTC with microseconds,
-- as everywhere in this schema, so they compare as text.
CREATE TABLE IF NOT EXISTS durable_actions (
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
    -- The last failure, as a JSON `SerializedCause` ('' when none).
    last_cause    TEXT    NOT NULL DEFAULT '',
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (actor_id, version, name)
) WITHOUT ROWID;

-- What dispatchers poll: the pending rows by the time their claim ends.
CREATE INDEX IF NOT EXISTS durable_actions_due
    ON durable_actions (claimed_until) WHERE status = 'pending';

-- Idempotent commands: the command id an event was sent under, written in the transaction of
-- that event. A repeat of the command within its window finds it here and is answered with the
-- first outcome instead of being applied again; `fingerprint` (the event's tag and a hash of its
-- payload) tells a repeat from another event under the same id. Rows older than the window no
-- longer count and are overwritten by the next use of their id.
CREATE TABLE IF NOT EXISTS commands (
    actor_id    TEXT    NOT NULL,
    command_id  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    fingerprint TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    PRIMARY KEY (actor_id, command_id)
) WITHOUT ROWID;

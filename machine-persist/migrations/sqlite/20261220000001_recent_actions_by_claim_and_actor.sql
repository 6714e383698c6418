-- A dispatcher records a round of attempts with one statement that looks each action up by the
-- claim it ran under and its key. With the pending rows indexed by the end of their claim only,
-- that lookup found every row of the action's batch (they share the claim's end) or, as SQLite
-- planned the statement, scanned every pending row once per statement. With the actor and
-- version after the claim's end, each record is one probe. The poller still reads the index in
-- claim order.
DROP INDEX IF EXISTS recent_actions_due;
CREATE INDEX IF NOT EXISTS recent_actions_due
    ON recent_actions (claimed_until, actor_id, version) WHERE status = 'pending';

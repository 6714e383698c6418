-- Durable timers: when the soonest state timeout of an actor's committed state falls due, or
-- NULL when the state has none. Every append sets it with the registry row, so the timeout of a
-- state that was left is gone.
ALTER TABLE actors ADD COLUMN timeout_at TIMESTAMPTZ;

-- The timer service reads the pending timers of one machine type in due order.
CREATE INDEX IF NOT EXISTS actors_by_timeout ON actors (machine_type, timeout_at, actor_id)
    WHERE timeout_at IS NOT NULL;

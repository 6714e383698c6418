-- The keys of the outbox and of the command records compare as bytes, as the journal's do.
-- Under the database's default collation (often a libc locale, even `C.UTF-8`), every
-- comparison in their primary keys goes through the locale, which made each durable action's
-- insert and record, and each command id's insert and lookup, cost the server several times a
-- journal row's. Equality is unchanged (every collation involved is deterministic). Only the
-- indexes on these columns are rebuilt; the rows are not rewritten.
ALTER TABLE durable_actions
    ALTER COLUMN actor_id TYPE TEXT COLLATE "C",
    ALTER COLUMN name TYPE TEXT COLLATE "C";

ALTER TABLE commands
    ALTER COLUMN actor_id TYPE TEXT COLLATE "C",
    ALTER COLUMN command_id TYPE TEXT COLLATE "C";

-- The keys of the outbox and of the command records compare as bytes, as the journal's do.
-- Under the database's default collation (often a libc locale, even `C.UTF-8`), every
-- comparison in their primary keys goes through the locale, which made each durable action's
-- insert and record, and each command id's insert and lookup, cost the server several times a
-- journal row's. Equality is unchanged (every collation involved is deterministic); an actor's
-- actions are now listed in byte order of their names, as on the other backends. Only the
-- primary keys are rebuilt; the rows are not rewritten.
--
-- Both tables are locked exclusively while their keys are rebuilt, in the order appends lock
-- them (commands, then the outbox), so a running append waits instead of deadlocking with this.
-- Other processes on the same schema should be stopped while it runs: besides waiting, their
-- prepared statements that return these columns fail ("cached plan must not change result
-- type") until their connections are replaced.
LOCK TABLE commands, durable_actions IN ACCESS EXCLUSIVE MODE;
ALTER TABLE durable_actions
    ALTER COLUMN actor_id TYPE TEXT COLLATE "C",
    ALTER COLUMN name TYPE TEXT COLLATE "C";

ALTER TABLE commands
    ALTER COLUMN actor_id TYPE TEXT COLLATE "C",
    ALTER COLUMN command_id TYPE TEXT COLLATE "C";

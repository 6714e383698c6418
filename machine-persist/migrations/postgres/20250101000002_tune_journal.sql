-- Write-path tuning of the journal tables.

-- Every append updates its actor's registry row. With half of each page left free, the new row
-- version fits on the same page and no indexed column changes, so the update is HOT: no index
-- entries are written and old versions are pruned in place. (It applies to pages written from now
-- on; `VACUUM FULL actors` repacks existing ones.)
ALTER TABLE actors SET (fillfactor = 50);

-- Metadata is kept as the exact text written, like the payload: JSONB would parse it on every
-- write and print it again on every read. Cast `metadata::jsonb` to query it.
ALTER TABLE events ALTER COLUMN metadata TYPE TEXT USING metadata::text;

-- Every payload records the codec that wrote it; every registry row the last append request
-- applied to its actor, so a retry of that request recognises itself (appends are idempotent).
-- Rows written before this migration are JSON and carry request id 0, which no request has.
--
-- Payloads become bytes: a binary codec's output is not text. `convert_from(payload, 'UTF8')`
-- reads a JSON payload back as text (`::jsonb` to query it).
ALTER TABLE events ADD COLUMN codec TEXT NOT NULL DEFAULT 'json';
ALTER TABLE events ALTER COLUMN payload TYPE BYTEA USING convert_to(payload, 'UTF8');
ALTER TABLE snapshots ADD COLUMN codec TEXT NOT NULL DEFAULT 'json';
ALTER TABLE snapshots ALTER COLUMN payload TYPE BYTEA USING convert_to(payload, 'UTF8');
ALTER TABLE actors ADD COLUMN last_request BIGINT NOT NULL DEFAULT 0;

-- Every payload records the codec that wrote it; every registry row the last append request
-- applied to its actor, so a retry of that request recognises itself (appends are idempotent).
-- Rows written before this migration are JSON and carry request id 0, which no request has.
--
-- Payloads stay in their TEXT-affinity columns: SQLite keeps a BLOB as a BLOB there, and UTF-8
-- payloads (every JSON one) are stored as text, readable with plain SQL.
ALTER TABLE recent_events ADD COLUMN codec TEXT NOT NULL DEFAULT 'json';
ALTER TABLE events ADD COLUMN codec TEXT NOT NULL DEFAULT 'json';
ALTER TABLE snapshots ADD COLUMN codec TEXT NOT NULL DEFAULT 'json';
ALTER TABLE actors ADD COLUMN last_request INTEGER NOT NULL DEFAULT 0;

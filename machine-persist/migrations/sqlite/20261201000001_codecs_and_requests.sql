-- Every payload records the codec that wrote it; every event the append request that wrote it,
-- so a retried request can recognise itself (appends are idempotent). Rows written before this
-- migration are JSON and carry request id 0, which no request has.
--
-- Payloads stay in their TEXT-affinity columns: SQLite keeps a BLOB as a BLOB there, and UTF-8
-- payloads (every JSON one) are stored as text, readable with plain SQL.
ALTER TABLE recent_events ADD COLUMN codec TEXT NOT NULL DEFAULT 'json';
ALTER TABLE recent_events ADD COLUMN request_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN codec TEXT NOT NULL DEFAULT 'json';
ALTER TABLE events ADD COLUMN request_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE snapshots ADD COLUMN codec TEXT NOT NULL DEFAULT 'json';

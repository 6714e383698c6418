-- Shard leases of the nodes sharing this database (the `cluster` feature). Actor ids hash to a
-- fixed number of shards; the node named in a shard's row owns its actors until `expires_at`.
-- `epoch` grows by one on every acquisition and never goes back: a row is never deleted, a
-- released lease only expires. A fenced append names (shard, epoch) and is applied only while
-- that row holds the same epoch and has not expired.
CREATE TABLE IF NOT EXISTS shard_leases (
    shard BIGINT PRIMARY KEY CHECK (shard >= 0),
    node_id TEXT NOT NULL,
    epoch BIGINT NOT NULL CHECK (epoch > 0),
    expires_at TIMESTAMPTZ NOT NULL
);

-- The live nodes, each renewing its row by heartbeat; shards are shared among the rows that have
-- not expired.
CREATE TABLE IF NOT EXISTS cluster_nodes (
    node_id TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);

//! The lease table and the node table in Postgres: every statement of the lease protocol.
//!
//! Each statement is one round trip under the store's client-side deadline, and relies on the
//! server's clock only (`now()`), so the nodes' clocks never need to agree. Acquiring a lease
//! bumps its epoch in the same statement that checks it is free or expired; renewing checks the
//! epoch and that the lease has not expired; releasing makes it expire now, keeping its epoch, so
//! epochs only grow.

use std::collections::HashSet;
use std::time::Duration;

use sqlx::{PgPool, Row};

use super::ClusterError;
use crate::sql::deadline::Deadline;
use crate::{PostgresStore, StoreError};

/// Registers or renews the node's row.
const BEAT: &str = "
    INSERT INTO cluster_nodes (node_id, expires_at)
    VALUES ($1, now() + make_interval(secs => $2))
    ON CONFLICT (node_id) DO UPDATE SET expires_at = excluded.expires_at";

/// The nodes whose rows have not expired.
const LIVE_NODES: &str =
    "SELECT node_id FROM cluster_nodes WHERE expires_at > now() ORDER BY node_id";

/// Removes the node's row.
const FORGET: &str = "DELETE FROM cluster_nodes WHERE node_id = $1";

/// The shards whose leases are current.
const HELD_SHARDS: &str = "SELECT shard FROM shard_leases WHERE expires_at > now()";

/// Takes a free or expired lease, with the next epoch; returns that epoch, or nothing when the
/// lease is current (whoever holds it, this node included).
const ACQUIRE: &str = "
    INSERT INTO shard_leases AS l (shard, node_id, epoch, expires_at)
    VALUES ($1, $2, 1, now() + make_interval(secs => $3))
    ON CONFLICT (shard) DO UPDATE
        SET node_id = excluded.node_id, epoch = l.epoch + 1, expires_at = excluded.expires_at
        WHERE l.expires_at <= now()
    RETURNING epoch";

/// Extends the current leases the node holds at the given epochs; returns the shards renewed.
const RENEW: &str = "
    UPDATE shard_leases AS l SET expires_at = now() + make_interval(secs => $4)
    FROM unnest($2::bigint[], $3::bigint[]) AS h(shard, epoch)
    WHERE l.shard = h.shard AND l.epoch = h.epoch AND l.node_id = $1 AND l.expires_at > now()
    RETURNING l.shard";

/// The node holding the current lease of a shard.
const OWNER: &str = "SELECT node_id FROM shard_leases WHERE shard = $1 AND expires_at > now()";

/// Lets a lease the node holds expire now.
const RELEASE: &str = "
    UPDATE shard_leases SET expires_at = now()
    WHERE shard = $1 AND node_id = $2 AND epoch = $3 AND expires_at > now()";

/// The lease statements of one node.
#[derive(Clone, Debug)]
pub(crate) struct LeaseTable {
    pool: PgPool,
    deadline: Deadline,
    node_id: String,
    ttl_secs: f64,
}

/// A lease as the node holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lease {
    pub(crate) shard: u32,
    pub(crate) epoch: u64,
}

impl LeaseTable {
    pub(crate) fn new(store: &PostgresStore, node_id: &str, ttl: Duration) -> Self {
        Self {
            pool: store.pool().clone(),
            deadline: store.deadline,
            node_id: node_id.to_owned(),
            ttl_secs: ttl.as_secs_f64(),
        }
    }

    /// Registers the node as live for one TTL.
    pub(crate) async fn beat(&self) -> Result<(), ClusterError> {
        let work = async {
            sqlx::query(BEAT)
                .bind(&self.node_id)
                .bind(self.ttl_secs)
                .execute(&self.pool)
                .await?;
            Ok(())
        };
        Ok(self.deadline.run("cluster heartbeat", work).await?)
    }

    /// The ids of the live nodes.
    pub(crate) async fn live_nodes(&self) -> Result<Vec<String>, ClusterError> {
        let work = async {
            let rows = sqlx::query(LIVE_NODES).fetch_all(&self.pool).await?;
            rows.iter()
                .map(|row| row.try_get::<String, _>(0).map_err(StoreError::from))
                .collect()
        };
        Ok(self.deadline.run("list live nodes", work).await?)
    }

    /// Removes the node from the live set.
    pub(crate) async fn forget(&self) -> Result<(), ClusterError> {
        let work = async {
            sqlx::query(FORGET)
                .bind(&self.node_id)
                .execute(&self.pool)
                .await?;
            Ok(())
        };
        Ok(self.deadline.run("leave the cluster", work).await?)
    }

    /// The shards whose leases are current (held by any node). A stored shard number out of
    /// range is skipped: it is no shard of this cluster.
    pub(crate) async fn held_shards(&self) -> Result<HashSet<u32>, ClusterError> {
        let work = async {
            let rows = sqlx::query(HELD_SHARDS).fetch_all(&self.pool).await?;
            let mut held = HashSet::with_capacity(rows.len());
            for row in &rows {
                let shard: i64 = row.try_get(0)?;
                if let Ok(shard) = u32::try_from(shard) {
                    held.insert(shard);
                }
            }
            Ok(held)
        };
        Ok(self.deadline.run("list shard leases", work).await?)
    }

    /// Takes the lease of `shard` if it is free or expired.
    pub(crate) async fn acquire(&self, shard: u32) -> Result<Option<Lease>, ClusterError> {
        let work = async {
            let row = sqlx::query(ACQUIRE)
                .bind(i64::from(shard))
                .bind(&self.node_id)
                .bind(self.ttl_secs)
                .fetch_optional(&self.pool)
                .await?;
            let Some(row) = row else { return Ok(None) };
            let epoch: i64 = row.try_get(0)?;
            // The column is checked positive; a value that is not is no lease to write under.
            Ok(u64::try_from(epoch)
                .ok()
                .map(|epoch| Lease { shard, epoch }))
        };
        Ok(self.deadline.run("acquire a shard lease", work).await?)
    }

    /// Renews `leases`; returns the shards renewed (the others were lost).
    pub(crate) async fn renew(&self, leases: &[Lease]) -> Result<HashSet<u32>, ClusterError> {
        if leases.is_empty() {
            return Ok(HashSet::new());
        }
        let shards: Vec<i64> = leases.iter().map(|lease| i64::from(lease.shard)).collect();
        let epochs: Vec<i64> = leases
            .iter()
            .map(|lease| i64::try_from(lease.epoch).unwrap_or(-1))
            .collect();
        let work = async {
            let rows = sqlx::query(RENEW)
                .bind(&self.node_id)
                .bind(&shards)
                .bind(&epochs)
                .bind(self.ttl_secs)
                .fetch_all(&self.pool)
                .await?;
            let mut renewed = HashSet::with_capacity(rows.len());
            for row in &rows {
                let shard: i64 = row.try_get(0)?;
                if let Ok(shard) = u32::try_from(shard) {
                    renewed.insert(shard);
                }
            }
            Ok(renewed)
        };
        Ok(self.deadline.run("renew shard leases", work).await?)
    }

    /// The node holding the current lease of `shard`, if any.
    pub(crate) async fn owner(&self, shard: u32) -> Result<Option<String>, StoreError> {
        let work = async {
            let row = sqlx::query(OWNER)
                .bind(i64::from(shard))
                .fetch_optional(&self.pool)
                .await?;
            row.map(|row| row.try_get::<String, _>(0))
                .transpose()
                .map_err(StoreError::from)
        };
        self.deadline.run("find a shard's owner", work).await
    }

    /// Lets `lease` expire now, so another node may take it.
    pub(crate) async fn release(&self, lease: Lease) -> Result<(), ClusterError> {
        let epoch = i64::try_from(lease.epoch).unwrap_or(-1);
        let work = async {
            sqlx::query(RELEASE)
                .bind(i64::from(lease.shard))
                .bind(&self.node_id)
                .bind(epoch)
                .execute(&self.pool)
                .await?;
            Ok(())
        };
        Ok(self.deadline.run("release a shard lease", work).await?)
    }
}

//! How a node takes part in a cluster: its id, the number of shards, the lease timing.

use std::time::Duration;

use super::ClusterError;
use crate::model::check_actor_id;

/// The default number of shards. Fixed for the life of a database: changing it moves actors
/// between shards, so every node must use the same value.
pub const DEFAULT_SHARDS: u32 = 64;

/// The default lease time to live.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);

/// The most shards a cluster may have.
pub const MAX_SHARDS: u32 = 1 << 20;

/// The settings of one node.
///
/// The lease TTL is the failover trade-off: a dead node's shards are taken over once its leases
/// expire, so actors of a dead node are unreachable for up to the TTL (plus a heartbeat); a
/// shorter TTL fails over sooner but a node that stalls longer than the TTL (a long GC-like
/// pause, an overloaded machine, a slow database) loses its shards and its actors stop. The
/// heartbeat renews the leases; it must be well below the TTL (a third by default) so one late
/// renewal does not lose them.
///
/// ```
/// use std::time::Duration;
/// use machine_persist::cluster::ClusterConfig;
///
/// let config = ClusterConfig::new("node-a")
///     .shards(128)
///     .lease_ttl(Duration::from_secs(6));
/// assert_eq!(config.heartbeat_interval(), Duration::from_secs(2));
/// ```
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub(crate) node_id: String,
    pub(crate) shards: u32,
    pub(crate) lease_ttl: Duration,
    pub(crate) heartbeat: Option<Duration>,
    pub(crate) answer_timeout: Duration,
}

/// The default of [`ClusterConfig::answer_timeout`].
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

impl ClusterConfig {
    /// A node named `node_id` (unique among the nodes of the database), with
    /// [`DEFAULT_SHARDS`] shards and a [`DEFAULT_LEASE_TTL`].
    pub fn new(node_id: impl Into<String>) -> Self {
        Self {
            node_id: node_id.into(),
            shards: DEFAULT_SHARDS,
            lease_ttl: DEFAULT_LEASE_TTL,
            heartbeat: None,
            answer_timeout: DEFAULT_ANSWER_TIMEOUT,
        }
    }

    /// How long a routed call waits for the owner's answer before it ends in
    /// [`PersistError::Unreachable`](crate::PersistError::Unreachable) (default 10 s). Longer
    /// than the slowest call the owner makes; a call to a node that died waits this long.
    pub fn answer_timeout(mut self, timeout: Duration) -> Self {
        self.answer_timeout = timeout;
        self
    }

    /// The number of shards (1 to [`MAX_SHARDS`]; the same on every node).
    pub fn shards(mut self, shards: u32) -> Self {
        self.shards = shards;
        self
    }

    /// How long a lease lasts without renewal.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// How often the node renews its leases and rebalances (default: a third of the TTL).
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = Some(interval);
        self
    }

    /// The node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// How often the node renews its leases.
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat.unwrap_or(self.lease_ttl / 3)
    }

    /// Checks the settings.
    pub(crate) fn validate(&self) -> Result<(), ClusterError> {
        check_actor_id(&self.node_id).map_err(|_| ClusterError::InvalidConfig {
            reason:
                "the node id must follow the actor id rule (non-empty, at most 255 bytes, no NUL)",
        })?;
        if self.shards == 0 || self.shards > MAX_SHARDS {
            return Err(ClusterError::InvalidConfig {
                reason: "the number of shards must be between 1 and MAX_SHARDS",
            });
        }
        if self.lease_ttl < Duration::from_millis(100) {
            return Err(ClusterError::InvalidConfig {
                reason: "the lease TTL must be at least 100 ms",
            });
        }
        if self.answer_timeout.is_zero() {
            return Err(ClusterError::InvalidConfig {
                reason: "the answer timeout must be positive",
            });
        }
        let heartbeat = self.heartbeat_interval();
        if heartbeat.is_zero() || heartbeat * 2 > self.lease_ttl {
            return Err(ClusterError::InvalidConfig {
                reason: "the heartbeat must be positive and at most half the lease TTL",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_refused() {
        assert!(ClusterConfig::new("a").validate().is_ok());
        assert!(ClusterConfig::new("").validate().is_err());
        assert!(ClusterConfig::new("a").shards(0).validate().is_err());
        assert!(ClusterConfig::new("a")
            .shards(MAX_SHARDS + 1)
            .validate()
            .is_err());
        let short = ClusterConfig::new("a").lease_ttl(Duration::from_millis(10));
        assert!(short.validate().is_err());
        let slow = ClusterConfig::new("a")
            .lease_ttl(Duration::from_secs(2))
            .heartbeat(Duration::from_secs(3));
        assert!(slow.validate().is_err());
    }
}

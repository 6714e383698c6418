//! The fence an append carries when its writer holds the actor by a lease.
//!
//! With several nodes on one store, each actor belongs to a shard and each shard to the node
//! holding its lease. A lease has an epoch that grows on every acquisition. A fenced append names
//! the shard and the epoch its writer holds; the store applies it only while that lease is
//! current, in the same statement that checks the expected version, so a writer that was paused
//! or cut off past its lease can never write after the shard moved.

/// A shard and the lease epoch its writer holds.
///
/// ```
/// use machine_persist::store::{AppendRequest, Fence};
/// use machine_persist::chrono::Utc;
///
/// let request = AppendRequest::new("order-1", "Order", 3, "Paid", Utc::now())
///     .with_fence(Fence { shard: 7, epoch: 2 });
/// assert_eq!(request.fence, Some(Fence { shard: 7, epoch: 2 }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fence {
    /// The shard the actor hashes to.
    pub shard: u32,
    /// The epoch of the lease the writer holds on that shard.
    pub epoch: u64,
}

impl std::fmt::Display for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shard {} at epoch {}", self.shard, self.epoch)
    }
}

//! The leases this node holds, as its actors' appends see them.
//!
//! Every append of a cluster node asks here for its actor's fence. A lease counts as held until
//! one TTL after the renewal that was SENT last (the server's expiry is later still), so a node
//! that cannot renew stops writing by itself; the store's check of the epoch is what makes that
//! safe when the node's own view is late.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::lease_table::Lease;
use super::shard_of;
use crate::actor::Fencing;
use crate::model::Fence;
use crate::{ActorId, PersistError};

/// A held lease and until when this node trusts it.
#[derive(Clone, Copy, Debug)]
struct Held {
    epoch: u64,
    until: Instant,
}

/// The shard leases of one node.
#[derive(Debug)]
pub(crate) struct Ownership {
    shards: u32,
    ttl: Duration,
    held: Mutex<HashMap<u32, Held>>,
}

impl Ownership {
    pub(crate) fn new(shards: u32, ttl: Duration) -> Self {
        Self {
            shards,
            ttl,
            held: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u32, Held>> {
        // Every critical section is one map operation: a poisoned lock holds no half-made change.
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The shard of `id`.
    pub(crate) fn shard(&self, id: &str) -> u32 {
        shard_of(id, self.shards)
    }

    /// Records `lease` as held, trusted for one TTL from `sent` (when its statement was sent).
    pub(crate) fn insert(&self, lease: Lease, sent: Instant) {
        let held = Held {
            epoch: lease.epoch,
            until: sent + self.ttl,
        };
        self.lock().insert(lease.shard, held);
    }

    /// Forgets the lease of `shard`; returns it if it was held.
    pub(crate) fn remove(&self, shard: u32) -> Option<Lease> {
        self.lock().remove(&shard).map(|held| Lease {
            shard,
            epoch: held.epoch,
        })
    }

    /// The leases held, in shard order.
    pub(crate) fn leases(&self) -> Vec<Lease> {
        let mut leases: Vec<Lease> = self
            .lock()
            .iter()
            .map(|(&shard, held)| Lease {
                shard,
                epoch: held.epoch,
            })
            .collect();
        leases.sort_by_key(|lease| lease.shard);
        leases
    }

    /// The lease of `shard`, if it is held and trusted now.
    pub(crate) fn current(&self, shard: u32) -> Option<Lease> {
        let now = Instant::now();
        self.lock()
            .get(&shard)
            .filter(|held| held.until > now)
            .map(|held| Lease {
                shard,
                epoch: held.epoch,
            })
    }
}

impl Fencing for Ownership {
    fn fence(&self, id: &ActorId) -> Result<Fence, PersistError> {
        let shard = self.shard(id.as_str());
        match self.current(shard) {
            Some(lease) => Ok(Fence {
                shard,
                epoch: lease.epoch,
            }),
            None => Err(PersistError::NotOwner {
                actor_id: id.clone(),
                shard,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_lease_is_trusted_for_one_ttl_after_its_renewal_was_sent() {
        let ownership = Ownership::new(1, Duration::from_secs(3));
        let id = ActorId::from("a");
        assert!(matches!(
            ownership.fence(&id),
            Err(PersistError::NotOwner { shard: 0, .. })
        ));
        let sent = Instant::now();
        ownership.insert(Lease { shard: 0, epoch: 4 }, sent);
        assert_eq!(ownership.fence(&id).unwrap(), Fence { shard: 0, epoch: 4 });
        tokio::time::advance(Duration::from_secs(3)).await;
        assert!(ownership.fence(&id).is_err(), "expired without renewal");
        assert_eq!(ownership.leases(), vec![Lease { shard: 0, epoch: 4 }]);
        assert_eq!(ownership.remove(0), Some(Lease { shard: 0, epoch: 4 }));
        assert!(ownership.leases().is_empty());
    }
}

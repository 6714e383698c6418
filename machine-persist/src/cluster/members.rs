//! What a node's repositories do when shards move: stop a given-up shard's actors, fire a
//! taken-over shard's timers.
//!
//! A node that releases a shard (rebalancing, leaving) or loses it (a lease it could not renew)
//! stops the actors of that shard it has in memory, so none of them keeps answering from a state
//! the new owner may move past. Each repository made through the cluster is registered here.

use futures::future::BoxFuture;

use super::ownership::Ownership;
use crate::{Persistable, Repository};

/// The actors of one repository, stoppable by shard.
pub(crate) trait ShardMembers: Send + Sync + 'static {
    /// Stops the in-memory actors of `shard` and waits until they stopped.
    fn stop_shard<'a>(&'a self, ownership: &'a Ownership, shard: u32) -> BoxFuture<'a, ()>;

    /// The node took shards over: their stored timers are now this repository's to fire.
    fn shards_acquired(&self);
}

impl<M: Persistable> ShardMembers for Repository<M> {
    fn stop_shard<'a>(&'a self, ownership: &'a Ownership, shard: u32) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let members = self
                .shared()
                .incarnations
                .matching(|id| ownership.shard(id.as_str()) == shard);
            let stops = members.iter().map(|incarnation| incarnation.actor.stop());
            for result in futures::future::join_all(stops).await {
                if let Err(error) = result {
                    // A stop fails only when the actor ended meanwhile: nothing is left to do.
                    tracing::debug!(%error, shard, "a shard's actor stopped on its own");
                }
            }
        })
    }

    fn shards_acquired(&self) {
        self.shared().timers.rescan();
    }
}

//! Handles that reach an actor's owner wherever it runs.
//!
//! [`Routed`] is a repository served to the other nodes; [`ClusterRef`] calls one actor: through
//! the local repository when this node holds the actor's shard, otherwise through the transport
//! to the node whose lease is current. A call that finds no owner (a shard between two nodes)
//! or an owner that just lost the shard is tried again until the failover bound (lease TTL plus
//! two heartbeats plus the answer timeout); such a call was not applied. Every call carries a
//! command id of its own ([`PersistentRef::call_command`](crate::PersistentRef::call_command)),
//! kept across its attempts, so a call whose answer was lost (the owner died after the commit,
//! the notification was dropped) is sent again within the same bound and applied once: the
//! owner that finds the id recorded answers with the first outcome. Only a call that got no
//! answer within the whole bound ends in [`PersistError::Unreachable`]; it may have been
//! applied once, never twice.

use std::sync::Arc;

use futures::future::BoxFuture;
use machine_core::{Machine, Outcome};
use tokio::time::Instant;

use super::ownership::Ownership;
use super::rejection::{Rejections, WireRejection};
use super::transport::Handler;
use super::wire::{decode_outcome, encode_outcome, WireError};
use super::Cluster;
use crate::{ActorId, PersistError, Persistable, Repository};

/// What a machine needs to be called across nodes: its events are cloned for retries and its
/// error travels typed, through serde or, for a machine that never rejects
/// (`std::convert::Infallible`), not at all. `Via` is inferred; see [`WireRejection`].
pub trait Routable<Via>: Persistable<Event: Clone, Error: WireRejection<Via>> {}

impl<M, Via> Routable<Via> for M where M: Persistable<Event: Clone, Error: WireRejection<Via>> {}

/// A repository served to the other nodes of the cluster; see [`Cluster::routed`].
pub struct Routed<M: Persistable> {
    cluster: Cluster,
    repository: Repository<M>,
    rejections: Rejections<M::Error>,
}

impl<M: Persistable> Clone for Routed<M> {
    fn clone(&self) -> Self {
        Self {
            cluster: self.cluster.clone(),
            repository: self.repository.clone(),
            rejections: self.rejections,
        }
    }
}

impl<M: Persistable> std::fmt::Debug for Routed<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routed")
            .field("machine_type", &self.repository.machine_type())
            .finish()
    }
}

impl<M: Persistable<Event: Clone>> Routed<M> {
    pub(crate) fn new(
        cluster: Cluster,
        repository: Repository<M>,
        rejections: Rejections<M::Error>,
    ) -> Self {
        Self {
            cluster,
            repository,
            rejections,
        }
    }

    /// The local repository (its actors of the shards this node holds).
    pub fn repository(&self) -> &Repository<M> {
        &self.repository
    }

    /// A handle to actor `id`, wherever its owner runs.
    pub fn get(&self, id: impl Into<ActorId>) -> ClusterRef<M> {
        ClusterRef {
            routed: self.clone(),
            id: id.into(),
        }
    }
}

/// A handle to one actor of the cluster: its calls reach the actor's owner.
///
/// The outcome and the errors are those of a local [`Repository::call`]; the owner's errors
/// without a variant of their own come back as [`PersistError::Remote`].
pub struct ClusterRef<M: Persistable> {
    routed: Routed<M>,
    id: ActorId,
}

impl<M: Persistable> std::fmt::Debug for ClusterRef<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterRef").field("id", &self.id).finish()
    }
}

/// Whether an error says the call was not applied because the actor is between owners.
fn moving(error: &PersistError) -> bool {
    matches!(
        error,
        PersistError::NotOwner { .. } | PersistError::Fenced { .. } | PersistError::Stopped(_)
    )
}

impl<M: Persistable<Event: Clone>> ClusterRef<M> {
    /// The actor's id.
    pub fn id(&self) -> &ActorId {
        &self.id
    }

    /// Sends `event` to the actor's owner and waits for the outcome (after it is durable).
    pub async fn call(&self, event: M::Event) -> Result<Outcome<M, M::Error>, PersistError> {
        let cluster = &self.routed.cluster;
        let config = cluster.config();
        let bound = config.lease_ttl + config.heartbeat_interval() * 2 + config.answer_timeout;
        let give_up = Instant::now() + bound;
        let pause = config.heartbeat_interval() / 4;
        // One id for every attempt of this call: a repeat is answered, not applied again.
        let command = format!("routed-{:032x}", fastrand::u128(..));
        loop {
            let result = self.try_call(&command, &event).await;
            match result {
                Err(error)
                    if (moving(&error) || matches!(error, PersistError::Unreachable { .. }))
                        && Instant::now() < give_up =>
                {
                    tokio::time::sleep(pause).await;
                }
                Err(PersistError::Unreachable { .. }) if Instant::now() >= give_up => {
                    return Err(PersistError::Unreachable {
                        actor_id: self.id.clone(),
                        after: bound,
                    });
                }
                other => return other,
            }
        }
    }

    /// Sends `event` to the actor's owner and waits until it was applied, without its outcome.
    pub async fn send(&self, event: M::Event) -> Result<(), PersistError> {
        self.call(event).await.map(drop)
    }

    /// One attempt: local if this node holds the shard, else to the current owner.
    async fn try_call(
        &self,
        command: &str,
        event: &M::Event,
    ) -> Result<Outcome<M, M::Error>, PersistError> {
        let cluster = &self.routed.cluster;
        // The shard follows the storage key, the identity the lease guards.
        let key = self.routed.repository.key_of(self.id.clone())?;
        if cluster.owns(key.as_str()) {
            return self
                .routed
                .repository
                .call_command(self.id.clone(), command, event.clone())
                .await;
        }
        let shard = cluster.shard_of(key.as_str());
        let owner = cluster.owner_of(shard).await?;
        let Some(owner) = owner.filter(|owner| owner != cluster.node_id()) else {
            // No current lease, or this node's own that it does not trust yet.
            return Err(PersistError::NotOwner {
                actor_id: self.id.clone(),
                shard,
            });
        };
        let event = serde_json::to_value(event).map_err(|error| PersistError::Remote {
            actor_id: self.id.clone(),
            node: cluster.node_id().to_owned(),
            message: error.to_string(),
        })?;
        let answer = cluster
            .transport()
            .call(
                &owner,
                self.routed.repository.machine_type(),
                &self.id,
                command,
                event,
                cluster.config().answer_timeout,
            )
            .await;
        if !matches!(answer, Ok(Ok(_))) {
            // Refused or unanswered: read the owner afresh next time.
            cluster.forget_owner(shard);
        }
        match answer? {
            Ok(value) => decode_outcome(value, self.routed.rejections).map_err(|error| {
                PersistError::Remote {
                    actor_id: self.id.clone(),
                    node: owner,
                    message: format!("an unreadable answer: {error}"),
                }
            }),
            Err(error) => Err(error.into_error(&self.id, &owner)),
        }
    }
}

/// The owner's side: serves calls for the actors of the shards it holds.
pub(crate) struct Serve<M: Persistable> {
    pub(crate) repository: Repository<M>,
    pub(crate) ownership: Arc<Ownership>,
    pub(crate) rejections: Rejections<M::Error>,
}

impl<M: Persistable> Handler for Serve<M> {
    fn handle(
        &self,
        actor: ActorId,
        command: String,
        event: serde_json::Value,
    ) -> BoxFuture<'static, Result<serde_json::Value, WireError>> {
        let repository = self.repository.clone();
        let ownership = Arc::clone(&self.ownership);
        let rejections = self.rejections;
        Box::pin(async move {
            let key = repository
                .key_of(actor.clone())
                .map_err(|error| WireError::from_error(&error))?;
            let shard = ownership.shard(key.as_str());
            // A node that no longer holds the shard must not answer, even from memory.
            if ownership.current(shard).is_none() {
                return Err(WireError::NotOwner { shard });
            }
            let event: <M as Machine>::Event =
                serde_json::from_value(event).map_err(|error| WireError::Other {
                    message: format!("an unreadable event: {error}"),
                })?;
            let outcome = repository
                .call_command(actor, command, event)
                .await
                .map_err(|error| WireError::from_error(&error))?;
            encode_outcome(outcome, rejections).map_err(|error| WireError::Other {
                message: format!("the outcome could not be encoded: {error}"),
            })
        })
    }
}

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
use machine_core::{Machine, Outcome, SpawnError, StateTag, Tag};
use tokio::time::Instant;

use super::ownership::Ownership;
use super::rejection::{Rejections, WireRejection};
use super::transport::Handler;
use super::wire::{decode_outcome, encode_outcome, Request, WireError};
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

    /// Spawns actor `id` in `state` on its owner, wherever that runs, and returns a handle to
    /// it. An actor already running, or stored, is left as it is (activated if stored), so
    /// sending the spawn again (this call does, within the failover bound, when the owner
    /// moves or does not answer) never resets an actor. The state travels as JSON, in
    /// one message of at most about 8 kB.
    pub async fn spawn(
        &self,
        id: impl Into<ActorId>,
        state: M,
    ) -> Result<ClusterRef<M>, PersistError> {
        let actor = self.get(id);
        actor
            .until_answered(|| actor.try_spawn(state.clone()))
            .await?;
        Ok(actor)
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
        // One id for every attempt of this call: a repeat is answered, not applied again.
        let command = format!("routed-{:032x}", fastrand::u128(..));
        self.until_answered(|| self.try_call(&command, &event))
            .await
    }

    /// Runs `attempt` until it is answered: again after a pause while the actor is between
    /// owners or its owner does not answer, up to the failover bound (lease TTL plus two
    /// heartbeats plus the answer timeout). Every attempt must be safe to repeat.
    async fn until_answered<T, F, Fut>(&self, mut attempt: F) -> Result<T, PersistError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, PersistError>>,
    {
        let config = self.routed.cluster.config();
        let bound = config.lease_ttl + config.heartbeat_interval() * 2 + config.answer_timeout;
        let give_up = Instant::now() + bound;
        let pause = config.heartbeat_interval() / 4;
        loop {
            let result = attempt().await;
            match result {
                // Stopped for good in a final state: nobody will serve it again.
                Err(error @ PersistError::Stopped(_)) if self.is_final().await => {
                    return Err(error)
                }
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

    /// Whether the actor is stored in a final state (a stop then is not a hand-off).
    async fn is_final(&self) -> bool {
        let stored = self.routed.repository.metadata(self.id.clone()).await;
        matches!(stored, Ok(Some(meta))
            if <M as Machine>::StateTag::from_name(&meta.state_tag).is_some_and(|tag| tag.is_final()))
    }

    /// Sends `event` to the actor's owner and waits until it was applied, without its outcome.
    pub async fn send(&self, event: M::Event) -> Result<(), PersistError> {
        self.call(event).await.map(drop)
    }

    /// One attempt of a call: local if this node holds the shard, else to the current owner.
    async fn try_call(
        &self,
        command: &str,
        event: &M::Event,
    ) -> Result<Outcome<M, M::Error>, PersistError> {
        let (owner, shard) = match self.route()? {
            Route::Local => {
                return self
                    .routed
                    .repository
                    .call_command(self.id.clone(), command, event.clone())
                    .await
            }
            Route::Remote { shard } => (self.owner(shard).await?, shard),
        };
        let request = Request::Call {
            command: command.to_owned(),
            event: self.encode(event)?,
        };
        let value = self.ask(&owner, shard, request).await?;
        decode_outcome(value, self.routed.rejections).map_err(|error| PersistError::Remote {
            actor_id: self.id.clone(),
            node: owner,
            message: format!("an unreadable answer: {error}"),
        })
    }

    /// One attempt of a spawn, where a call would go.
    async fn try_spawn(&self, state: M) -> Result<(), PersistError> {
        let shard = match self.route()? {
            Route::Local => return ensure_running(&self.routed.repository, &self.id, state).await,
            Route::Remote { shard } => shard,
        };
        let owner = self.owner(shard).await?;
        let request = Request::Spawn {
            state: self.encode(&state)?,
        };
        self.ask(&owner, shard, request).await.map(drop)
    }

    /// Whether this node holds the actor's shard (it follows the storage key, the identity the
    /// lease guards).
    fn route(&self) -> Result<Route, PersistError> {
        let cluster = &self.routed.cluster;
        let key = self.routed.repository.key_of(self.id.clone())?;
        Ok(if cluster.owns(key.as_str()) {
            Route::Local
        } else {
            Route::Remote {
                shard: cluster.shard_of(key.as_str()),
            }
        })
    }

    /// The node holding `shard`'s current lease, if it is another.
    async fn owner(&self, shard: u32) -> Result<String, PersistError> {
        let cluster = &self.routed.cluster;
        let owner = cluster.owner_of(shard).await?;
        // No current lease, or this node's own that it does not trust yet.
        owner
            .filter(|owner| owner != cluster.node_id())
            .ok_or_else(|| PersistError::NotOwner {
                actor_id: self.id.clone(),
                shard,
            })
    }

    fn encode(&self, value: &impl serde::Serialize) -> Result<serde_json::Value, PersistError> {
        serde_json::to_value(value).map_err(|error| PersistError::Remote {
            actor_id: self.id.clone(),
            node: self.routed.cluster.node_id().to_owned(),
            message: error.to_string(),
        })
    }

    /// Sends `request` to `owner` and waits for its answer.
    async fn ask(
        &self,
        owner: &str,
        shard: u32,
        request: Request,
    ) -> Result<serde_json::Value, PersistError> {
        let cluster = &self.routed.cluster;
        let answer = cluster
            .transport()
            .call(
                owner,
                self.routed.repository.machine_type(),
                &self.id,
                request,
                cluster.config().answer_timeout,
            )
            .await;
        if !matches!(answer, Ok(Ok(_))) {
            // Refused or unanswered: read the owner afresh next time.
            cluster.forget_owner(shard);
        }
        answer?.map_err(|error| error.into_error(&self.id, owner))
    }
}

/// Makes actor `id` run here: the running one, else the stored one activated, else a new one
/// in `state`. A spawn sent again, or racing another for the same id, changes nothing: spawns
/// of one id go through its activation gate, and one that meets the running actor is answered
/// `Duplicate`.
async fn ensure_running<M: Persistable>(
    repository: &Repository<M>,
    id: &ActorId,
    state: M,
) -> Result<(), PersistError> {
    match repository.spawn(id.clone(), state).await {
        Ok(_) | Err(PersistError::Spawn(SpawnError::Duplicate(_))) => Ok(()),
        // Stored, under `restore_on_spawn(false)`: left as it is, activated.
        Err(PersistError::AlreadyExists(_)) => match repository.activate(id.clone()).await? {
            Some(_) => Ok(()),
            None => Err(PersistError::NotFound(id.clone())),
        },
        Err(error) => Err(error),
    }
}

/// Where an attempt goes.
enum Route {
    /// This node holds the actor's shard.
    Local,
    /// Another node does, or none.
    Remote { shard: u32 },
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
        request: Request,
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
            match request {
                Request::Call { command, event } => {
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
                }
                Request::Spawn { state } => {
                    let state: M =
                        serde_json::from_value(state).map_err(|error| WireError::Other {
                            message: format!("an unreadable state: {error}"),
                        })?;
                    ensure_running(&repository, &actor, state)
                        .await
                        .map_err(|error| WireError::from_error(&error))?;
                    Ok(serde_json::Value::Null)
                }
            }
        })
    }
}

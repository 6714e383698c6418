//! [`PersistentRef`]: the handle to a persistent actor.

use std::future::Future;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};

use futures::Stream;
use machine_core::{ActorError, ActorId, ActorRef, ActorStatus, Changes, Outcome, Transitions};

use super::incarnation::Incarnation;
use super::repository::Shared;
use super::snapshotter::Job;
use crate::time_travel::{history, HistoryEntry};
use crate::{PersistError, Persistable};

/// A handle to a persistent actor: what [`ActorRef`] does, with every error typed as a
/// [`PersistError`] (a failed commit arrives as the store's own error, never as an opaque
/// source), plus snapshots and time travel. Cheap to clone.
///
/// `call` answers once the event is durable; `send` hands it over without waiting. While the
/// actor is rewound ([`replay_to`](Self::replay_to)) both refuse new events with
/// [`PersistError::Rewound`] until [`resume`](Self::resume).
pub struct PersistentRef<M: Persistable> {
    /// The id the application knows the actor by.
    pub(super) id: ActorId,
    /// The key it is stored under, and known by in the runtime.
    pub(super) key: ActorId,
    /// The incarnation this handle talks to, shared by its clones; replaced when the actor
    /// passivated and a message activates it again.
    pub(super) current: Arc<Mutex<Incarnation<M>>>,
    pub(super) shared: Arc<Shared<M>>,
}

impl<M: Persistable> Clone for PersistentRef<M> {
    fn clone(&self) -> Self {
        Self {
            id: self.id.clone(),
            key: self.key.clone(),
            current: Arc::clone(&self.current),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<M: Persistable> std::fmt::Debug for PersistentRef<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistentRef")
            .field("machine_type", &self.shared.config.machine_type)
            .field("id", &self.id)
            .field("key", &self.key)
            .finish()
    }
}

impl<M: Persistable> PersistentRef<M> {
    pub(crate) fn new(incarnation: Incarnation<M>, shared: Arc<Shared<M>>) -> Self {
        let key = incarnation.actor.id().clone();
        Self {
            id: shared.id_of(&key),
            key,
            current: Arc::new(Mutex::new(incarnation)),
            shared,
        }
    }

    fn incarnation(&self) -> Incarnation<M> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Runs `op` on the current incarnation. If it was refused because the incarnation
    /// passivated (the actor closes its mailbox before it passivates, so a refused message was
    /// not processed), waits until it has ended, activates the next one and runs `op` there.
    pub(super) async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, PersistError>
    where
        F: FnMut(ActorRef<M>) -> Fut,
        Fut: Future<Output = Result<T, ActorError>>,
    {
        loop {
            let incarnation = self.incarnation();
            match op(incarnation.actor.clone()).await {
                Err(ActorError::Stopped(id)) if self.shared.config.passivate_after.is_some() => {
                    if !incarnation.life.passivated().await {
                        return Err(PersistError::Stopped(id));
                    }
                    let Some(next) = self.shared.activate(&self.key).await? else {
                        // Deleted while it was passivated.
                        return Err(PersistError::Stopped(id));
                    };
                    *self
                        .current
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = next;
                }
                other => return Ok(other?),
            }
        }
    }

    /// The actor's id, as the application knows it.
    pub fn id(&self) -> &ActorId {
        &self.id
    }

    /// The key the actor is stored under, and known by in the runtime (its
    /// [`id`](Self::id) unless [`PersistConfig::persistence_key`](crate::PersistConfig::persistence_key)
    /// maps it).
    pub fn key(&self) -> &ActorId {
        &self.key
    }

    /// Whether the actor has stopped for good. A passivated actor has not: the next message
    /// through this handle activates it.
    pub fn is_stopped(&self) -> bool {
        let incarnation = self.incarnation();
        incarnation.actor.is_stopped() && !incarnation.life.has_passivated()
    }

    pub(super) fn refuse_if_rewound(&self) -> Result<(), PersistError> {
        match self.shared.runtime.rewinds.get(&self.key) {
            Some((at, head)) => Err(PersistError::Rewound {
                actor_id: self.key.clone(),
                at,
                head,
            }),
            None => Ok(()),
        }
    }

    /// Sends an event without waiting for its outcome (waits while the mailbox is full). The
    /// event is journaled with the next batch; its failure, if any, is reported to the observer.
    /// A passivated actor is activated first.
    pub async fn send(&self, event: M::Event) -> Result<(), PersistError> {
        self.refuse_if_rewound()?;
        if self.shared.config.passivate_after.is_none() {
            return Ok(self.incarnation().actor.send(event).await?);
        }
        // Kept for a retry on the next incarnation: a refused send hands nothing back.
        self.run(|actor| {
            let event = event.clone();
            async move { actor.send(event).await }
        })
        .await
    }

    /// Sends an event if the mailbox has room, without waiting. It does not activate a
    /// passivated actor (that needs a restore to await): it fails with
    /// [`PersistError::Stopped`] then; [`send`](Self::send) activates.
    pub fn try_send(&self, event: M::Event) -> Result<(), PersistError> {
        self.refuse_if_rewound()?;
        Ok(self.incarnation().actor.try_send(event)?)
    }

    /// Sends an event and waits for its outcome: the new state once the event is committed to
    /// the store, or `Unhandled`, or the guard's rejection. A conflict with another writer is
    /// [`PersistError::Conflict`] (the actor then stops); a store failure is
    /// [`PersistError::Store`] with the store's typed error. A passivated actor is activated
    /// first.
    pub async fn call(&self, event: M::Event) -> Result<Outcome<M, M::Error>, PersistError> {
        if self.shared.config.passivate_after.is_none() {
            return Ok(self.incarnation().actor.call(event).await?);
        }
        self.run(|actor| {
            let event = event.clone();
            async move { actor.call(event).await }
        })
        .await
    }

    /// The current state (after every message sent before this call).
    pub async fn state(&self) -> Result<M, PersistError> {
        self.run(|actor| async move { actor.state().await }).await
    }

    /// The live state with its version and head (see [`ActorStatus`]).
    pub async fn status(&self) -> Result<ActorStatus<M>, PersistError> {
        self.run(|actor| async move { actor.status().await }).await
    }

    /// The number of events the actor has journaled (its version).
    pub async fn version(&self) -> Result<u64, PersistError> {
        self.run(|actor| async move { actor.version().await }).await
    }

    /// Whether the current state has this tag.
    pub async fn matches(&self, tag: M::StateTag) -> Result<bool, PersistError> {
        self.run(|actor| async move { actor.matches(tag).await })
            .await
    }

    /// Whether the current state would accept `event` (guards included), without sending it.
    pub async fn can(&self, event: &M::Event) -> Result<bool, PersistError> {
        self.run(|actor| async move { actor.can(event).await })
            .await
    }

    /// The current state, then every committed state in order, until the actor stops. A
    /// watched actor does not passivate.
    pub async fn changes(&self) -> Result<Changes<M>, PersistError> {
        self.run(|actor| async move { actor.changes().await }).await
    }

    /// Every committed transition from now on, in order, until the actor stops. A watched
    /// actor does not passivate.
    pub async fn transitions(&self) -> Result<Transitions<M>, PersistError> {
        self.run(|actor| async move { actor.transitions().await })
            .await
    }

    /// Waits until the state satisfies `predicate` and returns that state; the current state is
    /// checked first. The actor does not passivate while a wait is pending.
    pub async fn wait_for(
        &self,
        predicate: impl FnMut(&M) -> bool + Send + 'static,
    ) -> Result<M, PersistError> {
        let predicate = Arc::new(Mutex::new(predicate));
        self.run(|actor| {
            let predicate = Arc::clone(&predicate);
            async move {
                actor
                    .wait_for(move |state| {
                        let mut predicate = predicate
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner());
                        (*predicate)(state)
                    })
                    .await
            }
        })
        .await
    }

    /// Stops the actor after the messages already in its mailbox (snapshotting it, if
    /// configured) and waits until it has stopped. A stopped actor stays stopped: messages
    /// through its handles are refused (unlike a passivated one, it is not activated).
    pub async fn stop(&self) -> Result<(), PersistError> {
        Ok(self.incarnation().actor.stop().await?)
    }

    /// Writes a snapshot of the current state now and waits until it is stored; returns its
    /// version. Refused while the actor is rewound: the rewound state is not the head's.
    pub async fn save_snapshot(&self) -> Result<u64, PersistError> {
        let status = self.status().await?;
        if status.is_rewound() {
            return Err(PersistError::Rewound {
                actor_id: self.key.clone(),
                at: status.version,
                head: status.head,
            });
        }
        let job = Job {
            actor_id: self.key.clone(),
            snapshot: self.shared.payloads.snapshot(
                &status.state,
                status.version,
                status.entered_at,
            )?,
            retention: self.shared.config.retention,
            on_error: None,
        };
        self.shared.runtime.snapshotter.save(job).await?;
        Ok(status.version)
    }

    /// The state after the first `version` events, from storage; the live actor is untouched.
    pub async fn state_at(&self, version: u64) -> Result<M, PersistError> {
        Ok(self
            .shared
            .loader()
            .state_at(&self.key, version)
            .await?
            .state)
    }

    /// Rewinds the live actor's visible state to `version` for inspection: state only, no
    /// effect runs, and new events are refused with [`PersistError::Rewound`] until
    /// [`resume`](Self::resume). The journal is not touched. Returns the rewound state.
    pub async fn replay_to(&self, version: u64) -> Result<M, PersistError> {
        let head = self.status().await?.head;
        if version > head {
            return Err(PersistError::VersionOutOfRange {
                actor_id: self.key.clone(),
                requested: version,
                head,
            });
        }
        let state = self.state_at(version).await?;
        self.shared.runtime.rewinds.mark(&self.key, version, head);
        let actor = self.incarnation().actor;
        if let Err(error) = actor.rewind(state.clone(), version).await {
            self.shared.runtime.rewinds.clear(&self.key);
            return Err(error.into());
        }
        Ok(state)
    }

    /// Returns a rewound actor to its head and lets events in again.
    pub async fn resume(&self) -> Result<(), PersistError> {
        let resumed = self.incarnation().actor.resume().await;
        self.shared.runtime.rewinds.clear(&self.key);
        Ok(resumed?)
    }

    /// The journaled history over `versions`; see
    /// [`Repository::history`](crate::Repository::history).
    pub fn history(
        &self,
        versions: RangeInclusive<u64>,
    ) -> impl Stream<Item = Result<HistoryEntry<M>, PersistError>> + Send + 'static {
        history(Arc::clone(&self.shared), Ok(self.key.clone()), versions)
    }
}

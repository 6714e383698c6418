//! [`PersistentRef`]: the handle to a persistent actor.

use std::ops::RangeInclusive;
use std::sync::Arc;

use futures::Stream;
use machine_core::{ActorId, ActorRef, ActorStatus, Changes, Outcome, Transitions};

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
    pub(super) actor: ActorRef<M>,
    pub(super) shared: Arc<Shared<M>>,
}

impl<M: Persistable> Clone for PersistentRef<M> {
    fn clone(&self) -> Self {
        Self {
            actor: self.actor.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<M: Persistable> std::fmt::Debug for PersistentRef<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistentRef")
            .field("machine_type", &self.shared.config.machine_type)
            .field("id", self.actor.id())
            .finish()
    }
}

impl<M: Persistable> PersistentRef<M> {
    pub(crate) fn new(actor: ActorRef<M>, shared: Arc<Shared<M>>) -> Self {
        Self { actor, shared }
    }

    /// The actor's id.
    pub fn id(&self) -> &ActorId {
        self.actor.id()
    }

    /// Whether the actor has stopped.
    pub fn is_stopped(&self) -> bool {
        self.actor.is_stopped()
    }

    pub(super) fn refuse_if_rewound(&self) -> Result<(), PersistError> {
        match self.shared.runtime.rewinds.get(self.id()) {
            Some((at, head)) => Err(PersistError::Rewound {
                actor_id: self.id().clone(),
                at,
                head,
            }),
            None => Ok(()),
        }
    }

    /// Sends an event without waiting for its outcome (waits while the mailbox is full). The
    /// event is journaled with the next batch; its failure, if any, is reported to the observer.
    pub async fn send(&self, event: M::Event) -> Result<(), PersistError> {
        self.refuse_if_rewound()?;
        Ok(self.actor.send(event).await?)
    }

    /// Sends an event if the mailbox has room, without waiting.
    pub fn try_send(&self, event: M::Event) -> Result<(), PersistError> {
        self.refuse_if_rewound()?;
        Ok(self.actor.try_send(event)?)
    }

    /// Sends an event and waits for its outcome: the new state once the event is committed to
    /// the store, or `Unhandled`, or the guard's rejection. A conflict with another writer is
    /// [`PersistError::Conflict`] (the actor then stops); a store failure is
    /// [`PersistError::Store`] with the store's typed error.
    pub async fn call(&self, event: M::Event) -> Result<Outcome<M, M::Error>, PersistError> {
        Ok(self.actor.call(event).await?)
    }

    /// The current state (after every message sent before this call).
    pub async fn state(&self) -> Result<M, PersistError> {
        Ok(self.actor.state().await?)
    }

    /// The live state with its version and head (see [`ActorStatus`]).
    pub async fn status(&self) -> Result<ActorStatus<M>, PersistError> {
        Ok(self.actor.status().await?)
    }

    /// The number of events the actor has journaled (its version).
    pub async fn version(&self) -> Result<u64, PersistError> {
        Ok(self.actor.version().await?)
    }

    /// Whether the current state has this tag.
    pub async fn matches(&self, tag: M::StateTag) -> Result<bool, PersistError> {
        Ok(self.actor.matches(tag).await?)
    }

    /// Whether the current state would accept `event` (guards included), without sending it.
    pub async fn can(&self, event: &M::Event) -> Result<bool, PersistError> {
        Ok(self.actor.can(event).await?)
    }

    /// The current state, then every committed state in order, until the actor stops.
    pub async fn changes(&self) -> Result<Changes<M>, PersistError> {
        Ok(self.actor.changes().await?)
    }

    /// Every committed transition from now on, in order, until the actor stops.
    pub async fn transitions(&self) -> Result<Transitions<M>, PersistError> {
        Ok(self.actor.transitions().await?)
    }

    /// Waits until the state satisfies `predicate` and returns that state; the current state is
    /// checked first.
    pub async fn wait_for(
        &self,
        predicate: impl FnMut(&M) -> bool + Send + 'static,
    ) -> Result<M, PersistError> {
        Ok(self.actor.wait_for(predicate).await?)
    }

    /// Stops the actor after the messages already in its mailbox (snapshotting it, if
    /// configured) and waits until it has stopped.
    pub async fn stop(&self) -> Result<(), PersistError> {
        Ok(self.actor.stop().await?)
    }

    /// Writes a snapshot of the current state now and waits until it is stored; returns its
    /// version. Refused while the actor is rewound: the rewound state is not the head's.
    pub async fn save_snapshot(&self) -> Result<u64, PersistError> {
        let status = self.actor.status().await?;
        if status.is_rewound() {
            return Err(PersistError::Rewound {
                actor_id: self.id().clone(),
                at: status.version,
                head: status.head,
            });
        }
        let job = Job {
            actor_id: self.id().clone(),
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
            .state_at(self.id(), version)
            .await?
            .state)
    }

    /// Rewinds the live actor's visible state to `version` for inspection: state only, no
    /// effect runs, and new events are refused with [`PersistError::Rewound`] until
    /// [`resume`](Self::resume). The journal is not touched. Returns the rewound state.
    pub async fn replay_to(&self, version: u64) -> Result<M, PersistError> {
        let head = self.actor.status().await?.head;
        if version > head {
            return Err(PersistError::VersionOutOfRange {
                actor_id: self.id().clone(),
                requested: version,
                head,
            });
        }
        let state = self.state_at(version).await?;
        self.shared.runtime.rewinds.mark(self.id(), version, head);
        if let Err(error) = self.actor.rewind(state.clone(), version).await {
            self.shared.runtime.rewinds.clear(self.id());
            return Err(error.into());
        }
        Ok(state)
    }

    /// Returns a rewound actor to its head and lets events in again.
    pub async fn resume(&self) -> Result<(), PersistError> {
        let resumed = self.actor.resume().await;
        self.shared.runtime.rewinds.clear(self.id());
        Ok(resumed?)
    }

    /// The journaled history over `versions`; see
    /// [`Repository::history`](crate::Repository::history).
    pub fn history(
        &self,
        versions: RangeInclusive<u64>,
    ) -> impl Stream<Item = Result<HistoryEntry<M>, PersistError>> + Send + 'static {
        history(Arc::clone(&self.shared), self.id().clone(), versions)
    }
}

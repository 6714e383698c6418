//! [`PersistentRef`]: an [`ActorRef`] with persistence extras.

use std::ops::{Deref, RangeInclusive};
use std::sync::Arc;

use futures::Stream;
use machine_core::{ActorRef, ActorStatus};

use super::repository::Shared;
use super::snapshotter::Job;
use crate::restore::load;
use crate::time_travel::{history, HistoryEntry};
use crate::{PersistError, Persistable};

/// A handle to a persistent actor. Derefs to [`ActorRef`] for `send`, `call`, `state`,
/// `changes`, `wait_for`, `stop`…; adds snapshots, versions and time travel.
pub struct PersistentRef<M: Persistable> {
    actor: ActorRef<M>,
    shared: Arc<Shared<M>>,
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
        self.actor.fmt(f)
    }
}

impl<M: Persistable> Deref for PersistentRef<M> {
    type Target = ActorRef<M>;

    fn deref(&self) -> &ActorRef<M> {
        &self.actor
    }
}

impl<M: Persistable> PersistentRef<M> {
    pub(crate) fn new(actor: ActorRef<M>, shared: Arc<Shared<M>>) -> Self {
        Self { actor, shared }
    }

    /// The plain actor handle.
    pub fn actor(&self) -> &ActorRef<M> {
        &self.actor
    }

    /// Writes a snapshot of the current state now and waits until it is stored; returns its
    /// version.
    pub async fn persist(&self) -> Result<u64, PersistError> {
        let ActorStatus {
            state,
            version,
            entered_at,
            ..
        } = self.actor.status().await?;
        let job = Job {
            actor_id: self.actor.id().clone(),
            snapshot: self.shared.payloads.snapshot(&state, version, entered_at)?,
            retention: self.shared.config.retention,
            on_error: None,
            ack: None,
        };
        self.shared.runtime.snapshotter.save(job).await?;
        Ok(version)
    }

    /// The state after the first `version` events, from storage; the live actor is untouched.
    pub async fn state_at(&self, version: u64) -> Result<M, PersistError> {
        let shared = &self.shared;
        let id = self.actor.id();
        load(
            shared.runtime.store.as_ref(),
            &shared.payloads,
            &shared.config,
            id,
            Some(version),
        )
        .await?
        .map(|folded| folded.state)
        .ok_or_else(|| PersistError::NotFound(id.clone()))
    }

    /// Rewinds the live actor's visible state to `version` for inspection: state only, no
    /// effect runs, and new events are refused with `ActorError::Rewound` until
    /// [`resume`](Self::resume). The journal is not touched. Returns the rewound state.
    pub async fn replay_to(&self, version: u64) -> Result<M, PersistError> {
        let head = self.actor.status().await?.head;
        if version > head {
            return Err(PersistError::VersionOutOfRange {
                actor_id: self.actor.id().clone(),
                requested: version,
                head,
            });
        }
        let state = self.state_at(version).await?;
        self.actor.rewind(state.clone(), version).await?;
        Ok(state)
    }

    /// Returns a rewound actor to its head.
    pub async fn resume(&self) -> Result<(), PersistError> {
        Ok(self.actor.resume().await?)
    }

    /// The journaled history over `versions`; see [`Repository::history`](crate::Repository::history).
    pub fn history(
        &self,
        versions: RangeInclusive<u64>,
    ) -> impl Stream<Item = Result<HistoryEntry<M>, PersistError>> + Send + 'static {
        history(Arc::clone(&self.shared), self.actor.id().clone(), versions)
    }
}

//! The umbrella error of the persistence layer.

use std::sync::Arc;

use thiserror::Error;

use machine_core::{ActorError, SpawnError};

use super::{AppendError, StoreError};
use crate::codec::{DecodeError, EncodeError};
use crate::schema::UpcastError;
use crate::ActorId;

/// Any failure of the persistence layer. Cheap to clone, so one failure can be reported to every
/// caller waiting on the same batch.
#[derive(Clone, Debug, Error)]
#[non_exhaustive]
pub enum PersistError {
    /// The append was refused for this actor (version conflict, already exists).
    #[error(transparent)]
    Append(#[from] AppendError),
    /// The store failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// A value could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A stored payload could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The journal writer has shut down and accepts no more appends.
    #[error("the journal writer has shut down")]
    WriterClosed,
    /// A stored payload could not be migrated to the current schema.
    #[error("cannot migrate the payload of actor `{actor_id}` at version {version}: {reason}")]
    Upcast {
        /// The actor.
        actor_id: ActorId,
        /// The version of the event or snapshot.
        version: u64,
        /// Why.
        reason: UpcastError,
    },
    /// The journal skips a version: stored data is damaged or was deleted.
    #[error("the journal of actor `{actor_id}` jumps from version {expected} to {found}")]
    VersionGap {
        /// The actor.
        actor_id: ActorId,
        /// The version that should have come next.
        expected: u64,
        /// The version found instead.
        found: u64,
    },
    /// A journaled event is no longer accepted by the machine's handlers, so replay cannot
    /// reproduce the recorded history (handlers must stay compatible with stored events).
    #[error("replaying actor `{actor_id}` failed at version {version}: {reason}")]
    ReplayRefused {
        /// The actor.
        actor_id: ActorId,
        /// The version of the refused event.
        version: u64,
        /// Which event, in which state, and why.
        reason: String,
    },
    /// A version past the actor's head was asked for.
    #[error("actor `{actor_id}` has no version {requested} (its head is {head})")]
    VersionOutOfRange {
        /// The actor.
        actor_id: ActorId,
        /// The version asked for.
        requested: u64,
        /// The actor's head version.
        head: u64,
    },
    /// Nothing is stored for this actor.
    #[error("nothing is stored for actor `{0}`")]
    NotFound(ActorId),
    /// The actor could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// The running actor could not be reached.
    #[error(transparent)]
    Actor(#[from] ActorError),
}

impl PersistError {
    /// Whether retrying may succeed (see [`StoreError::is_transient`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Store(error) if error.is_transient())
    }

    /// The append refusal, if this is one.
    pub fn as_append(&self) -> Option<&AppendError> {
        match self {
            Self::Append(error) => Some(error),
            _ => None,
        }
    }
}

impl From<StoreError> for PersistError {
    fn from(error: StoreError) -> Self {
        Self::Store(Arc::new(error))
    }
}

impl From<Arc<StoreError>> for PersistError {
    fn from(error: Arc<StoreError>) -> Self {
        Self::Store(error)
    }
}

//! Per-actor append failures.

use thiserror::Error;

use crate::ActorId;

/// Why one actor's append was refused. Refusals are per request: inside a batch, the other
/// requests are unaffected.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AppendError {
    /// The actor's stored head differs from the version the writer expected: someone else wrote
    /// first. The writer must not overwrite; it reloads (restores) and re-decides.
    #[error("version conflict for actor `{actor_id}`: expected head {expected}, found {actual}")]
    VersionConflict {
        /// The actor written to.
        actor_id: ActorId,
        /// The head the writer expected.
        expected: u64,
        /// The head found in the store.
        actual: u64,
    },
    /// The request declared a new actor, but the actor is already known.
    #[error("actor `{actor_id}` already exists")]
    AlreadyExists {
        /// The actor that exists.
        actor_id: ActorId,
    },
}

impl AppendError {
    /// The actor the refusal is about.
    pub fn actor_id(&self) -> &ActorId {
        match self {
            Self::VersionConflict { actor_id, .. } | Self::AlreadyExists { actor_id } => actor_id,
        }
    }
}

//! Per-request append refusals.

use std::sync::Arc;

use machine_core::VersionConflict;
use thiserror::Error;

use super::StoreError;
use crate::model::{Fence, InvalidId};
use crate::ActorId;

/// Why one request of a batch was refused. Refusals are per request: inside a batch, the other
/// requests are unaffected.
#[derive(Clone, Debug, Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The actor's stored head differs from the version the writer expected: someone else wrote
    /// first. The writer must not overwrite; it reloads (restores) and re-decides.
    #[error(transparent)]
    Conflict(VersionConflict),
    /// The request declared a new actor, but the actor is already known.
    #[error("actor `{actor_id}` already exists")]
    AlreadyExists {
        /// The actor that exists.
        actor_id: ActorId,
    },
    /// The request's actor id or machine type breaks the storage rule; it never reached the
    /// database.
    #[error(transparent)]
    Invalid(InvalidId),
    /// The request was written under a shard lease that is no longer current (taken over by
    /// another node, expired, or never held), or the store keeps no leases. Nothing was written;
    /// the writer must stop, since the actor's new owner holds its history.
    #[error(
        "the append of actor `{actor_id}` under {fence} was refused: the lease is not current"
    )]
    Fenced {
        /// The actor written to.
        actor_id: ActorId,
        /// The shard and epoch the request named.
        fence: Fence,
    },
    /// The database refused this request's data (a value it cannot store); the rest of the batch
    /// was applied without it.
    #[error("the store refused the append of actor `{actor_id}`: {source}")]
    Refused {
        /// The actor written to.
        actor_id: ActorId,
        /// The database's error.
        #[source]
        source: Arc<StoreError>,
    },
}

/// Refusals are equal when they say the same thing: a refusal by the database compares its
/// actor and its message.
impl PartialEq for AppendError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Conflict(a), Self::Conflict(b)) => a == b,
            (Self::AlreadyExists { actor_id: a }, Self::AlreadyExists { actor_id: b }) => a == b,
            (Self::Invalid(a), Self::Invalid(b)) => a == b,
            (
                Self::Fenced {
                    actor_id: a,
                    fence: x,
                },
                Self::Fenced {
                    actor_id: b,
                    fence: y,
                },
            ) => a == b && x == y,
            (
                Self::Refused {
                    actor_id: a,
                    source: x,
                },
                Self::Refused {
                    actor_id: b,
                    source: y,
                },
            ) => a == b && x.to_string() == y.to_string(),
            _ => false,
        }
    }
}

impl AppendError {
    /// The conflict, if this is one.
    pub fn conflict(&self) -> Option<&VersionConflict> {
        match self {
            Self::Conflict(conflict) => Some(conflict),
            _ => None,
        }
    }
}

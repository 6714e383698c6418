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
    /// A durable action of the request is malformed (see [`ActionProblem`]); nothing of the
    /// request was applied.
    #[error("durable action `{action}` of actor `{actor_id}`: {problem}")]
    InvalidAction {
        /// The actor written to.
        actor_id: ActorId,
        /// The action's name.
        action: String,
        /// What is wrong with it.
        problem: ActionProblem,
    },
    /// A command id of the request is already recorded for the actor (and has not expired):
    /// the command was applied before. Nothing of the request was applied.
    #[error("command `{command_id}` was already applied to actor `{actor_id}`")]
    DuplicateCommand {
        /// The actor written to.
        actor_id: ActorId,
        /// The command id.
        command_id: String,
    },
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
    /// The database refused this request with an error that is not transient (most often a
    /// value it cannot store); the rest of the batch was applied without it.
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
                Self::DuplicateCommand {
                    actor_id: a,
                    command_id: x,
                },
                Self::DuplicateCommand {
                    actor_id: b,
                    command_id: y,
                },
            ) => a == b && x == y,
            (
                Self::InvalidAction {
                    actor_id: a,
                    action: x,
                    problem: p,
                },
                Self::InvalidAction {
                    actor_id: b,
                    action: y,
                    problem: q,
                },
            ) => a == b && x == y && p == q,
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

/// What is wrong with a durable action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ActionProblem {
    /// Its name is empty or longer than [`MAX_ACTION_NAME_BYTES`](crate::store::MAX_ACTION_NAME_BYTES).
    #[error("the name must have 1 to 128 bytes")]
    BadName,
    /// Its version is not one of the request's events.
    #[error("version {0} is not appended by this request")]
    OutsideRequest(u64),
    /// The same step declared two actions of this name: their idempotency keys would be equal.
    #[error("declared twice by the event at version {0}")]
    Duplicate(u64),
    /// The machine's configuration registers no durable action of this name (see
    /// `PersistConfig::durable`), so no dispatcher could run it.
    #[error("not registered in the machine's PersistConfig")]
    NotRegistered,
    /// The action's value is not of the type registered under its name.
    #[error("its value is not of the type registered under this name")]
    WrongType,
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

//! What travels between nodes: a call for an actor, and its answer.
//!
//! Messages are JSON (the payload of a Postgres notification, at most
//! [`MAX_MESSAGE_BYTES`]). An answer carries the owner's outcome with the machine's own state and
//! error types (the error as its [`WireRejection`](super::WireRejection) encodes it), or the owner's error as a [`WireError`] that maps back to the same
//! [`PersistError`] variant where one exists.

use machine_core::{Outcome, VersionConflict};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::rejection::Rejections;
use crate::model::Fence;
use crate::{ActorId, PersistError};

/// The largest message Postgres carries in one notification.
pub(crate) const MAX_MESSAGE_BYTES: usize = 7_999;

/// A message on a node's channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Message {
    /// Apply `event` to `actor` of `machine` as command `command` (applied at most once per
    /// id, so a caller may send it again); answer on `reply_to` with `call`.
    Call {
        call: u64,
        reply_to: String,
        machine: String,
        actor: String,
        command: String,
        event: serde_json::Value,
    },
    /// Spawn `actor` of `machine` in `state`, unless it is stored (then it is restored as
    /// stored, so a caller may send it again); answer on `reply_to` with `call`.
    Spawn {
        call: u64,
        reply_to: String,
        machine: String,
        actor: String,
        state: serde_json::Value,
    },
    /// The answer to call `call`.
    Answer { call: u64, answer: Answer },
}

/// What an owner answers: the outcome (or `null`, for a spawn) as JSON, or its error.
pub(crate) type Answer = Result<serde_json::Value, WireError>;

/// What a caller asks of an actor's owner.
#[derive(Debug)]
pub(crate) enum Request {
    /// Apply `event` as command `command`: answered with the outcome.
    Call {
        command: String,
        event: serde_json::Value,
    },
    /// Spawn the actor in `state` unless it is stored: answered with `null`.
    Spawn { state: serde_json::Value },
}

/// A request as it is sent and served: which call it is, where its answer goes, and for whom.
#[derive(Debug)]
pub(crate) struct Asked {
    pub(crate) call: u64,
    pub(crate) reply_to: String,
    pub(crate) machine: String,
    pub(crate) actor: String,
    pub(crate) request: Request,
}

impl From<Asked> for Message {
    fn from(asked: Asked) -> Self {
        let Asked {
            call,
            reply_to,
            machine,
            actor,
            request,
        } = asked;
        match request {
            Request::Call { command, event } => Message::Call {
                call,
                reply_to,
                machine,
                actor,
                command,
                event,
            },
            Request::Spawn { state } => Message::Spawn {
                call,
                reply_to,
                machine,
                actor,
                state,
            },
        }
    }
}

impl Message {
    /// The request this message carries, or, for an answer, its call and the answer.
    pub(crate) fn into_asked(self) -> Result<Asked, (u64, Answer)> {
        let (call, reply_to, machine, actor, request) = match self {
            Message::Call {
                call,
                reply_to,
                machine,
                actor,
                command,
                event,
            } => (
                call,
                reply_to,
                machine,
                actor,
                Request::Call { command, event },
            ),
            Message::Spawn {
                call,
                reply_to,
                machine,
                actor,
                state,
            } => (call, reply_to, machine, actor, Request::Spawn { state }),
            Message::Answer { call, answer } => return Err((call, answer)),
        };
        Ok(Asked {
            call,
            reply_to,
            machine,
            actor,
            request,
        })
    }
}

/// An outcome as it travels, its error as encoded by the machine's [`Rejections`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireOutcome<S> {
    Next(S),
    Unhandled,
    Rejected(serde_json::Value),
}

/// The owner's outcome as JSON.
pub(crate) fn encode_outcome<S: Serialize, E>(
    outcome: Outcome<S, E>,
    rejections: Rejections<E>,
) -> Result<serde_json::Value, serde_json::Error> {
    let wire = match outcome {
        Outcome::Next(state) => WireOutcome::Next(state),
        Outcome::Unhandled => WireOutcome::Unhandled,
        Outcome::Rejected(error) => WireOutcome::Rejected((rejections.encode)(&error)?),
    };
    serde_json::to_value(wire)
}

/// The outcome back from the owner's JSON.
pub(crate) fn decode_outcome<S: DeserializeOwned, E>(
    value: serde_json::Value,
    rejections: Rejections<E>,
) -> Result<Outcome<S, E>, serde_json::Error> {
    Ok(match serde_json::from_value(value)? {
        WireOutcome::Next(state) => Outcome::Next(state),
        WireOutcome::Unhandled => Outcome::Unhandled,
        WireOutcome::Rejected(error) => Outcome::Rejected((rejections.decode)(error)?),
    })
}

/// An owner's error as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WireError {
    NotFound,
    Stopped,
    NotOwner {
        shard: u32,
    },
    Fenced {
        shard: u32,
        epoch: u64,
    },
    Conflict {
        expected: u64,
        actual: u64,
    },
    /// The owner does not serve this machine type.
    UnknownMachine,
    /// Any other error, by its message.
    Other {
        message: String,
    },
}

impl WireError {
    pub(crate) fn from_error(error: &PersistError) -> Self {
        match error {
            PersistError::NotFound(_) => Self::NotFound,
            PersistError::Stopped(_) => Self::Stopped,
            PersistError::NotOwner { shard, .. } => Self::NotOwner { shard: *shard },
            PersistError::Fenced { fence, .. } => Self::Fenced {
                shard: fence.shard,
                epoch: fence.epoch,
            },
            PersistError::Conflict(conflict) => Self::Conflict {
                expected: conflict.expected,
                actual: conflict.actual,
            },
            other => Self::Other {
                message: other.to_string(),
            },
        }
    }

    /// The error as the caller of actor `actor_id` on node `node` sees it.
    pub(crate) fn into_error(self, actor_id: &ActorId, node: &str) -> PersistError {
        match self {
            Self::NotFound => PersistError::NotFound(actor_id.clone()),
            Self::Stopped => PersistError::Stopped(actor_id.clone()),
            Self::NotOwner { shard } => PersistError::NotOwner {
                actor_id: actor_id.clone(),
                shard,
            },
            Self::Fenced { shard, epoch } => PersistError::Fenced {
                actor_id: actor_id.clone(),
                fence: Fence { shard, epoch },
            },
            Self::Conflict { expected, actual } => PersistError::Conflict(VersionConflict {
                actor_id: actor_id.clone(),
                expected,
                actual,
            }),
            Self::UnknownMachine => PersistError::Remote {
                actor_id: actor_id.clone(),
                node: node.to_owned(),
                message: "the owner does not serve this machine type".to_owned(),
            },
            Self::Other { message } => PersistError::Remote {
                actor_id: actor_id.clone(),
                node: node.to_owned(),
                message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_variant_across_the_wire() {
        let id = ActorId::from("a");
        let fenced = PersistError::Fenced {
            actor_id: id.clone(),
            fence: Fence { shard: 2, epoch: 7 },
        };
        let wire = WireError::from_error(&fenced);
        let text = serde_json::to_string(&wire).unwrap();
        let back: WireError = serde_json::from_str(&text).unwrap();
        assert!(matches!(
            back.into_error(&id, "n"),
            PersistError::Fenced {
                fence: Fence { shard: 2, epoch: 7 },
                ..
            }
        ));
        let other = WireError::from_error(&PersistError::MissingGenesis(id.clone()));
        assert!(
            matches!(other.into_error(&id, "n"), PersistError::Remote { node, .. } if node == "n")
        );
        let rejections = Rejections::<String>::of();
        let text =
            encode_outcome(Outcome::<u32, _>::Rejected("no".to_owned()), rejections).unwrap();
        let back: Outcome<u32, String> = decode_outcome(text, rejections).unwrap();
        assert_eq!(back, Outcome::Rejected("no".to_owned()));
    }

    #[test]
    fn outcomes_of_a_machine_that_never_rejects_travel() {
        let rejections = Rejections::<std::convert::Infallible>::of();
        for outcome in [Outcome::Next(3_u32), Outcome::Unhandled] {
            let wire = encode_outcome(outcome.clone(), rejections).unwrap();
            assert_eq!(decode_outcome::<u32, _>(wire, rejections).unwrap(), outcome);
        }
        let rejected = serde_json::json!({ "rejected": "no" });
        assert!(decode_outcome::<u32, _>(rejected, rejections).is_err());
    }
}

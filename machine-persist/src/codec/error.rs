//! Codec failures. Decoding failures always name the actor and version of the bad payload.

use std::sync::Arc;

use thiserror::Error;

use crate::ActorId;

/// A shareable error source (cloning a codec error shares it).
pub type SharedError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What a payload holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    /// A journaled event.
    Event,
    /// A snapshot's state.
    State,
    /// A durable action's value.
    Action,
}

impl std::fmt::Display for PayloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PayloadKind::Event => "event",
            PayloadKind::Action => "durable action",
            PayloadKind::State => "state",
        })
    }
}

/// A codec's own failure: what serde or the format reported.
#[derive(Clone, Debug, Error)]
#[error(transparent)]
pub struct CodecError(SharedError);

impl CodecError {
    /// Wraps a codec's error.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// The codec's error, for downcasting to the format's own type.
    pub fn inner(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.0.as_ref()
    }
}

/// A value could not be encoded into a payload.
#[derive(Clone, Debug, Error)]
#[error("cannot encode {kind} with codec `{codec}`: {source}")]
pub struct EncodeError {
    /// Event or state.
    pub kind: PayloadKind,
    /// The codec used.
    pub codec: &'static str,
    /// The codec's own error.
    #[source]
    pub source: CodecError,
}

/// Why a stored payload could not be decoded.
#[derive(Clone, Debug, Error)]
pub enum DecodeProblem {
    /// The codec failed on the bytes.
    #[error(transparent)]
    Codec(CodecError),
    /// The payload was written by another codec than the one configured.
    #[error(
        "it was written by codec `{stored}`, but this machine type is configured with `{expected}`"
    )]
    WrongCodec {
        /// The codec recorded with the payload.
        stored: String,
        /// The codec configured.
        expected: &'static str,
    },
    /// The codec cannot turn its payloads into JSON values, which upcasting needs.
    #[error("codec `{0}` is not self-describing, so its payloads cannot be upcast")]
    NotUpcastable(&'static str),
    /// A tool reading payloads without their machine type met a codec it does not know
    /// (see [`payload_to_json`](crate::codec::payload_to_json)).
    #[error("no built-in codec is named `{0}`, so its payloads cannot be shown as JSON")]
    UnknownCodec(String),
}

/// A stored payload could not be decoded.
#[derive(Clone, Debug, Error)]
#[error("cannot decode the {kind} of actor `{actor_id}` at version {version}: {problem}")]
pub struct DecodeError {
    /// The actor whose payload is bad.
    pub actor_id: ActorId,
    /// The version of the event or snapshot holding it.
    pub version: u64,
    /// Event or state.
    pub kind: PayloadKind,
    /// What went wrong.
    #[source]
    pub problem: DecodeProblem,
}

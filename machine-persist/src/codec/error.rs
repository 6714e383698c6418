//! Codec failures. Decoding failures always name the actor and version of the bad payload.

use std::sync::Arc;

use thiserror::Error;

use crate::ActorId;

/// A shareable error source (cloning a codec error shares it).
pub type SharedError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A value could not be encoded into a payload.
#[derive(Clone, Debug, Error)]
#[error("cannot encode payload: {source}")]
pub struct EncodeError {
    /// The codec's own error.
    #[source]
    pub source: SharedError,
}

/// A stored payload could not be decoded.
#[derive(Clone, Debug, Error)]
#[error("cannot decode payload of actor `{actor_id}` at version {version}: {source}")]
pub struct DecodeError {
    /// The actor whose payload is bad.
    pub actor_id: ActorId,
    /// The version of the event or snapshot holding it.
    pub version: u64,
    /// The codec's own error.
    #[source]
    pub source: SharedError,
}

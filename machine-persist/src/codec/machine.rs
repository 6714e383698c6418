//! One machine type's view of its codec, as a trait object.
//!
//! [`Codec`]'s methods are generic over the value, so a codec cannot be stored as
//! `dyn Codec`. A machine type only ever encodes its events and its states, so the configuration
//! keeps this monomorphic, object-safe view instead: one indirect call per payload, and no
//! codec type parameter on every persistent type. Durable actions, whose types the trait object
//! cannot name, go through serde's data model as a [`serde_json::Value`]: any self-describing
//! codec writes and reads those (JSON byte for byte as if encoded directly).

use std::sync::Arc;

use super::{Codec, CodecError};
use crate::Persistable;

/// The codec of machine type `M`.
pub(crate) trait MachineCodec<M: Persistable>: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn encode_event(&self, event: &M::Event) -> Result<Vec<u8>, CodecError>;
    fn encode_state(&self, state: &M) -> Result<Vec<u8>, CodecError>;
    fn decode_event(&self, bytes: &[u8]) -> Result<M::Event, CodecError>;
    fn decode_state(&self, bytes: &[u8]) -> Result<M, CodecError>;
    fn to_json(&self, bytes: &[u8]) -> Option<Result<serde_json::Value, CodecError>>;
    /// Encodes a value given in serde's data model (durable actions, whose types the codec's
    /// generic methods cannot name through this trait object).
    fn encode_value(&self, value: &serde_json::Value) -> Result<Vec<u8>, CodecError>;
    /// Decodes bytes written by [`encode_value`](Self::encode_value).
    fn decode_value(&self, bytes: &[u8]) -> Result<serde_json::Value, CodecError>;
}

/// A machine type's codec, shared by its repository and actors.
pub(crate) type SharedCodec<M> = Arc<dyn MachineCodec<M>>;

impl<M: Persistable, C: Codec> MachineCodec<M> for C {
    fn name(&self) -> &'static str {
        Codec::name(self)
    }

    fn encode_event(&self, event: &M::Event) -> Result<Vec<u8>, CodecError> {
        self.encode(event)
    }

    fn encode_state(&self, state: &M) -> Result<Vec<u8>, CodecError> {
        self.encode(state)
    }

    fn decode_event(&self, bytes: &[u8]) -> Result<M::Event, CodecError> {
        self.decode(bytes)
    }

    fn decode_state(&self, bytes: &[u8]) -> Result<M, CodecError> {
        self.decode(bytes)
    }

    fn to_json(&self, bytes: &[u8]) -> Option<Result<serde_json::Value, CodecError>> {
        Codec::to_json(self, bytes)
    }

    fn encode_value(&self, value: &serde_json::Value) -> Result<Vec<u8>, CodecError> {
        self.encode(value)
    }

    fn decode_value(&self, bytes: &[u8]) -> Result<serde_json::Value, CodecError> {
        self.decode(bytes)
    }
}

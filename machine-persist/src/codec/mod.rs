//! Codecs turn events and states into the text payloads the store keeps, and back.
//!
//! The store never interprets payloads; a [`Codec`] is chosen by the layer above (persistent
//! actors) and used for both events and states. [`JsonCodec`] is the default. Decoding takes the
//! actor id and version of the payload so that a bad payload is reported precisely.

mod error;
mod json;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use error::{DecodeError, EncodeError, SharedError};
pub use json::JsonCodec;

use crate::ActorId;

/// Encodes serde values to payload text and decodes them back.
///
/// ```
/// use machine_persist::{Codec, JsonCodec};
///
/// let codec = JsonCodec;
/// let payload = codec.encode(&vec![1, 2, 3]).unwrap();
/// let back: Vec<u32> = codec.decode(&payload, &"a-1".into(), 3).unwrap();
/// assert_eq!(back, [1, 2, 3]);
///
/// let error = codec.decode::<Vec<u32>>("not json", &"a-1".into(), 4).unwrap_err();
/// assert_eq!(error.version, 4);
/// ```
pub trait Codec: Clone + Send + Sync + 'static {
    /// Encodes `value` into payload text.
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<String, EncodeError>;

    /// Decodes `payload`, the payload of `actor_id` at `version`.
    fn decode<T: DeserializeOwned>(
        &self,
        payload: &str,
        actor_id: &ActorId,
        version: u64,
    ) -> Result<T, DecodeError>;
}

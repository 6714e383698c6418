//! Codecs: how events and states become the bytes the store keeps, and back.
//!
//! The store never interprets payloads. A [`Codec`] is chosen per machine type with
//! [`PersistConfig::codec`](crate::PersistConfig::codec) and used for both its events and its
//! snapshots; [`JsonCodec`] is the default. Every stored payload records the
//! [name](Codec::name) of the codec that wrote it, so reading it with another codec is a typed
//! [`DecodeProblem::WrongCodec`], never garbage.
//!
//! # Schema evolution with any codec
//!
//! [`Upcasters`](crate::schema::Upcasters) migrate old payloads as JSON values. A payload whose
//! schema version is current is decoded straight into the Rust type by the codec (the fast path).
//! An older one is first turned into a [`serde_json::Value`] with [`Codec::to_json`], migrated
//! step by step, then deserialised from the value. That works for every *self-describing* format
//! (JSON, MessagePack with named fields as `MessagePackCodec` writes it); a codec whose
//! payloads cannot be read without the type (bincode, postcard) keeps the default
//! [`Codec::to_json`], which reports [`DecodeProblem::NotUpcastable`].
//!
//! | codec | name | payload | upcasting |
//! |---|---|---|---|
//! | [`JsonCodec`] | `json` | compact JSON text | yes |
//! | `MessagePackCodec` (feature `msgpack`) | `msgpack` | MessagePack, structs as maps | yes |

mod error;
mod json;
mod machine;
#[cfg(feature = "msgpack")]
mod msgpack;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use error::{CodecError, DecodeError, DecodeProblem, EncodeError, PayloadKind, SharedError};
pub use json::JsonCodec;
pub(crate) use machine::SharedCodec;
#[cfg(feature = "msgpack")]
pub use msgpack::MessagePackCodec;

/// Encodes serde values to payload bytes and decodes them back.
///
/// ```
/// use machine_persist::codec::{Codec, JsonCodec};
///
/// let codec = JsonCodec;
/// let payload = codec.encode(&vec![1, 2, 3]).unwrap();
/// assert_eq!(payload, b"[1,2,3]");
/// let back: Vec<u32> = codec.decode(&payload).unwrap();
/// assert_eq!(back, [1, 2, 3]);
/// assert!(codec.decode::<Vec<u32>>(b"not json").is_err());
/// ```
pub trait Codec: Send + Sync + 'static {
    /// The name recorded with every payload this codec writes: 1 to 16 ASCII characters, stable
    /// for the life of the data (changing it makes every stored payload unreadable).
    fn name(&self) -> &'static str;

    /// Encodes `value`.
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, CodecError>;

    /// Decodes `bytes` into a `T`.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, CodecError>;

    /// Turns a payload into a JSON value (for upcasters, the inspector and export), or `None`
    /// if this format cannot be read without knowing its type. Self-describing formats return
    /// `Some(self.decode(bytes))`.
    fn to_json(&self, bytes: &[u8]) -> Option<Result<serde_json::Value, CodecError>> {
        let _ = bytes;
        None
    }
}

/// Turns a stored payload into JSON by the name of the codec recorded with it, without knowing
/// the machine type: how machine-agnostic tools (the `machine-inspect` CLI, fixture export) show
/// events and states. Knows the built-in self-describing codecs: `json` and, with feature
/// `msgpack`, `msgpack`.
///
/// ```
/// use machine_persist::codec::{payload_to_json, DecodeProblem};
///
/// let value = payload_to_json("json", br#"{"Pay":{"amount":30}}"#).unwrap();
/// assert_eq!(value["Pay"]["amount"], 30);
/// assert!(matches!(payload_to_json("bincode", b""), Err(DecodeProblem::UnknownCodec(_))));
/// ```
pub fn payload_to_json(codec: &str, payload: &[u8]) -> Result<serde_json::Value, DecodeProblem> {
    let converted = match codec {
        "json" => JsonCodec.decode(payload),
        #[cfg(feature = "msgpack")]
        "msgpack" => MessagePackCodec.decode(payload),
        other => return Err(DecodeProblem::UnknownCodec(other.to_owned())),
    };
    converted.map_err(DecodeProblem::Codec)
}

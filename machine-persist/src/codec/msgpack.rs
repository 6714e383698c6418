//! A compact binary codec: MessagePack via rmp-serde.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Codec, CodecError};

/// Encodes payloads as MessagePack with struct fields as maps (`rmp_serde::to_vec_named`): about
/// half the size of JSON for typical events and self-describing, so payloads still turn into JSON
/// values for upcasters and tools. Stored as bytes.
///
/// ```
/// use machine_persist::codec::{Codec, MessagePackCodec};
///
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// enum Event { Pay { amount: u64 } }
///
/// let bytes = MessagePackCodec.encode(&Event::Pay { amount: 30 }).unwrap();
/// assert!(bytes.len() < br#"{"Pay":{"amount":30}}"#.len());
/// assert_eq!(MessagePackCodec.decode::<Event>(&bytes).unwrap(), Event::Pay { amount: 30 });
/// assert_eq!(
///     MessagePackCodec.to_json(&bytes).unwrap().unwrap(),
///     serde_json::json!({ "Pay": { "amount": 30 } })
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessagePackCodec;

impl Codec for MessagePackCodec {
    fn name(&self) -> &'static str {
        "msgpack"
    }

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, CodecError> {
        rmp_serde::to_vec_named(value).map_err(CodecError::new)
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        rmp_serde::from_slice(bytes).map_err(CodecError::new)
    }

    fn to_json(&self, bytes: &[u8]) -> Option<Result<serde_json::Value, CodecError>> {
        Some(self.decode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error() {
        assert!(MessagePackCodec.decode::<String>(&[0xc1]).is_err());
    }
}

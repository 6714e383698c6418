//! The default codec: JSON via serde_json.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Codec, CodecError};

/// Encodes payloads as compact JSON (serde_json). SQLite keeps them as text, readable with plain
/// SQL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsonCodec;

impl Codec for JsonCodec {
    fn name(&self) -> &'static str {
        "json"
    }

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, CodecError> {
        serde_json::to_vec(value).map_err(CodecError::new)
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        serde_json::from_slice(bytes).map_err(CodecError::new)
    }

    fn to_json(&self, bytes: &[u8]) -> Option<Result<serde_json::Value, CodecError>> {
        Some(self.decode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn round_trips_a_value() {
        let value = BTreeMap::from([("a".to_string(), 1u8), ("b".to_string(), 2)]);
        let payload = JsonCodec.encode(&value).unwrap();
        assert_eq!(payload, br#"{"a":1,"b":2}"#);
        let back: BTreeMap<String, u8> = JsonCodec.decode(&payload).unwrap();
        assert_eq!(back, value);
        assert_eq!(
            JsonCodec.to_json(&payload).unwrap().unwrap(),
            serde_json::json!({"a": 1, "b": 2})
        );
    }

    #[test]
    fn errors_are_reported() {
        assert!(JsonCodec.decode::<u8>(br#""text""#).is_err());
        let value = BTreeMap::from([((1, 2), 3)]);
        assert!(JsonCodec.encode(&value).is_err());
    }
}

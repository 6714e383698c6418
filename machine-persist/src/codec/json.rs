//! The default codec: JSON via serde_json.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Codec, DecodeError, EncodeError};
use crate::ActorId;

/// Encodes payloads as compact JSON (serde_json).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsonCodec;

impl Codec for JsonCodec {
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<String, EncodeError> {
        serde_json::to_string(value).map_err(|error| EncodeError {
            source: Arc::new(error),
        })
    }

    fn decode<T: DeserializeOwned>(
        &self,
        payload: &str,
        actor_id: &ActorId,
        version: u64,
    ) -> Result<T, DecodeError> {
        serde_json::from_str(payload).map_err(|error| DecodeError {
            actor_id: actor_id.clone(),
            version,
            source: Arc::new(error),
        })
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
        assert_eq!(payload, r#"{"a":1,"b":2}"#);
        let back: BTreeMap<String, u8> = JsonCodec.decode(&payload, &"x".into(), 1).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn decode_error_names_actor_and_version() {
        let error = JsonCodec
            .decode::<u8>(r#""text""#, &"order-9".into(), 12)
            .unwrap_err();
        assert_eq!(error.actor_id.as_str(), "order-9");
        assert_eq!(error.version, 12);
        assert!(error.to_string().contains("order-9"));
    }

    #[test]
    fn encode_error_is_reported() {
        let value = BTreeMap::from([((1, 2), 3)]);
        assert!(JsonCodec.encode(&value).is_err());
    }
}

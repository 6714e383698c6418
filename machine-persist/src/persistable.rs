//! [`Persistable`]: the machines this crate can persist.

use machine_core::Machine;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A machine whose states and events serde can write and read: the bound every persistent API
/// takes. Implemented automatically; derive `Serialize` and `Deserialize` on both enums.
pub trait Persistable: Machine + Serialize + DeserializeOwned {
    /// Encodes an event as JSON.
    #[doc(hidden)]
    fn encode_event(event: &Self::Event) -> Result<String, serde_json::Error>;

    /// Decodes an event from JSON.
    #[doc(hidden)]
    fn decode_event(value: serde_json::Value) -> Result<Self::Event, serde_json::Error>;

    /// Decodes an event from JSON text.
    #[doc(hidden)]
    fn decode_event_str(text: &str) -> Result<Self::Event, serde_json::Error>;
}

impl<M> Persistable for M
where
    M: Machine + Serialize + DeserializeOwned,
    M::Event: Serialize + DeserializeOwned,
{
    fn encode_event(event: &Self::Event) -> Result<String, serde_json::Error> {
        serde_json::to_string(event)
    }

    fn decode_event(value: serde_json::Value) -> Result<Self::Event, serde_json::Error> {
        serde_json::from_value(value)
    }

    fn decode_event_str(text: &str) -> Result<Self::Event, serde_json::Error> {
        serde_json::from_str(text)
    }
}

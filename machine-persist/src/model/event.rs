//! Journal entries: what is appended ([`NewEvent`]) and what is read back ([`StoredEvent`]).
//!
//! Payloads are opaque bytes produced by a [`Codec`](crate::codec::Codec) (JSON by default); the
//! store never parses them, so they round-trip byte for byte. The variant tag, the schema version
//! and the codec's name are kept next to the payload, so readers can pick an upcaster, and refuse
//! a payload of another codec, without decoding first.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ActorId;

/// Tracing metadata stored with each event (as a JSON object).
///
/// ```
/// use machine_persist::store::EventMetadata;
///
/// let meta = EventMetadata::default().with_correlation_id("req-42");
/// assert_eq!(meta.correlation_id.as_deref(), Some("req-42"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Id shared by every event caused by one external request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Id of the message or event that directly caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// Identifies the process or node that wrote the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_id: Option<String>,
}

impl EventMetadata {
    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Sets the causation id.
    pub fn with_causation_id(mut self, id: impl Into<String>) -> Self {
        self.causation_id = Some(id.into());
        self
    }

    /// Sets the writer id.
    pub fn with_writer_id(mut self, id: impl Into<String>) -> Self {
        self.writer_id = Some(id.into());
        self
    }
}

/// An event to append: the encoded payload plus what readers need to decode it.
///
/// ```
/// use machine_persist::store::NewEvent;
///
/// let event = NewEvent::new("Paid", 1, "json", br#"{"amount":10}"#.to_vec());
/// assert_eq!(event.tag, "Paid");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// The event's variant tag (e.g. `"Paid"`).
    pub tag: Cow<'static, str>,
    /// Version of the payload's shape, for upcasting on read.
    pub schema_version: u32,
    /// The name of the codec that wrote the payload.
    pub codec: Cow<'static, str>,
    /// The encoded event, stored verbatim.
    pub payload: Vec<u8>,
    /// Correlation, causation and writer ids.
    pub metadata: EventMetadata,
}

impl NewEvent {
    /// An event with empty metadata.
    pub fn new(
        tag: impl Into<Cow<'static, str>>,
        schema_version: u32,
        codec: impl Into<Cow<'static, str>>,
        payload: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            tag: tag.into(),
            schema_version,
            codec: codec.into(),
            payload: payload.into(),
            metadata: EventMetadata::default(),
        }
    }

    /// Replaces the metadata.
    pub fn with_metadata(mut self, metadata: EventMetadata) -> Self {
        self.metadata = metadata;
        self
    }
}

/// An event as read from the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// The actor the event belongs to.
    pub actor_id: ActorId,
    /// The actor's version after this event (the first event is version 1).
    pub version: u64,
    /// The machine type the actor was journaled under.
    pub machine_type: String,
    /// The event's variant tag.
    pub tag: String,
    /// Version of the payload's shape.
    pub schema_version: u32,
    /// The name of the codec that wrote the payload.
    pub codec: Cow<'static, str>,
    /// The encoded event, exactly as appended.
    pub payload: Vec<u8>,
    /// Correlation, causation and writer ids.
    pub metadata: EventMetadata,
    /// When the store committed the event.
    pub recorded_at: DateTime<Utc>,
    /// Position in the store-wide journal: unique across all actors and never reused.
    pub position: i64,
}

//! [`Envelope`]: one decoded event and where it stands in the journal.

use chrono::{DateTime, Utc};

use crate::store::GlobalPosition;
use crate::{ActorId, EventMetadata};

/// An event as a projection receives it: decoded, upcast to the current schema, typed, and with
/// everything the journal knows about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<E> {
    /// The actor that journaled the event.
    pub actor_id: ActorId,
    /// The machine type the actor was journaled under.
    pub machine_type: String,
    /// The actor's version after this event (the first event is version 1).
    pub version: u64,
    /// The event's place in the global stream; a checkpoint at it covers this event.
    pub position: GlobalPosition,
    /// When the store committed the event.
    pub recorded_at: DateTime<Utc>,
    /// Correlation, causation and writer ids.
    pub metadata: EventMetadata,
    /// The event.
    pub event: E,
}

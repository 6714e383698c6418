//! Snapshots: the encoded state of an actor after a given number of events.
//!
//! A snapshot at version `v` is the state after events `1..=v`. Snapshots are keyed by version, so
//! saving an older one never replaces a newer one, and saving at an existing version overwrites it.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::ActorId;

/// A snapshot to save.
///
/// ```
/// use machine_persist::chrono::Utc;
/// use machine_persist::store::NewSnapshot;
///
/// let snapshot =
///     NewSnapshot::new(0, "Pending", 1, "json", br#"{"Pending":{"id":"o-1"}}"#.to_vec(), Utc::now());
/// assert_eq!(snapshot.version, 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSnapshot {
    /// The number of events folded into this state.
    pub version: u64,
    /// The state's variant tag.
    pub state_tag: Cow<'static, str>,
    /// Version of the payload's shape.
    pub schema_version: u32,
    /// The name of the codec that wrote the payload.
    pub codec: Cow<'static, str>,
    /// The encoded state, stored verbatim.
    pub payload: Vec<u8>,
    /// Wall time at which the actor entered this state (to resume state timeouts after a restart).
    pub entered_at: DateTime<Utc>,
}

impl NewSnapshot {
    /// Builds a snapshot.
    pub fn new(
        version: u64,
        state_tag: impl Into<Cow<'static, str>>,
        schema_version: u32,
        codec: impl Into<Cow<'static, str>>,
        payload: impl Into<Vec<u8>>,
        entered_at: DateTime<Utc>,
    ) -> Self {
        Self {
            version,
            state_tag: state_tag.into(),
            schema_version,
            codec: codec.into(),
            payload: payload.into(),
            entered_at,
        }
    }
}

/// A snapshot as read from the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSnapshot {
    /// The actor the snapshot belongs to.
    pub actor_id: ActorId,
    /// The number of events folded into this state.
    pub version: u64,
    /// The state's variant tag.
    pub state_tag: String,
    /// Version of the payload's shape.
    pub schema_version: u32,
    /// The name of the codec that wrote the payload.
    pub codec: Cow<'static, str>,
    /// The encoded state, exactly as saved.
    pub payload: Vec<u8>,
    /// Wall time at which the actor entered this state (microsecond precision).
    pub entered_at: DateTime<Utc>,
    /// When the store wrote the snapshot.
    pub created_at: DateTime<Utc>,
}

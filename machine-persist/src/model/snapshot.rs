//! Snapshots: the encoded state of an actor after a given number of events.
//!
//! A snapshot at version `v` is the state after events `1..=v`. Snapshots are keyed by version, so
//! saving an older one never replaces a newer one, and saving at an existing version overwrites it.

use chrono::{DateTime, Utc};

use super::ActorId;

/// A snapshot to save.
///
/// ```
/// use chrono::Utc;
/// use machine_persist::NewSnapshot;
///
/// let snapshot = NewSnapshot::new(0, "Pending", 1, r#"{"Pending":{"id":"o-1"}}"#, Utc::now());
/// assert_eq!(snapshot.version, 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSnapshot {
    /// The number of events folded into this state.
    pub version: u64,
    /// The state's variant tag.
    pub state_tag: String,
    /// Version of the payload's shape.
    pub schema_version: u32,
    /// The encoded state, stored verbatim.
    pub payload: String,
    /// Wall time at which the actor entered this state (to resume state timeouts after a restart).
    pub entered_at: DateTime<Utc>,
}

impl NewSnapshot {
    /// Builds a snapshot.
    pub fn new(
        version: u64,
        state_tag: impl Into<String>,
        schema_version: u32,
        payload: impl Into<String>,
        entered_at: DateTime<Utc>,
    ) -> Self {
        Self {
            version,
            state_tag: state_tag.into(),
            schema_version,
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
    /// The encoded state, exactly as saved.
    pub payload: String,
    /// Wall time at which the actor entered this state (microsecond precision).
    pub entered_at: DateTime<Utc>,
    /// When the store wrote the snapshot.
    pub created_at: DateTime<Utc>,
}

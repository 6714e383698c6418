//! [`ProjectionError`]: why a projection stopped.

use thiserror::Error;

use crate::error::BoxError;
use crate::store::GlobalPosition;
use crate::{ActorId, PersistError, StoreError};

/// Why a projection stopped. Each names the projection; an error about an event names the event
/// (actor, version and stream position), so it can be found, fixed and the projection restarted.
/// The projection's checkpoint stays before the event: nothing after it was passed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProjectionError {
    /// The handler failed on an event, on every attempt its retry schedule allowed.
    #[error(
        "projection `{projection}` failed on event {version} of actor `{actor_id}` at {position} \
         after {attempts} attempt(s): {source}"
    )]
    Handler {
        /// The projection.
        projection: String,
        /// The event's actor.
        actor_id: ActorId,
        /// The event's version.
        version: u64,
        /// The event's place in the stream.
        position: GlobalPosition,
        /// How many times the handler was tried.
        attempts: u32,
        /// The handler's last error.
        #[source]
        source: BoxError,
    },
    /// An event could not be read or decoded (damaged row, unknown variant, failed upcast).
    #[error("projection `{projection}` cannot read the event at {position}: {source}")]
    Unreadable {
        /// The projection.
        projection: String,
        /// The event's place in the stream.
        position: GlobalPosition,
        /// What was wrong.
        #[source]
        source: PersistError,
    },
    /// The store failed with an error that retrying does not cure (transient errors are retried
    /// without end, at the poll interval).
    #[error("projection `{projection}`: the store failed: {source}")]
    Store {
        /// The projection.
        projection: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// Resetting the read model for a rebuild failed.
    #[error("projection `{projection}` could not reset its read model: {source}")]
    Reset {
        /// The projection.
        projection: String,
        /// The reset's error.
        #[source]
        source: BoxError,
    },
    /// A projection subscribed to no machine type reads nothing.
    #[error("projection `{projection}` subscribes to no machine type")]
    NothingSubscribed {
        /// The projection.
        projection: String,
    },
    /// The projection's task panicked or was cancelled.
    #[error("projection `{projection}` ended abnormally: {reason}")]
    Aborted {
        /// The projection.
        projection: String,
        /// The panic or cancellation.
        reason: String,
    },
}

impl ProjectionError {
    /// The projection that stopped.
    pub fn projection(&self) -> &str {
        match self {
            Self::Handler { projection, .. }
            | Self::Unreadable { projection, .. }
            | Self::Store { projection, .. }
            | Self::Reset { projection, .. }
            | Self::NothingSubscribed { projection }
            | Self::Aborted { projection, .. } => projection,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handler_error_names_the_projection_and_the_event() {
        let error = ProjectionError::Handler {
            projection: "orders".into(),
            actor_id: "order-7".into(),
            version: 3,
            position: GlobalPosition::from_parts(0, 41).unwrap(),
            attempts: 4,
            source: "disk full".into(),
        };
        assert_eq!(
            error.to_string(),
            "projection `orders` failed on event 3 of actor `order-7` at 0.41 after 4 attempt(s): \
             disk full"
        );
        assert_eq!(error.projection(), "orders");
    }
}

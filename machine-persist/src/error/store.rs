//! Failures of the storage backend itself.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use thiserror::Error;

use crate::model::InvalidId;
use crate::ActorId;

/// A boxed error source, shareable between threads.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A failure of the store (connection, SQL, I/O, deadline, configuration) or data found in it
/// that the store cannot read.
///
/// Unlike [`AppendError`](crate::store::AppendError), a `StoreError` from
/// [`Journal::append_batch`](crate::store::Journal::append_batch) fails the whole batch. The
/// driver's own error is kept as the [`source`](std::error::Error::source) of
/// [`StoreError::Backend`], so the variants name no driver type.
///
/// A transient error of an append leaves its outcome unknown (the connection may have been lost
/// after the commit was sent); appends are idempotent, so retrying the same request is safe and
/// reports success if the first attempt was stored.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database or its driver failed (connection, I/O, SQL, pool exhausted, ...).
    #[error("database error: {source}")]
    Backend {
        /// Whether retrying the operation later may succeed.
        transient: bool,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// An operation did not end within the store's client-side deadline (a stalled network, an
    /// overloaded server). Transient.
    #[error("{operation} did not finish within {after:?}")]
    Timeout {
        /// What was being done.
        operation: &'static str,
        /// The deadline.
        after: Duration,
    },
    /// Applying the embedded schema migrations failed.
    #[error("schema migration failed: {source}")]
    Migrate {
        /// The migrator's error.
        #[source]
        source: BoxError,
    },
    /// A stored value could not be read back (malformed JSON, a negative version, a bad
    /// timestamp, a value of the wrong type).
    #[error("corrupt stored data for actor `{actor_id}` {}: column `{column}`: {source}", AtVersion(*.version))]
    Corrupt {
        /// The actor whose row is corrupt.
        actor_id: ActorId,
        /// The version of the row, when it could be read.
        version: Option<u64>,
        /// The column holding the bad value.
        column: &'static str,
        /// What was wrong with it.
        #[source]
        source: BoxError,
    },
    /// A version does not fit the store's signed 64-bit columns.
    #[error("version {version} of actor `{actor_id}` exceeds the storable maximum")]
    VersionOutOfRange {
        /// The actor being written.
        actor_id: ActorId,
        /// The version that does not fit.
        version: u64,
    },
    /// A configured name (schema, table prefix) is not a safe SQL identifier.
    #[error("invalid name `{name}`: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An actor id or machine type breaks the storage rule (see [`crate::store::check_actor_id`]).
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    /// Encoding a batch for the database failed.
    #[error("encoding a batch failed: {0}")]
    Encode(#[from] serde_json::Error),
    /// The store broke its own contract, e.g. answered a batch with fewer outcomes than it had
    /// requests. Nothing of the operation can be trusted.
    #[error("the store broke its contract: {0}")]
    Contract(String),
}

impl StoreError {
    /// Whether retrying the same operation later may succeed (connection loss, I/O errors, pool or
    /// statement timeouts, client-side deadlines, lock contention, serialization failures,
    /// deadlocks).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Backend { transient, .. } => *transient,
            Self::Timeout { .. } => true,
            Self::Migrate { .. }
            | Self::Corrupt { .. }
            | Self::VersionOutOfRange { .. }
            | Self::InvalidName { .. }
            | Self::InvalidId(_)
            | Self::Encode(_)
            | Self::Contract(_) => false,
        }
    }

    /// Whether the database refused the values it was given, for good (see
    /// `sql::error::refuses_content`); `false` for every other error, which may pass.
    pub(crate) fn refuses_content(&self) -> bool {
        match self {
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            Self::Backend { source, .. } => crate::sql::error::refuses_content(source.as_ref()),
            _ => false,
        }
    }

    /// A [`StoreError::Corrupt`] for `column` of the row of `actor_id` at `version`.
    pub fn corrupt(
        actor_id: &ActorId,
        version: Option<u64>,
        column: &'static str,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Corrupt {
            actor_id: actor_id.clone(),
            version,
            column,
            source: source.into(),
        }
    }

    /// The actor a [`StoreError::Corrupt`] or [`StoreError::VersionOutOfRange`] is about.
    pub fn actor_id(&self) -> Option<&ActorId> {
        match self {
            Self::Corrupt { actor_id, .. } | Self::VersionOutOfRange { actor_id, .. } => {
                Some(actor_id)
            }
            _ => None,
        }
    }
}

/// Displays an optional version as `at version N` or `at an unreadable version`.
struct AtVersion(Option<u64>);

impl fmt::Display for AtVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(version) => write!(f, "at version {version}"),
            None => f.write_str("at an unreadable version"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_error_names_actor_version_and_column() {
        let error = StoreError::corrupt(&"a-1".into(), Some(7), "metadata", "expected an object");
        assert_eq!(
            error.to_string(),
            "corrupt stored data for actor `a-1` at version 7: column `metadata`: expected an object"
        );
        assert!(!error.is_transient());
        assert_eq!(error.actor_id().map(ActorId::as_str), Some("a-1"));
    }

    #[test]
    fn deadlines_and_transient_backend_errors_are_transient() {
        let timeout = StoreError::Timeout {
            operation: "append",
            after: Duration::from_secs(1),
        };
        assert!(timeout.is_transient());
        let backend = StoreError::Backend {
            transient: true,
            source: "reset".into(),
        };
        assert!(backend.is_transient());
        assert!(!StoreError::Contract("two outcomes for three requests".into()).is_transient());
    }
}

//! Failures of the storage backend itself.

use std::error::Error as StdError;
use std::fmt;

use thiserror::Error;

use crate::ActorId;

/// A boxed error source, shareable between threads.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A failure of the store (connection, SQL, I/O, timeouts, configuration) or data found in it that
/// the store cannot read. Unlike [`AppendError`](crate::AppendError), a `StoreError` from
/// [`Journal::append_batch`](crate::Journal::append_batch) fails the whole batch.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database driver reported an error (connection, I/O, SQL, pool timeout, ...).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the embedded schema migrations failed.
    #[error("schema migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (malformed JSON, a negative version, a bad timestamp).
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
    /// Encoding a batch for the database failed.
    #[error("encoding a batch failed: {0}")]
    Encode(#[from] serde_json::Error),
}

impl StoreError {
    /// Whether retrying the same operation later may succeed (connection loss, I/O errors, pool or
    /// statement timeouts, lock contention, serialization failures, deadlocks).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Database(error) => is_transient_sqlx(error),
            Self::Migrate(_)
            | Self::Corrupt { .. }
            | Self::VersionOutOfRange { .. }
            | Self::InvalidName { .. }
            | Self::Encode(_) => false,
        }
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn corrupt(
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
}

fn is_transient_sqlx(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => is_transient_database(db.as_ref()),
        _ => false,
    }
}

#[allow(unused_variables)]
fn is_transient_database(db: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(feature = "sqlite")]
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        return db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            // SQLITE_BUSY and SQLITE_LOCKED, with any extended code.
            .is_some_and(|code| matches!(code & 0xff, 5 | 6));
    }
    #[cfg(feature = "postgres")]
    if let Some(error) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = error.code();
        // Connection exceptions, insufficient resources, operator intervention (incl. statement
        // timeout), serialization failure, deadlock, lock not available.
        return code.starts_with("08")
            || code.starts_with("53")
            || code.starts_with("57")
            || matches!(code, "40001" | "40P01" | "55P03");
    }
    false
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

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[test]
    fn corrupt_error_names_actor_version_and_column() {
        let error = StoreError::corrupt(&"a-1".into(), Some(7), "metadata", "expected an object");
        assert_eq!(
            error.to_string(),
            "corrupt stored data for actor `a-1` at version 7: column `metadata`: expected an object"
        );
        assert!(!error.is_transient());
    }

    #[test]
    fn pool_timeouts_and_io_are_transient() {
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_transient());
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(StoreError::from(sqlx::Error::Io(io)).is_transient());
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_transient());
    }
}

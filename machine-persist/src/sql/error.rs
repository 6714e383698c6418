//! The driver's errors as [`StoreError`]s: transient or not, with the driver's error kept as the
//! source.

use crate::StoreError;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Backend {
            transient: is_transient(&error),
            source: Box::new(error),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate {
            source: Box::new(error),
        }
    }
}

/// Whether retrying may succeed: connection and I/O failures, pool timeouts, and the database
/// errors that mean "try again" (see [`is_transient_database`]; a prepared statement made stale
/// by a schema change is one, once its connections are replaced).
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
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
        if crate::postgres::stale_plans::is_stale_plan(error) {
            // The connections that prepared it are replaced, so a retry prepares it afresh.
            crate::postgres::stale_plans::noticed();
            return true;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeouts_and_io_are_transient() {
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_transient());
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(StoreError::from(sqlx::Error::Io(io)).is_transient());
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_transient());
    }

    #[test]
    fn the_driver_error_is_the_source() {
        let error = StoreError::from(sqlx::Error::RowNotFound);
        let source = std::error::Error::source(&error).unwrap();
        assert!(source.downcast_ref::<sqlx::Error>().is_some());
    }
}

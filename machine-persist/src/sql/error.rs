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

/// Whether the database refused the values of a request, which it would refuse again: for
/// Postgres a data exception (class 22: a value out of range, a NUL byte in text, invalid
/// encoding), an integrity violation other than a unique key's (class 23; a unique violation is
/// a race), or a program limit (class 54: a row or value too large); for SQLite a value too big
/// or of the wrong type. Anything else (a read-only server during a failover, a revoked
/// permission, a missing table while an upgrade runs, an I/O error) may pass and is not a
/// refusal of the content.
pub(crate) fn refuses_content(error: &(dyn std::error::Error + 'static)) -> bool {
    let Some(sqlx::Error::Database(db)) = error.downcast_ref::<sqlx::Error>() else {
        return false;
    };
    #[cfg(feature = "postgres")]
    if let Some(error) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = error.code();
        return code.starts_with("22")
            || code.starts_with("54")
            || (code.starts_with("23") && code != "23505");
    }
    #[cfg(feature = "sqlite")]
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        return db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            // SQLITE_TOOBIG and SQLITE_MISMATCH.
            .is_some_and(|code| matches!(code & 0xff, 18 | 20));
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

    /// The classes Postgres reports, read off a live server.
    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn postgres_refuses_content_only_for_values() {
        use sqlx::Connection;
        let url = machine_test_support::postgres::url();
        let mut connection = match sqlx::PgConnection::connect(&url).await {
            Ok(connection) => connection,
            Err(error) => return machine_test_support::postgres::unavailable("sql::error", &error),
        };
        let mut refused = Vec::new();
        for sql in [
            // 22021: a NUL byte is no text.
            "SELECT convert_from('\\x00'::bytea, 'UTF8')",
            // 22003: out of range.
            "SELECT 2147483647::int + 1",
            // 25006: a read-only transaction, as on a demoted primary.
            "BEGIN READ ONLY; CREATE TEMP TABLE refused (n int); COMMIT",
            // 42P01: a table an upgrade has not created yet.
            "SELECT * FROM no_such_table_here",
        ] {
            let error = sqlx::raw_sql(sql)
                .execute(&mut connection)
                .await
                .unwrap_err();
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut connection).await;
            refused.push(refuses_content(&error));
        }
        assert_eq!(refused, [true, true, false, false]);
    }

    #[test]
    fn the_driver_error_is_the_source() {
        let error = StoreError::from(sqlx::Error::RowNotFound);
        let source = std::error::Error::source(&error).unwrap();
        assert!(source.downcast_ref::<sqlx::Error>().is_some());
    }
}

//! How a [`PostgresStore`](super::PostgresStore) connects: URL, schema, pool and timeouts.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

use crate::sql::deadline::Deadline;
use crate::StoreError;

/// The longest schema name accepted (Postgres truncates identifiers beyond 63 bytes).
pub const MAX_SCHEMA_LEN: usize = 63;

/// Options for a Postgres store.
///
/// All tables live in one schema (default `public`); a dedicated schema keeps several stores (or
/// tenants, or test runs) apart in one database.
///
/// ```
/// use std::time::Duration;
/// use machine_persist::PostgresOptions;
///
/// let options = PostgresOptions::url("postgres://postgres@127.0.0.1:5432/app")?
///     .schema("orders")?
///     .max_connections(8)
///     .statement_timeout(Some(Duration::from_secs(10)));
/// # Ok::<(), machine_persist::store::StoreError>(())
/// ```
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    pub(super) connect: PgConnectOptions,
    pub(super) schema: String,
    pub(super) create_schema: bool,
    pub(super) max_connections: u32,
    pub(super) min_connections: u32,
    pub(super) acquire_timeout: Duration,
    pub(super) statement_timeout: Option<Duration>,
    pub(super) test_before_acquire: bool,
    pub(super) concurrent_batches: usize,
    pub(super) deadline: Deadline,
}

impl PostgresOptions {
    /// Options for the database at a `postgres://` URL.
    pub fn url(url: &str) -> Result<Self, StoreError> {
        Ok(Self::from_connect_options(PgConnectOptions::from_str(url)?))
    }

    /// Starts from sqlx connect options (host, credentials, TLS, ...).
    pub fn from_connect_options(connect: PgConnectOptions) -> Self {
        Self {
            connect,
            schema: "public".to_string(),
            create_schema: true,
            max_connections: 10,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Some(Duration::from_secs(25)),
            test_before_acquire: false,
            concurrent_batches: 2,
            deadline: Deadline::default(),
        }
    }

    /// The schema holding the tables (created if missing). Must match `[a-z_][a-z0-9_]*` and be at
    /// most [`MAX_SCHEMA_LEN`] bytes.
    pub fn schema(mut self, schema: &str) -> Result<Self, StoreError> {
        validate_schema(schema)?;
        self.schema = schema.to_string();
        Ok(self)
    }

    /// Whether opening creates the schema when it does not exist (default `true`). Tools that only
    /// look at existing data turn it off, so that a mistyped schema name is an error
    /// ([`StoreError::InvalidName`]) rather than a new, empty store.
    pub fn create_schema(mut self, create: bool) -> Self {
        self.create_schema = create;
        self
    }

    /// The most pooled connections (default 10, at least 1).
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Connections kept open when idle (default 1).
    pub fn min_connections(mut self, min: u32) -> Self {
        self.min_connections = min;
        self
    }

    /// How long an operation waits for a pooled connection (default 10 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Server-side limit on each statement (default 25 s; `None` for no limit). A statement that
    /// exceeds it fails with a transient [`StoreError`]. Keep it below
    /// [`operation_timeout`](Self::operation_timeout), so the server cancels a slow statement
    /// before the client gives up on it.
    pub fn statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// The client-side deadline of every store operation (default 30 s), connection acquisition
    /// included. Unlike the server-side statement timeout it also ends an operation when the
    /// network stalls (the server unreachable, the connection still open): the operation fails
    /// with a transient [`StoreError::Timeout`], and its connection is dropped.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Deadline(timeout);
        self
    }

    /// How many batches a journal writer on this store commits at once (default 2, at least 1);
    /// see [`WriterConfig::concurrent_batches`](crate::writer::WriterConfig::concurrent_batches). Each
    /// takes a pooled connection while it commits. While one batch waits for its commit to reach
    /// the disk, the next executes, and the server flushes both commits together.
    pub fn concurrent_batches(mut self, batches: usize) -> Self {
        self.concurrent_batches = batches.max(1);
        self
    }

    /// Whether the pool checks a connection with a ping before handing it out (default `false`).
    ///
    /// The check costs a round trip per operation, as much as a one-event commit's own. Without
    /// it, a connection the server dropped fails its next operation with a transient
    /// [`StoreError`], which the journal writer's default retry policy retries on a fresh
    /// connection (appends are idempotent, so that is safe), and is then discarded.
    pub fn test_before_acquire(mut self, test: bool) -> Self {
        self.test_before_acquire = test;
        self
    }

    /// The configured schema.
    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    /// Connect options for pooled connections: the schema first on the search path, and the
    /// statement timeout, both as startup parameters (no extra round trip).
    pub(super) fn pool_connect_options(&self) -> PgConnectOptions {
        let timeout_ms = self
            .statement_timeout
            .map_or(0, |timeout| timeout.as_millis().clamp(1, i32::MAX as u128));
        self.connect.clone().options([
            ("search_path", self.schema.clone()),
            ("statement_timeout", timeout_ms.to_string()),
            // The append statement binds twenty-odd arrays whose lengths change with every
            // batch: a custom plan per execution spends more server time planning than
            // executing. Its one generic plan is as good for every batch.
            ("plan_cache_mode", "force_generic_plan".to_owned()),
        ])
    }
}

/// Checks that `schema` is a plain lower-case identifier, safe to use unquoted in SQL.
pub(super) fn validate_schema(schema: &str) -> Result<(), StoreError> {
    let invalid = |reason| StoreError::InvalidName {
        name: schema.to_string(),
        reason,
    };
    let mut bytes = schema.bytes();
    match bytes.next() {
        None => return Err(invalid("a schema name must not be empty")),
        Some(first) if !(first.is_ascii_lowercase() || first == b'_') => {
            return Err(invalid("a schema name must start with a-z or _"))
        }
        Some(_) => {}
    }
    if !bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(invalid("a schema name may only contain a-z, 0-9 and _"));
    }
    if schema.len() > MAX_SCHEMA_LEN {
        return Err(invalid("a schema name must be at most 63 bytes"));
    }
    if schema.starts_with("pg_") {
        return Err(invalid("schema names starting with pg_ are reserved"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_identifiers() {
        for name in ["public", "orders", "_x", "tenant_42", &"a".repeat(63)] {
            assert!(validate_schema(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_anything_that_would_need_quoting() {
        for name in [
            "",
            "Orders",
            "1st",
            "a-b",
            "a b",
            "x\"; DROP TABLE events; --",
            "é",
            "pg_catalog",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(validate_schema(name), Err(StoreError::InvalidName { .. })),
                "{name}"
            );
        }
    }
}

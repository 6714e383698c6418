//! The embedded default backend: SQLite through sqlx, in WAL mode with durable commits.
//!
//! Writes go through one dedicated connection and take the database's write lock up front
//! (`BEGIN IMMEDIATE`), so a batch decides its optimistic locks against heads nobody else can
//! change until it commits, in this process or another. Reads use a separate pool and never
//! block the writer. A batch of any size costs a handful of statements: rows travel as one JSON
//! array parameter that SQLite unpacks with `json_each`, because every statement is a round trip
//! to the connection's worker thread.
//!
//! Timestamps are stored as fixed-width RFC 3339 text (UTC, microseconds), payloads as the exact
//! text the codec produced. The schema is created by embedded migrations (`migrations/sqlite`).

mod append;
mod journal;
mod options;
mod registry;
mod rows;
mod snapshots;

use std::path::Path;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};

pub use options::{SqliteOptions, Synchronous};

use crate::StoreError;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// A [`Store`](crate::Store) in a SQLite database file.
///
/// Clones share the same connections.
///
/// ```no_run
/// use machine_persist::{Journal, SqliteStore};
///
/// # async fn example() -> Result<(), machine_persist::StoreError> {
/// let store = SqliteStore::open("app.db").await?;
/// let head = store.head(&"order-1".into()).await?;
/// # let _ = head;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` with default options, and applies
    /// the schema migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::with_options(SqliteOptions::file(path)).await
    }

    /// Opens the database at a `sqlite:` URL with default options.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::with_options(SqliteOptions::url(url)?).await
    }

    /// Opens the database with `options`, and applies the schema migrations.
    pub async fn with_options(options: SqliteOptions) -> Result<Self, StoreError> {
        let connect = options.connect_options();
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // A ping per acquire would be one more round trip to the worker thread per batch.
            .test_before_acquire(false)
            .connect_with(connect.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.readers)
            .test_before_acquire(false)
            .connect_with(connect)
            .await?;
        Ok(Self { writer, reader })
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// The pool used for reads (for tools and tests that need raw SQL access).
    pub fn read_pool(&self) -> &SqlitePool {
        &self.reader
    }

    /// The single-connection pool used for writes. Writing through it serialises with the store's
    /// own writes; holding it blocks them.
    pub fn write_pool(&self) -> &SqlitePool {
        &self.writer
    }
}

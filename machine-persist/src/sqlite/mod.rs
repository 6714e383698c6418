//! The embedded default backend: SQLite through sqlx, in WAL mode with durable commits.
//!
//! Writes go through one dedicated connection and take the database's write lock up front
//! (`BEGIN IMMEDIATE`), so a batch decides its optimistic locks against the registry's heads,
//! which nobody else can change until it commits, in this process or another. Reads use a
//! separate pool and never block the writer. A batch of any size costs a handful of statements,
//! because every statement is a round trip to the connection's worker thread; appends are driven
//! from a thread of their own, so those round trips do not wait behind the actors' tasks
//! ([`append_thread`]).
//!
//! The journal has two levels. A group commit of a thousand actors would touch a thousand pages
//! of a table ordered by actor, and every touched page is written whole to the log and fsynced:
//! so appends go to `recent_events`, ordered by position, where they fill a few fresh pages
//! ([`append`]). A [merge](merge) later moves them, sorted by actor, into `events`, clustered by
//! `(actor_id, version)`, touching each actor's last page once for many batches. Reads see both
//! levels in one statement ([`reads`]); a batch of few actors skips the first level when
//! nothing waits to be merged. The registry head is the authority for the optimistic lock; the
//! primary key of `events` is the backstop against a duplicate version written behind its back.
//! The outbox of durable actions has the same two levels for the same reason (`recent_actions`,
//! merged with the events into `durable_actions`); a dispatcher's record finds an unmerged row
//! with one probe of the one index of the first level, the pending rows by the end of their
//! claim, actor and version.
//!
//! Timestamps are stored as fixed-width RFC 3339 text (UTC, microseconds); payloads as the exact
//! bytes the codec produced (as text when they are UTF-8, so JSON stays readable with plain SQL).
//! Every operation runs under a client-side deadline ([`SqliteOptions::operation_timeout`]). The
//! schema is created by embedded migrations (`migrations/sqlite`); the queries this backend
//! shares with Postgres live in `crate::sql`.

mod append;
mod append_thread;
mod backend;
mod dialect;
mod merge;
mod options;
mod packed_rows;
mod reads;
mod records;
mod stream;
mod values;

use std::path::Path;
use std::sync::Arc;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};

use merge::{MergePolicy, NarrowStreak};
pub use options::{SqliteOptions, Synchronous};

use crate::sql::deadline::Deadline;
use crate::sql::outbox::RelaxedWrite;
use crate::store::CommitSignal;
use crate::StoreError;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// A [`Store`](crate::Store) in a SQLite database file.
///
/// Clones share the same connections.
///
/// ```no_run
/// use machine_persist::store::Journal;
/// use machine_persist::SqliteStore;
///
/// # async fn example() -> Result<(), machine_persist::store::StoreError> {
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
    merge_policy: MergePolicy,
    narrow_streak: Arc<NarrowStreak>,
    deadline: Deadline,
    commits: CommitSignal,
    /// How the outbox's attempt records are written (see [`SqlBackend::relaxed_write`]).
    ///
    /// [`SqlBackend::relaxed_write`]: crate::sql::backend::SqlBackend::relaxed_write
    relaxed: RelaxedWrite,
    /// Attempt records waiting to ride on the next append.
    records: Arc<records::RecordQueue>,
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
        let store = Self {
            writer,
            reader,
            merge_policy: options.merge,
            narrow_streak: Arc::new(NarrowStreak::default()),
            deadline: options.deadline,
            commits: CommitSignal::default(),
            relaxed: options.synchronous.relaxed_write(),
            records: Arc::default(),
        };
        // Events left unmerged by the previous run: reads of their actors are fastest merged.
        store.merge().await?;
        Ok(store)
    }

    /// Moves every appended event into the level of the journal indexed by actor now, in one
    /// transaction. Appends do this on their own (see [`SqliteOptions::merge_after`]); reads see
    /// every event whether merged or not, so this is never needed for correctness.
    pub async fn merge(&self) -> Result<(), StoreError> {
        self.deadline
            .run("merge", async {
                let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
                merge::merge(&mut tx).await?;
                tx.commit().await?;
                Ok(())
            })
            .await
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

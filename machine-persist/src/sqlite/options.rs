//! How a [`SqliteStore`](super::SqliteStore) opens its database.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use super::merge::MergePolicy;
use crate::sql::deadline::Deadline;
use crate::sql::outbox::RelaxedWrite;
use crate::StoreError;

/// When SQLite flushes commits to disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit is flushed before it returns: an acknowledged event survives a power loss
    /// (the default).
    #[default]
    Full,
    /// Commits are flushed at checkpoints only: faster, and a power loss may lose the latest
    /// acknowledged commits (a crash of the process alone loses nothing). Choose it explicitly.
    Normal,
}

impl Synchronous {
    /// How the outbox's attempt records are written under this level: with `Full`, on the write
    /// connection switched to `NORMAL` for the transaction (its commit is not flushed; the next
    /// flushed commit, which follows it in the log, makes it durable) and back after the commit.
    pub(super) fn relaxed_write(self) -> RelaxedWrite {
        match self {
            Self::Full => RelaxedWrite {
                begin: "PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE",
                restore: Some("PRAGMA synchronous = FULL"),
            },
            Self::Normal => RelaxedWrite {
                begin: "BEGIN IMMEDIATE",
                restore: None,
            },
        }
    }
}

/// Options for opening a SQLite store: the file, durability, lock waiting and reader count.
///
/// The database always runs in WAL mode (readers never block the writer), with foreign keys off
/// and the file created if missing.
///
/// ```
/// use std::time::Duration;
/// use machine_persist::{SqliteOptions, Synchronous};
///
/// let options = SqliteOptions::file("app.db")
///     .synchronous(Synchronous::Full)
///     .busy_timeout(Duration::from_secs(10))
///     .readers(4);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    pub(super) connect: SqliteConnectOptions,
    pub(super) synchronous: Synchronous,
    pub(super) busy_timeout: Duration,
    pub(super) readers: u32,
    pub(super) cache_kib: u32,
    pub(super) merge: MergePolicy,
    pub(super) checkpoint_pages: u32,
    pub(super) deadline: Deadline,
}

impl SqliteOptions {
    /// A database file at `path`.
    pub fn file(path: impl AsRef<Path>) -> Self {
        Self::from_connect_options(SqliteConnectOptions::new().filename(path))
    }

    /// A database from a `sqlite:` URL (e.g. `sqlite://data/app.db`).
    pub fn url(url: &str) -> Result<Self, StoreError> {
        Ok(Self::from_connect_options(SqliteConnectOptions::from_str(
            url,
        )?))
    }

    /// Starts from sqlx connect options (the settings this type owns are applied over them).
    pub fn from_connect_options(connect: SqliteConnectOptions) -> Self {
        Self {
            connect,
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            readers: 4,
            cache_kib: 64 * 1024,
            checkpoint_pages: 16_384,
            merge: MergePolicy {
                pending_events: 32_768,
                narrow_batch_actors: 8,
            },
            deadline: Deadline::default(),
        }
    }

    /// The client-side deadline of every store operation (default 30 s): an operation still
    /// running then (waiting for a lock another process holds, or for a stalled disk) fails with
    /// a transient [`StoreError::Timeout`]. Keep it above
    /// [`busy_timeout`](Self::busy_timeout).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Deadline(timeout);
        self
    }

    /// Durability of commits (default [`Synchronous::Full`]).
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// How long a statement waits for a lock held by another connection or process (default 5s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Size of the read pool (default 4, at least 1). Writes use one dedicated connection.
    pub fn readers(mut self, readers: u32) -> Self {
        self.readers = readers.max(1);
        self
    }

    /// The page cache of each connection, in KiB (default 65,536: 64 MiB).
    pub fn cache_size_kib(mut self, kib: u32) -> Self {
        self.cache_kib = kib.max(1);
        self
    }

    /// How large the write-ahead log may grow, in pages, before a commit copies it back into the
    /// database file (SQLite's `wal_autocheckpoint`; default 16,384, which is 64 MiB with the
    /// default 4 KiB pages; 0 never checkpoints automatically).
    ///
    /// The copy runs inside the commit that crosses the limit, so it stalls the writer; with
    /// SQLite's own default of 1,000 pages, a busy writer copies every few batches, and the pages
    /// every batch rewrites (the registry's, the newest journal pages) are copied again each time.
    /// A larger log copies each of them once per checkpoint.
    pub fn checkpoint_pages(mut self, pages: u32) -> Self {
        self.checkpoint_pages = pages;
        self
    }

    /// How many appended events may wait in the append-optimised level of the journal before
    /// they are merged into the level indexed by actor (default 32,768; at least 1).
    ///
    /// Appends land in a table ordered by position, so a batch for a thousand actors writes a few
    /// pages instead of one per actor; merging sorts the waiting events by actor and writes each
    /// actor's pages once. A larger value merges less often (cheaper appends for many actors),
    /// but a read of an actor with unmerged events scans more of the waiting events.
    pub fn merge_after(mut self, events: u32) -> Self {
        self.merge.pending_events = i64::from(events.max(1));
        self
    }

    /// A batch whose events belong to at most this many actors is written straight into the level
    /// indexed by actor when nothing waits to be merged (default 8; 0 sends every batch through
    /// the append-optimised level).
    ///
    /// Such a batch touches a few pages per actor either way, so the detour would only cost: a
    /// single hot actor, or a lightly loaded store, never leaves events waiting. After a few
    /// such batches in a row, what heavier load left waiting is merged.
    pub fn eager_merge_actors(mut self, actors: usize) -> Self {
        self.merge.narrow_batch_actors = actors;
        self
    }

    /// The connect options with this type's settings applied.
    pub(super) fn connect_options(&self) -> SqliteConnectOptions {
        self.connect
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match self.synchronous {
                Synchronous::Full => SqliteSynchronous::Full,
                Synchronous::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(self.busy_timeout)
            .foreign_keys(false)
            // Registry updates and merges touch a page or more per actor; a page cache far beyond
            // SQLite's 2 MiB default keeps those pages in memory instead of re-reading them.
            .pragma("cache_size", format!("-{}", self.cache_kib))
            // Statement journals and the merge's sort stay in memory instead of temporary files.
            .pragma("temp_store", "memory")
            .pragma("wal_autocheckpoint", self.checkpoint_pages.to_string())
    }
}

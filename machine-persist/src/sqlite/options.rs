//! How a [`SqliteStore`](super::SqliteStore) opens its database.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

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
        }
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
            // Appends touch one index page per actor; a page cache far beyond SQLite's 2 MiB
            // default keeps those pages in memory instead of re-reading them for every batch.
            .pragma("cache_size", format!("-{}", self.cache_kib))
    }
}

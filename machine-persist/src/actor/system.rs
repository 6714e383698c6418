//! The persistent system: an actor system bound to one store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use machine_core::{ActorId, ActorSystem, Schedule};
use tokio::time::Instant;

use super::fencing::Fencing;
use super::repository::{listing, Repository};
use super::rewound::Rewinds;
use super::snapshotter::Snapshotter;
use crate::dispatch::{DispatchConfig, Dispatcher};
use crate::erased::ErasedStore;
use crate::model::Fence;
use crate::restore::Listing;
use crate::writer::{JournalWriter, RetryPolicy, ScheduleRetry, WriterConfig};
use crate::{CatalogQuery, PersistConfig, PersistError, Persistable, Store};

/// The default bound of [`PersistentSystem::shutdown`].
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// What every repository of a system shares.
pub(crate) struct Runtime {
    pub(crate) actors: ActorSystem,
    pub(crate) store: Arc<dyn ErasedStore>,
    pub(crate) writer: JournalWriter,
    pub(crate) snapshotter: Snapshotter,
    pub(crate) rewinds: Rewinds,
    pub(crate) dispatcher: Dispatcher,
    /// Set when the system starts shutting down; the timer services stop.
    pub(crate) closing: tokio::sync::watch::Sender<bool>,
    snapshot_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    shutdown_timeout: Duration,
    /// The leases every append is written under (`None`: unfenced).
    fencing: Option<Arc<dyn Fencing>>,
}

impl Runtime {
    /// The fence for an append of `id` (`None` when the system is unfenced).
    pub(crate) fn fence(&self, id: &ActorId) -> Result<Option<Fence>, PersistError> {
        self.fencing
            .as_ref()
            .map(|fencing| fencing.fence(id))
            .transpose()
    }
}

/// An [`ActorSystem`] whose actors journal to one [`Store`].
///
/// It owns the store's group-commit [`JournalWriter`] (every actor's batches share its
/// transactions) and a snapshot writer. Get a typed [`Repository`] per machine type to spawn,
/// restore and inspect actors.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use machine_persist::{PersistentSystem, SqliteStore};
/// let store = SqliteStore::open("orders.db").await?;
/// let system = PersistentSystem::new(store);
/// // let orders = system.repository(PersistConfig::<Order>::new(), env);
/// // let order = orders.spawn("order-1", Order::new("order-1")).await?;
/// let report = system.shutdown().await;
/// assert!(report.is_complete());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PersistentSystem {
    runtime: Arc<Runtime>,
}

impl std::fmt::Debug for PersistentSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistentSystem")
            .field("actors", &self.runtime.actors)
            .field("writer", &self.runtime.writer.stats())
            .finish()
    }
}

/// Builds a [`PersistentSystem`]: writer sizing, retry policy, shutdown bound.
///
/// ```
/// use std::time::Duration;
/// use machine_persist::writer::WriterConfig;
/// use machine_persist::{MemoryStore, PersistentSystem};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let system = PersistentSystem::builder(MemoryStore::new())
///     .writer(WriterConfig::default().max_batch(4_096))
///     .shutdown_timeout(Duration::from_secs(10))
///     .build();
/// system.shutdown().await;
/// # });
/// ```
#[derive(Debug)]
pub struct SystemBuilder<S, R = ScheduleRetry> {
    store: S,
    writer: WriterConfig,
    retry: R,
    shutdown_timeout: Duration,
    dispatch: DispatchConfig,
    fencing: Option<Arc<dyn Fencing>>,
}

/// The default retry policy of the journal writer: transient store errors are retried after
/// 10 ms, 20 ms, 40 ms … (jittered), at most 5 times. Appends are idempotent, so a retry after a
/// commit whose answer was lost reports the stored event as stored.
pub fn default_retry() -> ScheduleRetry {
    ScheduleRetry::new(
        Schedule::exponential(Duration::from_millis(10))
            .jittered()
            .intersect(Schedule::recurs(5)),
    )
}

impl<S: Store> SystemBuilder<S> {
    fn new(store: S) -> Self {
        Self {
            store,
            writer: WriterConfig::default(),
            retry: default_retry(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            dispatch: DispatchConfig::default(),
            fencing: None,
        }
    }
}

impl<S: Store, R: RetryPolicy> SystemBuilder<S, R> {
    /// How the journal writer queues and batches appends.
    pub fn writer(mut self, config: WriterConfig) -> Self {
        self.writer = config;
        self
    }

    /// How the journal writer retries a batch that failed with a transient store error
    /// (default: [`default_retry`]; [`NoRetry`](crate::writer::NoRetry) reports at once).
    pub fn retry<P: RetryPolicy>(self, retry: P) -> SystemBuilder<S, P> {
        SystemBuilder {
            store: self.store,
            writer: self.writer,
            retry,
            shutdown_timeout: self.shutdown_timeout,
            dispatch: self.dispatch,
            fencing: self.fencing,
        }
    }

    /// How the dispatcher of durable actions claims and runs them (see [`DispatchConfig`]).
    pub fn dispatch(mut self, config: DispatchConfig) -> Self {
        self.dispatch = config;
        self
    }

    /// The bound of [`PersistentSystem::shutdown`] (default 30 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Writes every append under the fence `fencing` gives (a cluster node's leases).
    #[cfg(feature = "cluster")]
    pub(crate) fn fencing(mut self, fencing: Arc<dyn Fencing>) -> Self {
        self.fencing = Some(fencing);
        self
    }

    /// Starts the system's writers. Must be called within a tokio runtime.
    pub fn build(self) -> PersistentSystem {
        let writer = JournalWriter::spawn_with_retry(self.store.clone(), self.writer, self.retry);
        let store: Arc<dyn ErasedStore> = Arc::new(self.store);
        let (snapshotter, snapshot_task) = Snapshotter::spawn(Arc::clone(&store));
        let dispatcher = Dispatcher::spawn(Arc::clone(&store), self.dispatch);
        PersistentSystem {
            runtime: Arc::new(Runtime {
                actors: ActorSystem::new(),
                store,
                writer,
                snapshotter,
                rewinds: Rewinds::default(),
                dispatcher,
                closing: tokio::sync::watch::Sender::new(false),
                snapshot_task: Mutex::new(Some(snapshot_task)),
                shutdown_timeout: self.shutdown_timeout,
                fencing: self.fencing,
            }),
        }
    }
}

/// What [`PersistentSystem::shutdown`] could not finish within its bound.
#[derive(Clone, Debug, Default)]
pub struct ShutdownReport {
    /// The actors whose final snapshot was not written, by storage key (their events are
    /// journaled: they restore from an older snapshot and the journal).
    pub unsaved_snapshots: Vec<ActorId>,
    /// Appends still queued or committing when the bound ran out; their callers were told the
    /// writer shut down.
    pub unwritten_appends: usize,
    /// Whether the bound ran out.
    pub timed_out: bool,
}

impl ShutdownReport {
    /// Whether everything was flushed.
    pub fn is_complete(&self) -> bool {
        !self.timed_out && self.unsaved_snapshots.is_empty() && self.unwritten_appends == 0
    }
}

impl PersistentSystem {
    /// A system on `store` with the default settings (see [`SystemBuilder`]). Must be called
    /// within a tokio runtime (it starts the writer tasks).
    pub fn new<S: Store>(store: S) -> Self {
        Self::builder(store).build()
    }

    /// Starts building a system on `store`.
    pub fn builder<S: Store>(store: S) -> SystemBuilder<S> {
        SystemBuilder::new(store)
    }

    /// The typed entry point for one machine type: spawn, restore, time travel. `env` is given
    /// to every actor's effects.
    pub fn repository<M: Persistable>(
        &self,
        config: PersistConfig<M>,
        env: impl Into<Arc<M::Env>>,
    ) -> Repository<M> {
        Repository::new(Arc::clone(&self.runtime), config, env.into())
    }

    /// The registry rows of every stored actor matching `query`, whatever its machine type; a
    /// row that cannot be read is listed among the unreadable ones. This is the store's view:
    /// rows are listed under their storage keys, whatever namespace they belong to (a
    /// repository's [`list`](Repository::list) reads its own keys through its
    /// [persistence key](PersistConfig::persistence_key) and names them by the application's
    /// ids).
    pub async fn list_persisted(&self, query: CatalogQuery) -> Result<Listing, PersistError> {
        Ok(listing(self.runtime.store.list(&query).await?))
    }

    /// The underlying actor system (lookup, counts).
    pub fn actors(&self) -> &ActorSystem {
        &self.runtime.actors
    }

    /// Group-commit statistics of the journal writer.
    pub fn writer_stats(&self) -> crate::writer::WriterStats {
        self.runtime.writer.stats()
    }

    /// Stops every actor, then flushes the snapshot and journal writers, all within the
    /// system's shutdown bound ([`SystemBuilder::shutdown_timeout`]), even when the store is
    /// unreachable. Each actor hands its final snapshot over (if configured) without waiting;
    /// snapshots are written many per transaction. What could not be written in time is
    /// reported. Idempotent.
    pub async fn shutdown(&self) -> ShutdownReport {
        let deadline = Instant::now() + self.runtime.shutdown_timeout;
        let mut report = ShutdownReport::default();
        // Running durable actions are cut short: they stay claimed, and run again once their
        // lease ends, or at once when this dispatcher's owner starts again.
        self.runtime.dispatcher.shutdown();
        self.runtime.closing.send_replace(true);
        if tokio::time::timeout_at(deadline, self.runtime.actors.shutdown())
            .await
            .is_err()
        {
            report.timed_out = true;
        }
        let task = self
            .runtime
            .snapshot_task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(mut task) = task {
            self.runtime.snapshotter.close();
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                report.timed_out = true;
            }
        }
        report.unsaved_snapshots = self.runtime.snapshotter.unwritten();
        if tokio::time::timeout_at(deadline, self.runtime.writer.shutdown())
            .await
            .is_err()
        {
            report.timed_out = true;
            report.unwritten_appends = self.runtime.writer.abandon().await;
        }
        if !report.is_complete() {
            tracing::warn!(?report, "shutdown did not flush everything");
        }
        report
    }
}

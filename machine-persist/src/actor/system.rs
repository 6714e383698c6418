//! The persistent system: an actor system bound to one store.

use std::sync::{Arc, Mutex};

use machine_core::{ActorSystem, Machine};

use super::repository::Repository;
use super::snapshotter::Snapshotter;
use crate::erased::ErasedStore;
use crate::writer::{JournalWriter, RetryPolicy, WriterConfig};
use crate::{ActorFilter, ActorMetadata, PersistConfig, PersistError, Persistable, Store};

/// What every repository of a system shares.
pub(crate) struct Runtime {
    pub(crate) actors: ActorSystem,
    pub(crate) store: Arc<dyn ErasedStore>,
    pub(crate) writer: JournalWriter,
    pub(crate) snapshotter: Snapshotter,
    snapshot_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// An [`ActorSystem`] whose actors journal to one [`Store`].
///
/// It owns the store's group-commit [`JournalWriter`] (every actor's batches share its
/// transactions) and a snapshot writer. Get a typed [`Repository`] per machine type to spawn,
/// restore and inspect actors.
///
/// ```no_run
/// # async fn demo() -> Result<(), machine_persist::PersistError> {
/// use machine_persist::{PersistentSystem, SqliteStore};
/// let store = SqliteStore::open("orders.db").await?;
/// let system = PersistentSystem::new(store);
/// // let orders = system.repository(PersistConfig::<Order>::new(), env);
/// // let order = orders.spawn("order-1", Order::new("order-1")).await?;
/// system.shutdown().await;
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

impl PersistentSystem {
    /// A system on `store` with the default writer settings. Must be called within a tokio
    /// runtime (it starts the writer tasks).
    pub fn new<S: Store>(store: S) -> Self {
        Self::with_writer(store, WriterConfig::default())
    }

    /// A system on `store` with explicit writer settings.
    pub fn with_writer<S: Store>(store: S, config: WriterConfig) -> Self {
        let writer = JournalWriter::spawn(store.clone(), config);
        Self::assemble(store, writer)
    }

    /// A system on `store` whose writer retries transient storage errors per `retry`.
    pub fn with_retry<S: Store, R: RetryPolicy>(store: S, config: WriterConfig, retry: R) -> Self {
        let writer = JournalWriter::spawn_with_retry(store.clone(), config, retry);
        Self::assemble(store, writer)
    }

    fn assemble<S: Store>(store: S, writer: JournalWriter) -> Self {
        let store: Arc<dyn ErasedStore> = Arc::new(store);
        let (snapshotter, snapshot_task) = Snapshotter::spawn(Arc::clone(&store));
        Self {
            runtime: Arc::new(Runtime {
                actors: ActorSystem::new(),
                store,
                writer,
                snapshotter,
                snapshot_task: Mutex::new(Some(snapshot_task)),
            }),
        }
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

    /// The metadata of every stored actor matching `filter`, whatever its machine type.
    pub async fn list_persisted(
        &self,
        filter: &ActorFilter,
    ) -> Result<Vec<ActorMetadata>, PersistError> {
        Ok(self.runtime.store.list(filter).await?)
    }

    /// The underlying actor system (lookup, counts).
    pub fn actors(&self) -> &ActorSystem {
        &self.runtime.actors
    }

    /// The running actor `id` of machine `M`, without persistence extras.
    pub fn get<M: Machine>(&self, id: &str) -> Option<machine_core::ActorRef<M>> {
        self.runtime.actors.get(id)
    }

    /// Group-commit statistics of the journal writer.
    pub fn writer_stats(&self) -> crate::writer::WriterStats {
        self.runtime.writer.stats()
    }

    /// Stops every actor (each snapshots its latest state if configured), then flushes and stops
    /// the snapshot and journal writers. Idempotent.
    pub async fn shutdown(&self) {
        self.runtime.actors.shutdown().await;
        let task = self
            .runtime
            .snapshot_task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(task) = task {
            self.runtime.snapshotter.close().await;
            let _ = task.await;
        }
        self.runtime.writer.shutdown().await;
    }
}

//! A store with switches for faults, wrapping the memory store: every operation delegates to
//! it, but appends can be made to fail and a record to stall.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use machine_core::ActorId;
use machine_persist::store::{
    ActionUpdate, ActorMetadata, AppendRequest, BatchOutcome, Catalog, CatalogQuery,
    CheckpointStore, ClaimRequest, CommandLog, CommitSignal, DueTimer, EventStream, FailedEffect,
    GlobalPosition, Journal, NewSnapshot, Outbox, RowResult, SnapshotStore, StoreError,
    StoredAction, StoredCommand, StoredEvent, StoredSnapshot, StreamFilter, StreamPage, TimerQuery,
};
use machine_persist::MemoryStore;

/// A memory store with switches for faults: its appends fail while `broken` is set, like a
/// full disk; the next record of a durable action's attempt waits `slow_record` first (taken
/// once), like a stalled connection.
#[derive(Clone, Default)]
pub struct Faulty {
    pub inner: MemoryStore,
    pub broken: Arc<AtomicBool>,
    pub slow_record: Arc<Mutex<Option<Duration>>>,
}

impl Journal for Faulty {
    fn append_batch(
        &self,
        requests: &[AppendRequest],
    ) -> impl Future<Output = Result<BatchOutcome, StoreError>> + Send {
        let broken = self.broken.load(Ordering::SeqCst);
        let inner = self.inner.clone();
        let requests = requests.to_vec();
        async move {
            if broken {
                return Err(StoreError::Backend {
                    transient: true,
                    source: "the disk is full".into(),
                });
            }
            inner.append_batch(&requests).await
        }
    }
    fn read(
        &self,
        id: &ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send {
        self.inner.read(id, from, to, max)
    }
    fn head(&self, id: &ActorId) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.inner.head(id)
    }
    fn delete_up_to(
        &self,
        id: &ActorId,
        up_to: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.inner.delete_up_to(id, up_to)
    }
}

impl SnapshotStore for Faulty {
    fn save(
        &self,
        id: &ActorId,
        snapshot: NewSnapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.save(id, snapshot)
    }
    fn load_latest(
        &self,
        id: &ActorId,
        at_most: Option<u64>,
    ) -> impl Future<Output = Result<Option<StoredSnapshot>, StoreError>> + Send {
        self.inner.load_latest(id, at_most)
    }
    fn delete_range(
        &self,
        id: &ActorId,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.inner.delete_range(id, from, to)
    }
    fn keep_last(
        &self,
        id: &ActorId,
        keep: usize,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.inner.keep_last(id, keep)
    }
}

impl Catalog for Faulty {
    fn get(
        &self,
        id: &ActorId,
    ) -> impl Future<Output = Result<Option<ActorMetadata>, StoreError>> + Send {
        self.inner.get(id)
    }
    fn list(
        &self,
        query: &CatalogQuery,
    ) -> impl Future<Output = Result<Vec<RowResult<ActorMetadata>>, StoreError>> + Send {
        self.inner.list(query)
    }
    fn due_timers(
        &self,
        query: &TimerQuery,
    ) -> impl Future<Output = Result<Vec<RowResult<DueTimer>>, StoreError>> + Send {
        self.inner.due_timers(query)
    }
    fn delete_actor(&self, id: &ActorId) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.delete_actor(id)
    }
}

impl EventStream for Faulty {
    fn read_all(
        &self,
        after: GlobalPosition,
        max: usize,
        filter: &StreamFilter,
    ) -> impl Future<Output = Result<StreamPage, StoreError>> + Send {
        self.inner.read_all(after, max, filter)
    }
    fn stream_head(&self) -> impl Future<Output = Result<GlobalPosition, StoreError>> + Send {
        self.inner.stream_head()
    }
    fn commit_signal(&self) -> &CommitSignal {
        self.inner.commit_signal()
    }
}

impl CheckpointStore for Faulty {
    fn load_checkpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<GlobalPosition>, StoreError>> + Send {
        self.inner.load_checkpoint(name)
    }
    fn save_checkpoint(
        &self,
        name: &str,
        at: GlobalPosition,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.save_checkpoint(name, at)
    }
    fn delete_checkpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.delete_checkpoint(name)
    }
}

impl Outbox for Faulty {
    fn claim_due(
        &self,
        request: &ClaimRequest,
    ) -> impl Future<Output = Result<Vec<RowResult<StoredAction>>, StoreError>> + Send {
        self.inner.claim_due(request)
    }
    fn record(
        &self,
        update: &ActionUpdate,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let delay = self
            .slow_record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let inner = self.inner.clone();
        let update = update.clone();
        async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            inner.record(&update).await
        }
    }
    fn record_failure(
        &self,
        failure: &FailedEffect,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.record_failure(failure)
    }
    fn actions(
        &self,
        id: &ActorId,
    ) -> impl Future<Output = Result<Vec<RowResult<StoredAction>>, StoreError>> + Send {
        self.inner.actions(id)
    }
}

impl CommandLog for Faulty {
    fn find_command(
        &self,
        id: &ActorId,
        command_id: &str,
    ) -> impl Future<Output = Result<Option<StoredCommand>, StoreError>> + Send {
        self.inner.find_command(id, command_id)
    }
}

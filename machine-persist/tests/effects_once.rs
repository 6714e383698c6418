//! Effects run exactly once, after their event is durable: never for an event whose commit
//! failed, never on restore, never on replay.

mod fixture;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use fixture::{Account, AccountEvent, Ledger};
use machine_core::ActorId;
use machine_persist::store::{
    ActionUpdate, ActorMetadata, AppendRequest, BatchOutcome, Catalog, CatalogQuery,
    CheckpointStore, ClaimRequest, CommandLog, CommitSignal, DueTimer, EventStream, FailedEffect,
    GlobalPosition, Journal, NewSnapshot, Outbox, RowResult, SnapshotStore, StoreError,
    StoredAction, StoredCommand, StoredEvent, StoredSnapshot, StreamFilter, StreamPage, TimerQuery,
};
use machine_persist::{MemoryStore, PersistConfig, PersistError, PersistentSystem};

/// A memory store whose appends fail while `broken` is set, like a full disk.
#[derive(Clone, Default)]
struct Flaky {
    inner: MemoryStore,
    broken: Arc<AtomicBool>,
}

impl Journal for Flaky {
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

impl SnapshotStore for Flaky {
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

impl Catalog for Flaky {
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

impl EventStream for Flaky {
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

impl CheckpointStore for Flaky {
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

impl Outbox for Flaky {
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
        self.inner.record(update)
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

impl CommandLog for Flaky {
    fn find_command(
        &self,
        id: &ActorId,
        command_id: &str,
    ) -> impl Future<Output = Result<Option<StoredCommand>, StoreError>> + Send {
        self.inner.find_command(id, command_id)
    }
}

#[tokio::test]
async fn an_effect_whose_event_failed_to_commit_never_runs() {
    let store = Flaky::default();
    let ledger = Arc::new(Ledger::default());
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::clone(&ledger));
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    assert!(account
        .call(AccountEvent::Deposit { amount: 10 })
        .await
        .unwrap()
        .is_accepted());

    store.broken.store(true, Ordering::SeqCst);
    let failed = account.call(AccountEvent::Withdraw { amount: 3 }).await;
    assert!(
        matches!(failed, Err(PersistError::Store(ref error)) if error.is_transient()),
        "{failed:?}"
    );
    assert_eq!(account.state().await.unwrap().balance(), 10, "rolled back");
    assert_eq!(account.version().await.unwrap(), 1);

    store.broken.store(false, Ordering::SeqCst);
    assert!(account
        .call(AccountEvent::Withdraw { amount: 3 })
        .await
        .unwrap()
        .is_accepted());
    system.shutdown().await;
    assert_eq!(
        ledger.withdrawals(),
        1,
        "only the committed withdrawal ran its action"
    );
}

#[tokio::test]
async fn restore_and_replay_run_no_effect() {
    let store = MemoryStore::new();
    let ledger = Arc::new(Ledger::default());
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::clone(&ledger));
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    assert!(account
        .call(AccountEvent::Deposit { amount: 10 })
        .await
        .unwrap()
        .is_accepted());
    for _ in 0..4 {
        assert!(account
            .call(AccountEvent::Withdraw { amount: 1 })
            .await
            .unwrap()
            .is_accepted());
    }
    system.shutdown().await;
    assert_eq!(ledger.withdrawals(), 4);

    let system = PersistentSystem::new(store);
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::clone(&ledger));
    let account = accounts.restore("acc").await.unwrap().unwrap();
    account.replay_to(2).await.unwrap();
    account.resume().await.unwrap();
    let _ = accounts.state_at("acc", 5).await.unwrap();
    system.shutdown().await;
    assert_eq!(ledger.withdrawals(), 4);
}

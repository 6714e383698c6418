//! An in-memory backend with the exact semantics of the durable ones, for tests and prototypes.
//!
//! All state sits behind one mutex, so every operation is atomic; clones share the same state.
//! Nothing survives the process.

mod catalog;
mod checkpoints;
mod commands;
mod journal;
mod outbox;
mod snapshots;
mod stream;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use machine_core::IdempotencyKey;

use crate::store::{CommitSignal, GlobalPosition, StoredAction, StoredCommand};
use crate::{ActorId, ActorMetadata, StoredEvent, StoredSnapshot};

/// A [`Store`](crate::Store) kept in memory.
///
/// ```
/// use machine_persist::chrono::Utc;
/// use machine_persist::store::{AppendRequest, Journal, NewEvent};
/// use machine_persist::MemoryStore;
///
/// # tokio_test_block_on(async {
/// let store = MemoryStore::new();
/// let request = AppendRequest::new("order-1", "Order", 0, "Paid", Utc::now())
///     .create()
///     .push_event(NewEvent::new("Pay", 1, "json", b"{}".to_vec()));
/// store.append(request).await.unwrap();
/// assert_eq!(store.head(&"order-1".into()).await.unwrap(), 1);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    commits: CommitSignal,
}

#[derive(Debug, Default)]
struct State {
    registry: BTreeMap<ActorId, ActorMetadata>,
    events: HashMap<ActorId, BTreeMap<u64, StoredEvent>>,
    /// The id of the last request applied to each actor (idempotent appends).
    last_requests: HashMap<ActorId, i64>,
    snapshots: HashMap<ActorId, BTreeMap<u64, StoredSnapshot>>,
    /// The recorded commands, by actor and command id.
    commands: HashMap<(ActorId, String), StoredCommand>,
    /// The outbox, by idempotency key (actor, version, name).
    actions: BTreeMap<IdempotencyKey, StoredAction>,
    last_position: i64,
    /// Every stored event's actor and version by position: the global stream.
    by_position: BTreeMap<i64, (ActorId, u64)>,
    /// Projection checkpoints by name.
    checkpoints: HashMap<String, GlobalPosition>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied operation behind: every
        // operation validates before it mutates, so the state is usable after a poison.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

//! The snapshot writer: one task per persistent system that saves snapshots off the actors'
//! path, many per transaction.
//!
//! Actors hand a snapshot over and carry on; they never wait for it (except on an explicit
//! `stop` and for `save_snapshot`). Handed-over snapshots wait in a map keyed by actor, so only
//! the newest of each actor is written, and memory is bounded by the number of actors rather
//! than by a queue that could refuse a snapshot. The task takes what waits, up to a round's
//! worth, and saves it with one [`save_many`](crate::store::SnapshotStore::save_many).
//!
//! On shutdown the task writes what waits and stops; the system gives it a deadline, and what it
//! could not write by then is reported, never waited for without bound.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use machine_core::ActorId;
use tokio::sync::{oneshot, Notify};

use crate::config::{ErrorHook, Retention};
use crate::erased::ErasedStore;
use crate::{NewSnapshot, PersistError};

/// Most snapshots written per transaction.
const ROUND: usize = 512;

type Ack = oneshot::Sender<Result<(), PersistError>>;

/// One request to save a snapshot.
pub(crate) struct Job {
    pub(crate) actor_id: ActorId,
    pub(crate) snapshot: NewSnapshot,
    pub(crate) retention: Option<Retention>,
    pub(crate) on_error: Option<ErrorHook>,
}

/// The newest snapshot waiting for one actor, and everyone waiting for it to be written.
struct Waiting {
    job: Job,
    acks: Vec<Ack>,
}

#[derive(Default)]
struct Queue {
    waiting: HashMap<ActorId, Waiting>,
    /// Actors whose snapshot is being written right now.
    writing: Vec<ActorId>,
    /// Actors whose latest snapshot failed to be written (until one of theirs succeeds).
    failed: HashSet<ActorId>,
    closed: bool,
}

#[derive(Default)]
struct Inner {
    queue: Mutex<Queue>,
    wake: Notify,
}

/// The handle actors use to hand snapshots over.
#[derive(Clone)]
pub(crate) struct Snapshotter {
    inner: Arc<Inner>,
}

impl Snapshotter {
    /// Starts the writer task.
    pub(crate) fn spawn(store: Arc<dyn ErasedStore>) -> (Self, tokio::task::JoinHandle<()>) {
        let inner = Arc::new(Inner::default());
        let task = tokio::spawn(run(store, Arc::clone(&inner)));
        (Self { inner }, task)
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        lock(&self.inner)
    }

    /// Hands a snapshot over without waiting. Returns `false` once the writer is closed.
    pub(crate) fn offer(&self, job: Job) -> bool {
        self.enqueue(job, None)
    }

    /// Hands a snapshot over and waits until it is written.
    pub(crate) async fn save(&self, job: Job) -> Result<(), PersistError> {
        let (ack, done) = oneshot::channel();
        if !self.enqueue(job, Some(ack)) {
            return Err(PersistError::WriterClosed);
        }
        done.await.unwrap_or(Err(PersistError::WriterClosed))
    }

    fn enqueue(&self, job: Job, ack: Option<Ack>) -> bool {
        {
            let mut queue = self.lock();
            if queue.closed {
                return false;
            }
            match queue.waiting.get_mut(&job.actor_id) {
                Some(waiting) => {
                    // The newest snapshot wins; everyone who asked hears how it went.
                    if job.snapshot.version >= waiting.job.snapshot.version {
                        waiting.job = job;
                    }
                    waiting.acks.extend(ack);
                }
                None => {
                    let actor_id = job.actor_id.clone();
                    let acks = ack.into_iter().collect();
                    queue.waiting.insert(actor_id, Waiting { job, acks });
                }
            }
        }
        self.inner.wake.notify_one();
        true
    }

    /// Refuses new snapshots; the task writes what waits and stops.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.inner.wake.notify_one();
    }

    /// The actors whose latest snapshot is still waiting, being written, or failed.
    pub(crate) fn unwritten(&self) -> Vec<ActorId> {
        let queue = self.lock();
        let mut ids: Vec<ActorId> = queue.waiting.keys().cloned().collect();
        ids.extend(queue.writing.iter().cloned());
        ids.extend(queue.failed.iter().cloned());
        ids.sort();
        ids.dedup();
        ids
    }
}

fn lock(inner: &Inner) -> MutexGuard<'_, Queue> {
    // Every critical section is a few map operations: a poisoned queue is still whole.
    inner
        .queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn run(store: Arc<dyn ErasedStore>, inner: Arc<Inner>) {
    loop {
        let (round, closed) = {
            let mut queue = lock(&inner);
            let ids: Vec<ActorId> = queue.waiting.keys().take(ROUND).cloned().collect();
            let round: Vec<Waiting> = ids
                .iter()
                .filter_map(|id| queue.waiting.remove(id))
                .collect();
            queue.writing = ids;
            (round, queue.closed)
        };
        if round.is_empty() {
            if closed {
                return;
            }
            inner.wake.notified().await;
            continue;
        }
        let results = write_round(store.as_ref(), round).await;
        let mut queue = lock(&inner);
        queue.writing.clear();
        for (actor_id, written) in results {
            if written {
                queue.failed.remove(&actor_id);
            } else {
                queue.failed.insert(actor_id);
            }
        }
    }
}

/// Writes one round in one transaction, then applies retention actor by actor; returns whether
/// each actor's snapshot was written.
async fn write_round(store: &dyn ErasedStore, round: Vec<Waiting>) -> Vec<(ActorId, bool)> {
    let snapshots: Vec<(ActorId, NewSnapshot)> = round
        .iter()
        .map(|waiting| (waiting.job.actor_id.clone(), waiting.job.snapshot.clone()))
        .collect();
    let saved = store
        .save_many(&snapshots)
        .await
        .map_err(PersistError::from);
    let mut results = Vec::with_capacity(round.len());
    for Waiting { job, acks } in round {
        let result = match &saved {
            Ok(()) => retain(store, &job).await,
            Err(error) => Err(error.clone()),
        };
        if let Err(error) = &result {
            tracing::warn!(actor = %job.actor_id, version = job.snapshot.version, %error, "snapshot failed");
            if let Some(hook) = &job.on_error {
                hook(&job.actor_id, error);
            }
        }
        results.push((job.actor_id.clone(), saved.is_ok()));
        for ack in acks {
            let _ = ack.send(result.clone());
        }
    }
    results
}

/// Applies the job's retention after its snapshot was saved.
async fn retain(store: &dyn ErasedStore, job: &Job) -> Result<(), PersistError> {
    let Some(retention) = job.retention else {
        return Ok(());
    };
    let actor_id = &job.actor_id;
    store.keep_last(actor_id, retention.keep_snapshots).await?;
    if retention.delete_covered_events {
        // The oldest kept snapshot bounds what restore and its fallbacks may still need.
        let oldest = oldest_kept(store, actor_id, job.snapshot.version, retention).await?;
        store.delete_up_to(actor_id, oldest).await?;
    }
    Ok(())
}

/// The version of the oldest snapshot still kept after `keep_last`.
async fn oldest_kept(
    store: &dyn ErasedStore,
    actor_id: &ActorId,
    newest: u64,
    retention: Retention,
) -> Result<u64, PersistError> {
    let mut version = newest;
    for _ in 1..retention.keep_snapshots {
        let Some(below) = version.checked_sub(1) else {
            break;
        };
        match store.load_latest(actor_id, Some(below)).await? {
            Some(older) => version = older.version,
            None => break,
        }
    }
    Ok(version)
}

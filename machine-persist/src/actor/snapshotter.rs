//! The snapshot writer: one task per persistent system that saves snapshots off the actors'
//! path.
//!
//! Actors hand a snapshot over and carry on; they never wait for it (except on stop and for an
//! explicit `persist()`). When several snapshots of one actor are queued, only the newest is
//! written. A full queue drops the request (and says so) rather than slow transitions down; the
//! next scheduled snapshot supersedes it anyway.

use std::collections::HashMap;
use std::sync::Arc;

use machine_core::ActorId;
use tokio::sync::{mpsc, oneshot};

use crate::config::{ErrorHook, Retention};
use crate::erased::ErasedStore;
use crate::{NewSnapshot, PersistError};

/// Most snapshot requests waiting at once.
const QUEUE: usize = 8192;
/// Most requests taken from the queue per round.
const ROUND: usize = 512;

type Ack = oneshot::Sender<Result<(), PersistError>>;

/// One request to save a snapshot.
pub(crate) struct Job {
    pub(crate) actor_id: ActorId,
    pub(crate) snapshot: NewSnapshot,
    pub(crate) retention: Option<Retention>,
    pub(crate) on_error: Option<ErrorHook>,
    pub(crate) ack: Option<Ack>,
}

/// The handle actors use to hand snapshots over.
#[derive(Clone)]
pub(crate) struct Snapshotter {
    /// `None` asks the writer to finish what is queued and stop.
    queue: mpsc::Sender<Option<Job>>,
}

impl Snapshotter {
    /// Starts the writer task.
    pub(crate) fn spawn(store: Arc<dyn ErasedStore>) -> (Self, tokio::task::JoinHandle<()>) {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(store, jobs));
        (Self { queue }, task)
    }

    /// Hands a snapshot over without waiting. Returns `false` when the queue is full or closed.
    pub(crate) fn offer(&self, job: Job) -> bool {
        self.queue.try_send(Some(job)).is_ok()
    }

    /// Asks the writer to write what is queued and stop.
    pub(crate) async fn close(&self) {
        let _ = self.queue.send(None).await;
    }

    /// Hands a snapshot over and waits until it is written.
    pub(crate) async fn save(&self, mut job: Job) -> Result<(), PersistError> {
        let (ack, done) = oneshot::channel();
        job.ack = Some(ack);
        self.queue
            .send(Some(job))
            .await
            .map_err(|_| PersistError::WriterClosed)?;
        done.await.unwrap_or(Err(PersistError::WriterClosed))
    }
}

async fn run(store: Arc<dyn ErasedStore>, mut jobs: mpsc::Receiver<Option<Job>>) {
    let mut round = Vec::with_capacity(ROUND);
    let mut closing = false;
    while !closing && jobs.recv_many(&mut round, ROUND).await > 0 {
        // Keep the newest snapshot of each actor; everyone who asked gets its result.
        let mut newest: HashMap<ActorId, (Job, Vec<Ack>)> = HashMap::new();
        for job in round.drain(..) {
            let Some(mut job) = job else {
                closing = true;
                continue;
            };
            let ack = job.ack.take();
            let entry = newest.entry(job.actor_id.clone());
            let slot = match entry {
                std::collections::hash_map::Entry::Occupied(mut slot) => {
                    if job.snapshot.version >= slot.get().0.snapshot.version {
                        slot.get_mut().0 = job;
                    }
                    slot.into_mut()
                }
                std::collections::hash_map::Entry::Vacant(slot) => slot.insert((job, Vec::new())),
            };
            slot.1.extend(ack);
        }
        for (_, (job, acks)) in newest {
            let result = write(store.as_ref(), &job).await;
            if let Err(error) = &result {
                tracing::warn!(actor = %job.actor_id, version = job.snapshot.version, %error, "snapshot failed");
                if let Some(hook) = &job.on_error {
                    hook(&job.actor_id, error);
                }
            }
            for ack in acks {
                let _ = ack.send(result.clone());
            }
        }
    }
}

async fn write(store: &dyn ErasedStore, job: &Job) -> Result<(), PersistError> {
    let version = job.snapshot.version;
    store.save(&job.actor_id, job.snapshot.clone()).await?;
    if let Some(retention) = job.retention {
        store
            .keep_last(&job.actor_id, retention.keep_snapshots)
            .await?;
        if retention.delete_covered_events && retention.keep_snapshots == 1 {
            store.delete_up_to(&job.actor_id, version).await?;
        } else if retention.delete_covered_events {
            // The oldest kept snapshot bounds what restore and fallbacks may still need.
            if let Some(oldest) = oldest_kept(store, &job.actor_id, version, retention).await? {
                store.delete_up_to(&job.actor_id, oldest).await?;
            }
        }
    }
    Ok(())
}

/// The version of the oldest snapshot still kept after `keep_last`.
async fn oldest_kept(
    store: &dyn ErasedStore,
    actor_id: &ActorId,
    newest: u64,
    retention: Retention,
) -> Result<Option<u64>, PersistError> {
    let mut version = newest;
    for _ in 1..retention.keep_snapshots {
        match version.checked_sub(1) {
            Some(below) => match store.load_latest(actor_id, Some(below)).await? {
                Some(older) => version = older.version,
                None => break,
            },
            None => break,
        }
    }
    Ok(Some(version))
}

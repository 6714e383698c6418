//! Group commit: one background task turns many concurrent appends into few transactions.
//!
//! A durable commit costs a disk flush, so committing each event on its own caps a store at a
//! few thousand events per second. The [`JournalWriter`] queues appends from every actor in a
//! bounded channel; its task takes everything queued (up to [`WriterConfig::max_batch`]) and
//! calls [`Journal::append_batch`] once, then answers each caller
//! with its own result. While a batch commits, the next one gathers, so batches grow with load
//! and latency stays about one commit. Journals that commit transactions in parallel (a server
//! database, see [`Journal::concurrent_batches`]) get several batches in flight at once; an
//! actor's requests are never in two of them, so they still apply in order.
//!
//! Actors that await each commit move in lockstep; the writer sizes batches so that one group of
//! them commits while another prepares its next requests, which keeps the store
//! and the actors busy at the same time.
//!
//! A refused request (version conflict) fails alone; a store failure fails its whole batch, after
//! the optional [`RetryPolicy`] gave up. The bounded queue makes callers wait when the store falls
//! behind, so memory stays bounded.

mod config;
mod retry;
mod schedule_retry;
mod sizer;
mod stats;
mod task;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

pub use config::WriterConfig;
pub use retry::{NoRetry, RetryPolicy};
pub use schedule_retry::ScheduleRetry;
pub use stats::WriterStats;

use crate::plan;
use crate::{AppendRequest, Journal, PersistError};
use stats::Counters;
use task::{Job, Task};

/// What the writer task is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Keep committing.
    Running,
    /// Refuse new appends, commit what is queued, then end.
    Drain,
    /// End now, dropping what is queued or committing.
    Abandon,
}

/// A cloneable handle to a group-commit writer task.
///
/// ```
/// use machine_persist::chrono::Utc;
/// use machine_persist::store::{AppendRequest, NewEvent};
/// use machine_persist::writer::{JournalWriter, WriterConfig};
/// use machine_persist::MemoryStore;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let writer = JournalWriter::spawn(MemoryStore::new(), WriterConfig::default());
/// let request = AppendRequest::new("order-1", "Order", 0, "Paid", Utc::now())
///     .create()
///     .push_event(NewEvent::new("Pay", 1, "json", b"{}".to_vec()));
/// writer.append(request).await.unwrap();
/// writer.shutdown().await;
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct JournalWriter {
    queue: mpsc::Sender<Job>,
    stop: Arc<watch::Sender<Stop>>,
    finished: watch::Receiver<()>,
    counters: Arc<Counters>,
}

impl JournalWriter {
    /// Starts the writer task on the current Tokio runtime, without retries.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (as [`tokio::spawn`] does).
    pub fn spawn<J: Journal + 'static>(journal: J, config: WriterConfig) -> Self {
        Self::spawn_with_retry(journal, config, NoRetry)
    }

    /// Starts the writer task with a retry policy for failed batches.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (as [`tokio::spawn`] does).
    pub fn spawn_with_retry<J, R>(journal: J, config: WriterConfig, retry: R) -> Self
    where
        J: Journal + 'static,
        R: RetryPolicy,
    {
        let (queue, receiver) = mpsc::channel(config.queue_capacity_size());
        let (stop, stop_receiver) = watch::channel(Stop::Running);
        let (finished_sender, finished) = watch::channel(());
        let counters = Arc::new(Counters::default());
        let max_in_flight = config
            .concurrent_batches_limit()
            .unwrap_or_else(|| journal.concurrent_batches())
            .max(1);
        let task = Task {
            journal,
            retry,
            queue: receiver,
            stop: stop_receiver,
            max_batch: config.max_batch_size(),
            max_in_flight,
            counters: Arc::clone(&counters),
            _finished: finished_sender,
        };
        tokio::spawn(task.run());
        Self {
            queue,
            stop: Arc::new(stop),
            finished,
            counters,
        }
    }

    /// Queues `request` (waiting while the queue is full) and returns its result once its batch
    /// has committed.
    ///
    /// Fails with [`PersistError::Conflict`], [`PersistError::AlreadyExists`],
    /// [`PersistError::InvalidId`] or [`PersistError::Refused`] if the request was refused (the
    /// rest of its batch is unaffected), [`PersistError::Store`] if its batch failed, and
    /// [`PersistError::WriterClosed`] after [`shutdown`](Self::shutdown).
    pub async fn append(&self, request: AppendRequest) -> Result<(), PersistError> {
        // A request breaking the storage rule never joins a batch.
        plan::validate(&request)?;
        let (reply, result) = oneshot::channel();
        self.queue
            .send(Job { request, reply })
            .await
            .map_err(|_| PersistError::WriterClosed)?;
        result.await.unwrap_or(Err(PersistError::WriterClosed))
    }

    /// The writer's counters so far.
    pub fn stats(&self) -> WriterStats {
        self.counters.snapshot()
    }

    /// Stops accepting appends, commits everything already queued, and waits for the task to end.
    /// Every handle then fails appends with [`PersistError::WriterClosed`].
    pub async fn shutdown(&self) {
        self.stop.send_if_modified(|stop| {
            let running = *stop == Stop::Running;
            if running {
                *stop = Stop::Drain;
            }
            running
        });
        self.finished().await;
    }

    /// Ends the writer now: what is queued or committing is dropped and its callers get
    /// [`PersistError::WriterClosed`] (for a batch that was committing, the outcome is unknown;
    /// appends are idempotent, so retrying them elsewhere is safe). Returns how many requests
    /// were dropped. For a shutdown that ran out of time.
    pub async fn abandon(&self) -> usize {
        self.stop.send_replace(Stop::Abandon);
        self.finished().await;
        usize::try_from(self.counters.snapshot().abandoned).unwrap_or(usize::MAX)
    }

    async fn finished(&self) {
        let mut finished = self.finished.clone();
        // Resolves with an error once the task has dropped its end, i.e. finished.
        while finished.changed().await.is_ok() {}
    }
}

//! The background task: drain the queue, commit one batch, answer every request, repeat.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::retry::RetryPolicy;
use super::stats::Counters;
use crate::{AppendRequest, BatchOutcome, Journal, PersistError, StoreError};

/// One queued append and where its result goes.
pub(super) struct Job {
    pub(super) request: AppendRequest,
    pub(super) reply: oneshot::Sender<Result<(), PersistError>>,
}

/// Everything the task owns.
pub(super) struct Task<J, R> {
    pub(super) journal: J,
    pub(super) retry: R,
    pub(super) queue: mpsc::Receiver<Job>,
    pub(super) shutdown: watch::Receiver<bool>,
    pub(super) max_batch: usize,
    pub(super) counters: Arc<Counters>,
    /// Dropped when the task ends, which is how handles learn that it has.
    pub(super) _finished: watch::Sender<()>,
}

impl<J: Journal, R: RetryPolicy> Task<J, R> {
    /// Runs until shutdown is requested (or every handle is gone) and the queue is drained.
    pub(super) async fn run(mut self) {
        let mut jobs = Vec::with_capacity(self.max_batch);
        let mut requests = Vec::with_capacity(self.max_batch);
        let mut replies = Vec::with_capacity(self.max_batch);
        let mut accepting = true;
        loop {
            let received = if accepting {
                tokio::select! {
                    biased;
                    received = self.queue.recv_many(&mut jobs, self.max_batch) => received,
                    _ = self.shutdown.changed() => {
                        // Refuse new appends; what is queued is still committed below.
                        self.queue.close();
                        accepting = false;
                        continue;
                    }
                }
            } else {
                self.queue.recv_many(&mut jobs, self.max_batch).await
            };
            if received == 0 {
                break;
            }
            for job in jobs.drain(..) {
                requests.push(job.request);
                replies.push(job.reply);
            }
            let result = self.commit(&requests).await;
            self.counters.record(requests.len(), result.is_err());
            answer(result, &mut replies);
            requests.clear();
        }
    }

    /// Commits one batch, retrying as the policy says.
    async fn commit(&mut self, requests: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        let mut attempt = 1;
        loop {
            match self.journal.append_batch(requests).await {
                Ok(outcome) => return Ok(outcome),
                Err(error) => match self.retry.retry_after(attempt, &error) {
                    Some(delay) => {
                        tracing::warn!(%error, attempt, ?delay, "journal batch failed, retrying");
                        tokio::time::sleep(delay).await;
                        attempt = attempt.saturating_add(1);
                    }
                    None => {
                        tracing::error!(%error, size = requests.len(), "journal batch failed");
                        return Err(error);
                    }
                },
            }
        }
    }
}

/// Sends each request its own result (or the batch's shared error).
fn answer(
    result: Result<BatchOutcome, StoreError>,
    replies: &mut Vec<oneshot::Sender<Result<(), PersistError>>>,
) {
    match result {
        Ok(outcome) => {
            for (reply, result) in replies.drain(..).zip(outcome) {
                // A caller that stopped waiting is not an error.
                let _ = reply.send(result.map_err(PersistError::from));
            }
        }
        Err(error) => {
            let error = Arc::new(error);
            for reply in replies.drain(..) {
                let _ = reply.send(Err(PersistError::Store(Arc::clone(&error))));
            }
        }
    }
    // Replies left over (a backend returning too few results) are dropped here; their callers
    // see the writer as closed rather than waiting forever.
    replies.clear();
}

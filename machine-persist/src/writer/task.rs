//! The background task: gather queued appends into batches, commit up to `max_in_flight` of them
//! at once, answer every request, repeat.
//!
//! With one batch in flight (the default for embedded stores) the next batch gathers while the
//! current one commits. A server database commits concurrent transactions in parallel and flushes
//! their commit records together, so there a second batch may start before the first has
//! committed. Order per actor is kept by never letting two batches in flight hold requests of the
//! same actor: a request whose actor is busy waits (in arrival order) until that batch is done.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};

use super::retry::RetryPolicy;
use super::sizer::Sizer;
use super::stats::Counters;
use super::Stop;
use crate::{ActorId, AppendRequest, BatchOutcome, Journal, PersistError, StoreError};

/// Where the result of one request goes.
type Reply = oneshot::Sender<Result<(), PersistError>>;

/// One queued append and where its result goes.
pub(super) struct Job {
    pub(super) request: AppendRequest,
    pub(super) reply: Reply,
}

/// Everything the task owns.
pub(super) struct Task<J, R> {
    pub(super) journal: J,
    pub(super) retry: R,
    pub(super) queue: mpsc::Receiver<Job>,
    pub(super) stop: watch::Receiver<Stop>,
    pub(super) max_batch: usize,
    pub(super) max_in_flight: usize,
    pub(super) counters: Arc<Counters>,
    /// Dropped when the task ends, which is how handles learn that it has.
    pub(super) _finished: watch::Sender<()>,
}

/// A batch on its way to the journal.
struct Batch {
    requests: Vec<AppendRequest>,
    replies: Vec<Reply>,
    /// The attempt being made, from 1.
    attempt: u32,
}

/// Requests received but not yet in a batch, and the actors of the batches in flight.
struct Pending {
    /// In arrival order.
    waiting: VecDeque<Job>,
    busy: HashSet<ActorId>,
}

impl Pending {
    /// Takes, in arrival order, up to `max` waiting requests whose actor has nothing in flight.
    /// Requests of one actor stay in order: once one is left waiting, so are its later ones.
    fn take(&mut self, max: usize) -> Option<Batch> {
        let mut requests = Vec::new();
        let mut replies = Vec::new();
        let mut kept = VecDeque::new();
        while let Some(job) = self.waiting.pop_front() {
            if requests.len() == max {
                self.waiting.push_front(job);
                break;
            }
            if self.busy.contains(&job.request.actor_id) {
                kept.push_back(job);
            } else {
                requests.push(job.request);
                replies.push(job.reply);
            }
        }
        kept.append(&mut self.waiting);
        self.waiting = kept;
        if requests.is_empty() {
            return None;
        }
        self.busy
            .extend(requests.iter().map(|request| request.actor_id.clone()));
        Some(Batch {
            requests,
            replies,
            attempt: 1,
        })
    }

    /// Frees the actors of a finished batch.
    fn done(&mut self, batch: &Batch) {
        for request in &batch.requests {
            self.busy.remove(&request.actor_id);
        }
    }
}

/// Commits `batch` after `delay`, handing it back with its result.
async fn commit<J: Journal>(
    journal: &J,
    batch: Batch,
    delay: Duration,
) -> (Batch, Result<BatchOutcome, StoreError>) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let result = journal.append_batch(&batch.requests).await;
    (batch, result)
}

impl<J: Journal, R: RetryPolicy> Task<J, R> {
    /// Runs until shutdown is requested (or every handle is gone), everything received has been
    /// committed and no batch is in flight.
    pub(super) async fn run(self) {
        let Task {
            journal,
            mut retry,
            mut queue,
            mut stop,
            max_batch,
            max_in_flight,
            counters,
            _finished,
        } = self;
        let mut pending = Pending {
            waiting: VecDeque::with_capacity(max_batch),
            busy: HashSet::with_capacity(max_batch.saturating_mul(max_in_flight)),
        };
        let mut in_flight = FuturesUnordered::new();
        // Requests in the batches of `in_flight`.
        let mut committing = 0;
        let mut sizer = Sizer::new(max_batch, max_in_flight);
        let mut received = Vec::with_capacity(max_batch);
        let mut accepting = true;
        let mut open = true;
        loop {
            while in_flight.len() < max_in_flight {
                match pending.take(sizer.next(pending.waiting.len(), committing)) {
                    Some(batch) => {
                        committing += batch.requests.len();
                        in_flight.push(commit(&journal, batch, Duration::ZERO));
                    }
                    None => break,
                }
            }
            if !open && in_flight.is_empty() {
                // Nothing in flight means no actor is busy, so nothing can still be waiting.
                break;
            }
            // Receive only with a batch slot free, and while few requests wait, so a caller that
            // keeps appending to a busy actor meets the queue's backpressure.
            let room = in_flight.len() < max_in_flight && pending.waiting.len() < max_batch;
            tokio::select! {
                biased;
                Some((mut batch, result)) = in_flight.next() => {
                    if let Err(error) = &result {
                        if let Some(delay) = retry.retry_after(batch.attempt, error) {
                            tracing::warn!(
                                %error, attempt = batch.attempt, ?delay,
                                "journal batch failed, retrying"
                            );
                            batch.attempt = batch.attempt.saturating_add(1);
                            in_flight.push(commit(&journal, batch, delay));
                            continue;
                        }
                        tracing::error!(%error, size = batch.requests.len(), "journal batch failed");
                    }
                    counters.record(batch.requests.len(), result.is_err());
                    committing -= batch.requests.len();
                    sizer.answered(batch.requests.len());
                    pending.done(&batch);
                    answer(result, batch.replies);
                }
                count = queue.recv_many(&mut received, max_batch), if open && room => {
                    if count == 0 {
                        open = false;
                    }
                    sizer.received(count);
                    pending.waiting.extend(received.drain(..));
                }
                changed = stop.changed() => {
                    let wanted = if changed.is_ok() { *stop.borrow_and_update() } else { Stop::Drain };
                    match wanted {
                        Stop::Running => {}
                        // Refuse new appends; what is queued is still committed.
                        Stop::Drain if accepting => {
                            queue.close();
                            accepting = false;
                        }
                        Stop::Drain => {}
                        Stop::Abandon => {
                            // Whatever is waiting or in flight is dropped: its callers hear that
                            // the writer shut down (an in-flight commit's outcome is unknown).
                            queue.close();
                            let mut abandoned = pending.waiting.len() + committing;
                            while queue.try_recv().is_ok() {
                                abandoned += 1;
                            }
                            counters.abandoned(abandoned);
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// Sends each request its own result (or the batch's shared error). A journal that answers with
/// another number of outcomes than it had requests broke its contract: nothing it said can be
/// trusted, so every request of the batch gets that error.
fn answer(result: Result<BatchOutcome, StoreError>, replies: Vec<Reply>) {
    let result = result.and_then(|outcome| {
        if outcome.len() == replies.len() {
            Ok(outcome)
        } else {
            Err(StoreError::Contract(format!(
                "a batch of {} requests was answered with {} outcomes",
                replies.len(),
                outcome.len()
            )))
        }
    });
    match result {
        Ok(outcome) => {
            for (reply, result) in replies.into_iter().zip(outcome) {
                // A caller that stopped waiting is not an error.
                let _ = reply.send(result.map_err(PersistError::from));
            }
        }
        Err(error) => {
            let error = Arc::new(error);
            for reply in replies {
                let _ = reply.send(Err(PersistError::Store(Arc::clone(&error))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn job(actor: &str, expected: u64) -> (Job, oneshot::Receiver<Result<(), PersistError>>) {
        let (reply, result) = oneshot::channel();
        let request = AppendRequest::new(actor, "M", expected, "S", Utc::now());
        (Job { request, reply }, result)
    }

    fn pending(jobs: &[(&str, u64)]) -> Pending {
        Pending {
            waiting: jobs
                .iter()
                .map(|&(actor, expected)| job(actor, expected).0)
                .collect(),
            busy: HashSet::new(),
        }
    }

    fn keys(batch: &Batch) -> Vec<(&str, u64)> {
        batch
            .requests
            .iter()
            .map(|request| (request.actor_id.as_str(), request.expected_version))
            .collect()
    }

    #[test]
    fn a_batch_takes_requests_in_arrival_order_up_to_the_limit() {
        let mut pending = pending(&[("a", 0), ("b", 0), ("a", 1), ("c", 0)]);
        let batch = pending.take(3).unwrap();
        assert_eq!(keys(&batch), [("a", 0), ("b", 0), ("a", 1)]);
        assert_eq!(pending.waiting.len(), 1);
    }

    #[test]
    fn requests_of_an_actor_in_flight_wait_for_its_batch() {
        let mut pending = pending(&[("a", 0), ("b", 0)]);
        let first = pending.take(1).unwrap();
        assert_eq!(keys(&first), [("a", 0)]);
        pending.waiting.push_back(job("a", 1).0);
        pending.waiting.push_back(job("c", 0).0);
        // `a` is busy: its second request waits, the others go ahead in order.
        let second = pending.take(10).unwrap();
        assert_eq!(keys(&second), [("b", 0), ("c", 0)]);
        pending.waiting.push_back(job("a", 2).0);
        assert!(pending.take(10).is_none());
        pending.done(&first);
        let third = pending.take(10).unwrap();
        assert_eq!(keys(&third), [("a", 1), ("a", 2)]);
        assert!(pending.waiting.is_empty());
    }
}

//! Attempt records of durable actions ride on appends.
//!
//! Every write of a SQLite store serialises on one connection, and a transaction of its own
//! costs a record round a handful of round trips to the connection's worker thread (acquire,
//! begin, commit, restore the durability) and makes the next append wait for it. While appends
//! are flowing (one is running, or one started within [`FLOWING`]), a round is instead handed
//! to the next append,
//! which applies it in its own transaction after its rows (see [`append`](super::append)) and
//! answers once it has committed; a round no append takes within [`RIDE_WAIT`] is written in a
//! transaction of its own, as it is at once when no append is flowing.
//!
//! A record applied by an append is flushed with it: more durable than one written alone. If
//! the append fails to commit, its records fail with it and are tried again by their
//! dispatcher; a record statement that fails leaves the append to commit what it wrote (each
//! SQLite statement is atomic) and reports the failure to its records alone, whose dispatcher
//! then finds the claims as the statements left them (at-least-once delivery allows either).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sqlx::{Sqlite, Transaction};
use tokio::sync::oneshot;

use super::SqliteStore;
use crate::sql::outbox;
use crate::store::ActionUpdate;
use crate::StoreError;

/// How recently an append must have started (if none is running) for a round to wait for the
/// next one.
const FLOWING: Duration = Duration::from_millis(50);

/// How long a round waits for an append to take it.
const RIDE_WAIT: Duration = Duration::from_millis(20);

/// The answer to one round: whether each record applied.
type Answer = Result<Vec<bool>, StoreError>;

/// A round waiting for an append.
struct Waiting {
    id: u64,
    updates: Vec<ActionUpdate>,
    answer: oneshot::Sender<Answer>,
}

/// The rounds waiting for the next append, shared by a store's clones.
#[derive(Debug)]
pub(super) struct RecordQueue {
    waiting: Mutex<Vec<Waiting>>,
    next_id: AtomicU64,
    /// When the last append started, in microseconds since `epoch` (0: never).
    last_append: AtomicU64,
    /// How many appends are running.
    running: AtomicUsize,
    epoch: Instant,
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("id", &self.id)
            .field("updates", &self.updates.len())
            .finish()
    }
}

impl Default for RecordQueue {
    fn default() -> Self {
        Self {
            waiting: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            last_append: AtomicU64::new(0),
            running: AtomicUsize::new(0),
            epoch: Instant::now(),
        }
    }
}

impl RecordQueue {
    fn lock(&self) -> MutexGuard<'_, Vec<Waiting>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn micros_now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Notes that an append started; it runs until the guard is dropped.
    pub(super) fn append_started(&self) -> Appending<'_> {
        self.last_append.store(self.micros_now(), Ordering::Relaxed);
        self.running.fetch_add(1, Ordering::Relaxed);
        Appending(self)
    }

    /// Whether an append is running or started within [`FLOWING`]: a round handed over now
    /// is likely taken by the next one soon.
    fn flowing(&self) -> bool {
        if self.running.load(Ordering::Relaxed) > 0 {
            return true;
        }
        let last = self.last_append.load(Ordering::Relaxed);
        last != 0 && self.micros_now().saturating_sub(last) < FLOWING.as_micros() as u64
    }

    /// Takes every waiting round, for the append about to commit.
    fn take_all(&self) -> Vec<Waiting> {
        std::mem::take(&mut *self.lock())
    }

    /// Takes round `id` back, unless an append took it.
    fn take_back(&self, id: u64) -> Option<Vec<ActionUpdate>> {
        let mut waiting = self.lock();
        let at = waiting.iter().position(|round| round.id == id)?;
        Some(waiting.swap_remove(at).updates)
    }
}

/// A running append, counted by its [`RecordQueue`] until dropped.
pub(super) struct Appending<'a>(&'a RecordQueue);

impl Drop for Appending<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The rounds an append applies, answered once it commits.
pub(super) struct Riding {
    rounds: Vec<Waiting>,
    answers: Vec<Answer>,
}

impl Riding {
    /// Answers every round with what its records did: called after the append committed.
    /// Dropped instead (the append failed), each round hears that its answer was lost.
    pub(super) fn answer(self) {
        for (round, answer) in self.rounds.into_iter().zip(self.answers) {
            let _ = round.answer.send(answer);
        }
    }
}

/// Takes a waiting round back when its wait ends, however it ends (a no-op once an append
/// took it).
struct Withdraw<'a> {
    queue: &'a RecordQueue,
    id: u64,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        self.queue.take_back(self.id);
    }
}

/// A failure, once per round (a store error cannot be cloned).
fn shared_failure(error: &StoreError) -> StoreError {
    StoreError::Backend {
        transient: true,
        source: format!("recording with an append failed: {error}").into(),
    }
}

impl SqliteStore {
    /// Records ended attempts (see [`Outbox::record_many`](crate::store::Outbox::record_many)):
    /// with the next append while appends are flowing, else in a transaction of their own.
    pub(super) async fn record_with_appends(&self, updates: &[ActionUpdate]) -> Answer {
        if !self.records.flowing() {
            return outbox::record_many(&self.writer, self.relaxed, updates).await;
        }
        let (answer, mut answered) = oneshot::channel();
        let id = self.records.next_id.fetch_add(1, Ordering::Relaxed);
        self.records.lock().push(Waiting {
            id,
            updates: updates.to_vec(),
            answer,
        });
        // Should this wait be cancelled (a deadline, a shutdown), the round leaves the queue.
        let _withdraw = Withdraw {
            queue: &self.records,
            id,
        };
        let lost = || StoreError::Backend {
            transient: true,
            source: "the append carrying these records failed before it committed".into(),
        };
        match tokio::time::timeout(RIDE_WAIT, &mut answered).await {
            Ok(answer) => answer.unwrap_or_else(|_| Err(lost())),
            Err(_) => match self.records.take_back(id) {
                Some(updates) => outbox::record_many(&self.writer, self.relaxed, &updates).await,
                // An append took it meanwhile.
                None => answered.await.unwrap_or_else(|_| Err(lost())),
            },
        }
    }

    /// Applies every waiting round inside an append's transaction, after its rows; the caller
    /// answers them once the transaction commits.
    pub(super) async fn record_riding(&self, tx: &mut Transaction<'_, Sqlite>) -> Option<Riding> {
        let mut rounds = self.records.take_all();
        if rounds.is_empty() {
            return None;
        }
        let sizes: Vec<usize> = rounds.iter().map(|round| round.updates.len()).collect();
        let updates: Vec<ActionUpdate> = rounds
            .iter_mut()
            .flat_map(|round| std::mem::take(&mut round.updates))
            .collect();
        let answers = match outbox::record_in(tx, &updates).await {
            Ok(applied) => {
                let mut applied = applied.into_iter();
                sizes
                    .iter()
                    .map(|&size| Ok(applied.by_ref().take(size).collect()))
                    .collect()
            }
            Err(error) => {
                tracing::warn!(%error, "recording durable actions with an append failed; their dispatchers try again");
                rounds.iter().map(|_| Err(shared_failure(&error))).collect()
            }
        };
        Some(Riding { rounds, answers })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use machine_core::IdempotencyKey;

    use super::*;
    use crate::store::{
        ActionClaim, ActionOutcome, ActionStatus, AppendRequest, Journal, NewAction, NewEvent,
        Outbox,
    };

    /// A store with one pending action of `a`, and the record of its success.
    async fn store_with_action(dir: &tempfile::TempDir) -> (SqliteStore, ActionUpdate) {
        let store = SqliteStore::open(dir.path().join("ride.db")).await.unwrap();
        let claim = ActionClaim {
            owner: "d".into(),
            until: Utc::now() + chrono::Duration::seconds(60),
        };
        let request = AppendRequest::new("a", "Order", 0, "S", Utc::now())
            .create()
            .with_events(vec![NewEvent::new("E1", 1, "json", "{}")])
            .push_action(NewAction {
                version: 1,
                name: "charge".into(),
                codec: "json".into(),
                payload: b"{}".to_vec(),
                claim: claim.clone(),
            });
        store.append(request).await.unwrap();
        let update = ActionUpdate {
            key: IdempotencyKey::new("a".into(), 1, "charge"),
            claim,
            attempts: 1,
            outcome: ActionOutcome::Succeeded,
            cause: None,
        };
        (store, update)
    }

    /// Waits until `store` has a round waiting for an append.
    async fn until_waiting(store: &SqliteStore) {
        while store.records.lock().is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// A round waits for an append while one runs, however long it runs: a batch taking
    /// longer than the window must not send the records of its time to transactions of their
    /// own, which would make the next append wait for the write lock.
    #[test]
    fn appends_flow_while_one_runs_and_for_a_window_after_the_last_start() {
        let queue = RecordQueue::default();
        assert!(!queue.flowing(), "no append yet");
        let running = queue.append_started();
        std::thread::sleep(FLOWING + Duration::from_millis(10));
        assert!(queue.flowing(), "an append is running");
        drop(running);
        assert!(
            !queue.flowing(),
            "the last one started longer ago than the window"
        );
        let _next = queue.append_started();
        assert!(queue.flowing());
    }

    #[tokio::test]
    async fn a_waiting_round_is_applied_and_answered_by_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let (store, update) = store_with_action(&dir).await;
        let _appending = store.records.append_started();
        let recorder = store.clone();
        let recorded =
            tokio::spawn(async move { recorder.record_with_appends(&[update]).await.unwrap() });
        until_waiting(&store).await;
        let request = AppendRequest::new("b", "Order", 0, "S", Utc::now())
            .create()
            .with_events(vec![NewEvent::new("E1", 1, "json", "{}")]);
        store.append(request).await.unwrap();
        assert!(store.records.lock().is_empty(), "the append took the round");
        assert_eq!(recorded.await.unwrap(), [true]);
        let rows = store.actions(&"a".into()).await.unwrap();
        assert_eq!(rows[0].as_ref().unwrap().status, ActionStatus::Succeeded);
    }

    #[tokio::test]
    async fn a_round_no_append_takes_is_written_alone_and_a_lost_append_fails_its_rounds() {
        let dir = tempfile::tempdir().unwrap();
        let (store, update) = store_with_action(&dir).await;
        // Flowing, but no append comes: written alone after the wait.
        let _appending = store.records.append_started();
        assert_eq!(
            store
                .record_with_appends(std::slice::from_ref(&update))
                .await
                .unwrap(),
            [true]
        );
        assert!(store.records.lock().is_empty());

        // An append that took the round and then failed (dropped before its commit): the
        // round hears that its answer was lost, and can be tried again.
        let _appending = store.records.append_started();
        let recorder = store.clone();
        let again = update.clone();
        let recorded = tokio::spawn(async move { recorder.record_with_appends(&[again]).await });
        until_waiting(&store).await;
        let mut tx = store.writer.begin().await.unwrap();
        let riding = store.record_riding(&mut tx).await;
        assert!(riding.is_some());
        drop(riding);
        drop(tx);
        assert!(matches!(
            recorded.await.unwrap(),
            Err(StoreError::Backend {
                transient: true,
                ..
            })
        ));
    }
}

//! The group-commit writer: batching, per-request results, failure isolation, retry hook and
//! shutdown, over the in-memory store and SQLite.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use machine_core::ActorId;
use machine_core::VersionConflict;
use machine_persist::store::{
    AppendRequest, BatchOutcome, Journal, NewEvent, StoreError, StoredEvent,
};
use machine_persist::writer::RetryPolicy;
use machine_persist::writer::{JournalWriter, WriterConfig};
use machine_persist::{MemoryStore, PersistError};

fn request(actor: &str, expected: u64) -> AppendRequest {
    AppendRequest::new(actor, "M", expected, "S", Utc::now())
        .push_event(NewEvent::new("E", 1, "json", "{}"))
}

/// Wraps a journal, counting batches and failing the first `fail_first` of them; with
/// `drop_outcome`, answers every batch with one outcome too few, as a broken backend would.
#[derive(Clone)]
struct Probe<J> {
    inner: J,
    batches: Arc<AtomicUsize>,
    fail_first: usize,
    drop_outcome: bool,
}

impl<J> Probe<J> {
    fn new(inner: J, fail_first: usize) -> Self {
        Self {
            inner,
            batches: Arc::new(AtomicUsize::new(0)),
            fail_first,
            drop_outcome: false,
        }
    }
}

impl<J: Journal> Journal for Probe<J> {
    async fn append_batch(&self, requests: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        let seen = self.batches.fetch_add(1, Ordering::SeqCst);
        if seen < self.fail_first {
            return Err(StoreError::Backend {
                transient: true,
                source: "connection lost".into(),
            });
        }
        let mut outcome = self.inner.append_batch(requests).await?;
        if self.drop_outcome {
            outcome.pop();
        }
        Ok(outcome)
    }

    async fn read(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read(actor_id, from, to, max).await
    }

    async fn head(&self, actor_id: &ActorId) -> Result<u64, StoreError> {
        self.inner.head(actor_id).await
    }

    async fn delete_up_to(&self, actor_id: &ActorId, up_to: u64) -> Result<u64, StoreError> {
        self.inner.delete_up_to(actor_id, up_to).await
    }
}

/// Many appenders, each awaiting each append to its own actor.
async fn concurrent_appenders<J: Journal + Clone + 'static>(journal: J) {
    const ACTORS: u64 = 200;
    const APPENDS: u64 = 10;
    let probe = Probe::new(journal.clone(), 0);
    let writer = JournalWriter::spawn(probe.clone(), WriterConfig::default().max_batch(64));
    let tasks: Vec<_> = (0..ACTORS)
        .map(|n| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let actor = format!("actor-{n}");
                for version in 0..APPENDS {
                    writer.append(request(&actor, version)).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let stats = writer.stats();
    writer.shutdown().await;

    assert_eq!(stats.requests, ACTORS * APPENDS);
    assert_eq!(stats.batches, probe.batches.load(Ordering::SeqCst) as u64);
    assert!(
        stats.batches < stats.requests,
        "batches must group requests: {stats:?}"
    );
    assert!(
        stats.largest_batch > 1 && stats.largest_batch <= 64,
        "{stats:?}"
    );
    assert_eq!(stats.failed_batches, 0);
    for n in 0..ACTORS {
        assert_eq!(
            journal.head(&format!("actor-{n}").into()).await.unwrap(),
            APPENDS
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appenders_are_batched_in_memory() {
    concurrent_appenders(MemoryStore::new()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appenders_are_batched_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = machine_persist::SqliteStore::open(dir.path().join("w.db"))
        .await
        .unwrap();
    concurrent_appenders(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_request_fails_alone() {
    let store = MemoryStore::new();
    let writer = JournalWriter::spawn(store.clone(), WriterConfig::default());
    writer.append(request("a", 0).create()).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|n| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let stale = n == 25;
                let actor = if stale {
                    "a".to_string()
                } else {
                    format!("other-{n}")
                };
                (stale, writer.append(request(&actor, 0)).await)
            })
        })
        .collect();
    for task in tasks {
        match task.await.unwrap() {
            (true, result) => assert!(matches!(
                result,
                Err(PersistError::Conflict(VersionConflict {
                    expected: 0,
                    actual: 1,
                    ..
                }))
            )),
            (false, result) => result.unwrap(),
        }
    }
    writer.shutdown().await;
}

#[tokio::test]
async fn a_store_error_fails_its_batch_only() {
    let probe = Probe::new(MemoryStore::new(), 1);
    let writer = JournalWriter::spawn(probe.clone(), WriterConfig::default());
    let failed = writer.append(request("a", 0)).await.unwrap_err();
    assert!(matches!(&failed, PersistError::Store(error) if error.is_transient()));
    assert!(failed.is_transient());
    writer.append(request("a", 0)).await.unwrap();
    let stats = writer.stats();
    assert_eq!((stats.batches, stats.failed_batches), (2, 1));
    writer.shutdown().await;
    assert_eq!(probe.inner.head(&"a".into()).await.unwrap(), 1);
}

/// Retries transient errors up to `limit` times, without delay, counting its calls.
struct Retry {
    limit: u32,
    calls: Arc<AtomicUsize>,
}

impl RetryPolicy for Retry {
    fn retry_after(&mut self, attempt: u32, error: &StoreError) -> Option<Duration> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        (attempt <= self.limit && error.is_transient()).then_some(Duration::ZERO)
    }
}

#[tokio::test]
async fn the_retry_policy_decides_whether_a_failed_batch_is_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let probe = Probe::new(MemoryStore::new(), 2);
    let retry = Retry {
        limit: 2,
        calls: calls.clone(),
    };
    let writer = JournalWriter::spawn_with_retry(probe.clone(), WriterConfig::default(), retry);
    writer.append(request("a", 0)).await.unwrap();
    assert_eq!(probe.batches.load(Ordering::SeqCst), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(writer.stats().failed_batches, 0);
    writer.shutdown().await;

    let probe = Probe::new(MemoryStore::new(), 5);
    let retry = Retry {
        limit: 1,
        calls: Arc::new(AtomicUsize::new(0)),
    };
    let writer = JournalWriter::spawn_with_retry(probe.clone(), WriterConfig::default(), retry);
    assert!(writer.append(request("a", 0)).await.is_err());
    assert_eq!(probe.batches.load(Ordering::SeqCst), 2);
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_commits_what_is_queued_then_refuses() {
    let store = MemoryStore::new();
    let writer = JournalWriter::spawn(store.clone(), WriterConfig::default().queue_capacity(4));
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.append(request(&format!("q-{n}"), 0)).await })
        })
        .collect();
    // Let some appends queue up, then shut down while others still wait for queue space.
    tokio::task::yield_now().await;
    writer.shutdown().await;
    let mut committed = 0;
    for (n, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(()) => {
                committed += 1;
                assert_eq!(store.head(&format!("q-{n}").into()).await.unwrap(), 1);
            }
            Err(error) => assert!(matches!(error, PersistError::WriterClosed)),
        }
    }
    assert_eq!(committed, writer.stats().requests);
    assert!(matches!(
        writer.append(request("late", 0)).await,
        Err(PersistError::WriterClosed)
    ));
    // Shutting down twice is harmless.
    writer.shutdown().await;
}

/// A journal that answers with fewer outcomes than requests broke its contract: every caller of
/// the batch gets that error, none is told its append succeeded.
#[tokio::test]
async fn a_journal_answering_too_few_outcomes_fails_the_batch() {
    let mut probe = Probe::new(MemoryStore::new(), 0);
    probe.drop_outcome = true;
    let writer = JournalWriter::spawn(probe.clone(), WriterConfig::default());
    let appends: Vec<_> = (0..5)
        .map(|n| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.append(request(&format!("a-{n}"), 0)).await })
        })
        .collect();
    for append in appends {
        let result = append.await.unwrap();
        assert!(
            matches!(&result, Err(PersistError::Store(error)) if matches!(**error, StoreError::Contract(_))),
            "{result:?}"
        );
    }
    // The same holds for one request through `Journal::append`.
    assert!(matches!(
        probe.append(request("single", 0)).await,
        Err(PersistError::Store(ref error)) if matches!(**error, StoreError::Contract(_))
    ));
    writer.shutdown().await;
}

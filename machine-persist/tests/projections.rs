//! Projections over a live system: catch-up then live, checkpoints and restarts, handler
//! failures that stop one projection alone, exactly-once SQL read models and rebuilds.

mod fixture;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fixture::{Account, AccountEvent, Ledger};
use machine_core::Schedule;
use machine_persist::projection::{
    Envelope, Partition, Phase, Projection, ProjectionError, ProjectionRunner, Subscription,
};
use machine_persist::store::{CheckpointStore, GlobalPosition, Journal, Store};
use machine_persist::{MemoryStore, PersistConfig, PersistentRef, PersistentSystem, Repository};

/// What a recorder saw: (actor, version, position) per delivery, in delivery order.
type Seen = Arc<Mutex<Vec<(String, u64, GlobalPosition)>>>;

/// An at-least-once projection that records every delivery, and fails on one event if asked.
#[derive(Clone, Default)]
struct Recorder {
    seen: Seen,
    fail_on: Option<(String, u64)>,
}

#[derive(Debug, thiserror::Error)]
#[error("refused {0} v{1}")]
struct Refused(String, u64);

impl Projection for Recorder {
    type Event = AccountEvent;
    type Error = Refused;

    async fn handle(&mut self, event: &Envelope<AccountEvent>) -> Result<(), Refused> {
        let key = (event.actor_id.to_string(), event.version);
        if self.fail_on.as_ref() == Some(&key) {
            return Err(Refused(key.0, key.1));
        }
        assert!(matches!(event.event, AccountEvent::Deposit { amount: 1 }));
        self.seen
            .lock()
            .unwrap()
            .push((key.0, key.1, event.position));
        Ok(())
    }

    async fn reset(&mut self) -> Result<(), Refused> {
        self.seen.lock().unwrap().clear();
        Ok(())
    }
}

fn accounts() -> Subscription<AccountEvent> {
    Subscription::new().machine(&PersistConfig::<Account>::new())
}

/// Spawns `actors` accounts and deposits 1 into each `each` times; returns them.
async fn deposit(
    accounts: &Repository<Account>,
    actors: usize,
    each: usize,
) -> Vec<PersistentRef<Account>> {
    let mut spawned = Vec::new();
    for n in 0..actors {
        let account = accounts
            .spawn(format!("acc-{n}"), Account::new())
            .await
            .unwrap();
        for _ in 0..each {
            deposit_one(&account).await;
        }
        spawned.push(account);
    }
    spawned
}

async fn deposit_one(account: &PersistentRef<Account>) {
    let outcome = account
        .call(AccountEvent::Deposit { amount: 1 })
        .await
        .unwrap();
    assert!(outcome.is_accepted());
}

/// Each actor's versions as delivered, in delivery order.
fn versions_by_actor(seen: &Seen) -> HashMap<String, Vec<u64>> {
    let mut by_actor: HashMap<String, Vec<u64>> = HashMap::new();
    for (actor, version, _) in seen.lock().unwrap().iter() {
        by_actor.entry(actor.clone()).or_default().push(*version);
    }
    by_actor
}

fn assert_each_once(seen: &Seen, actors: usize, each: u64) {
    let by_actor = versions_by_actor(seen);
    assert_eq!(by_actor.len(), actors);
    for (actor, versions) in by_actor {
        assert_eq!(versions, (1..=each).collect::<Vec<_>>(), "{actor}");
    }
    let positions: Vec<GlobalPosition> = seen.lock().unwrap().iter().map(|s| s.2).collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]));
}

async fn head<S: Store>(store: &S) -> GlobalPosition {
    store.stream_head().await.unwrap()
}

#[tokio::test]
async fn catches_up_from_the_start_then_follows_live_commits() {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let repository = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let spawned = deposit(&repository, 3, 4).await;

    let recorder = Recorder::default();
    let mut handle = ProjectionRunner::new(store.clone(), "recorder", accounts())
        // A poll interval this long proves the live run is woken by the commit signal.
        .poll_interval(Duration::from_secs(3_600))
        .batch(5)
        .spawn(recorder.clone());
    assert!(handle.wait_for(head(&store).await).await);
    assert_each_once(&recorder.seen, 3, 4);

    // Live: new commits reach the projection without polling.
    let account = &spawned[1];
    for _ in 0..3 {
        deposit_one(account).await;
    }
    let later = head(&store).await;
    tokio::time::timeout(Duration::from_secs(10), handle.wait_for(later))
        .await
        .expect("woken by the commit signal");
    let by_actor = versions_by_actor(&recorder.seen);
    assert_eq!(by_actor["acc-1"], (1..=7).collect::<Vec<_>>());

    let status = handle.status().await.unwrap();
    assert_eq!(status.handled, 15);
    assert_eq!(status.head, later);
    assert!(status.caught_up());
    assert!(matches!(status.phase, Phase::Live | Phase::CatchingUp));
    handle.stop().await.unwrap();
    assert!(store.load_checkpoint("recorder").await.unwrap().unwrap() >= later);
    system.shutdown().await;
}

#[tokio::test]
async fn a_restart_resumes_after_the_saved_checkpoint() {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let repository = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let spawned = deposit(&repository, 2, 3).await;
    let first = Recorder::default();
    let status = ProjectionRunner::new(store.clone(), "resume", accounts())
        .catch_up(first.clone())
        .await
        .unwrap();
    assert_eq!(status.phase, Phase::Stopped);
    assert_eq!(status.handled, 6);
    assert_eq!(status.checkpoint, Some(status.processed));

    let account = &spawned[0];
    deposit_one(account).await;
    let second = Recorder::default();
    ProjectionRunner::new(store.clone(), "resume", accounts())
        .catch_up(second.clone())
        .await
        .unwrap();
    let seen = second.seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        1,
        "only the event after the checkpoint: {seen:?}"
    );
    assert_eq!((seen[0].0.as_str(), seen[0].1), ("acc-0", 4));

    // A rebuild replays everything into a reset read model.
    let rebuilt = ProjectionRunner::new(store.clone(), "resume", accounts())
        .rebuild()
        .catch_up(second.clone())
        .await
        .unwrap();
    assert_eq!(rebuilt.handled, 7);
    assert_eq!(second.seen.lock().unwrap().len(), 7);
    system.shutdown().await;
}

#[tokio::test]
async fn a_failing_handler_stops_only_its_projection_naming_the_event() {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let repository = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let spawned = deposit(&repository, 3, 4).await;

    let failing = Recorder {
        seen: Seen::default(),
        fail_on: Some(("acc-1".into(), 3)),
    };
    let healthy = Recorder::default();
    let broken = ProjectionRunner::new(store.clone(), "broken", accounts())
        .retry(Schedule::exponential(Duration::from_millis(1)).intersect(Schedule::recurs(2)))
        .spawn(failing.clone());
    let mut fine = ProjectionRunner::new(store.clone(), "fine", accounts()).spawn(healthy.clone());

    let error = broken.join().await.unwrap_err();
    let ProjectionError::Handler {
        projection,
        actor_id,
        version,
        position,
        attempts,
        ..
    } = &error
    else {
        panic!("expected a handler error, got {error}");
    };
    assert_eq!(
        (projection.as_str(), actor_id.as_str(), *version, *attempts),
        ("broken", "acc-1", 3, 3)
    );
    let before = failing.seen.lock().unwrap().clone();
    assert!(before.iter().all(|(_, _, at)| at < position));
    assert_eq!(before.len(), 6, "acc-0's four and acc-1's first two");
    let checkpoint = store.load_checkpoint("broken").await.unwrap().unwrap();
    assert_eq!(
        checkpoint,
        before.last().unwrap().2,
        "checkpoint just before the event"
    );

    // The other projection, and the writers, carry on.
    assert!(fine.wait_for(head(&store).await).await);
    assert_each_once(&healthy.seen, 3, 4);
    let account = &spawned[2];
    deposit_one(account).await;
    assert!(fine.wait_for(head(&store).await).await);

    // Fixed, the projection resumes at the failed event.
    let fixed = Recorder::default();
    ProjectionRunner::new(store.clone(), "broken", accounts())
        .catch_up(fixed.clone())
        .await
        .unwrap();
    let resumed = fixed.seen.lock().unwrap().clone();
    assert_eq!((resumed[0].0.as_str(), resumed[0].1), ("acc-1", 3));
    assert_eq!(resumed.len(), 13 - 6);
    fine.stop().await.unwrap();
    system.shutdown().await;
}

#[tokio::test]
async fn a_subscription_reads_only_its_machine_types() {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let accounts_repo = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let savings = system.repository(
        PersistConfig::<Account>::new().machine_type("Savings"),
        Ledger::default(),
    );
    deposit(&accounts_repo, 1, 2).await;
    let saver = savings.spawn("sav-1", Account::new()).await.unwrap();
    deposit_one(&saver).await;
    let only_savings = Recorder::default();
    ProjectionRunner::new(
        store.clone(),
        "savings",
        Subscription::new().machine(&PersistConfig::<Account>::new().machine_type("Savings")),
    )
    .catch_up(only_savings.clone())
    .await
    .unwrap();
    let seen = only_savings.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "sav-1");
    let nothing = ProjectionRunner::new(store.clone(), "nothing", Subscription::new())
        .catch_up(Recorder::default())
        .await;
    assert!(matches!(
        nothing,
        Err(ProjectionError::NothingSubscribed { .. })
    ));
    assert!(store.read(&"acc-0".into(), 1, 2, 10).await.unwrap().len() == 2);
    system.shutdown().await;
}

#[tokio::test]
async fn partitioned_workers_split_the_actors_and_keep_each_actors_order() {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let repository = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let _spawned = deposit(&repository, 12, 3).await;
    let workers: Vec<Recorder> = (0..3).map(|_| Recorder::default()).collect();
    for (index, worker) in workers.iter().enumerate() {
        let status = ProjectionRunner::new(store.clone(), "parts", accounts())
            .partition(Partition::new(index, 3).unwrap())
            .catch_up(worker.clone())
            .await
            .unwrap();
        assert_eq!(status.name, format!("parts/{index}-of-3"));
        assert!(store.load_checkpoint(&status.name).await.unwrap().is_some());
    }
    let mut owners: HashMap<String, usize> = HashMap::new();
    for (index, worker) in workers.iter().enumerate() {
        let by_actor = versions_by_actor(&worker.seen);
        assert!(
            !by_actor.is_empty(),
            "worker {index} owns some of 12 actors"
        );
        for (actor, versions) in by_actor {
            assert_eq!(
                versions,
                [1, 2, 3],
                "{actor}: all its events, in order, in one worker"
            );
            assert_eq!(owners.insert(actor, index), None, "one owner per actor");
        }
    }
    assert_eq!(owners.len(), 12);
    assert_eq!(store.load_checkpoint("parts").await.unwrap(), None);
    system.shutdown().await;
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use machine_persist::projection::TransactionalProjection;
    use machine_persist::SqliteStore;
    use sqlx::{Sqlite, Transaction};

    /// An exactly-once read model: one row per delivery (no key, so a repeat would show).
    struct Deliveries;

    impl TransactionalProjection<Sqlite> for Deliveries {
        type Event = AccountEvent;
        type Error = sqlx::Error;

        async fn handle<'t>(
            &'t mut self,
            tx: &'t mut Transaction<'static, Sqlite>,
            event: &'t Envelope<AccountEvent>,
        ) -> Result<(), sqlx::Error> {
            sqlx::query("INSERT INTO deliveries (actor_id, version) VALUES ($1, $2)")
                .bind(event.actor_id.as_str())
                .bind(event.version as i64)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn reset<'t>(
            &'t mut self,
            tx: &'t mut Transaction<'static, Sqlite>,
        ) -> Result<(), sqlx::Error> {
            sqlx::query("DELETE FROM deliveries")
                .execute(&mut **tx)
                .await?;
            Ok(())
        }
    }

    async fn read_model(store: &SqliteStore) -> Vec<(String, i64)> {
        sqlx::query_as("SELECT actor_id, version FROM deliveries ORDER BY actor_id, version")
            .fetch_all(store.read_pool())
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn exactly_once_read_model_matches_the_journal_and_a_rebuild_matches_live() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("p.db")).await.unwrap();
        sqlx::query("CREATE TABLE deliveries (actor_id TEXT NOT NULL, version INTEGER NOT NULL)")
            .execute(store.write_pool())
            .await
            .unwrap();
        let system = PersistentSystem::new(store.clone());
        let repository = system.repository(PersistConfig::<Account>::new(), Ledger::default());
        let mut handle = ProjectionRunner::new(store.clone(), "deliveries", accounts())
            .batch(7)
            .spawn_exactly_once(Deliveries);
        // Writers run while the projection follows.
        let writers: Vec<_> = (0..4)
            .map(|n| {
                let repository = repository.clone();
                tokio::spawn(async move {
                    let account = repository
                        .spawn(format!("acc-{n}"), Account::new())
                        .await
                        .unwrap();
                    for _ in 0..25 {
                        deposit_one(&account).await;
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        assert!(handle.wait_for(head(&store).await).await);
        handle.stop().await.unwrap();
        let live = read_model(&store).await;
        let expected: Vec<(String, i64)> = (0..4)
            .flat_map(|n| (1..=25).map(move |v| (format!("acc-{n}"), v)))
            .collect();
        assert_eq!(live, expected, "every event exactly once");
        let checkpoint = store.load_checkpoint("deliveries").await.unwrap().unwrap();
        assert!(checkpoint >= head(&store).await);

        let rebuilt = ProjectionRunner::new(store.clone(), "deliveries", accounts())
            .rebuild()
            .catch_up_exactly_once(Deliveries)
            .await
            .unwrap();
        assert_eq!(rebuilt.handled, 100);
        assert_eq!(
            read_model(&store).await,
            live,
            "a rebuild gives the live read model"
        );
        system.shutdown().await;
        store.close().await;
    }

    #[tokio::test]
    async fn an_unreadable_event_stops_the_projection_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("bad.db")).await.unwrap();
        let system = PersistentSystem::new(store.clone());
        let repository = system.repository(PersistConfig::<Account>::new(), Ledger::default());
        deposit(&repository, 2, 2).await;
        system.shutdown().await;
        store.merge().await.unwrap();
        sqlx::query(
            "UPDATE events SET payload = '{\"Nope\":1}' WHERE actor_id = 'acc-1' AND version = 1",
        )
        .execute(store.write_pool())
        .await
        .unwrap();
        let recorder = Recorder::default();
        let error = ProjectionRunner::new(store.clone(), "strict", accounts())
            .catch_up(recorder.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(error, ProjectionError::Unreadable { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("acc-1"), "{error}");
        // The events before it were delivered and checkpointed; nothing after it was passed.
        assert_eq!(recorder.seen.lock().unwrap().len(), 2);
        let checkpoint = store.load_checkpoint("strict").await.unwrap().unwrap();
        let ProjectionError::Unreadable { position, .. } = error else {
            unreachable!()
        };
        assert!(checkpoint < position);
        store.close().await;
    }
}

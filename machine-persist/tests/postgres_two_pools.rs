//! Two processes on one Postgres database, modelled as two stores with their own pools on one
//! schema: racing on the same actors, the optimistic lock lets exactly one writer win each
//! version; the loser gets `VersionConflict` (its live actor stops); the journal has no duplicate
//! and no gap; a restore picks up the winner's history.
//!
//! The server comes from `MACHINE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). If it is unreachable the tests print a skip line
//! and pass, except with `CI=true`, where that is a failure.

#![cfg(feature = "postgres")]

mod fixture;

use std::sync::Arc;

use fixture::{Account, AccountEvent, Ledger};
use machine_core::VersionConflict;
use machine_persist::store::{AppendRequest, Journal, NewEvent};
use machine_persist::writer::{JournalWriter, WriterConfig};
use machine_persist::{
    PersistConfig, PersistError, PersistentSystem, PostgresOptions, PostgresStore,
};

fn url() -> String {
    std::env::var("MACHINE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

async fn open_schema(schema: &str) -> Result<PostgresStore, machine_persist::store::StoreError> {
    let options = PostgresOptions::url(&url())?
        .schema(schema)?
        .max_connections(4);
    PostgresStore::with_options(options).await
}

/// Two stores (two pools) on one fresh schema, or `None` when the server is unreachable.
async fn two_pools() -> Option<(PostgresStore, PostgresStore)> {
    let schema = format!("mp_pools_{:016x}", fastrand::u64(..));
    let first = match open_schema(&schema).await {
        Ok(store) => store,
        Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
            println!("skipped: Postgres at {} is unreachable: {error}", url());
            return None;
        }
        Err(error) => panic!("Postgres at {} is unreachable: {error}", url()),
    };
    let second = open_schema(&schema).await.unwrap();
    Some((first, second))
}

async fn teardown(first: PostgresStore, second: PostgresStore) {
    second.close().await;
    first.drop_schema().await.unwrap();
    first.close().await;
}

/// Versions 1..=head, each stored once.
async fn assert_dense(store: &PostgresStore, actor: &str) -> u64 {
    let id = actor.into();
    let head = store.head(&id).await.unwrap();
    let events = store.read(&id, 1, u64::MAX, usize::MAX).await.unwrap();
    let versions: Vec<u64> = events.iter().map(|event| event.version).collect();
    assert_eq!(
        versions,
        (1..=head).collect::<Vec<_>>(),
        "contiguous, no duplicate"
    );
    head
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_systems_on_two_pools_never_duplicate_or_lose_a_version() {
    let Some((first_store, second_store)) = two_pools().await else {
        return;
    };
    let first = PersistentSystem::new(first_store.clone());
    let second = PersistentSystem::new(second_store.clone());
    let a = first.repository(PersistConfig::<Account>::new(), Ledger::default());
    let b = second.repository(PersistConfig::<Account>::new(), Ledger::default());
    a.spawn("acc", Account::new()).await.unwrap();
    let from_a = a.get("acc").unwrap();
    // The second system restores the same actor: two live copies at version 0.
    let from_b = b.restore("acc").await.unwrap().unwrap();

    let write = |actor: machine_persist::PersistentRef<Account>| {
        tokio::spawn(async move {
            let (mut won, mut conflicts) = (0u64, 0u64);
            for _ in 0..200 {
                match actor.call(AccountEvent::Deposit { amount: 1 }).await {
                    Ok(outcome) => {
                        assert!(outcome.is_accepted());
                        won += 1;
                    }
                    Err(PersistError::Conflict(_)) => conflicts += 1,
                    Err(PersistError::Stopped(_)) => break,
                    Err(other) => panic!("unexpected {other}"),
                }
            }
            (won, conflicts)
        })
    };
    let (a_result, b_result) = tokio::join!(write(from_a.clone()), write(from_b.clone()));
    let ((a_won, a_conflicts), (b_won, b_conflicts)) = (a_result.unwrap(), b_result.unwrap());
    assert!(
        a_conflicts + b_conflicts >= 1,
        "one of the copies must lose"
    );
    assert!(
        from_a.is_stopped() || from_b.is_stopped(),
        "the loser stops"
    );
    let head = assert_dense(&first_store, "acc").await;
    assert_eq!(
        head,
        a_won + b_won,
        "every acknowledged event is stored, nothing else"
    );

    // A restore picks up the winner's history.
    first.shutdown().await;
    second.shutdown().await;
    let third = PersistentSystem::new(second_store.clone());
    let c = third.repository(PersistConfig::<Account>::new(), Arc::new(Ledger::default()));
    let restored = c.restore("acc").await.unwrap().unwrap();
    assert_eq!(restored.state().await.unwrap().balance(), head);
    third.shutdown().await;
    teardown(first_store, second_store).await;
}

/// Journal writers on two pools, each committing several batches at once, race on a few shared
/// actors: each request reads the head and appends one event expecting it. Every acknowledged
/// event is stored exactly once, and every refusal is a conflict naming a newer head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_writers_on_two_pools_never_duplicate_or_gap() {
    const ACTORS: usize = 4;
    const TARGET: u64 = 60;
    let Some((first, second)) = two_pools().await else {
        return;
    };
    for actor in 0..ACTORS {
        let create =
            AppendRequest::new(format!("shared-{actor}"), "M", 0, "S", chrono::Utc::now()).create();
        first.append(create).await.unwrap();
    }
    let race = |store: PostgresStore, writer_name: &'static str| async move {
        let writer =
            JournalWriter::spawn(store.clone(), WriterConfig::default().concurrent_batches(3));
        let tasks: Vec<_> = (0..ACTORS)
            .map(|actor| {
                let (store, writer) = (store.clone(), writer.clone());
                tokio::spawn(async move {
                    let id = format!("shared-{actor}");
                    let mut wins = 0u64;
                    loop {
                        let head = store.head(&id.as_str().into()).await.unwrap();
                        if head >= TARGET {
                            return wins;
                        }
                        let request =
                            AppendRequest::new(id.as_str(), "M", head, "S", chrono::Utc::now())
                                .push_event(NewEvent::new(writer_name, 1, "json", "{}"));
                        match writer.append(request).await {
                            Ok(()) => wins += 1,
                            Err(PersistError::Conflict(VersionConflict {
                                expected,
                                actual,
                                ..
                            })) => assert!(actual > expected, "a conflict means someone else won"),
                            Err(error) if error.is_transient() => {}
                            Err(error) => panic!("unexpected error: {error}"),
                        }
                    }
                })
            })
            .collect();
        let mut wins = Vec::new();
        for task in tasks {
            wins.push(task.await.unwrap());
        }
        writer.shutdown().await;
        wins
    };
    let (one, two) = tokio::join!(race(first.clone(), "one"), race(second.clone(), "two"));
    for actor in 0..ACTORS {
        let id = format!("shared-{actor}");
        assert_eq!(assert_dense(&second, &id).await, TARGET);
        let events = first
            .read(&id.as_str().into(), 1, u64::MAX, usize::MAX)
            .await
            .unwrap();
        let by_one = events.iter().filter(|event| event.tag == "one").count() as u64;
        assert_eq!((by_one, TARGET - by_one), (one[actor], two[actor]));
    }
    teardown(first, second).await;
}

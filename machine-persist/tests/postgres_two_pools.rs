//! Two processes on one Postgres database, modelled as two stores with their own pools on one
//! schema, with journal writers that commit several batches at once: racing on the same actors,
//! the optimistic lock lets exactly one writer win each version, and the journal has no
//! duplicate and no gap. (Two persistent systems racing on one actor is a conformance check, run
//! on every backend.)

#![cfg(feature = "postgres")]

mod fixture;
#[macro_use]
mod support;

use machine_core::VersionConflict;
use machine_persist::store::{AppendRequest, Journal, NewEvent};
use machine_persist::writer::{JournalWriter, WriterConfig};
use machine_persist::{PersistError, PostgresOptions, PostgresStore};
use machine_test_support::postgres;

/// Two stores (two pools) on one fresh schema, or `None` when the server is unreachable.
async fn two_pools() -> Option<(PostgresStore, PostgresStore)> {
    let test = "postgres_two_pools";
    let schema = postgres::fresh_schema("mp_pools");
    let configure = |options: PostgresOptions| options.max_connections(4);
    let first = support::pg::open_at(test, &postgres::url(), &schema, configure).await?;
    let second = support::pg::open_at(test, &postgres::url(), &schema, configure)
        .await
        .unwrap();
    Some((first, second))
}

async fn teardown(first: PostgresStore, second: PostgresStore) {
    second.close().await;
    support::pg::teardown(first).await;
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

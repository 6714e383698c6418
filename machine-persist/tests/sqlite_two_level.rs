//! The SQLite journal's two levels: appends land in `recent_events` and are merged into `events`.
//! Every read, delete and restart must behave the same whichever level holds an event.

#![cfg(feature = "sqlite")]

use std::path::Path;

use chrono::Utc;
use futures::TryStreamExt;
use machine_core::ActorId;
use machine_core::VersionConflict;
use machine_persist::store::{
    AppendError, AppendRequest, Catalog, Journal, NewEvent, StoreError, StoredEvent,
};
use machine_persist::{PersistError, SqliteOptions, SqliteStore};

/// A request appending `count` events (tags `E<version>`) after `expected`.
fn request(actor: &str, expected: u64, count: u64) -> AppendRequest {
    AppendRequest::new(actor, "Order", expected, "S", Utc::now()).with_events(
        (expected + 1..=expected + count)
            .map(|n| NewEvent::new(format!("E{n}"), 1, "json", format!(r#"{{"n":{n}}}"#)))
            .collect(),
    )
}

/// A store that never merges on its own: every event stays in `recent_events` until
/// [`SqliteStore::merge`].
async fn unmerging(path: &Path) -> SqliteStore {
    SqliteStore::with_options(
        SqliteOptions::file(path)
            .merge_after(u32::MAX)
            .eager_merge_actors(0),
    )
    .await
    .unwrap()
}

/// Rows in (`recent_events`, `events`).
async fn levels(store: &SqliteStore) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM recent_events), (SELECT count(*) FROM events)")
        .fetch_one(store.read_pool())
        .await
        .unwrap()
}

fn versions(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|event| event.version).collect()
}

async fn read_all(store: &SqliteStore, actor: &str) -> Vec<StoredEvent> {
    store
        .read(&ActorId::from(actor), 0, u64::MAX, usize::MAX)
        .await
        .unwrap()
}

#[tokio::test]
async fn reads_span_both_levels_with_the_same_bounds_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = unmerging(&dir.path().join("j.db")).await;
    store
        .append_batch(&[request("a", 0, 3).create(), request("b", 0, 2).create()])
        .await
        .unwrap();
    store.merge().await.unwrap();
    store
        .append_batch(&[request("b", 2, 1), request("a", 3, 2)])
        .await
        .unwrap();
    assert_eq!(levels(&store).await, (3, 5));

    let a = ActorId::from("a");
    let all = read_all(&store, "a").await;
    assert_eq!(versions(&all), [1, 2, 3, 4, 5]);
    assert_eq!(all[4].tag, "E5");
    assert_eq!(all[4].payload, br#"{"n":5}"#);
    assert_eq!(
        versions(&store.read(&a, 2, 4, 100).await.unwrap()),
        [2, 3, 4]
    );
    assert_eq!(versions(&store.read(&a, 3, 5, 2).await.unwrap()), [3, 4]);
    assert_eq!(versions(&store.read(&a, 4, 5, 1).await.unwrap()), [4]);
    assert_eq!(versions(&store.read(&a, 5, 9, 10).await.unwrap()), [5]);
    let streamed: Vec<StoredEvent> = store.stream(&a, 2).try_collect().await.unwrap();
    assert_eq!(versions(&streamed), [2, 3, 4, 5]);
    assert_eq!(store.head(&a).await.unwrap(), 5);
    assert_eq!(versions(&read_all(&store, "b").await), [1, 2, 3]);

    // Positions follow append order across actors and levels.
    let b = read_all(&store, "b").await;
    let order = [&all[0], &all[2], &b[0], &b[1], &b[2], &all[3], &all[4]];
    assert!(order
        .windows(2)
        .all(|pair| pair[0].position < pair[1].position));

    // Merging changes where the events are, not what reads return.
    store.merge().await.unwrap();
    assert_eq!(levels(&store).await, (0, 8));
    assert_eq!(read_all(&store, "a").await, all);
    store.close().await;
}

#[tokio::test]
async fn optimistic_lock_uses_the_head_of_unmerged_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = unmerging(&dir.path().join("j.db")).await;
    store.append(request("a", 0, 2).create()).await.unwrap();
    assert_eq!(levels(&store).await, (2, 0));
    let stale = store.append(request("a", 1, 1)).await.unwrap_err();
    assert!(matches!(
        stale,
        PersistError::Conflict(VersionConflict {
            expected: 1,
            actual: 2,
            ..
        })
    ));
    store.append(request("a", 2, 1)).await.unwrap();
    assert_eq!(versions(&read_all(&store, "a").await), [1, 2, 3]);
    store.close().await;
}

#[tokio::test]
async fn deletes_reach_both_levels() {
    let dir = tempfile::tempdir().unwrap();
    let store = unmerging(&dir.path().join("j.db")).await;
    let a = ActorId::from("a");
    store.append(request("a", 0, 4).create()).await.unwrap();
    store.append(request("b", 0, 2).create()).await.unwrap();
    store.merge().await.unwrap();
    store.append(request("a", 4, 4)).await.unwrap();
    store.append(request("b", 2, 1)).await.unwrap();
    assert_eq!(levels(&store).await, (5, 6));

    // Retention across the boundary: 4 merged and 2 unmerged events.
    assert_eq!(store.delete_up_to(&a, 6).await.unwrap(), 6);
    assert_eq!(versions(&read_all(&store, "a").await), [7, 8]);
    assert_eq!(store.head(&a).await.unwrap(), 8);
    assert_eq!(store.delete_up_to(&a, 6).await.unwrap(), 0);
    store.append(request("a", 8, 1)).await.unwrap();
    assert_eq!(versions(&read_all(&store, "a").await), [7, 8, 9]);
    store.merge().await.unwrap();
    assert_eq!(versions(&read_all(&store, "a").await), [7, 8, 9]);

    // Deleting an actor removes its events from both levels, and nobody else's.
    store.append(request("b", 3, 1)).await.unwrap();
    assert_eq!(levels(&store).await, (1, 6));
    assert!(store.delete_actor(&ActorId::from("b")).await.unwrap());
    assert_eq!(levels(&store).await, (0, 3));
    assert!(read_all(&store, "b").await.is_empty());
    store.append(request("b", 0, 1).create()).await.unwrap();
    assert_eq!(versions(&read_all(&store, "b").await), [1]);
    assert_eq!(versions(&read_all(&store, "a").await), [7, 8, 9]);
    store.close().await;
}

#[tokio::test]
async fn reopening_merges_what_the_last_run_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let store = unmerging(&path).await;
    store
        .append_batch(&[request("a", 0, 3).create(), request("b", 0, 1).create()])
        .await
        .unwrap();
    let before = read_all(&store, "a").await;
    assert_eq!(levels(&store).await, (4, 0));
    store.close().await;

    let reopened = unmerging(&path).await;
    assert_eq!(levels(&reopened).await, (0, 4));
    assert_eq!(read_all(&reopened, "a").await, before);
    reopened.append(request("a", 3, 1)).await.unwrap();
    let after = read_all(&reopened, "a").await;
    assert_eq!(versions(&after), [1, 2, 3, 4]);
    assert!(after[3].position > before[2].position);
    reopened.close().await;
}

#[tokio::test]
async fn narrow_batches_skip_the_recent_level_and_wide_ones_merge_when_due() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::with_options(
        SqliteOptions::file(dir.path().join("j.db"))
            .merge_after(10)
            .eager_merge_actors(1),
    )
    .await
    .unwrap();
    store.append(request("hot", 0, 5).create()).await.unwrap();
    assert_eq!(levels(&store).await, (0, 5));

    let wide: Vec<AppendRequest> = (0..4).map(|n| request(&format!("w{n}"), 0, 2)).collect();
    store.append_batch(&wide).await.unwrap();
    assert_eq!(levels(&store).await, (8, 5));
    // Something waits now, so a narrow batch goes through the recent level too ...
    store.append(request("hot", 5, 1)).await.unwrap();
    assert_eq!(levels(&store).await, (9, 5));
    // ... until the waiting events reach `merge_after`.
    store.append(request("hot", 6, 1)).await.unwrap();
    assert_eq!(levels(&store).await, (0, 15));
    assert_eq!(
        versions(&read_all(&store, "hot").await),
        [1, 2, 3, 4, 5, 6, 7]
    );
    store.close().await;
}

/// Two stores on one file (as two processes) append wide batches to the same actors through the
/// recent level: the registry head, checked under the write lock, lets no duplicate or gap in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_racing_through_the_recent_level_never_duplicate_or_gap() {
    const ACTORS: usize = 20;
    const ROUNDS: usize = 30;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let options = |readers| {
        SqliteOptions::file(&path)
            .readers(readers)
            .merge_after(150)
            .eager_merge_actors(0)
    };
    let one = SqliteStore::with_options(options(2)).await.unwrap();
    let two = SqliteStore::with_options(options(1)).await.unwrap();
    let race = |store: SqliteStore, writer: &'static str| async move {
        let mut wins = 0u64;
        for _ in 0..ROUNDS {
            let mut batch = Vec::new();
            for n in 0..ACTORS {
                let actor = format!("actor-{n}");
                let head = store.head(&ActorId::from(actor.as_str())).await.unwrap();
                let mut attempt = request(&actor, head, 1);
                attempt.events[0].tag = writer.into();
                batch.push(attempt);
            }
            match store.append_batch(&batch).await {
                Ok(outcome) => {
                    for result in outcome {
                        match result {
                            Ok(()) => wins += 1,
                            Err(AppendError::Conflict(VersionConflict {
                                expected,
                                actual,
                                ..
                            })) => assert!(actual > expected),
                            Err(other) => panic!("unexpected refusal: {other}"),
                        }
                    }
                }
                Err(error) if error.is_transient() => {}
                Err(error) => panic!("unexpected error: {error}"),
            }
        }
        wins
    };
    let first = tokio::spawn(race(one.clone(), "one"));
    let second = tokio::spawn(race(two.clone(), "two"));
    let wins = first.await.unwrap() + second.await.unwrap();

    let mut stored = 0u64;
    for n in 0..ACTORS {
        let actor = format!("actor-{n}");
        let events = read_all(&one, &actor).await;
        let head = one.head(&ActorId::from(actor.as_str())).await.unwrap();
        assert_eq!(versions(&events), (1..=head).collect::<Vec<_>>());
        assert_eq!(read_all(&two, &actor).await, events);
        stored += head;
    }
    assert_eq!(stored, wins);
    one.merge().await.unwrap();
    assert_eq!(levels(&one).await, (0, i64::try_from(wins).unwrap()));
    one.close().await;
    two.close().await;
}

/// A row written behind the registry's back that duplicates a version: the merge moves
/// everything else, keeps the duplicate where reads report it, and other actors carry on.
#[tokio::test]
async fn a_duplicate_version_is_kept_and_reported_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let store = unmerging(&dir.path().join("j.db")).await;
    store
        .append_batch(&[request("a", 0, 2).create(), request("b", 0, 1).create()])
        .await
        .unwrap();
    store.merge().await.unwrap();
    store
        .append_batch(&[request("a", 2, 1), request("b", 1, 1)])
        .await
        .unwrap();
    // A second copy of version 2 of `a`, at a fresh position, as a rogue writer would add it.
    sqlx::query(
        "INSERT INTO recent_events
             (position, actor_id, version, machine_type, tag, schema_version, payload, metadata,
              recorded_at)
         SELECT 1000, actor_id, version, machine_type, 'Rogue', schema_version, payload,
                metadata, recorded_at
         FROM events WHERE actor_id = 'a' AND version = 2",
    )
    .execute(store.write_pool())
    .await
    .unwrap();
    let a = ActorId::from("a");
    let reported = |error: StoreError| match error {
        StoreError::Corrupt {
            actor_id,
            version,
            column,
            ..
        } => assert_eq!(
            (actor_id.as_str(), version, column),
            ("a", Some(2), "version")
        ),
        other => panic!("expected corrupt data, got {other}"),
    };
    reported(store.read(&a, 0, u64::MAX, 100).await.unwrap_err());

    store.merge().await.unwrap();
    assert_eq!(levels(&store).await, (1, 5));
    reported(store.read(&a, 0, u64::MAX, 100).await.unwrap_err());
    assert_eq!(versions(&store.read(&a, 3, 3, 10).await.unwrap()), [3]);
    assert_eq!(versions(&read_all(&store, "b").await), [1, 2]);

    // Appends and merges go on; the duplicate stays visible until someone removes it.
    store.append(request("b", 2, 1)).await.unwrap();
    store.append(request("a", 3, 1)).await.unwrap();
    store.merge().await.unwrap();
    assert_eq!(levels(&store).await, (1, 7));
    assert_eq!(versions(&read_all(&store, "b").await), [1, 2, 3]);
    reported(store.read(&a, 0, u64::MAX, 100).await.unwrap_err());
    assert_eq!(versions(&store.read(&a, 3, 9, 10).await.unwrap()), [3, 4]);
    sqlx::query("DELETE FROM recent_events WHERE tag = 'Rogue'")
        .execute(store.write_pool())
        .await
        .unwrap();
    assert_eq!(versions(&read_all(&store, "a").await), [1, 2, 3, 4]);
    assert_eq!(store.get(&a).await.unwrap().unwrap().version, 4);
    store.close().await;
}

#[tokio::test]
async fn global_stream_positions_are_stable_through_a_merge() {
    use machine_persist::store::{EventStream, GlobalPosition, StreamFilter};

    let dir = tempfile::tempdir().unwrap();
    let store = unmerging(&dir.path().join("j.db")).await;
    let batch: Vec<AppendRequest> = (0..6)
        .map(|n| request(&format!("a{n}"), 0, 3).create())
        .collect();
    store.append_batch(&batch).await.unwrap();
    store.append(request("a0", 3, 2)).await.unwrap();
    let stream = |store: SqliteStore| async move {
        let page = store
            .read_all(GlobalPosition::START, 100, &StreamFilter::all())
            .await
            .unwrap();
        page.entries
            .into_iter()
            .map(|entry| (entry.at, entry.event.unwrap()))
            .collect::<Vec<_>>()
    };
    let before = stream(store.clone()).await;
    assert_eq!(
        levels(&store).await,
        (20, 0),
        "everything waits in recent_events"
    );
    // A reader part-way through keeps its place across the merge.
    let halfway = before[9].0;
    store.merge().await.unwrap();
    assert_eq!(levels(&store).await, (0, 20));
    let after = stream(store.clone()).await;
    assert_eq!(
        after, before,
        "a merge moves rows without changing the stream"
    );
    let rest = store
        .read_all(halfway, 100, &StreamFilter::all())
        .await
        .unwrap();
    assert_eq!(rest.entries.len(), 10);
    assert_eq!(rest.entries[0].at, before[10].0);
    // Half merged, half recent: one stream across both levels.
    store.append(request("a1", 3, 1)).await.unwrap();
    let mixed = stream(store.clone()).await;
    assert_eq!(mixed.len(), 21);
    assert_eq!(mixed[..20], after[..]);
    store.close().await;
}

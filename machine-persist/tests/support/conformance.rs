//! The conformance suite: every backend must pass every check here unchanged.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::TryStreamExt;
use machine_core::ActorId;
use machine_core::SerializedCause;
use machine_core::VersionConflict;
use machine_persist::store::{
    ActionClaim, ActionOutcome, ActionProblem, ActionStatus, ActionUpdate, ActorMetadata,
    AppendError, AppendRequest, Catalog, CatalogQuery, ClaimRequest, CommandLog, EventMetadata,
    Fence, Journal, NewAction, NewCommand, NewEvent, NewSnapshot, Outbox, RowResult, SnapshotStore,
    StoreError, StoredAction, StoredEvent, STREAM_PAGE,
};
use machine_persist::PersistError;

// The stream's cases are part of the suite; a binary that instantiates none leaves them unused.
#[allow(unused_imports)]
pub use super::failures::*;
#[allow(unused_imports)]
pub use super::stream::*;
use super::{Backend, Corruptible, Damage};
use crate::fixture::{Account, AccountEvent, AccountTag, Ledger};
use machine_persist::{ActorFilter, Inconsistency, PersistConfig, PersistentSystem, Repository};

fn id(text: &str) -> ActorId {
    ActorId::from(text)
}

/// A fixed instant with microsecond precision (what every backend keeps).
fn at(seconds: i64, micros: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, micros * 1_000)
        .unwrap()
}

fn events(first: u64, count: u64) -> Vec<NewEvent> {
    (first..first + count)
        .map(|n| NewEvent::new(format!("E{n}"), 1, "json", format!(r#"{{"n":{n}}}"#)))
        .collect()
}

/// A request appending `count` events after `expected`.
pub fn request(actor: &str, expected: u64, count: u64) -> AppendRequest {
    AppendRequest::new(
        actor,
        "Order",
        expected,
        format!("S{}", expected + count),
        at(1, 0),
    )
    .with_events(events(expected + 1, count))
}

fn versions(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|event| event.version).collect()
}

fn ids(actors: &[ActorMetadata]) -> Vec<&str> {
    actors.iter().map(|meta| meta.actor_id.as_str()).collect()
}

/// The rows of a listing, every one of which must be readable.
fn readable(rows: Vec<RowResult<ActorMetadata>>) -> Vec<ActorMetadata> {
    rows.into_iter().map(|row| row.unwrap()).collect()
}

fn conflict(actor: &str, expected: u64, actual: u64) -> VersionConflict {
    VersionConflict {
        actor_id: id(actor),
        expected,
        actual,
    }
}

/// Lets the wall clock move on, so successive appends get distinct timestamps.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

pub async fn append_and_read_with_inclusive_bounds_and_max<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = id("a");
    store.append(request("a", 0, 5).create()).await.unwrap();

    let all = store.read(&a, 1, 5, 100).await.unwrap();
    assert_eq!(versions(&all), [1, 2, 3, 4, 5]);
    assert_eq!(all[2].tag, "E3");
    assert_eq!(all[2].payload, br#"{"n":3}"#);
    assert_eq!(all[2].machine_type, "Order");
    assert!(all.iter().all(|event| event.actor_id == a));

    assert_eq!(
        versions(&store.read(&a, 2, 4, 100).await.unwrap()),
        [2, 3, 4]
    );
    assert_eq!(versions(&store.read(&a, 2, 5, 2).await.unwrap()), [2, 3]);
    assert_eq!(versions(&store.read(&a, 5, 5, 1).await.unwrap()), [5]);
    assert_eq!(
        store.read(&a, 0, u64::MAX, usize::MAX).await.unwrap().len(),
        5
    );
    assert!(store.read(&a, 4, 2, 10).await.unwrap().is_empty());
    assert!(store.read(&a, 1, 5, 0).await.unwrap().is_empty());
    assert!(store.read(&a, 6, 9, 10).await.unwrap().is_empty());
    assert_eq!(store.head(&a).await.unwrap(), 5);

    store.append(request("a", 5, 2)).await.unwrap();
    assert_eq!(store.head(&a).await.unwrap(), 7);
    assert_eq!(versions(&store.read(&a, 6, 100, 10).await.unwrap()), [6, 7]);
}

pub async fn unknown_actor_reads_nothing_and_has_head_zero<B: Backend>(backend: &B) {
    let store = backend.store();
    let ghost = id("ghost");
    assert!(store
        .read(&ghost, 0, u64::MAX, 100)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.head(&ghost).await.unwrap(), 0);
    assert_eq!(store.get(&ghost).await.unwrap(), None);
    assert_eq!(store.load_latest(&ghost, None).await.unwrap(), None);
    assert_eq!(store.delete_up_to(&ghost, 10).await.unwrap(), 0);
    assert_eq!(store.keep_last(&ghost, 1).await.unwrap(), 0);
    assert!(!store.delete_actor(&ghost).await.unwrap());
}

pub async fn empty_batch_succeeds<B: Backend>(backend: &B) {
    assert!(backend.store().append_batch(&[]).await.unwrap().is_empty());
}

pub async fn version_conflict_names_expected_and_actual<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = id("a");
    store.append(request("a", 0, 2).create()).await.unwrap();

    let behind = store.append(request("a", 1, 1)).await.unwrap_err();
    assert!(matches!(
        behind,
        PersistError::Conflict(VersionConflict { ref actor_id, expected: 1, actual: 2 })
            if *actor_id == a
    ));
    let ahead = store.append(request("a", 3, 1)).await.unwrap_err();
    assert_eq!(ahead.conflict(), Some(&conflict("a", 3, 2)));
    let unknown = store.append(request("b", 4, 1)).await.unwrap_err();
    assert_eq!(unknown.conflict(), Some(&conflict("b", 4, 0)));

    // Nothing of a refused append is written.
    assert_eq!(store.head(&a).await.unwrap(), 2);
    assert_eq!(store.read(&a, 0, 100, 100).await.unwrap().len(), 2);
    assert_eq!(store.get(&id("b")).await.unwrap(), None);
}

pub async fn create_refuses_a_known_actor<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = id("a");
    store.append(request("a", 0, 0).create()).await.unwrap();
    let again = store.append(request("a", 0, 1).create()).await.unwrap_err();
    assert!(matches!(again, PersistError::AlreadyExists(ref actor_id) if *actor_id == a));
    assert_eq!(store.head(&a).await.unwrap(), 0);

    // Without `create`, the first append registers the actor.
    store.append(request("b", 0, 1)).await.unwrap();
    let b = store.get(&id("b")).await.unwrap().unwrap();
    assert_eq!((b.version, b.machine_type.as_str()), (1, "Order"));
}

pub async fn refusal_in_a_batch_does_not_fail_the_others<B: Backend>(backend: &B) {
    let store = backend.store();
    store.append(request("b", 0, 1).create()).await.unwrap();

    let outcome = store
        .append_batch(&[
            request("a", 0, 2).create(),
            request("b", 0, 1),
            request("c", 0, 1).create(),
            request("b", 0, 0).create(),
            request("d", 0, 3),
        ])
        .await
        .unwrap();
    assert_eq!(
        outcome,
        [
            Ok(()),
            Err(AppendError::Conflict(conflict("b", 0, 1))),
            Ok(()),
            Err(AppendError::AlreadyExists { actor_id: id("b") }),
            Ok(()),
        ]
    );
    assert_eq!(store.head(&id("a")).await.unwrap(), 2);
    assert_eq!(store.head(&id("b")).await.unwrap(), 1);
    assert_eq!(store.head(&id("c")).await.unwrap(), 1);
    assert_eq!(store.head(&id("d")).await.unwrap(), 3);
    assert_eq!(store.read(&id("b"), 0, 10, 10).await.unwrap().len(), 1);
}

/// No lease is current in a fresh store (SQLite and memory keep none at all), so every fenced
/// request is refused, alone and without writing, and the unfenced ones beside it commit.
pub async fn a_fenced_append_without_a_current_lease_is_refused_alone<B: Backend>(backend: &B) {
    let store = backend.store();
    store.append(request("a", 0, 1).create()).await.unwrap();
    let fence = Fence { shard: 0, epoch: 1 };
    let outcome = store
        .append_batch(&[
            request("a", 1, 1).with_fence(fence),
            request("b", 0, 1).create(),
            request("c", 0, 1).create().with_fence(fence),
        ])
        .await
        .unwrap();
    assert_eq!(
        outcome,
        [
            Err(AppendError::Fenced {
                actor_id: id("a"),
                fence
            }),
            Ok(()),
            Err(AppendError::Fenced {
                actor_id: id("c"),
                fence
            }),
        ]
    );
    assert_eq!(store.head(&id("a")).await.unwrap(), 1);
    assert_eq!(store.head(&id("b")).await.unwrap(), 1);
    assert!(store.get(&id("c")).await.unwrap().is_none());
    assert!(store.read(&id("c"), 0, 10, 10).await.unwrap().is_empty());
}

pub async fn requests_for_one_actor_chain_within_a_batch<B: Backend>(backend: &B) {
    let store = backend.store();
    let outcome = store
        .append_batch(&[
            request("a", 0, 2).create(),
            request("b", 0, 1),
            request("a", 2, 1),
            request("a", 2, 1),
            request("a", 3, 2),
        ])
        .await
        .unwrap();
    assert_eq!(
        outcome,
        [
            Ok(()),
            Ok(()),
            Ok(()),
            Err(AppendError::Conflict(conflict("a", 2, 3))),
            Ok(()),
        ]
    );
    let a = id("a");
    let stored = store.read(&a, 0, 100, 100).await.unwrap();
    assert_eq!(versions(&stored), [1, 2, 3, 4, 5]);
    assert_eq!(
        stored
            .iter()
            .map(|event| event.tag.as_str())
            .collect::<Vec<_>>(),
        ["E1", "E2", "E3", "E4", "E5"]
    );
    let meta = store.get(&a).await.unwrap().unwrap();
    assert_eq!((meta.version, meta.state_tag.as_str()), (5, "S5"));
}

pub async fn payload_and_metadata_round_trip_exactly<B: Backend>(backend: &B) {
    let store = backend.store();
    let payloads = [
        r#"{ "b" : 1,  "a": [1, 2.50, 1e3], "a": "dup" }"#,
        "plain text, \"quoted\", tab\t, newline\n, unicode é ✓ 😀, nul-free",
        "",
    ];
    let metadata = EventMetadata::default()
        .with_correlation_id("corr-1")
        .with_causation_id("cause-\"2\"")
        .with_writer_id("node-é");
    let request = AppendRequest::new("a", "Order", 0, "Paid", at(5, 123_456))
        .create()
        .with_events(vec![
            NewEvent::new("Weird", 7, "json", payloads[0]).with_metadata(metadata.clone()),
            NewEvent::new("Text", 0, "json", payloads[1]),
            NewEvent::new("Empty", u32::MAX, "json", payloads[2]),
        ]);
    store.append(request).await.unwrap();
    let stored = store.read(&id("a"), 1, 3, 10).await.unwrap();
    assert_eq!(stored[0].payload, payloads[0].as_bytes());
    assert_eq!(stored[0].metadata, metadata);
    assert_eq!(
        (stored[0].tag.as_str(), stored[0].schema_version),
        ("Weird", 7)
    );
    assert_eq!(stored[1].payload, payloads[1].as_bytes());
    assert_eq!(stored[1].metadata, EventMetadata::default());
    assert_eq!(
        (stored[2].payload.as_slice(), stored[2].schema_version),
        (&b""[..], u32::MAX)
    );
    assert_eq!(stored[0].recorded_at, stored[2].recorded_at);
}

pub async fn retention_keeps_the_head<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = id("a");
    store.append(request("a", 0, 10).create()).await.unwrap();
    assert_eq!(store.delete_up_to(&a, 4).await.unwrap(), 4);
    assert_eq!(store.head(&a).await.unwrap(), 10);
    assert_eq!(store.get(&a).await.unwrap().unwrap().version, 10);
    assert_eq!(
        versions(&store.read(&a, 0, 100, 100).await.unwrap()),
        [5, 6, 7, 8, 9, 10]
    );
    assert_eq!(store.delete_up_to(&a, 4).await.unwrap(), 0);

    // Appends continue from the head, not from what is left.
    let stale = store.append(request("a", 6, 1)).await.unwrap_err();
    assert!(matches!(
        stale,
        PersistError::Conflict(VersionConflict { actual: 10, .. })
    ));
    store.append(request("a", 10, 1)).await.unwrap();
    assert_eq!(store.delete_up_to(&a, u64::MAX).await.unwrap(), 7);
    assert_eq!(store.head(&a).await.unwrap(), 11);
    assert!(store.read(&a, 0, u64::MAX, 100).await.unwrap().is_empty());
}

fn snapshot(version: u64, payload: &str) -> NewSnapshot {
    NewSnapshot::new(
        version,
        format!("S{version}"),
        2,
        "json",
        payload,
        at(version as i64, 654_321),
    )
}

pub async fn snapshots_select_latest_at_most_and_overwrite<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = id("a");
    store.save(&a, snapshot(3, "three")).await.unwrap();
    store.save(&a, snapshot(5, "five")).await.unwrap();
    // Saved late, an older snapshot does not replace the newer one.
    store.save(&a, snapshot(4, "four")).await.unwrap();

    let latest = store.load_latest(&a, None).await.unwrap().unwrap();
    assert_eq!(
        (latest.version, latest.payload.as_slice()),
        (5, &b"five"[..])
    );
    assert_eq!(latest.state_tag, "S5");
    assert_eq!(latest.schema_version, 2);
    assert_eq!(latest.entered_at, at(5, 654_321));
    assert_eq!(latest.actor_id, a);
    assert_eq!(
        store
            .load_latest(&a, Some(4))
            .await
            .unwrap()
            .unwrap()
            .payload,
        b"four"
    );
    assert_eq!(
        store
            .load_latest(&a, Some(5))
            .await
            .unwrap()
            .unwrap()
            .version,
        5
    );
    assert_eq!(
        store
            .load_latest(&a, Some(100))
            .await
            .unwrap()
            .unwrap()
            .version,
        5
    );
    assert_eq!(store.load_latest(&a, Some(2)).await.unwrap(), None);
    assert_eq!(store.load_latest(&id("b"), None).await.unwrap(), None);

    // Saving at the same version overwrites.
    store.save(&a, snapshot(5, "five again")).await.unwrap();
    assert_eq!(
        store.load_latest(&a, None).await.unwrap().unwrap().payload,
        b"five again"
    );
}

pub async fn snapshot_retention<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = id("a");
    for version in 1..=6 {
        store.save(&a, snapshot(version, "s")).await.unwrap();
    }
    assert_eq!(store.keep_last(&a, 2).await.unwrap(), 4);
    assert_eq!(store.keep_last(&a, 2).await.unwrap(), 0);
    assert_eq!(store.load_latest(&a, Some(4)).await.unwrap(), None);
    assert_eq!(
        store
            .load_latest(&a, Some(5))
            .await
            .unwrap()
            .unwrap()
            .version,
        5
    );
    assert_eq!(store.delete_range(&a, 6, 9).await.unwrap(), 1);
    assert_eq!(store.delete_range(&a, 9, 1).await.unwrap(), 0);
    assert_eq!(
        store.load_latest(&a, None).await.unwrap().unwrap().version,
        5
    );
    assert_eq!(store.keep_last(&a, 0).await.unwrap(), 1);
    assert_eq!(store.load_latest(&a, None).await.unwrap(), None);
}

pub async fn snapshot_in_append_is_atomic<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = id("a");
    let genesis = request("a", 0, 0)
        .create()
        .with_snapshot(snapshot(0, "genesis"));
    store.append(genesis).await.unwrap();
    let stored = store.load_latest(&a, None).await.unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.payload.as_slice()),
        (0, &b"genesis"[..])
    );

    // A refused request writes no snapshot.
    let refused = request("a", 0, 0)
        .create()
        .with_snapshot(snapshot(9, "refused"));
    assert!(store.append(refused).await.is_err());
    let conflicting = request("a", 4, 1).with_snapshot(snapshot(5, "conflict"));
    assert!(store.append(conflicting).await.is_err());
    assert_eq!(
        store.load_latest(&a, None).await.unwrap().unwrap().version,
        0
    );

    store
        .append(request("a", 0, 2).with_snapshot(snapshot(2, "two")))
        .await
        .unwrap();
    assert_eq!(
        store.load_latest(&a, None).await.unwrap().unwrap().payload,
        b"two"
    );
}

pub async fn registry_tracks_appends<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = id("a");
    let before = Utc::now() - chrono::TimeDelta::seconds(1);
    let create = AppendRequest::new("a", "Order", 0, "Pending", at(10, 111_111)).create();
    store.append(create).await.unwrap();
    let first = store.get(&a).await.unwrap().unwrap();
    assert_eq!(first.actor_id, a);
    assert_eq!(first.machine_type, "Order");
    assert_eq!(first.version, 0);
    assert_eq!(first.state_tag, "Pending");
    assert_eq!(first.entered_at, at(10, 111_111));
    assert!(first.created_at > before);
    assert!(first.last_activity >= first.created_at);

    tick().await;
    let pay =
        AppendRequest::new("a", "Renamed", 0, "Paid", at(20, 222_222)).with_events(events(1, 2));
    store.append(pay).await.unwrap();
    let second = store.get(&a).await.unwrap().unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(second.state_tag, "Paid");
    assert_eq!(second.entered_at, at(20, 222_222));
    assert_eq!(second.created_at, first.created_at);
    assert_eq!(
        second.machine_type, "Order",
        "the machine type is fixed at creation"
    );
    assert!(second.last_activity > first.last_activity);

    // A refused append changes nothing.
    assert!(store.append(request("a", 0, 1)).await.is_err());
    assert_eq!(store.get(&a).await.unwrap().unwrap(), second);
}

pub async fn registry_filters_and_pages<B: Backend>(backend: &B) {
    let store = backend.store();
    let create = |actor: &str, machine_type: &str, state: &'static str| {
        AppendRequest::new(actor, machine_type, 0, state, at(0, 0)).create()
    };
    store
        .append(create("actor-1", "Order", "Pending"))
        .await
        .unwrap();
    tick().await;
    store
        .append(create("actor-2", "Order", "Paid"))
        .await
        .unwrap();
    tick().await;
    store
        .append(create("actor-3", "Session", "Active"))
        .await
        .unwrap();
    tick().await;
    store
        .append(create("actor-4", "Order", "Shipped"))
        .await
        .unwrap();
    tick().await;
    // Upper case sorts before lower case in byte order, whatever the database's collation.
    store
        .append(create("Zed", "Session", "Active"))
        .await
        .unwrap();
    let pivot = store
        .get(&id("actor-2"))
        .await
        .unwrap()
        .unwrap()
        .last_activity;

    let list = |query: CatalogQuery| async move { readable(store.list(&query).await.unwrap()) };
    assert_eq!(
        ids(&list(CatalogQuery::new()).await),
        ["Zed", "actor-1", "actor-2", "actor-3", "actor-4"]
    );
    assert_eq!(
        ids(&list(CatalogQuery::new().machine_type("Order")).await),
        ["actor-1", "actor-2", "actor-4"]
    );
    assert_eq!(
        ids(&list(CatalogQuery::new().state_in(["Paid", "Shipped"])).await),
        ["actor-2", "actor-4"]
    );
    assert!(list(CatalogQuery::new().state_in(Vec::<String>::new()))
        .await
        .is_empty());
    assert_eq!(
        ids(&list(CatalogQuery::new().state_not_in(["Pending", "Active"])).await),
        ["actor-2", "actor-4"]
    );
    assert_eq!(
        ids(&list(CatalogQuery::new().updated_before(pivot)).await),
        ["actor-1"]
    );
    assert_eq!(
        ids(&list(CatalogQuery::new().updated_after(pivot)).await),
        ["Zed", "actor-3", "actor-4"]
    );
    assert_eq!(
        ids(&list(CatalogQuery::new().limit(2)).await),
        ["Zed", "actor-1"]
    );
    assert_eq!(
        ids(&list(CatalogQuery::new().after("actor-2")).await),
        ["actor-3", "actor-4"]
    );
    assert_eq!(
        ids(&list(CatalogQuery::new().after("actor-2").limit(1)).await),
        ["actor-3"]
    );
    assert!(list(CatalogQuery::new().limit(0)).await.is_empty());
    assert_eq!(
        ids(&list(
            CatalogQuery::new()
                .machine_type("Order")
                .state_not_in(["Shipped"])
                .updated_after(at(0, 0))
        )
        .await),
        ["actor-1", "actor-2"]
    );

    // Paging with `after` visits every actor once.
    let mut seen = Vec::new();
    let mut filter = CatalogQuery::new().limit(2);
    loop {
        let page = list(filter.clone()).await;
        let Some(last) = page.last() else { break };
        filter = filter.after(last.actor_id.clone());
        seen.extend(page.into_iter().map(|meta| meta.actor_id));
    }
    assert_eq!(seen.len(), 5);
}

pub async fn delete_actor_removes_everything<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = id("a");
    store
        .append(request("a", 0, 3).create().with_snapshot(snapshot(3, "s")))
        .await
        .unwrap();
    store.append(request("b", 0, 1).create()).await.unwrap();
    let old_position = store.read(&a, 3, 3, 1).await.unwrap()[0].position;

    assert!(store.delete_actor(&a).await.unwrap());
    assert_eq!(store.head(&a).await.unwrap(), 0);
    assert!(store.read(&a, 0, u64::MAX, 100).await.unwrap().is_empty());
    assert_eq!(store.load_latest(&a, None).await.unwrap(), None);
    assert_eq!(store.get(&a).await.unwrap(), None);
    assert!(!store.delete_actor(&a).await.unwrap());
    assert_eq!(store.head(&id("b")).await.unwrap(), 1);

    // The id can start afresh.
    store.append(request("a", 0, 1).create()).await.unwrap();
    let reborn = store.read(&a, 0, 10, 10).await.unwrap();
    assert_eq!(versions(&reborn), [1]);
    assert!(reborn[0].position > old_position);
}

pub async fn positions_increase_across_actors<B: Backend>(backend: &B) {
    let store = backend.store();
    store.append(request("a", 0, 2).create()).await.unwrap();
    store.append(request("b", 0, 1).create()).await.unwrap();
    store
        .append_batch(&[request("c", 0, 2), request("a", 2, 1), request("b", 1, 1)])
        .await
        .unwrap();
    store.append(request("a", 3, 1)).await.unwrap();

    let read =
        |actor: &'static str| async move { store.read(&id(actor), 0, 10, 10).await.unwrap() };
    let (a, b, c) = (read("a").await, read("b").await, read("c").await);
    let order = [&a[0], &a[1], &b[0], &c[0], &c[1], &a[2], &b[1], &a[3]];
    let positions: Vec<i64> = order.iter().map(|event| event.position).collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "positions must strictly increase in append order: {positions:?}"
    );
}

pub async fn stream_pages_through_a_long_history<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = id("a");
    let total = (STREAM_PAGE * 2 + 17) as u64;
    let mut head = 0;
    while head < total {
        let count = 100.min(total - head);
        store.append(request("a", head, count)).await.unwrap();
        head += count;
    }
    let all: Vec<StoredEvent> = store.stream(&a, 1).try_collect().await.unwrap();
    assert_eq!(versions(&all), (1..=total).collect::<Vec<_>>());
    let tail: Vec<StoredEvent> = store.stream(&a, total - 3).try_collect().await.unwrap();
    assert_eq!(versions(&tail), [total - 3, total - 2, total - 1, total]);
    let none: Vec<StoredEvent> = store.stream(&id("nobody"), 1).try_collect().await.unwrap();
    assert!(none.is_empty());
}

/// Two handles with their own connections race to append to one actor: every version is won by
/// exactly one of them, and the journal has no duplicate and no gap.
pub async fn independent_handles_racing_never_duplicate_or_gap<B: Backend>(backend: &B) {
    const TARGET: u64 = 120;
    store_race_setup(backend).await;
    let race = |store: B::S, writer: &'static str| async move {
        let actor = id("contended");
        let mut wins = 0u64;
        loop {
            let head = store.head(&actor).await.unwrap();
            if head >= TARGET {
                return wins;
            }
            let mut attempt = request("contended", head, 1);
            attempt.events[0].tag = writer.into();
            match store.append(attempt).await {
                Ok(()) => wins += 1,
                Err(PersistError::Conflict(VersionConflict {
                    expected, actual, ..
                })) => {
                    assert!(actual > expected, "a conflict means someone else won");
                }
                Err(error) if error.is_transient() => {}
                Err(error) => panic!("unexpected error: {error}"),
            }
        }
    };
    let one = tokio::spawn(race(backend.store().clone(), "one"));
    let two = tokio::spawn(race(backend.other().clone(), "two"));
    let (one, two) = (one.await.unwrap(), two.await.unwrap());
    let stored = backend
        .store()
        .read(&id("contended"), 0, u64::MAX, usize::MAX)
        .await
        .unwrap();
    assert_eq!(versions(&stored), (1..=TARGET).collect::<Vec<_>>());
    let by_one = stored.iter().filter(|event| event.tag == "one").count() as u64;
    assert_eq!((by_one, stored.len() as u64 - by_one), (one, two));
    assert_eq!(one + two, TARGET);
    assert_eq!(
        backend.other().head(&id("contended")).await.unwrap(),
        TARGET
    );
}

async fn store_race_setup<B: Backend>(backend: &B) {
    backend
        .store()
        .append(AppendRequest::new("contended", "Order", 0, "S0", at(0, 0)).create())
        .await
        .unwrap();
}

/// A malformed metadata column is reported as a typed error naming the actor and version, and
/// does not affect reads of other versions or actors.
#[allow(dead_code)] // the in-memory backend cannot be damaged
pub async fn corrupt_metadata_is_a_typed_error<B: Corruptible>(backend: &B) {
    let store = backend.store();
    store.append(request("a", 0, 3).create()).await.unwrap();
    store.append(request("b", 0, 1).create()).await.unwrap();
    backend
        .damage(Damage::EventMetadata {
            actor: "a",
            version: 2,
            value: r#"{"correlation_id": 5}"#,
        })
        .await;

    let error = store.read(&id("a"), 1, 3, 10).await.unwrap_err();
    match &error {
        StoreError::Corrupt {
            actor_id,
            version,
            column,
            ..
        } => {
            assert_eq!(actor_id.as_str(), "a");
            assert_eq!(*version, Some(2));
            assert_eq!(*column, "metadata");
        }
        other => panic!("expected a corrupt-data error, got {other}"),
    }
    assert!(error.to_string().contains("`a` at version 2"));
    assert!(!error.is_transient());
    assert_eq!(store.read(&id("a"), 1, 1, 10).await.unwrap().len(), 1);
    assert_eq!(store.read(&id("a"), 3, 3, 10).await.unwrap().len(), 1);
    assert_eq!(store.read(&id("b"), 1, 1, 10).await.unwrap().len(), 1);
}

pub async fn bulk_reads_match_single_reads<B: Backend>(backend: &B) {
    let store = backend.store();
    store
        .append_batch(&[request("a", 0, 5), request("b", 0, 3), request("c", 0, 2)])
        .await
        .unwrap()
        .into_iter()
        .for_each(|result| result.unwrap());
    store.save(&id("a"), snapshot(3, "a3")).await.unwrap();
    store.save(&id("a"), snapshot(1, "a1")).await.unwrap();
    store.save(&id("c"), snapshot(2, "c2")).await.unwrap();

    let latest = store
        .load_latest_many(&[id("a"), id("b"), id("c"), id("nobody")])
        .await
        .unwrap();
    let found: Vec<Option<(&str, u64, &[u8])>> = latest
        .iter()
        .map(|s| {
            let s = s.as_ref().unwrap().as_ref()?;
            Some((s.actor_id.as_str(), s.version, s.payload.as_slice()))
        })
        .collect();
    assert_eq!(
        found,
        [
            Some(("a", 3, &b"a3"[..])),
            None,
            Some(("c", 2, &b"c2"[..])),
            None
        ],
        "one result per id, in input order"
    );

    let tails = store
        .read_after_many(&[(id("c"), 2), (id("a"), 3), (id("b"), 0), (id("nobody"), 0)])
        .await
        .unwrap();
    let got: Vec<Vec<(&str, u64)>> = tails
        .iter()
        .map(|tail| {
            tail.as_ref()
                .unwrap()
                .iter()
                .map(|e| (e.actor_id.as_str(), e.version))
                .collect()
        })
        .collect();
    assert_eq!(
        got,
        [
            vec![],
            vec![("a", 4), ("a", 5)],
            vec![("b", 1), ("b", 2), ("b", 3)],
            vec![]
        ],
        "one tail per pair, in input order"
    );
    let single = store.read(&id("a"), 4, u64::MAX, usize::MAX).await.unwrap();
    assert_eq!(
        tails[1].as_ref().unwrap()[0],
        single[0],
        "same rows as a single read"
    );
}

pub async fn a_retried_request_reports_success<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = id("a");
    let first = request("a", 0, 2).create();
    store.append(first.clone()).await.unwrap();
    // The same request again (its answer was lost, say): success, nothing written twice.
    store.append(first.clone()).await.unwrap();
    assert_eq!(store.head(&a).await.unwrap(), 2);
    assert_eq!(
        versions(&store.read(&a, 0, 100, 100).await.unwrap()),
        [1, 2]
    );
    // The latest request of an actor is recognised inside a batch beside new requests too.
    let second = request("a", 2, 1);
    store.append(second.clone()).await.unwrap();
    let outcome = store
        .append_batch(&[second.clone(), request("b", 0, 1)])
        .await
        .unwrap();
    assert_eq!(outcome, [Ok(()), Ok(())]);
    assert_eq!(store.head(&a).await.unwrap(), 3);
    // An older request, once another followed it, is what it looks like now: a conflict.
    assert!(matches!(
        store.append(first.clone()).await.unwrap_err(),
        PersistError::AlreadyExists(_)
    ));
    // Another request at a stored version is still a conflict.
    let other = request("a", 0, 2).create();
    assert!(matches!(
        store.append(other).await.unwrap_err(),
        PersistError::AlreadyExists(_)
    ));
    assert_eq!(
        store
            .append(request("a", 1, 1))
            .await
            .unwrap_err()
            .conflict(),
        Some(&conflict("a", 1, 3))
    );
}

pub async fn names_breaking_the_rule_are_refused_alone<B: Backend>(backend: &B) {
    let store = backend.store();
    let long = "x".repeat(machine_persist::store::MAX_ACTOR_ID_BYTES + 1);
    let mut bad_type = request("typed", 0, 1);
    bad_type.machine_type = "Ord\0er".into();
    let outcome = store
        .append_batch(&[
            request("ok-1", 0, 1),
            request("nul\0id", 0, 1),
            request(&long, 0, 1),
            request("", 0, 1),
            bad_type,
            request("ok-2", 0, 1),
        ])
        .await
        .unwrap();
    assert_eq!(outcome[0], Ok(()));
    assert_eq!(outcome[5], Ok(()));
    for refused in &outcome[1..5] {
        assert!(
            matches!(refused, Err(AppendError::Invalid(_))),
            "{refused:?}"
        );
    }
    assert_eq!(store.head(&id("ok-1")).await.unwrap(), 1);
    assert_eq!(store.head(&id("ok-2")).await.unwrap(), 1);
    // Reads hold ids to the same rule: a typed error, whatever the database would do.
    assert!(matches!(
        store.get(&id("nul\0id")).await,
        Err(StoreError::InvalidId(_))
    ));
    let many = store.get_many(&[id("ok-1"), id("nul\0id")]).await.unwrap();
    assert!(many[0].as_ref().unwrap().is_some());
    assert!(matches!(many[1], Err(StoreError::InvalidId(_))));

    // The same rule at the repository: a typed error before anything is stored.
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    for hostile in ["nul\0id", long.as_str(), ""] {
        assert!(matches!(
            accounts.spawn(hostile, Account::new()).await,
            Err(PersistError::InvalidId(_))
        ));
        assert!(matches!(
            accounts.restore(hostile).await,
            Err(PersistError::InvalidId(_))
        ));
    }
    let _ = system.shutdown().await;
}

fn open_accounts<B: Backend>(backend: &B) -> (PersistentSystem, Repository<Account>) {
    open_accounts_with(backend, PersistConfig::new())
}

/// Accounts whose stops write no snapshot, so their events stay in the tail a restore folds.
fn open_accounts_for_tails<B: Backend>(backend: &B) -> (PersistentSystem, Repository<Account>) {
    open_accounts_with(backend, PersistConfig::new().snapshot_on_stop(false))
}

fn open_accounts_with<B: Backend>(
    backend: &B,
    config: PersistConfig<Account>,
) -> (PersistentSystem, Repository<Account>) {
    let system = PersistentSystem::new(backend.store().clone());
    let accounts = system.repository(config, Ledger::default());
    (system, accounts)
}

async fn spawn_with_deposits(accounts: &Repository<Account>, actor: &str, deposits: u64) {
    let account = accounts.spawn(actor, Account::new()).await.unwrap();
    for _ in 0..deposits {
        let deposit = AccountEvent::Deposit { amount: 1 };
        assert!(account.call(deposit).await.unwrap().is_accepted());
    }
    account.stop().await.unwrap();
}

pub async fn restore_refuses_inconsistent_data<B: Backend>(backend: &B) {
    let store = backend.store();
    let (system, accounts) = open_accounts(backend);
    let inconsistent = |problem: Inconsistency| move |error: PersistError| matches!(error, PersistError::Inconsistent { problem: found, .. } if found == problem);

    // A snapshot above the registry's head.
    spawn_with_deposits(&accounts, "ahead", 2).await;
    let genesis = store
        .load_latest(&id("ahead"), Some(0))
        .await
        .unwrap()
        .unwrap();
    let mut above = NewSnapshot::new(9, "Open", 1, "json", genesis.payload, at(0, 0));
    above.version = 9;
    store.save(&id("ahead"), above).await.unwrap();
    let error = accounts.restore("ahead").await.unwrap_err();
    assert!(
        inconsistent(Inconsistency::SnapshotAhead {
            snapshot: 9,
            registry: 2
        })(error.clone()),
        "{error}"
    );

    // The journal ends before the registry's head (its events deleted, no snapshot covers them).
    spawn_with_deposits(&accounts, "short", 3).await;
    store.keep_last(&id("short"), 0).await.unwrap();
    store
        .save(&id("short"), {
            let mut genesis = genesis_of(store, "ahead").await;
            genesis.version = 0;
            genesis
        })
        .await
        .unwrap();
    store.delete_up_to(&id("short"), 3).await.unwrap();
    let error = accounts.restore("short").await.unwrap_err();
    assert!(
        inconsistent(Inconsistency::Head {
            registry: 3,
            journal: 0
        })(error.clone()),
        "{error}"
    );

    // Snapshots without a registry row.
    store
        .save(&id("orphan"), genesis_of(store, "ahead").await)
        .await
        .unwrap();
    let error = accounts.restore("orphan").await.unwrap_err();
    assert!(
        inconsistent(Inconsistency::Unregistered)(error.clone()),
        "{error}"
    );

    // Another machine type's actor.
    let other = request("other", 0, 0).create();
    store.append(other).await.unwrap();
    assert!(matches!(
        accounts.restore("other").await,
        Err(PersistError::WrongMachineType { ref stored, .. }) if stored == "Order"
    ));

    // The bulk path applies the same checks, actor by actor.
    spawn_with_deposits(&accounts, "fine", 1).await;
    let report = accounts
        .restore_many(["ahead", "short", "orphan", "other", "fine", "nobody"])
        .await;
    let restored: Vec<&str> = report.restored.iter().map(|a| a.id().as_str()).collect();
    assert_eq!(restored, ["fine"]);
    let failed: Vec<(&str, bool)> = report
        .failed
        .iter()
        .map(|(id, error)| {
            let expected = matches!(
                error,
                PersistError::Inconsistent { .. }
                    | PersistError::WrongMachineType { .. }
                    | PersistError::NotFound(_)
            );
            (id.as_str(), expected)
        })
        .collect();
    assert_eq!(failed.len(), 5, "{:?}", report.failed);
    assert!(
        failed.iter().all(|(_, expected)| *expected),
        "{:?}",
        report.failed
    );
    let _ = system.shutdown().await;
}

async fn genesis_of<S: SnapshotStore>(store: &S, actor: &str) -> NewSnapshot {
    let stored = store
        .load_latest(&id(actor), Some(0))
        .await
        .unwrap()
        .unwrap();
    NewSnapshot::new(
        0,
        stored.state_tag,
        1,
        "json",
        stored.payload,
        stored.entered_at,
    )
}

pub async fn events_without_a_snapshot_fold_from_the_initial_state<B: Backend>(backend: &B) {
    let store = backend.store();
    // Written through the journal alone: events, no genesis snapshot.
    let deposit = |amount: u64| {
        NewEvent::new(
            "Deposit",
            1,
            "json",
            format!(r#"{{"Deposit":{{"amount":{amount}}}}}"#),
        )
    };
    let written = AppendRequest::new("bare", "Account", 0, "Open", at(0, 0))
        .create()
        .with_events(vec![deposit(2), deposit(5)]);
    store.append(written).await.unwrap();

    let (system, accounts) = open_accounts(backend);
    assert!(matches!(
        accounts.restore("bare").await,
        Err(PersistError::MissingGenesis(ref id)) if id == "bare"
    ));
    let _ = system.shutdown().await;

    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(
        PersistConfig::<Account>::new().initial_state(|_| Account::new()),
        Ledger::default(),
    );
    let bare = accounts.restore("bare").await.unwrap().unwrap();
    assert_eq!(bare.version().await.unwrap(), 2);
    assert_eq!(bare.state().await.unwrap().balance(), 7);
    assert_eq!(accounts.state_at("bare", 1).await.unwrap().balance(), 2);
    let _ = system.shutdown().await;
}

/// A damaged row fails its own actor, named with version and column, in every bulk read; the
/// actors around it read as usual.
pub async fn a_damaged_row_fails_its_actor_alone_in_bulk_reads<B: Corruptible>(backend: &B) {
    let store = backend.store();
    for actor in ["a", "b", "c"] {
        store
            .append(
                request(actor, 0, 3)
                    .create()
                    .with_snapshot(snapshot(1, "s")),
            )
            .await
            .unwrap();
    }
    backend
        .damage(Damage::EventMetadata {
            actor: "b",
            version: 3,
            value: "not json",
        })
        .await;
    backend
        .damage(Damage::SnapshotTime {
            actor: "c",
            version: 1,
        })
        .await;

    let tails = store
        .read_after_many(&[(id("a"), 1), (id("b"), 1), (id("c"), 1)])
        .await
        .unwrap();
    assert_eq!(versions(tails[0].as_ref().unwrap()), [2, 3]);
    assert!(matches!(
        &tails[1],
        Err(StoreError::Corrupt { actor_id, version: Some(3), column: "metadata", .. })
            if actor_id == "b"
    ));
    assert_eq!(versions(tails[2].as_ref().unwrap()), [2, 3]);

    let latest = store
        .load_latest_many(&[id("a"), id("b"), id("c")])
        .await
        .unwrap();
    assert!(latest[0].as_ref().unwrap().is_some());
    assert!(latest[1].as_ref().unwrap().is_some());
    assert!(matches!(
        &latest[2],
        Err(StoreError::Corrupt { actor_id, version: Some(1), column: "entered_at", .. })
            if actor_id == "c"
    ));
}

/// A registry row that cannot be read is listed as unreadable, under its id; the others list.
pub async fn a_damaged_registry_row_is_listed_as_unreadable<B: Corruptible>(backend: &B) {
    let store = backend.store();
    for actor in ["a", "b", "c", "d"] {
        store.append(request(actor, 0, 1).create()).await.unwrap();
    }
    backend
        .damage(Damage::RegistryHead {
            actor: "b",
            head: -4,
        })
        .await;
    backend
        .damage(Damage::RegistryActivity { actor: "c" })
        .await;
    let rows = store.list(&CatalogQuery::new()).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].as_ref().unwrap().actor_id, "a");
    assert!(matches!(
        &rows[1],
        Err(StoreError::Corrupt { actor_id, column: "head_version", .. }) if actor_id == "b"
    ));
    assert!(matches!(
        &rows[2],
        Err(StoreError::Corrupt { actor_id, column: "last_activity", .. }) if actor_id == "c"
    ));
    assert_eq!(rows[3].as_ref().unwrap().actor_id, "d");
    let many = store.get_many(&[id("d"), id("c"), id("zz")]).await.unwrap();
    assert!(many[0].as_ref().unwrap().is_some());
    assert!(matches!(&many[1], Err(StoreError::Corrupt { actor_id, .. }) if actor_id == "c"));
    assert!(many[2].as_ref().unwrap().is_none());
}

/// Restoring hundreds of actors (more than one chunk) with one damaged event, one damaged
/// snapshot and one damaged registry row: only those three fail, each with its own error.
pub async fn restore_all_fails_only_the_damaged_actors<B: Corruptible>(backend: &B) {
    let (system, accounts) = open_accounts_for_tails(backend);
    let writes: Vec<_> = (0..600)
        .map(|n| {
            let accounts = accounts.clone();
            async move { spawn_with_deposits(&accounts, &format!("acc-{n:03}"), 2).await }
        })
        .collect();
    futures::future::join_all(writes).await;
    let _ = system.shutdown().await;
    backend
        .damage(Damage::EventMetadata {
            actor: "acc-100",
            version: 2,
            value: "][",
        })
        .await;
    backend
        .damage(Damage::SnapshotTime {
            actor: "acc-300",
            version: 0,
        })
        .await;
    backend
        .damage(Damage::RegistryActivity { actor: "acc-550" })
        .await;

    let (system, accounts) = open_accounts(backend);
    let report = accounts.restore_all(ActorFilter::new()).await.unwrap();
    let mut failed: Vec<&str> = report.failed.iter().map(|(id, _)| id.as_str()).collect();
    failed.sort();
    assert_eq!(
        failed,
        ["acc-100", "acc-300", "acc-550"],
        "{:?}",
        report.failed
    );
    assert_eq!(report.restored.len(), 597);
    for (id, error) in &report.failed {
        assert!(error.to_string().contains(id.as_str()), "{id}: {error}");
    }
    let listing = accounts.list(ActorFilter::new()).await.unwrap();
    assert_eq!(listing.actors.len(), 599);
    assert_eq!(listing.unreadable.len(), 1);
    let frozen = accounts
        .list(ActorFilter::new().state_in([AccountTag::Frozen]))
        .await
        .unwrap();
    assert!(frozen.actors.is_empty());
    let _ = system.shutdown().await;
}

/// Negative or impossible heads and a missing last event are errors at restore, never a silent
/// start that conflicts on every call.
pub async fn damaged_heads_and_missing_events_stop_a_restore<B: Corruptible>(backend: &B) {
    let (system, accounts) = open_accounts_for_tails(backend);
    for actor in ["negative", "behind", "missing"] {
        spawn_with_deposits(&accounts, actor, 3).await;
    }
    let _ = system.shutdown().await;
    backend
        .damage(Damage::RegistryHead {
            actor: "negative",
            head: -1,
        })
        .await;
    backend
        .damage(Damage::RegistryHead {
            actor: "behind",
            head: 2,
        })
        .await;
    backend
        .damage(Damage::DeleteEvent {
            actor: "missing",
            version: 3,
        })
        .await;
    let (system, accounts) = open_accounts(backend);
    assert!(matches!(
        accounts.restore("negative").await,
        Err(PersistError::Store(ref error))
            if matches!(**error, StoreError::Corrupt { column: "head_version", .. })
    ));
    assert!(matches!(
        accounts.restore("behind").await,
        Err(PersistError::Inconsistent {
            problem: Inconsistency::Head {
                registry: 2,
                journal: 3
            },
            ..
        })
    ));
    assert!(matches!(
        accounts.restore("missing").await,
        Err(PersistError::Inconsistent {
            problem: Inconsistency::Head {
                registry: 3,
                journal: 2
            },
            ..
        })
    ));
    let _ = system.shutdown().await;
}

/// `history` yields every entry before a bad row, in order, then the bad row's error.
pub async fn history_yields_the_entries_before_a_bad_row<B: Corruptible>(backend: &B) {
    let (system, accounts) = open_accounts_for_tails(backend);
    spawn_with_deposits(&accounts, "h", 5).await;
    backend
        .damage(Damage::EventTime {
            actor: "h",
            version: 4,
        })
        .await;
    let mut history = Box::pin(accounts.history("h", 1..=5));
    let mut good = Vec::new();
    let error = loop {
        match futures::StreamExt::next(&mut history).await {
            Some(Ok(entry)) => good.push(entry.version),
            Some(Err(error)) => break error,
            None => panic!("the bad row must end the history with an error"),
        }
    };
    assert_eq!(good, [1, 2, 3]);
    assert!(
        matches!(&error, PersistError::Store(store) if matches!(**store, StoreError::Corrupt { version: Some(4), column: "recorded_at", .. })),
        "{error}"
    );
    // Time travel and restore of that actor report it too, without a panic.
    assert!(accounts.state_at("h", 5).await.is_err());
    assert!(accounts.restore("h").await.is_err());
    assert_eq!(accounts.state_at("h", 3).await.unwrap().balance(), 3);
    let report = accounts.restore_all(ActorFilter::new()).await.unwrap();
    assert_eq!(report.failed.len(), 1);
    let _ = system.shutdown().await;
}

/// Two persistent systems on two independent handles of one store (two processes) activate the
/// same actor and write concurrently: the optimistic lock lets exactly one writer win each
/// version, the loser gets a conflict and stops, the journal has no duplicate and no gap, and a
/// restore picks up the winner's history.
pub async fn two_systems_racing_on_one_actor_never_duplicate_or_lose_a_version<B: Backend>(
    backend: &B,
) {
    let first = PersistentSystem::new(backend.store().clone());
    let second = PersistentSystem::new(backend.other().clone());
    let a = first.repository(PersistConfig::<Account>::new(), Ledger::default());
    let b = second.repository(PersistConfig::<Account>::new(), Ledger::default());
    let from_a = a.spawn("acc", Account::new()).await.unwrap();
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

    let acc = id("acc");
    let head = backend.store().head(&acc).await.unwrap();
    assert_eq!(
        head,
        a_won + b_won,
        "every acknowledged event is stored, nothing else"
    );
    let stored = backend
        .store()
        .read(&acc, 1, u64::MAX, usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        versions(&stored),
        (1..=head).collect::<Vec<_>>(),
        "contiguous, no duplicate"
    );

    let _ = first.shutdown().await;
    let _ = second.shutdown().await;
    let third = PersistentSystem::new(backend.other().clone());
    let c = third.repository(PersistConfig::<Account>::new(), Ledger::default());
    let restored = c.restore("acc").await.unwrap().unwrap();
    assert_eq!(restored.state().await.unwrap().balance(), head);
    let _ = third.shutdown().await;
}

/// A durable action of request `version`, claimed by `owner` until `until`.
pub fn outbox_action(version: u64, name: &str, owner: &str, until: DateTime<Utc>) -> NewAction {
    NewAction {
        version,
        name: name.to_owned().into(),
        codec: "json".into(),
        payload: format!(r#"{{"cents":{version}}}"#).into_bytes(),
        claim: ActionClaim {
            owner: owner.into(),
            until,
        },
    }
}

/// A claim by `owner` of up to `limit` due `Order` actions, for a minute.
pub fn claim_request(owner: &str, limit: usize) -> ClaimRequest {
    ClaimRequest {
        machine_types: vec!["Order".into()],
        claim: ActionClaim {
            owner: owner.into(),
            until: Utc::now() + chrono::Duration::seconds(60),
        },
        now: Utc::now(),
        limit,
        reclaim_own_before: None,
    }
}

/// The claim a stored action is held under.
pub fn held(action: &StoredAction) -> ActionClaim {
    ActionClaim {
        owner: action.claimed_by.as_str().into(),
        until: action.claimed_until,
    }
}

/// The rows, every one readable.
pub fn stored_actions(rows: Vec<RowResult<StoredAction>>) -> Vec<StoredAction> {
    rows.into_iter().map(|row| row.unwrap()).collect()
}

/// The outbox: actions commit with their events or not at all, a malformed one refuses its
/// request alone, two handles claiming at once take disjoint rows, a record applies only for
/// the claim's holder and only while pending, and a recorded cause round-trips.
pub async fn durable_actions_commit_with_their_events_and_are_claimed_once<B: Backend>(
    backend: &B,
) {
    let store = backend.store();
    let past = Utc::now() - chrono::Duration::seconds(60);
    let accepted = request("a", 0, 2)
        .create()
        .push_action(outbox_action(1, "charge", "gone", past))
        .push_action(outbox_action(2, "charge", "gone", past))
        .push_action(outbox_action(2, "mail", "gone", past));
    let conflicting = request("b", 3, 1).push_action(outbox_action(4, "charge", "gone", past));
    let duplicate = request("c", 0, 1)
        .create()
        .push_action(outbox_action(1, "charge", "gone", past))
        .push_action(outbox_action(1, "charge", "gone", past));
    let outside = request("d", 0, 1)
        .create()
        .push_action(outbox_action(2, "charge", "gone", past));
    let outcome = store
        .append_batch(&[accepted, conflicting, duplicate, outside])
        .await
        .unwrap();
    assert_eq!(outcome[0], Ok(()));
    assert!(matches!(outcome[1], Err(AppendError::Conflict(_))));
    assert!(matches!(
        outcome[2],
        Err(AppendError::InvalidAction {
            problem: ActionProblem::Duplicate(1),
            ..
        })
    ));
    assert!(matches!(
        outcome[3],
        Err(AppendError::InvalidAction {
            problem: ActionProblem::OutsideRequest(2),
            ..
        })
    ));
    for refused in ["b", "c", "d"] {
        assert!(store.actions(&id(refused)).await.unwrap().is_empty());
        assert_eq!(store.head(&id(refused)).await.unwrap(), 0);
    }
    let stored = stored_actions(store.actions(&id("a")).await.unwrap());
    let keys: Vec<String> = stored.iter().map(|a| a.key.to_string()).collect();
    assert_eq!(keys, ["a/1/charge", "a/2/charge", "a/2/mail"]);
    for action in &stored {
        assert_eq!(action.status, ActionStatus::Pending);
        assert_eq!((action.attempts, action.claimed_by.as_str()), (0, "gone"));
        assert_eq!(action.machine_type, "Order");
        assert_eq!(action.last_cause, None);
    }
    assert_eq!(stored[1].payload, br#"{"cents":2}"#);

    // Two handles claim at once: disjoint rows, together all of them, none due again.
    let (p, q) = (claim_request("p", 2), claim_request("q", 3));
    let (first, second) = tokio::join!(store.claim_due(&p), backend.other().claim_due(&q));
    let mut claimed = stored_actions(first.unwrap());
    assert!(claimed.len() <= 2, "a claim takes at most its limit");
    claimed.extend(stored_actions(second.unwrap()));
    let mut claimed_keys: Vec<String> = claimed.iter().map(|a| a.key.to_string()).collect();
    claimed_keys.sort();
    assert_eq!(claimed_keys, keys, "each row claimed once");
    assert!(claimed
        .iter()
        .all(|a| a.claimed_by == "p" || a.claimed_by == "q"));
    assert!(store
        .claim_due(&claim_request("r", 10))
        .await
        .unwrap()
        .is_empty());
    let mut other_type = claim_request("r", 10);
    other_type.machine_types = vec!["Other".into()];
    other_type.now = Utc::now() + chrono::Duration::seconds(120);
    assert!(store.claim_due(&other_type).await.unwrap().is_empty());

    // Only the holder records, under the claim it holds, and only while pending.
    let charge = claimed
        .iter()
        .find(|a| a.key.to_string() == "a/1/charge")
        .unwrap();
    let update = |claim: ActionClaim, key: &StoredAction, outcome, cause| ActionUpdate {
        key: key.key.clone(),
        claim,
        attempts: 1,
        outcome,
        cause,
    };
    let stranger = ActionClaim {
        owner: "stranger".into(),
        ..held(charge)
    };
    assert!(!store
        .record(&update(
            stranger.clone(),
            charge,
            ActionOutcome::Succeeded,
            None
        ))
        .await
        .unwrap());
    let older = ActionClaim {
        until: charge.claimed_until - chrono::Duration::seconds(5),
        ..held(charge)
    };
    assert!(
        !store
            .record(&update(older, charge, ActionOutcome::Succeeded, None))
            .await
            .unwrap(),
        "an older claim of the same holder records nothing"
    );
    assert!(store
        .record(&update(
            held(charge),
            charge,
            ActionOutcome::Succeeded,
            None
        ))
        .await
        .unwrap());
    assert!(!store
        .record(&update(
            held(charge),
            charge,
            ActionOutcome::DeadLettered,
            None
        ))
        .await
        .unwrap());

    // A failed attempt keeps its nested cause and, once its claim ends, is due again.
    let mail = claimed
        .iter()
        .find(|a| a.key.to_string() == "a/2/mail")
        .unwrap();
    let cause = SerializedCause::of(&std::io::Error::other("smtp down"))
        .with_value(serde_json::json!({ "code": 421 }));
    let nested = SerializedCause {
        type_name: Some("MailError".into()),
        message: "mail failed".into(),
        source: Some(Box::new(cause)),
        value: None,
    };
    let retry = ActionOutcome::Retry {
        claim_until: Utc::now() - chrono::Duration::seconds(1),
    };
    assert!(store
        .record(&update(held(mail), mail, retry, Some(nested.clone())))
        .await
        .unwrap());
    let due = stored_actions(store.claim_due(&claim_request("r", 10)).await.unwrap());
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].key.to_string(), "a/2/mail");
    assert_eq!((due[0].attempts, due[0].claimed_by.as_str()), (1, "r"));
    assert_eq!(due[0].last_cause.as_ref(), Some(&nested));

    // A restarted owner takes back the claims of its earlier run (those ending before its
    // cutoff), not newer ones.
    let mut own = claim_request("r", 10);
    own.reclaim_own_before = Some(due[0].claimed_until);
    assert!(
        store.claim_due(&own).await.unwrap().is_empty(),
        "a claim ending at the cutoff is not an earlier run's"
    );
    own.reclaim_own_before = Some(due[0].claimed_until + chrono::Duration::seconds(1));
    let back = stored_actions(store.claim_due(&own).await.unwrap());
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].key.to_string(), "a/2/mail");
    assert!(
        !store
            .record(&update(held(&due[0]), mail, ActionOutcome::Succeeded, None))
            .await
            .unwrap(),
        "the claim taken back replaced the one before"
    );

    let after = stored_actions(store.actions(&id("a")).await.unwrap());
    assert_eq!(after[0].status, ActionStatus::Succeeded);
    assert_eq!(after[0].attempts, 1);
    assert_eq!(after[2].status, ActionStatus::Pending);

    // Many records at once: each as `record` would answer it.
    let second = claimed
        .iter()
        .find(|a| a.key.to_string() == "a/2/charge")
        .unwrap();
    let stranger = ActionClaim {
        owner: "stranger".into(),
        ..held(second)
    };
    let applied = store
        .record_many(&[
            update(stranger, second, ActionOutcome::Succeeded, None),
            update(held(second), second, ActionOutcome::Succeeded, None),
            update(held(second), second, ActionOutcome::DeadLettered, None),
        ])
        .await
        .unwrap();
    assert_eq!(applied, [false, true, false]);
    let after = stored_actions(store.actions(&id("a")).await.unwrap());
    assert_eq!(after[1].status, ActionStatus::Succeeded);

    // Two records of one action in one call apply in order, among records of other actions;
    // a record without a cause keeps the last one.
    let failed = SerializedCause::new("timed out");
    let renewed_until = Utc::now() + chrono::Duration::seconds(60);
    let later = ActionOutcome::Retry {
        claim_until: renewed_until,
    };
    let mut retried = update(held(&back[0]), mail, later, Some(failed.clone()));
    retried.attempts = 2;
    let renewed = ActionClaim {
        until: renewed_until,
        ..held(&back[0])
    };
    let mut succeeded = update(renewed, mail, ActionOutcome::Succeeded, None);
    succeeded.attempts = 3;
    let applied = store
        .record_many(&[
            retried,
            update(held(second), second, ActionOutcome::DeadLettered, None),
            succeeded,
        ])
        .await
        .unwrap();
    assert_eq!(applied, [true, false, true]);
    let after = stored_actions(store.actions(&id("a")).await.unwrap());
    assert_eq!(after[2].key.to_string(), "a/2/mail");
    assert_eq!(
        (after[2].status, after[2].attempts),
        (ActionStatus::Succeeded, 3)
    );
    assert_eq!(after[2].last_cause.as_ref(), Some(&failed));
    assert_eq!(after[1].status, ActionStatus::Succeeded);

    // Records that set the same values are applied together, each under its own claim; one
    // whose claim is not the stored one is refused alone.
    let until = Utc::now() + chrono::Duration::seconds(60);
    let batch = request("g", 0, 3)
        .create()
        .push_action(outbox_action(1, "charge", "p", until))
        .push_action(outbox_action(2, "charge", "p", until))
        .push_action(outbox_action(3, "charge", "p", until));
    assert_eq!(store.append_batch(&[batch]).await.unwrap(), [Ok(())]);
    let stored = stored_actions(store.actions(&id("g")).await.unwrap());
    let mut together: Vec<ActionUpdate> = stored
        .iter()
        .map(|action| update(held(action), action, ActionOutcome::Succeeded, None))
        .collect();
    together[1].claim.until = until + chrono::Duration::seconds(1);
    assert_eq!(
        store.record_many(&together).await.unwrap(),
        [true, false, true]
    );
    let statuses: Vec<ActionStatus> = stored_actions(store.actions(&id("g")).await.unwrap())
        .iter()
        .map(|action| action.status)
        .collect();
    assert_eq!(
        statuses,
        [
            ActionStatus::Succeeded,
            ActionStatus::Pending,
            ActionStatus::Succeeded
        ]
    );

    // Deleting the actor deletes its outbox.
    assert!(store.delete_actor(&id("a")).await.unwrap());
    assert!(store.actions(&id("a")).await.unwrap().is_empty());
}

fn command(version: u64, id: &str, expired_before: DateTime<Utc>) -> NewCommand {
    NewCommand {
        version,
        id: id.to_owned(),
        fingerprint: format!("E{version}:0"),
        expired_before,
    }
}

/// Command ids: recorded with their event, a live one refuses a later request alone (also
/// within one batch), an expired one is replaced, and a retry of the stored request still
/// reports success.
pub async fn command_ids_refuse_repeats_alone_until_they_expire<B: Backend>(backend: &B) {
    let store = backend.store();
    let long_ago = Utc::now() - chrono::Duration::days(1);
    let first = request("a", 0, 1)
        .create()
        .push_command(command(1, "c-1", long_ago));
    store.append(first.clone()).await.unwrap();
    let found = store.find_command(&id("a"), "c-1").await.unwrap().unwrap();
    assert_eq!((found.version, found.fingerprint.as_str()), (1, "E1:0"));
    assert!(store.find_command(&id("a"), "c-2").await.unwrap().is_none());
    // A retry of the stored request is the stored request, not a repeat of its command.
    store.append(first).await.unwrap();

    // A live record refuses the request that repeats it; the rest of the batch commits, and
    // a second request of the batch reusing an id the first one records is refused too.
    let outcome = store
        .append_batch(&[
            request("a", 1, 1).push_command(command(2, "c-1", long_ago)),
            request("b", 0, 1)
                .create()
                .push_command(command(1, "c-1", long_ago)),
            request("b", 1, 1).push_command(command(2, "c-1", long_ago)),
        ])
        .await
        .unwrap();
    assert!(
        matches!(&outcome[0], Err(AppendError::DuplicateCommand { command_id, .. }) if command_id == "c-1"),
        "{outcome:?}"
    );
    assert_eq!(outcome[1], Ok(()), "the id is per actor");
    assert!(matches!(
        &outcome[2],
        Err(AppendError::DuplicateCommand { .. })
    ));
    assert_eq!(store.head(&id("a")).await.unwrap(), 1);
    assert_eq!(store.head(&id("b")).await.unwrap(), 1);

    // Once expired (recorded before the request's cutoff) the id is free, and replaced.
    let later = Utc::now() + chrono::Duration::seconds(5);
    store
        .append(request("a", 1, 1).push_command(command(2, "c-1", later)))
        .await
        .unwrap();
    let replaced = store.find_command(&id("a"), "c-1").await.unwrap().unwrap();
    assert_eq!(replaced.version, 2);
    assert!(store.delete_actor(&id("a")).await.unwrap());
    assert!(store.find_command(&id("a"), "c-1").await.unwrap().is_none());
}

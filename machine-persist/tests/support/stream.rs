//! Conformance of the global stream and the checkpoint store: every backend must pass these
//! unchanged (they are instantiated through `all_conformance_tests!`).

use std::collections::HashMap;
use std::time::Duration;

use machine_core::ActorId;
use machine_persist::store::{
    AppendRequest, CheckpointStore, EventStream, GlobalPosition, Journal, StoreError, StoredEvent,
    StreamFilter, StreamPage,
};

use super::conformance::request;
use super::{Backend, Corruptible, Damage};

/// The `expected` events after `after` passing `filter`, read `page` at a time, and proof that
/// there is no other: the read that finds the last one, or the one after it, is not full.
///
/// Waits for them (at most 30 s): a committed event shows in the stream once it is final, which
/// on Postgres is when every older transaction of the server has ended.
pub async fn read_everything<S: EventStream>(
    store: &S,
    after: GlobalPosition,
    page: usize,
    filter: &StreamFilter,
    expected: usize,
) -> Vec<(GlobalPosition, StoredEvent)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut at = after;
    let mut seen = Vec::new();
    loop {
        let StreamPage { entries, through } = store.read_all(at, page, filter).await.unwrap();
        assert!(
            through >= at,
            "a page never moves backwards: {through} < {at}"
        );
        assert!(entries.len() <= page);
        let full = entries.len() == page;
        for entry in entries {
            assert!(
                entry.at > at && entry.at <= through,
                "entries lie in (after, through]"
            );
            assert_eq!(entry.at.position(), entry.event.as_ref().unwrap().position);
            seen.push((entry.at, entry.event.unwrap()));
        }
        at = through;
        if seen.len() >= expected && !full {
            assert_eq!(seen.len(), expected, "more events than expected: {seen:?}");
            return seen;
        }
        if !full {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {expected} events showed in the stream",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn tagged(actor: &str, machine_type: &str, expected: u64, tags: &[&str]) -> AppendRequest {
    let mut append = request(actor, expected, tags.len() as u64);
    append.machine_type = machine_type.into();
    for (event, tag) in append.events.iter_mut().zip(tags) {
        event.tag = (*tag).to_owned().into();
    }
    if expected == 0 {
        append = append.create();
    }
    append
}

pub async fn global_stream_of_an_empty_store_is_empty<B: Backend>(backend: &B) {
    let store = backend.store();
    assert_eq!(store.stream_head().await.unwrap(), GlobalPosition::START);
    let page = store
        .read_all(GlobalPosition::START, 10, &StreamFilter::all())
        .await
        .unwrap();
    assert!(page.entries.is_empty());
    assert!(page.through >= GlobalPosition::START);
    let nothing = store
        .read_all(GlobalPosition::START, 0, &StreamFilter::all())
        .await
        .unwrap();
    assert!(nothing.entries.is_empty());
    assert_eq!(
        nothing.through,
        GlobalPosition::START,
        "max 0 covers nothing"
    );
}

pub async fn global_stream_has_every_event_once_in_commit_order<B: Backend>(backend: &B) {
    let store = backend.store();
    store.append(request("a", 0, 2).create()).await.unwrap();
    store.append(request("b", 0, 1).create()).await.unwrap();
    store
        .append_batch(&[
            request("c", 0, 2).create(),
            request("a", 2, 1),
            request("b", 1, 1),
        ])
        .await
        .unwrap();
    // A refused request leaves no trace in the stream.
    let refused = store.append(request("a", 0, 1)).await;
    assert!(refused.is_err());
    store.append(request("a", 3, 1)).await.unwrap();

    let all = read_everything(store, GlobalPosition::START, 100, &StreamFilter::all(), 8).await;
    let order: Vec<(&str, u64)> = all
        .iter()
        .map(|(_, event)| (event.actor_id.as_str(), event.version))
        .collect();
    assert_eq!(
        order,
        [
            ("a", 1),
            ("a", 2),
            ("b", 1),
            ("c", 1),
            ("c", 2),
            ("a", 3),
            ("b", 2),
            ("a", 4)
        ],
        "the stream is in commit order, each actor in version order"
    );
    assert!(all.windows(2).all(|pair| pair[0].0 < pair[1].0));
    // The stream's events are the journal's, field for field.
    for (_, event) in &all {
        let stored = store
            .read(&event.actor_id, event.version, event.version, 1)
            .await
            .unwrap();
        assert_eq!(stored.as_slice(), std::slice::from_ref(event));
    }
    assert_eq!(store.stream_head().await.unwrap(), all.last().unwrap().0);
    // Any page size reads the same stream.
    for page in [1, 2, 3, 7] {
        let paged =
            read_everything(store, GlobalPosition::START, page, &StreamFilter::all(), 8).await;
        assert_eq!(paged, all, "page size {page}");
    }
    // Another handle sees the same order.
    let other = read_everything(
        backend.other(),
        GlobalPosition::START,
        4,
        &StreamFilter::all(),
        8,
    )
    .await;
    assert_eq!(other, all);
}

pub async fn global_stream_pages_resume_after_any_bound<B: Backend>(backend: &B) {
    let store = backend.store();
    for actor in ["a", "b", "c"] {
        store.append(request(actor, 0, 3).create()).await.unwrap();
    }
    let all = read_everything(store, GlobalPosition::START, 100, &StreamFilter::all(), 9).await;
    for (index, (at, _)) in all.iter().enumerate() {
        let rest = read_everything(store, *at, 100, &StreamFilter::all(), 8 - index).await;
        assert_eq!(rest, all[index + 1..], "after the event at {index}");
    }
    let first_two = store
        .read_all(GlobalPosition::START, 2, &StreamFilter::all())
        .await
        .unwrap();
    assert_eq!(first_two.entries.len(), 2);
    assert_eq!(
        first_two.through, all[1].0,
        "a full page ends at its last event"
    );
    let past_end = store
        .read_all(GlobalPosition::END, 10, &StreamFilter::all())
        .await
        .unwrap();
    assert!(past_end.entries.is_empty());
    assert_eq!(past_end.through, GlobalPosition::END);
    // Events appended after a reader reached the head come after it.
    store.append(request("a", 3, 1)).await.unwrap();
    let later = read_everything(store, all[8].0, 100, &StreamFilter::all(), 1).await;
    assert_eq!((later[0].1.actor_id.as_str(), later[0].1.version), ("a", 4));
}

pub async fn global_stream_filters_by_machine_type_and_tag<B: Backend>(backend: &B) {
    let store = backend.store();
    store
        .append_batch(&[
            tagged("o1", "Order", 0, &["Placed", "Paid"]),
            tagged("x1", "Account", 0, &["Opened", "Paid"]),
            tagged("o2", "Order", 0, &["Placed"]),
        ])
        .await
        .unwrap();
    store
        .append(tagged("o1", "Order", 2, &["Shipped"]))
        .await
        .unwrap();
    let names = |events: &[(GlobalPosition, StoredEvent)]| -> Vec<(String, String)> {
        events
            .iter()
            .map(|(_, event)| (event.actor_id.to_string(), event.tag.clone()))
            .collect()
    };
    let pair = |actor: &str, tag: &str| (actor.to_owned(), tag.to_owned());
    let orders = StreamFilter::all().machine_type("Order");
    assert_eq!(
        names(&read_everything(store, GlobalPosition::START, 2, &orders, 4).await),
        [
            pair("o1", "Placed"),
            pair("o1", "Paid"),
            pair("o2", "Placed"),
            pair("o1", "Shipped")
        ]
    );
    let paid = StreamFilter::all().tag("Paid");
    assert_eq!(
        names(&read_everything(store, GlobalPosition::START, 1, &paid, 2).await),
        [pair("o1", "Paid"), pair("x1", "Paid")]
    );
    let paid_orders = StreamFilter::all()
        .machine_type("Order")
        .tag("Paid")
        .tag("Shipped");
    assert_eq!(
        names(&read_everything(store, GlobalPosition::START, 10, &paid_orders, 2).await),
        [pair("o1", "Paid"), pair("o1", "Shipped")]
    );
    let both_types = StreamFilter::all()
        .machine_type("Order")
        .machine_type("Account");
    read_everything(store, GlobalPosition::START, 3, &both_types, 6).await;
    // A filter that admits nothing still moves the reader past what it covered.
    let none = StreamFilter::all().machine_type("Nobody");
    let head = read_everything(store, GlobalPosition::START, 10, &StreamFilter::all(), 6).await;
    let head = head.last().unwrap().0;
    let page = store
        .read_all(GlobalPosition::START, 10, &none)
        .await
        .unwrap();
    assert!(page.entries.is_empty());
    assert!(
        page.through >= head,
        "{} covers the head {head}",
        page.through
    );
    store
        .append(tagged("n1", "Nobody", 0, &["Hello"]))
        .await
        .unwrap();
    read_everything(store, page.through, 10, &none, 1).await;
}

/// Two handles with their own connections append to many actors at once while a reader follows
/// the stream: the reader sees every committed event exactly once, each actor in version order.
pub async fn global_stream_follows_writers_racing_on_two_handles<B: Backend>(backend: &B) {
    const ACTORS: u64 = 8;
    const ROUNDS: u64 = 25;
    let write = |store: B::S, prefix: &'static str| async move {
        for round in 0..ROUNDS {
            let batch: Vec<AppendRequest> = (0..ACTORS)
                .map(|n| {
                    let append = request(&format!("{prefix}{n}"), round * 2, 2);
                    if round == 0 {
                        append.create()
                    } else {
                        append
                    }
                })
                .collect();
            loop {
                match store.append_batch(&batch).await {
                    Ok(outcome) => {
                        assert!(outcome.iter().all(Result::is_ok), "{outcome:?}");
                        break;
                    }
                    Err(error) if error.is_transient() => continue,
                    Err(error) => panic!("append failed: {error}"),
                }
            }
        }
    };
    let one = tokio::spawn(write(backend.store().clone(), "one-"));
    let two = tokio::spawn(write(backend.other().clone(), "two-"));
    let reader = backend.store().clone();
    let follow = tokio::spawn(async move {
        let total = (2 * ACTORS * ROUNDS * 2) as usize;
        let mut at = GlobalPosition::START;
        let mut seen: Vec<StoredEvent> = Vec::new();
        while seen.len() < total {
            let page = match reader.read_all(at, 7, &StreamFilter::all()).await {
                Ok(page) => page,
                Err(error) if error.is_transient() => continue,
                Err(error) => panic!("read failed: {error}"),
            };
            seen.extend(page.entries.into_iter().map(|entry| entry.event.unwrap()));
            at = page.through;
            tokio::task::yield_now().await;
        }
        seen
    });
    one.await.unwrap();
    two.await.unwrap();
    let seen = follow.await.unwrap();
    let mut next: HashMap<String, u64> = HashMap::new();
    for event in &seen {
        let expected = next.entry(event.actor_id.to_string()).or_insert(1);
        assert_eq!(
            event.version, *expected,
            "{} out of order or skipped",
            event.actor_id
        );
        *expected += 1;
    }
    assert_eq!(next.len() as u64, 2 * ACTORS);
    assert!(next
        .values()
        .all(|&after_last| after_last == ROUNDS * 2 + 1));
    let again = read_everything(
        backend.store(),
        GlobalPosition::START,
        50,
        &StreamFilter::all(),
        seen.len(),
    )
    .await;
    let again: Vec<StoredEvent> = again.into_iter().map(|(_, event)| event).collect();
    assert_eq!(
        again, seen,
        "a later reader sees the order the live reader saw"
    );
}

pub async fn checkpoints_round_trip_by_name<B: Backend>(backend: &B) {
    let store = backend.store();
    assert_eq!(store.load_checkpoint("orders").await.unwrap(), None);
    let at = GlobalPosition::from_parts(3, 17).unwrap();
    store.save_checkpoint("orders", at).await.unwrap();
    store
        .save_checkpoint("other", GlobalPosition::START)
        .await
        .unwrap();
    assert_eq!(store.load_checkpoint("orders").await.unwrap(), Some(at));
    assert_eq!(
        backend.other().load_checkpoint("orders").await.unwrap(),
        Some(at)
    );
    let later = GlobalPosition::from_parts(4, 1).unwrap();
    store.save_checkpoint("orders", later).await.unwrap();
    assert_eq!(store.load_checkpoint("orders").await.unwrap(), Some(later));
    assert!(store.delete_checkpoint("orders").await.unwrap());
    assert!(!store.delete_checkpoint("orders").await.unwrap());
    assert_eq!(store.load_checkpoint("orders").await.unwrap(), None);
    assert_eq!(
        store.load_checkpoint("other").await.unwrap(),
        Some(GlobalPosition::START)
    );
    assert!(matches!(
        store.load_checkpoint("").await,
        Err(StoreError::InvalidName { .. })
    ));
}

/// Retention never deletes an event a registered projection (one with a checkpoint) has not
/// passed; it does once every checkpoint is past it.
pub async fn retention_keeps_what_a_projection_has_not_passed<B: Backend>(backend: &B) {
    let store = backend.store();
    let a = ActorId::from("a");
    store.append(request("a", 0, 6).create()).await.unwrap();
    let all = read_everything(store, GlobalPosition::START, 100, &StreamFilter::all(), 6).await;
    // One projection has passed version 2, another version 4.
    store.save_checkpoint("slow", all[1].0).await.unwrap();
    store.save_checkpoint("fast", all[3].0).await.unwrap();
    assert_eq!(store.delete_up_to(&a, 5).await.unwrap(), 2);
    let left: Vec<u64> = store
        .read(&a, 0, 10, 10)
        .await
        .unwrap()
        .iter()
        .map(|event| event.version)
        .collect();
    assert_eq!(left, [3, 4, 5, 6], "what `slow` has not read stays");
    store.save_checkpoint("slow", all[5].0).await.unwrap();
    assert_eq!(
        store.delete_up_to(&a, 5).await.unwrap(),
        2,
        "up to `fast`'s checkpoint"
    );
    assert!(store.delete_checkpoint("fast").await.unwrap());
    assert_eq!(store.delete_up_to(&a, 5).await.unwrap(), 1);
    let left: Vec<u64> = store
        .read(&a, 0, 10, 10)
        .await
        .unwrap()
        .iter()
        .map(|event| event.version)
        .collect();
    assert_eq!(left, [6]);
    assert_eq!(store.head(&a).await.unwrap(), 6);
    // The stream shows what is left, from where each projection stands.
    let rest = read_everything(store, all[1].0, 100, &StreamFilter::all(), 1).await;
    assert_eq!(rest[0].1.version, 6);
}

/// A damaged row is its own typed error at its place in the stream: the rows around it read
/// normally, and nothing is skipped.
#[allow(dead_code)] // the in-memory backend cannot be damaged
pub async fn a_damaged_row_is_an_error_in_its_place_in_the_stream<B: Corruptible>(backend: &B) {
    let store = backend.store();
    store.append(request("a", 0, 3).create()).await.unwrap();
    read_everything(store, GlobalPosition::START, 10, &StreamFilter::all(), 3).await;
    backend
        .damage(Damage::EventTime {
            actor: "a",
            version: 2,
        })
        .await;
    let page = store
        .read_all(GlobalPosition::START, 10, &StreamFilter::all())
        .await
        .unwrap();
    assert_eq!(page.entries.len(), 3);
    assert_eq!(page.entries[0].event.as_ref().unwrap().version, 1);
    match &page.entries[1].event {
        Err(StoreError::Corrupt {
            actor_id,
            version,
            column,
            ..
        }) => assert_eq!(
            (actor_id.as_str(), *version, *column),
            ("a", Some(2), "recorded_at")
        ),
        other => panic!("expected the damaged row as corrupt, got {other:?}"),
    }
    assert_eq!(page.entries[2].event.as_ref().unwrap().version, 3);
}

//! The Postgres global stream under transactions that commit out of position order: an event
//! whose transaction is still open holds back every later commit group, so a reader can never
//! pass it and find it behind itself later.
//!
//! The server comes from `MACHINE_TEST_POSTGRES_URL`; without one the tests print a skip line
//! (a failure under `CI=true`).

#![cfg(feature = "postgres")]

use std::time::Duration;

use chrono::Utc;
use machine_persist::store::{
    AppendRequest, EventStream, GlobalPosition, Journal, NewEvent, StreamFilter,
};
use machine_persist::PostgresStore;
use sqlx::{Connection, Executor, PgConnection};

mod fixture;
#[macro_use]
mod support;

fn create(actor: &str) -> AppendRequest {
    AppendRequest::new(actor, "M", 0, "S", Utc::now())
        .create()
        .push_event(NewEvent::new("E", 1, "json", "{}"))
}

/// A transaction, on its own connection, that inserts one event of `actor` and stays open.
async fn open_insert(store: &PostgresStore, actor: &str) -> PgConnection {
    let options = store.pool().connect_options();
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    conn.execute(format!("SET search_path TO {}", store.schema()).as_str())
        .await
        .unwrap();
    conn.execute("BEGIN").await.unwrap();
    sqlx::query(
        "INSERT INTO events
             (actor_id, version, machine_type, tag, schema_version, codec, payload, metadata,
              recorded_at)
         VALUES ($1, 1, 'M', 'E', 1, 'json', '{}', '{}', now())",
    )
    .bind(actor)
    .execute(&mut conn)
    .await
    .unwrap();
    conn
}

/// Every event after `after`, once the stream shows `count` of them (at most 30 s).
async fn actors_after(store: &PostgresStore, after: GlobalPosition, count: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let page = store
            .read_all(after, 100, &StreamFilter::all())
            .await
            .unwrap();
        if page.entries.len() >= count {
            return page
                .entries
                .into_iter()
                .map(|entry| entry.event.unwrap().actor_id.to_string())
                .collect();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream never showed {count}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn not_visible_while_open(store: &PostgresStore, after: GlobalPosition) {
    // However long the reader waits, the later commit stays behind the open transaction.
    for _ in 0..5 {
        let page = store
            .read_all(after, 100, &StreamFilter::all())
            .await
            .unwrap();
        assert!(
            page.entries.is_empty(),
            "an event past an open transaction was shown: {:?}",
            page.entries
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_later_commit_waits_for_an_earlier_open_transaction() {
    let Some(store) = support::pg::open("postgres_stream", |options| options).await else {
        return;
    };
    store.append(create("first")).await.unwrap();
    let start = actors_after(&store, GlobalPosition::START, 1).await;
    assert_eq!(start, ["first"]);
    let after_first = store.stream_head().await.unwrap();

    // `slow` takes its position first and commits last; `fast` commits in between.
    let mut slow = open_insert(&store, "slow").await;
    store.append(create("fast")).await.unwrap();
    not_visible_while_open(&store, after_first).await;
    slow.execute("COMMIT").await.unwrap();

    // Both show, and in one order for every reader: nothing was passed before it was final.
    assert_eq!(actors_after(&store, after_first, 2).await, ["slow", "fast"]);
    assert_eq!(
        actors_after(&store, GlobalPosition::START, 3).await,
        ["first", "slow", "fast"]
    );
    slow.close().await.unwrap();
    support::pg::teardown(store).await;
}

#[tokio::test]
async fn a_rolled_back_transaction_releases_the_stream_and_leaves_no_event() {
    let Some(store) = support::pg::open("postgres_stream", |options| options).await else {
        return;
    };
    let mut doomed = open_insert(&store, "doomed").await;
    store.append(create("kept")).await.unwrap();
    not_visible_while_open(&store, GlobalPosition::START).await;
    doomed.execute("ROLLBACK").await.unwrap();
    assert_eq!(
        actors_after(&store, GlobalPosition::START, 1).await,
        ["kept"]
    );
    doomed.close().await.unwrap();
    support::pg::teardown(store).await;
}

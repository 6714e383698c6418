//! SQLite's attempt records of durable actions are written on the write connection switched to
//! `synchronous = NORMAL` for their transaction (no flush of their own), and the connection is
//! given back its configured durability at once, so the journal's commits stay flushed.

#![cfg(feature = "sqlite")]

use chrono::Utc;
use machine_core::IdempotencyKey;
use machine_persist::store::{
    ActionClaim, ActionOutcome, ActionStatus, ActionUpdate, AppendRequest, Journal, NewAction,
    NewEvent, Outbox,
};
use machine_persist::{SqliteOptions, SqliteStore, Synchronous};

/// `synchronous` of the write connection (2 is `FULL`, 1 is `NORMAL`).
async fn writer_synchronous(store: &SqliteStore) -> i64 {
    sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.write_pool())
        .await
        .unwrap()
}

/// Appends one event of `actor` with a durable action claimed by `owner`, and records its
/// success; returns the store's answer.
async fn append_and_record(store: &SqliteStore, actor: &str, owner: &str) -> bool {
    let request = AppendRequest::new(actor, "Order", 0, "S", Utc::now())
        .create()
        .with_events(vec![NewEvent::new("E1", 1, "json", "{}")])
        .push_action(NewAction {
            version: 1,
            name: "charge".into(),
            codec: "json".into(),
            payload: b"{}".to_vec(),
            claim: ActionClaim {
                owner: owner.into(),
                until: Utc::now() + chrono::Duration::seconds(60),
            },
        });
    store.append(request).await.unwrap();
    let update = ActionUpdate {
        key: IdempotencyKey::new(actor.into(), 1, "charge"),
        owner: owner.into(),
        attempts: 1,
        outcome: ActionOutcome::Succeeded,
        cause: None,
    };
    store.record_many(&[update]).await.unwrap()[0]
}

#[tokio::test]
async fn recording_attempts_gives_the_writer_back_its_durability() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("full.db")).await.unwrap();
    assert_eq!(writer_synchronous(&store).await, 2);
    assert!(append_and_record(&store, "a", "d").await);
    assert_eq!(writer_synchronous(&store).await, 2, "the writer stays FULL");
    let actions = store.actions(&"a".into()).await.unwrap();
    assert_eq!(actions[0].as_ref().unwrap().status, ActionStatus::Succeeded);

    // A store opened with `NORMAL` keeps it.
    let options =
        SqliteOptions::file(dir.path().join("normal.db")).synchronous(Synchronous::Normal);
    let store = SqliteStore::with_options(options).await.unwrap();
    assert!(append_and_record(&store, "a", "d").await);
    assert_eq!(writer_synchronous(&store).await, 1);
}

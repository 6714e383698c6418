//! SQLite's outbox: attempt records of durable actions are written on the write connection
//! switched to `synchronous = NORMAL` for their transaction (no flush of their own), and the
//! connection is given back its configured durability at once, so the journal's commits stay
//! flushed; new actions are appended to an insertion-ordered level that the journal's merge
//! moves into the keyed table, and every outbox query finds a row in either level.

#![cfg(feature = "sqlite")]

use chrono::Utc;
use machine_core::IdempotencyKey;
use machine_persist::store::{
    ActionClaim, ActionOutcome, ActionStatus, ActionUpdate, AppendRequest, Catalog, ClaimRequest,
    FailedEffect, Journal, NewAction, NewEvent, Outbox,
};
use machine_persist::{SqliteOptions, SqliteStore, Synchronous};

/// `synchronous` of the write connection (2 is `FULL`, 1 is `NORMAL`).
async fn writer_synchronous(store: &SqliteStore) -> i64 {
    sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.write_pool())
        .await
        .unwrap()
}

/// Appends one event of `actor` with a durable action claimed by `owner`; returns the claim.
async fn append_action(store: &SqliteStore, actor: &str, owner: &str) -> ActionClaim {
    let claim = ActionClaim {
        owner: owner.into(),
        until: Utc::now() + chrono::Duration::seconds(60),
    };
    let request = AppendRequest::new(actor, "Order", 0, "S", Utc::now())
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
    claim
}

/// The record of a successful first attempt of `actor`'s action under `claim`.
fn success(actor: &str, claim: ActionClaim) -> ActionUpdate {
    ActionUpdate {
        key: IdempotencyKey::new(actor.into(), 1, "charge"),
        claim,
        attempts: 1,
        outcome: ActionOutcome::Succeeded,
        cause: None,
    }
}

/// Appends one event of `actor` with a durable action claimed by `owner`, and records its
/// success; returns the store's answer.
async fn append_and_record(store: &SqliteStore, actor: &str, owner: &str) -> bool {
    let claim = append_action(store, actor, owner).await;
    store.record_many(&[success(actor, claim)]).await.unwrap()[0]
}

/// How many rows each outbox level holds: (`recent_actions`, `durable_actions`).
async fn levels(store: &SqliteStore) -> (i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM recent_actions), (SELECT count(*) FROM durable_actions)",
    )
    .fetch_one(store.write_pool())
    .await
    .unwrap()
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

#[tokio::test]
async fn actions_are_found_in_either_level_and_the_merge_moves_them_all() {
    let dir = tempfile::tempdir().unwrap();
    // Wide batches (more than one actor) go to the recent levels.
    let options = SqliteOptions::file(dir.path().join("levels.db")).eager_merge_actors(0);
    let store = SqliteStore::with_options(options).await.unwrap();
    let recorded = append_action(&store, "a", "d").await;
    let claimed = append_action(&store, "b", "d").await;
    let merged = append_action(&store, "c", "d").await;
    assert_eq!(levels(&store).await, (3, 0), "appended to the recent level");

    // A record finds its row in the recent level; then the merge moves every row, pending or
    // not, and a record finds the moved row in the keyed level.
    assert_eq!(
        store
            .record_many(&[success("a", recorded.clone())])
            .await
            .unwrap(),
        [true]
    );
    store.merge().await.unwrap();
    assert_eq!(levels(&store).await, (0, 3));
    assert_eq!(
        store.record_many(&[success("c", merged)]).await.unwrap(),
        [true]
    );
    let status = |actor: &'static str| {
        let store = store.clone();
        async move {
            let rows = store.actions(&actor.into()).await.unwrap();
            rows[0].as_ref().unwrap().status
        }
    };
    assert_eq!(status("a").await, ActionStatus::Succeeded);
    assert_eq!(status("b").await, ActionStatus::Pending);
    assert_eq!(status("c").await, ActionStatus::Succeeded);

    // Claims take due rows from both levels, oldest first within each.
    let fresh = append_action(&store, "e", "d").await;
    assert_eq!(levels(&store).await, (1, 3));
    let late = ClaimRequest {
        machine_types: vec!["Order".into()],
        claim: ActionClaim {
            owner: "late".into(),
            until: Utc::now() + chrono::Duration::seconds(600),
        },
        now: fresh.until + chrono::Duration::seconds(1),
        limit: 10,
        reclaim_own_before: None,
    };
    let taken = store.claim_due(&late).await.unwrap();
    let mut keys: Vec<String> = taken
        .iter()
        .map(|row| row.as_ref().unwrap().key.to_string())
        .collect();
    keys.sort();
    assert_eq!(keys, ["b/1/charge", "e/1/charge"]);
    assert!(
        !store.record_many(&[success("b", claimed)]).await.unwrap()[0],
        "the claim taken over replaced the old one"
    );

    // A failed plain effect is not recorded under the key of an unmerged action.
    let failure = FailedEffect {
        key: IdempotencyKey::new("e".into(), 1, "charge"),
        machine_type: "Order".into(),
        cause: machine_core::SerializedCause::new("x"),
    };
    assert!(!store.record_failure(&failure).await.unwrap());

    // Deleting an actor deletes its rows in both levels.
    assert!(store.delete_actor(&"e".into()).await.unwrap());
    assert!(store.delete_actor(&"a".into()).await.unwrap());
    assert_eq!(levels(&store).await, (0, 2));
}

/// One round of records whose actions are spread over both levels, with one refused among
/// them: each statement changes fewer rows than it is given, so which applied is read back,
/// level by level.
#[tokio::test]
async fn a_round_tells_what_it_applied_in_each_level() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions::file(dir.path().join("round.db")).eager_merge_actors(0);
    let store = SqliteStore::with_options(options).await.unwrap();
    let merged = append_action(&store, "x", "d").await;
    store.merge().await.unwrap();
    let recent = append_action(&store, "y", "d").await;
    let stale = ActionClaim {
        until: append_action(&store, "z", "d").await.until + chrono::Duration::seconds(1),
        ..recent.clone()
    };
    assert_eq!(levels(&store).await, (2, 1));
    let applied = store
        .record_many(&[
            success("x", merged),
            success("y", recent),
            success("z", stale),
        ])
        .await
        .unwrap();
    assert_eq!(applied, [true, true, false]);
    for (actor, status) in [
        ("x", ActionStatus::Succeeded),
        ("y", ActionStatus::Succeeded),
        ("z", ActionStatus::Pending),
    ] {
        let rows = store.actions(&actor.into()).await.unwrap();
        assert_eq!(rows[0].as_ref().unwrap().status, status, "{actor}");
    }
}

#[tokio::test]
async fn records_ride_on_appends_while_appends_flow_and_apply_alone_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("ride.db")).await.unwrap();
    // Appends flow: another actor appends every millisecond.
    let writer = store.clone();
    let flowing = tokio::spawn(async move {
        for n in 0..2_000u64 {
            let request = AppendRequest::new("busy", "Order", n, "S", Utc::now())
                .with_events(vec![NewEvent::new("E1", 1, "json", "{}")]);
            let request = if n == 0 { request.create() } else { request };
            writer.append(request).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut claims = Vec::new();
    for n in 0..20 {
        let actor = format!("r{n}");
        claims.push((actor.clone(), append_action(&store, &actor, "d").await));
    }
    // Each record applies exactly once, in either level, whatever carries it; a second record
    // of the same claim finds the action ended.
    for (actor, claim) in &claims {
        let update = success(actor, claim.clone());
        assert_eq!(
            store
                .record_many(std::slice::from_ref(&update))
                .await
                .unwrap(),
            [true]
        );
        assert_eq!(store.record_many(&[update]).await.unwrap(), [false]);
        let rows = store.actions(&actor.as_str().into()).await.unwrap();
        assert_eq!(rows[0].as_ref().unwrap().status, ActionStatus::Succeeded);
    }
    flowing.abort();
    assert_eq!(writer_synchronous(&store).await, 2, "the writer stays FULL");

    // No append flows any more: a record is written alone, at once.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let claim = append_action(&store, "late", "d").await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    assert_eq!(
        store.record_many(&[success("late", claim)]).await.unwrap(),
        [true]
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "written without waiting for an append"
    );
}

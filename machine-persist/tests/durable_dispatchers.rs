//! Two dispatchers on one store, as two processes sharing a database would run them (two
//! stores with their own connections, two systems with their own owner names): every pending
//! action is run by one of them at a time and exactly once (nothing fails, nothing crashes),
//! both take part, and an action claimed by a dispatcher that went away is taken over only
//! once its lease has ended.

mod shop;
#[macro_use]
#[allow(unused_macros)]
mod support;
mod fixture;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use machine_persist::dispatch::{DispatchConfig, DurablePolicy};
use machine_persist::store::{
    ActionClaim, ActionStatus, AppendRequest, NewAction, NewEvent, Store,
};
use machine_persist::{PersistentSystem, SqliteOptions, SqliteStore};
use shop::Gateway;

const ACTIONS: usize = 60;

/// Stores `ACTIONS` paid orders whose charge is claimed by a dispatcher that is gone, and one
/// (`late`) whose claim lasts `lease` more.
async fn seed<S: Store>(store: &S, lease: chrono::Duration) {
    let claim = |until| ActionClaim {
        owner: "gone".into(),
        until,
    };
    let past = Utc::now() - chrono::Duration::seconds(1);
    let requests: Vec<AppendRequest> = (0..=ACTIONS)
        .map(|n| {
            let (id, until) = if n == ACTIONS {
                ("late".to_owned(), Utc::now() + lease)
            } else {
                (format!("o-{n}"), past)
            };
            AppendRequest::new(id, "Order", 0, "Charging", Utc::now())
                .create()
                .push_event(NewEvent::new("Pay", 1, "json", r#"{"Pay":{"cents":1}}"#))
                .push_action(NewAction {
                    version: 1,
                    name: "charge card".into(),
                    codec: "json".into(),
                    payload: br#"{"cents":1}"#.to_vec(),
                    claim: claim(until),
                })
        })
        .collect();
    let outcome = store.append_batch(&requests).await.unwrap();
    assert!(outcome.iter().all(Result::is_ok), "{outcome:?}");
}

async fn two_dispatchers<S: Store>(first: S, second: S) {
    let lease = chrono::Duration::milliseconds(1_500);
    seed(&first, lease).await;
    let seeded = tokio::time::Instant::now();
    let gateway = Arc::new(Gateway {
        delay: Duration::from_millis(30),
        ..Gateway::default()
    });
    let dispatch = |owner: &str| {
        DispatchConfig::default()
            .owner(owner)
            .poll_interval(Duration::from_millis(20))
            .claim_batch(5)
    };
    let systems = [
        PersistentSystem::builder(first.clone())
            .dispatch(dispatch("a"))
            .build(),
        PersistentSystem::builder(second)
            .dispatch(dispatch("b"))
            .build(),
    ];
    let _orders: Vec<_> = systems
        .iter()
        .map(|system| system.repository(shop::config(DurablePolicy::new()), Arc::clone(&gateway)))
        .collect();

    let ids: Vec<String> = (0..ACTIONS)
        .map(|n| format!("o-{n}"))
        .chain(["late".into()])
        .collect();
    let mut owners: HashMap<String, usize> = HashMap::new();
    for id in &ids {
        loop {
            let action = first
                .actions(&id.as_str().into())
                .await
                .unwrap()
                .remove(0)
                .unwrap();
            if action.status == ActionStatus::Succeeded {
                assert_eq!(action.attempts, 1, "{id}");
                *owners.entry(action.claimed_by).or_default() += 1;
                break;
            }
            if id != "late" && seeded.elapsed() < Duration::from_millis(1_000) {
                // The late one's claim holds: nobody may run it yet.
                assert!(gateway.attempts_of("late/1/charge card").is_empty());
            }
            assert!(
                seeded.elapsed() < Duration::from_secs(60),
                "{id}: {action:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let late = gateway.attempts_of("late/1/charge card");
    assert_eq!(late.len(), 1);
    assert!(
        late[0].at - seeded >= Duration::from_millis(1_400),
        "taken over {:?} after seeding, before its lease ended",
        late[0].at - seeded
    );
    assert_eq!(gateway.overlaps(), 0, "no action ran in both at once");
    let charged = gateway.charged();
    assert_eq!(charged.len(), ACTIONS + 1);
    assert!(charged.values().all(|&times| times == 1), "{charged:?}");
    assert_eq!(
        owners
            .keys()
            .filter(|owner| *owner == "a" || *owner == "b")
            .count(),
        owners.len()
    );
    assert!(owners.len() == 2, "both dispatchers took part: {owners:?}");
    for system in systems {
        system.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_share_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    let first = SqliteStore::open(&path).await.unwrap();
    let second = SqliteStore::with_options(SqliteOptions::file(&path))
        .await
        .unwrap();
    two_dispatchers(first, second).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_share_a_postgres_schema() {
    let schema = machine_test_support::postgres::fresh_schema("mp_disp");
    let url = machine_test_support::postgres::url();
    let test = "two_dispatchers_share_a_postgres_schema";
    let Some(first) = support::pg::open_at(test, &url, &schema, |o| o).await else {
        return;
    };
    let second = support::pg::open_at(test, &url, &schema, |o| o)
        .await
        .unwrap();
    two_dispatchers(first.clone(), second.clone()).await;
    second.close().await;
    support::pg::teardown(first).await;
}

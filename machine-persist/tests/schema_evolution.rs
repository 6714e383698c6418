//! Schema evolution: events and snapshots written by older code are migrated on read.

mod fixture;

use std::time::SystemTime;

use fixture::{Account, Ledger};
use machine_persist::schema::{UpcastError, Upcasters};
use machine_persist::store::{AppendRequest, Journal, NewEvent, NewSnapshot};
use machine_persist::{MemoryStore, PersistConfig, PersistError, PersistentSystem};
use serde_json::json;

/// What version 1 of the code wrote: deposits in `cents`, a state without `ops`.
async fn old_history(store: &MemoryStore) {
    let genesis = NewSnapshot::new(
        0,
        "Open",
        1,
        "json",
        r#"{"Open":{"balance":0}}"#,
        SystemTime::now().into(),
    );
    let events = vec![
        NewEvent::new("Deposit", 1, "json", r#"{"Deposit":{"cents":7}}"#),
        NewEvent::new("Deposit", 1, "json", r#"{"Deposit":{"cents":5}}"#),
    ];
    let request = AppendRequest::new("old", "Account", 0, "Open", SystemTime::now().into())
        .create()
        .with_snapshot(genesis)
        .with_events(events);
    store.append(request).await.unwrap();
}

fn upcasters() -> Upcasters {
    Upcasters::new()
        .event("Deposit", 1, |mut v| {
            let cents = v["Deposit"]["cents"].take();
            v["Deposit"] = json!({ "amount": cents });
            Ok(v)
        })
        .state(1, |mut v| {
            v["Open"]["ops"] = json!(0);
            Ok(v)
        })
}

#[tokio::test]
async fn old_events_and_snapshots_are_upcast_on_restore() {
    let store = MemoryStore::new();
    old_history(&store).await;
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(
        PersistConfig::<Account>::new().schema(2, 2, upcasters()),
        Ledger::default(),
    );
    let account = accounts.restore("old").await.unwrap().unwrap();
    assert_eq!(
        account.state().await.unwrap(),
        Account::Open {
            balance: 12,
            ops: 2
        }
    );
    // New events are written with the current schema and read back without migration.
    assert!(account
        .call(fixture::AccountEvent::Deposit { amount: 1 })
        .await
        .unwrap()
        .is_accepted());
    let id = machine_core::ActorId::from("old");
    let stored = store.read(&id, 3, 3, 1).await.unwrap();
    assert_eq!(stored[0].schema_version, 2);
    system.shutdown().await;
}

#[tokio::test]
async fn a_missing_upcaster_is_a_typed_error() {
    let store = MemoryStore::new();
    old_history(&store).await;
    let system = PersistentSystem::new(store);
    let states_only = Upcasters::new().state(1, |mut v| {
        v["Open"]["ops"] = json!(0);
        Ok(v)
    });
    let accounts = system.repository(
        PersistConfig::<Account>::new().schema(2, 2, states_only),
        Ledger::default(),
    );
    let error = accounts.state_at("old", 1).await.unwrap_err();
    assert!(
        matches!(
            &error,
            PersistError::Upcast {
                version: 1,
                reason: UpcastError::Missing { from: 1, .. },
                ..
            }
        ),
        "{error:?}"
    );
    system.shutdown().await;
}

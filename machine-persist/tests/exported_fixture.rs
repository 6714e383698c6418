//! An actor's history exported as a fixture file replays in a plain unit test, through the test
//! kit, to the state the store holds; and a fixture stops replaying when the code no longer
//! reproduces it.

mod fixture;

use std::sync::Arc;

use fixture::{Account, AccountEvent, Ledger};
use machine_core::ActorId;
use machine_persist::fixture::{Fixture, FixtureError, FORMAT};
use machine_persist::store::Journal;
use machine_persist::{MemoryStore, PersistConfig, PersistError, PersistentSystem, Retention};

async fn history(store: &MemoryStore, config: PersistConfig<Account>) -> Account {
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(config, Arc::new(Ledger::default()));
    let account = accounts.spawn("acc-1", Account::new()).await.unwrap();
    for event in [
        AccountEvent::Deposit { amount: 100 },
        AccountEvent::Withdraw { amount: 30 },
        AccountEvent::Freeze,
        AccountEvent::Unfreeze,
        AccountEvent::Deposit { amount: 5 },
    ] {
        assert!(account.call(event).await.unwrap().is_accepted());
        if account.version().await.unwrap() == 3 {
            account.save_snapshot().await.unwrap();
        }
    }
    let head = accounts.state_at("acc-1", 5).await.unwrap();
    system.shutdown().await;
    head
}

#[tokio::test]
async fn an_exported_history_replays_to_the_stored_state() {
    let store = MemoryStore::new();
    let head = history(&store, PersistConfig::new()).await;
    let exported = Fixture::export(&store, &ActorId::from("acc-1"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acc-1.json");
    std::fs::write(&path, exported.to_json().unwrap()).unwrap();

    // What a unit test writes: one line, no store, no runtime.
    let run = Fixture::load(&path).unwrap().replay::<Account>().unwrap();

    assert_eq!(*run.state(), head);
    assert_eq!(run.version(), 5);
    assert_eq!(run.initial, Account::new());
    let loaded = Fixture::load(&path).unwrap();
    assert_eq!(loaded, exported);
    assert_eq!(
        (loaded.format.as_str(), loaded.base_version, loaded.head),
        (FORMAT, 0, 5)
    );
    assert_eq!(loaded.events[1].tag, "Withdraw");
}

#[tokio::test]
async fn after_retention_the_fixture_starts_from_the_oldest_kept_snapshot() {
    let store = MemoryStore::new();
    let config = PersistConfig::new().retention(Retention {
        keep_snapshots: 1,
        delete_covered_events: true,
    });
    let head = history(&store, config).await;
    let first = store.read(&"acc-1".into(), 1, u64::MAX, 1).await.unwrap();
    let exported = Fixture::export(&store, &ActorId::from("acc-1"))
        .await
        .unwrap();
    assert_eq!(
        exported.base_version + 1,
        first.first().map_or(6, |e| e.version)
    );
    let run = exported.replay::<Account>().unwrap();
    assert_eq!(*run.state(), head);
}

#[tokio::test]
async fn a_fixture_the_code_no_longer_reproduces_is_an_error() {
    let store = MemoryStore::new();
    history(&store, PersistConfig::new()).await;
    let mut exported = Fixture::export(&store, &ActorId::from("acc-1"))
        .await
        .unwrap();
    // The withdrawal now asks for more than the balance: the guard refuses it on replay.
    exported.events[1].payload = serde_json::json!({"Withdraw": {"amount": 1000}});
    match exported.replay::<Account>() {
        Err(FixtureError::NotAccepted { version, outcome }) => {
            assert_eq!(version, 2);
            assert!(
                outcome.starts_with("rejected: insufficient funds"),
                "{outcome}"
            );
        }
        other => panic!("expected a refusal at version 2, got {other:?}"),
    }
    exported.format = "other/9".to_owned();
    assert!(matches!(
        Fixture::from_json(&exported.to_json().unwrap()),
        Err(FixtureError::Format(format)) if format == "other/9"
    ));
    assert!(matches!(
        Fixture::from_json(r#"{"format": "machine-fixture/1"}"#),
        Err(FixtureError::Parse(_))
    ));
    let missing = Fixture::export(&store, &ActorId::from("nobody")).await;
    assert!(matches!(missing, Err(PersistError::NotFound(_))));
    assert!(matches!(
        Fixture::load("/nonexistent/fixture.json"),
        Err(FixtureError::Io { .. })
    ));
}

//! The law of event sourcing, checked on random histories: the live state equals the restored
//! state (snapshot + tail), equals `state_at(head)`, equals a plain fold; and `state_at(v)`
//! equals the fold of the first `v` events.

mod fixture;

use fixture::{fold, fold_until, Account, AccountEvent, Ledger};
use machine_core::Schedule;
use machine_persist::{MemoryStore, PersistConfig, PersistentSystem};
use proptest::prelude::*;

fn event() -> impl Strategy<Value = AccountEvent> {
    prop_oneof![
        4 => (0u64..50).prop_map(|amount| AccountEvent::Deposit { amount }),
        3 => (0u64..60).prop_map(|amount| AccountEvent::Withdraw { amount }),
        1 => Just(AccountEvent::Freeze),
        1 => Just(AccountEvent::Unfreeze),
        1 => Just(AccountEvent::Close),
    ]
}

async fn check(events: Vec<AccountEvent>, every: u64) {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let config = PersistConfig::<Account>::new()
        .snapshots(Schedule::every_events(every))
        .snapshot_on_stop(false);
    let accounts = system.repository(config.clone(), Ledger::default());
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    for event in &events {
        if account.send(event.clone()).await.is_err() {
            break; // closed: a final state stops the actor
        }
    }
    let (expected, head) = fold(&events);
    let live = if account.is_stopped() {
        None
    } else {
        account.status().await.ok()
    };
    if let Some(live) = &live {
        assert_eq!(live.state, expected);
        assert_eq!(live.version, head);
    }
    // Let the actor finish (a final state stops it) before reading storage.
    system.shutdown().await;

    let system = PersistentSystem::new(store);
    let accounts = system.repository(config, Ledger::default());
    assert_eq!(accounts.state_at("acc", head).await.unwrap(), expected);
    for version in 0..=head {
        let prefix = fold_until(&events, version).0;
        assert_eq!(
            accounts.state_at("acc", version).await.unwrap(),
            prefix,
            "v{version}"
        );
    }
    let restored = accounts.restore("acc").await.unwrap().unwrap();
    let snapshot = restored.status().await;
    // A closed account restores into its final state and stops at once.
    if let Ok(snapshot) = snapshot {
        assert_eq!(snapshot.state, expected);
        assert_eq!(snapshot.version, head);
    }
    system.shutdown().await;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn live_equals_restored_equals_state_at_equals_fold(
        events in proptest::collection::vec(event(), 0..60),
        every in 1u64..8,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(check(events, every));
    }
}

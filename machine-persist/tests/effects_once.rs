//! Effects run exactly once, after their event is durable: never for an event whose commit
//! failed, never on restore, never on replay.

mod fixture;
#[macro_use]
#[allow(unused_macros)]
mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use fixture::{Account, AccountEvent, Ledger};
use machine_persist::{MemoryStore, PersistConfig, PersistError, PersistentSystem};
use support::faulty::Faulty;

#[tokio::test]
async fn an_effect_whose_event_failed_to_commit_never_runs() {
    let store = Faulty::default();
    let ledger = Arc::new(Ledger::default());
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::clone(&ledger));
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    assert!(account
        .call(AccountEvent::Deposit { amount: 10 })
        .await
        .unwrap()
        .is_accepted());

    store.broken.store(true, Ordering::SeqCst);
    let failed = account.call(AccountEvent::Withdraw { amount: 3 }).await;
    assert!(
        matches!(failed, Err(PersistError::Store(ref error)) if error.is_transient()),
        "{failed:?}"
    );
    assert_eq!(account.state().await.unwrap().balance(), 10, "rolled back");
    assert_eq!(account.version().await.unwrap(), 1);

    store.broken.store(false, Ordering::SeqCst);
    assert!(account
        .call(AccountEvent::Withdraw { amount: 3 })
        .await
        .unwrap()
        .is_accepted());
    system.shutdown().await;
    assert_eq!(
        ledger.withdrawals(),
        1,
        "only the committed withdrawal ran its action"
    );
}

#[tokio::test]
async fn restore_and_replay_run_no_effect() {
    let store = MemoryStore::new();
    let ledger = Arc::new(Ledger::default());
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::clone(&ledger));
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    assert!(account
        .call(AccountEvent::Deposit { amount: 10 })
        .await
        .unwrap()
        .is_accepted());
    for _ in 0..4 {
        assert!(account
            .call(AccountEvent::Withdraw { amount: 1 })
            .await
            .unwrap()
            .is_accepted());
    }
    system.shutdown().await;
    assert_eq!(ledger.withdrawals(), 4);

    let system = PersistentSystem::new(store);
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::clone(&ledger));
    let account = accounts.restore("acc").await.unwrap().unwrap();
    account.replay_to(2).await.unwrap();
    account.resume().await.unwrap();
    let _ = accounts.state_at("acc", 5).await.unwrap();
    system.shutdown().await;
    assert_eq!(ledger.withdrawals(), 4);
}

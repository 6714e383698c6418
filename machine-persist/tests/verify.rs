//! The divergence check: a healthy history verifies clean; a handler changed after the events
//! were written is caught at the version where the stored states and the replay part ways.

mod fixture;

use std::sync::Arc;

use fixture::{Account, AccountEvent, Ledger};
use machine_persist::store::{Catalog, NewSnapshot, SnapshotStore};
use machine_persist::verify::Divergence;
use machine_persist::{ActorFilter, MemoryStore, PersistConfig, PersistError, PersistentSystem};
use serde_json::json;

/// The account machine as a later release changed it: same states and events, same persisted
/// name, but deposits above 100 now pay a fee of 1 and withdrawals above 5 are refused.
mod changed {
    use super::fixture::*;
    use machine_macros::Machine;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, thiserror::Error)]
    #[error("withdrawals above 5 are refused")]
    pub struct Refused;

    #[derive(Clone, Debug, Serialize, Deserialize, Machine)]
    #[machine(event = AccountEvent, error = Refused)]
    pub enum Account {
        #[initial]
        #[on(Deposit => Open, Withdraw => Open, Freeze => Frozen, Close => Closed)]
        Open { balance: u64, ops: u32 },
        #[on(Unfreeze => Open, Close => Closed)]
        Frozen { balance: u64 },
        #[terminal]
        Closed,
    }

    impl AccountTransitions for Account {
        fn open_deposit(
            balance: &u64,
            ops: &u32,
            deposit: AccountEventDeposit<'_>,
        ) -> Result<AccountOpenOnDeposit, Refused> {
            let fee = u64::from(*deposit.amount > 100);
            Ok(AccountOpenOnDeposit::Open {
                balance: balance + deposit.amount - fee,
                ops: ops + 1,
            })
        }

        fn open_withdraw(
            balance: &u64,
            ops: &u32,
            withdraw: AccountEventWithdraw<'_>,
        ) -> Result<AccountOpenOnWithdraw, Refused> {
            if *withdraw.amount > 5 {
                return Err(Refused);
            }
            Ok(AccountOpenOnWithdraw::Open {
                balance: balance.saturating_sub(*withdraw.amount),
                ops: ops + 1,
            })
        }

        fn open_freeze(
            balance: &u64,
            _: &u32,
            _: AccountEventFreeze<'_>,
        ) -> Result<AccountOpenOnFreeze, Refused> {
            Ok(AccountOpenOnFreeze::Frozen { balance: *balance })
        }

        fn open_close(
            _: &u64,
            _: &u32,
            _: AccountEventClose<'_>,
        ) -> Result<AccountOpenOnClose, Refused> {
            Ok(AccountOpenOnClose::Closed)
        }

        fn frozen_unfreeze(
            balance: &u64,
            _: AccountEventUnfreeze<'_>,
        ) -> Result<AccountFrozenOnUnfreeze, Refused> {
            Ok(AccountFrozenOnUnfreeze::Open {
                balance: *balance,
                ops: 0,
            })
        }

        fn frozen_close(
            _: &u64,
            _: AccountEventClose<'_>,
        ) -> Result<AccountFrozenOnClose, Refused> {
            Ok(AccountFrozenOnClose::Closed)
        }
    }
}

/// Writes `events` for actor `id` with today's account machine, with a snapshot after every
/// event, and stops the system.
async fn write_history(store: &MemoryStore, id: &str, events: &[AccountEvent]) {
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::new(Ledger::default()));
    let account = accounts.spawn(id, Account::new()).await.unwrap();
    for event in events {
        assert!(account.call(event.clone()).await.unwrap().is_accepted());
        account.save_snapshot().await.unwrap();
    }
    system.shutdown().await;
}

fn deposit(amount: u64) -> AccountEvent {
    AccountEvent::Deposit { amount }
}

#[tokio::test]
async fn a_healthy_history_verifies_clean() {
    let store = MemoryStore::new();
    let events = [
        deposit(50),
        deposit(200),
        AccountEvent::Withdraw { amount: 10 },
    ];
    write_history(&store, "acc-1", &events).await;
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::new(Ledger::default()));

    let verification = accounts.verify("acc-1").await.unwrap();
    assert!(verification.is_consistent(), "{verification}");
    assert_eq!(verification.head, 3);
    assert_eq!(
        (verification.replayed_from, verification.replayed_to),
        (0, 3)
    );
    assert_eq!(verification.snapshots_compared, 3);

    let missing = accounts.verify("nobody").await.unwrap_err();
    assert!(matches!(missing, PersistError::NotFound(_)), "{missing}");
    system.shutdown().await;
}

#[tokio::test]
async fn a_changed_handler_is_caught_at_the_first_version_it_changes() {
    let store = MemoryStore::new();
    let events = [
        deposit(50),
        deposit(200),
        AccountEvent::Withdraw { amount: 10 },
    ];
    write_history(&store, "acc-1", &events).await;
    write_history(&store, "acc-2", &[deposit(50), deposit(60)]).await;

    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<changed::Account>::new(), ());
    let verification = accounts.verify("acc-1").await.unwrap();
    match verification.first_divergence() {
        Some(Divergence::Snapshot {
            version,
            stored,
            replayed,
        }) => {
            assert_eq!(*version, 2);
            assert_eq!(*stored, json!({"Open": {"balance": 250, "ops": 2}}));
            assert_eq!(*replayed, json!({"Open": {"balance": 249, "ops": 2}}));
        }
        other => panic!("expected the snapshot at version 2 to diverge, got {other:?}"),
    }
    // The withdrawal of 10 is refused by the new guard: the replay stops there.
    match verification.divergences.last() {
        Some(Divergence::Replay { version, state, .. }) => {
            assert_eq!(*version, 3);
            assert_eq!(*state, json!({"Open": {"balance": 249, "ops": 2}}));
        }
        other => panic!("expected the replay to stop at version 3, got {other:?}"),
    }
    assert_eq!(verification.replayed_to, 2);
    assert!(verification.to_string().contains("at version 2"));

    let report = accounts.verify_all(ActorFilter::new()).await.unwrap();
    assert!(!report.is_consistent());
    let diverged: Vec<_> = report.diverged().map(|v| v.actor_id.as_str()).collect();
    assert_eq!(diverged, ["acc-1"]);
    assert_eq!(report.verified.len(), 2);
    assert!(report.failed.is_empty());
    system.shutdown().await;
}

#[tokio::test]
async fn a_snapshot_beyond_the_journal_is_reported() {
    let store = MemoryStore::new();
    write_history(&store, "acc-1", &[deposit(50), deposit(60)]).await;
    let meta = store.get(&"acc-1".into()).await.unwrap().unwrap();
    let ahead = NewSnapshot::new(
        9,
        "Open",
        1,
        "json",
        br#"{"Open":{"balance":0,"ops":0}}"#.to_vec(),
        meta.entered_at,
    );
    store.save(&"acc-1".into(), ahead).await.unwrap();

    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::new(Ledger::default()));
    let verification = accounts.verify("acc-1").await.unwrap();
    assert!(
        matches!(
            verification.divergences.as_slice(),
            [Divergence::SnapshotAhead {
                version: 9,
                journal: 2
            }]
        ),
        "{:?}",
        verification.divergences
    );
    system.shutdown().await;
}

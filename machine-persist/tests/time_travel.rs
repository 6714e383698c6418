//! Time travel: state_at, history, replay_to; the journal is never rewritten.

mod fixture;

use fixture::{Account, AccountEvent, Ledger};
use futures::TryStreamExt;
use machine_persist::store::Journal;
use machine_persist::{MemoryStore, PersistConfig, PersistError, PersistentSystem};

const EVENTS: [AccountEvent; 6] = [
    AccountEvent::Deposit { amount: 10 },
    AccountEvent::Deposit { amount: 20 },
    AccountEvent::Withdraw { amount: 5 },
    AccountEvent::Freeze,
    AccountEvent::Unfreeze,
    AccountEvent::Deposit { amount: 1 },
];

#[tokio::test]
async fn state_at_history_and_replay_to() {
    let store = MemoryStore::new();
    let ledger = std::sync::Arc::new(Ledger::default());
    let system = PersistentSystem::new(store.clone());
    // A snapshot every 2 events, so folds start from snapshots and from the genesis.
    let config = PersistConfig::<Account>::new().snapshots(machine_core::Schedule::every_events(2));
    let accounts = system.repository(config, std::sync::Arc::clone(&ledger));
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    for event in EVENTS {
        assert!(account.call(event).await.unwrap().is_accepted());
    }
    assert_eq!(ledger.withdrawals(), 1);

    for version in 0..=6 {
        let expected = fixture::fold(&EVENTS[..version as usize]).0;
        assert_eq!(
            accounts.state_at("acc", version).await.unwrap(),
            expected,
            "v{version}"
        );
        assert_eq!(
            account.state_at(version).await.unwrap(),
            expected,
            "v{version}"
        );
    }
    let beyond = accounts.state_at("acc", 7).await;
    assert!(
        matches!(
            beyond,
            Err(PersistError::VersionOutOfRange {
                requested: 7,
                head: 6,
                ..
            })
        ),
        "{beyond:?}"
    );
    assert!(matches!(
        accounts.state_at("ghost", 0).await,
        Err(PersistError::NotFound(_))
    ));

    let history: Vec<_> = account.history(2..=4).try_collect().await.unwrap();
    assert_eq!(
        history.iter().map(|h| h.version).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    assert_eq!(history[0].event, EVENTS[1]);
    assert_eq!(history[2].state, fixture::fold(&EVENTS[..4]).0);
    assert!(history
        .windows(2)
        .all(|w| w[0].recorded_at <= w[1].recorded_at));
    let all: Vec<_> = accounts
        .history("acc", 0..=u64::MAX)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 6);

    let rewound = account.replay_to(2).await.unwrap();
    assert_eq!(rewound, fixture::fold(&EVENTS[..2]).0);
    assert_eq!(account.state().await.unwrap(), rewound);
    let refused = account.call(AccountEvent::Deposit { amount: 1 }).await;
    assert!(
        matches!(refused, Err(PersistError::Rewound { at: 2, head: 6, .. })),
        "{refused:?}"
    );
    // `send` and `try_send` refuse too, at once, instead of dropping the event.
    let sent = account.send(AccountEvent::Deposit { amount: 1 }).await;
    assert!(
        matches!(sent, Err(PersistError::Rewound { at: 2, head: 6, .. })),
        "{sent:?}"
    );
    assert!(matches!(
        account.try_send(AccountEvent::Deposit { amount: 1 }),
        Err(PersistError::Rewound { .. })
    ));
    // A snapshot now would store the rewound state under the head's version: refused.
    assert!(matches!(
        account.save_snapshot().await,
        Err(PersistError::Rewound { at: 2, head: 6, .. })
    ));
    assert!(matches!(
        account.replay_to(9).await,
        Err(PersistError::VersionOutOfRange { .. })
    ));
    assert_eq!(ledger.withdrawals(), 1, "replay runs no effect");
    let id = machine_core::ActorId::from("acc");
    assert_eq!(
        store.head(&id).await.unwrap(),
        6,
        "the journal is untouched"
    );

    account.resume().await.unwrap();
    assert_eq!(account.state().await.unwrap(), fixture::fold(&EVENTS).0);
    assert_eq!(account.save_snapshot().await.unwrap(), 6);
    account
        .send(AccountEvent::Deposit { amount: 1 })
        .await
        .unwrap();
    assert_eq!(account.version().await.unwrap(), 7);
    assert!(account
        .call(AccountEvent::Withdraw { amount: 1 })
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(store.head(&id).await.unwrap(), 8);
    system.shutdown().await;
}

//! Two actor systems on one SQLite file activate the same actor and write concurrently: the
//! optimistic lock lets exactly one writer win each version; the loser gets `VersionConflict`
//! and stops; the journal has no duplicate and no gap.

mod fixture;

use std::sync::Arc;

use fixture::{Account, AccountEvent, Ledger};

use machine_persist::store::Journal;
use machine_persist::{PersistConfig, PersistError, PersistentSystem, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_systems_on_one_file_never_duplicate_or_lose_a_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let first = PersistentSystem::new(SqliteStore::open(&path).await.unwrap());
    let second = PersistentSystem::new(SqliteStore::open(&path).await.unwrap());
    let a = first.repository(PersistConfig::<Account>::new(), Ledger::default());
    let b = second.repository(PersistConfig::<Account>::new(), Ledger::default());
    a.spawn("acc", Account::new()).await.unwrap();
    let from_a = a.get("acc").unwrap();
    // The second system restores the same actor: two live copies at version 0.
    let from_b = b.restore("acc").await.unwrap().unwrap();

    let write = |actor: machine_persist::PersistentRef<Account>| {
        tokio::spawn(async move {
            let (mut won, mut conflicts) = (0u64, 0u64);
            for _ in 0..200 {
                match actor.call(AccountEvent::Deposit { amount: 1 }).await {
                    Ok(outcome) => {
                        assert!(outcome.is_accepted());
                        won += 1;
                    }
                    Err(PersistError::Conflict(_)) => conflicts += 1,
                    Err(PersistError::Stopped(_)) => break,
                    Err(other) => panic!("unexpected {other}"),
                }
            }
            (won, conflicts)
        })
    };
    let (a_result, b_result) = tokio::join!(write(from_a.clone()), write(from_b.clone()));
    let ((a_won, a_conflicts), (b_won, b_conflicts)) = (a_result.unwrap(), b_result.unwrap());
    assert!(
        a_conflicts + b_conflicts >= 1,
        "one of the copies must lose"
    );
    assert!(
        from_a.is_stopped() || from_b.is_stopped(),
        "the loser stops"
    );

    let store = SqliteStore::open(&path).await.unwrap();
    let id = machine_core::ActorId::from("acc");
    let head = store.head(&id).await.unwrap();
    assert_eq!(
        head,
        a_won + b_won,
        "every acknowledged event is stored, nothing else"
    );
    let events = store.read(&id, 1, u64::MAX, usize::MAX).await.unwrap();
    let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
    assert_eq!(
        versions,
        (1..=head).collect::<Vec<_>>(),
        "contiguous, no duplicate"
    );

    // A restore picks up the winner's history.
    first.shutdown().await;
    second.shutdown().await;
    let third = PersistentSystem::new(store);
    let c = third.repository(PersistConfig::<Account>::new(), Arc::new(Ledger::default()));
    let restored = c.restore("acc").await.unwrap().unwrap();
    assert_eq!(restored.state().await.unwrap().balance(), head);
    third.shutdown().await;
}

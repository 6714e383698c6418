//! Idempotent commands: a command id applied once returns its first outcome on every repeat
//! (after a restart, from a second process on the store), a repeat with another event is an
//! error, and the id is free again once the window has passed. On SQLite and on Postgres.

#[macro_use]
#[allow(unused_macros)]
mod support;
mod fixture;

use std::sync::Arc;
use std::time::Duration;

use fixture::{Account, AccountEvent, Ledger};
use futures::StreamExt;
use machine_core::Outcome;
use machine_persist::store::Store;
use machine_persist::{
    MemoryStore, PersistConfig, PersistError, PersistentSystem, Repository, SqliteOptions,
    SqliteStore,
};

fn deposit(amount: u64) -> AccountEvent {
    AccountEvent::Deposit { amount }
}

fn open<S: Store>(store: S, window: Duration) -> (PersistentSystem, Repository<Account>) {
    let system = PersistentSystem::new(store);
    let accounts = system.repository(
        PersistConfig::<Account>::new().command_window(window),
        Arc::new(Ledger::default()),
    );
    (system, accounts)
}

async fn events(accounts: &Repository<Account>, id: &str) -> Vec<AccountEvent> {
    accounts
        .history(id, 1..=u64::MAX)
        .map(|entry| entry.unwrap().event)
        .collect()
        .await
}

/// The checks, on two stores sharing one database (`second` plays another process).
async fn repeats<S: Store>(first: S, second: S) {
    let day = Duration::from_secs(24 * 3600);
    let (system, accounts) = open(first.clone(), day);
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    let applied = account
        .call_command("deposit-1", deposit(10))
        .await
        .unwrap();
    let Outcome::Next(after) = applied else {
        panic!("applied: {applied:?}")
    };
    // A repeat: the first outcome, nothing applied.
    let repeat = account
        .call_command("deposit-1", deposit(10))
        .await
        .unwrap();
    assert_eq!(repeat, Outcome::Next(after.clone()));
    assert_eq!(account.version().await.unwrap(), 1);
    // Concurrent repeats in this process: one application.
    let (a, b) = tokio::join!(
        account.call_command("deposit-2", deposit(5)),
        account.call_command("deposit-2", deposit(5)),
    );
    assert_eq!(a.unwrap(), b.unwrap());
    assert_eq!(account.state().await.unwrap().balance(), 15);
    // The same id with another event is refused, naming the first version.
    let conflict = account.call_command("deposit-1", deposit(11)).await;
    assert!(
        matches!(conflict, Err(PersistError::CommandConflict { version: 1, ref command_id, .. }) if command_id == "deposit-1"),
        "{conflict:?}"
    );
    // `send_command` of an applied command sends nothing.
    account
        .send_command("deposit-1", deposit(10))
        .await
        .unwrap();
    account.send_command("deposit-3", deposit(1)).await.unwrap();
    assert_eq!(account.state().await.unwrap().balance(), 16);
    assert!(matches!(
        account.call_command("", deposit(1)).await,
        Err(PersistError::InvalidCommandId(_))
    ));
    system.shutdown().await;

    // After a restart: the first outcome.
    let (system, accounts) = open(first.clone(), day);
    let account = accounts.restore("acc").await.unwrap().unwrap();
    let repeat = account
        .call_command("deposit-1", deposit(10))
        .await
        .unwrap();
    assert_eq!(repeat, Outcome::Next(after.clone()));

    // From a second process on the same store, while the first still runs the actor.
    let (other_system, other_accounts) = open(second, day);
    let elsewhere = other_accounts.restore("acc").await.unwrap().unwrap();
    let repeat = elsewhere
        .call_command("deposit-1", deposit(10))
        .await
        .unwrap();
    assert_eq!(repeat, Outcome::Next(after));
    assert!(matches!(
        elsewhere.call_command("deposit-2", deposit(6)).await,
        Err(PersistError::CommandConflict { version: 2, .. })
    ));
    // The first process applies a command the second's view of the actor has not seen: a
    // repeat there (whose append meets a newer head) hears the first outcome.
    let applied = account.call_command("deposit-4", deposit(2)).await.unwrap();
    let repeat = elsewhere
        .call_command("deposit-4", deposit(2))
        .await
        .unwrap();
    assert_eq!(repeat, applied);
    other_system.shutdown().await;
    // A repeat the actor's state has moved past (a frozen account takes no second freeze):
    // the first outcome, not the refusal.
    let frozen = account
        .call_command("freeze-1", AccountEvent::Freeze)
        .await
        .unwrap();
    assert!(frozen.is_accepted());
    let repeat = account
        .call_command("freeze-1", AccountEvent::Freeze)
        .await
        .unwrap();
    assert_eq!(repeat, frozen);
    assert_eq!(
        events(&accounts, "acc").await,
        [
            deposit(10),
            deposit(5),
            deposit(1),
            deposit(2),
            AccountEvent::Freeze
        ],
        "each command applied once"
    );
    system.shutdown().await;
}

#[tokio::test]
async fn repeats_on_memory() {
    let store = MemoryStore::new();
    repeats(store.clone(), store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    let first = SqliteStore::open(&path).await.unwrap();
    let second = SqliteStore::with_options(SqliteOptions::file(&path))
        .await
        .unwrap();
    repeats(first.clone(), second.clone()).await;
    first.close().await;
    second.close().await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_on_postgres() {
    let schema = machine_test_support::postgres::fresh_schema("mp_cmd");
    let url = machine_test_support::postgres::url();
    let test = "repeats_on_postgres";
    let Some(first) = support::pg::open_at(test, &url, &schema, |o| o).await else {
        return;
    };
    let second = support::pg::open_at(test, &url, &schema, |o| o)
        .await
        .unwrap();
    repeats(first.clone(), second.clone()).await;
    second.close().await;
    support::pg::teardown(first).await;
}

#[tokio::test]
async fn an_id_is_free_again_once_its_window_has_passed() {
    let (system, accounts) = open(MemoryStore::new(), Duration::from_millis(200));
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    let _ = account.call_command("d", deposit(10)).await.unwrap();
    let _ = account.call_command("d", deposit(10)).await.unwrap();
    assert_eq!(account.version().await.unwrap(), 1, "within the window");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = account.call_command("d", deposit(10)).await.unwrap();
    assert_eq!(account.version().await.unwrap(), 2, "applied anew");
    // And the new application is what repeats see now.
    let repeat = account.call_command("d", deposit(10)).await.unwrap();
    assert_eq!(repeat.into_state().unwrap().balance(), 20);
    assert_eq!(account.version().await.unwrap(), 2);
    system.shutdown().await;
}

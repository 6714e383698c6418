//! Conformance checks of the actor lifecycle (passivation, durable timers, the persistence
//! options), run against every backend through the same macros as the storage checks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use machine_core::{Record, RecordKind, SpawnOptions};
use machine_persist::{PersistConfig, PersistError, PersistentSystem, Repository};

use super::Backend;
use crate::fixture::{Account, AccountEvent, Ledger};

fn deposit(amount: u64) -> AccountEvent {
    AccountEvent::Deposit { amount }
}

/// Counts the incarnations started (spawns and activations).
fn counting(starts: &Arc<AtomicUsize>) -> SpawnOptions<Account> {
    let starts = Arc::clone(starts);
    SpawnOptions::new().observer(Arc::new(move |record: &Record<'_, Account>| {
        if let RecordKind::Spawned { .. } = record.kind {
            starts.fetch_add(1, Ordering::SeqCst);
        }
    }))
}

fn passivating<B: Backend>(
    backend: &B,
    idle: Duration,
    starts: &Arc<AtomicUsize>,
) -> (PersistentSystem, Repository<Account>) {
    let system = PersistentSystem::new(backend.store().clone());
    let config = PersistConfig::<Account>::new()
        .passivate_after(idle)
        .spawn_options(counting(starts));
    let accounts = system.repository(config, Ledger::default());
    (system, accounts)
}

/// Waits (real time, bounded) until no actor of `accounts` is in memory.
async fn until_passivated(accounts: &Repository<Account>) {
    for _ in 0..500 {
        if accounts.active() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the actors did not passivate: {} active", accounts.active());
}

/// An idle actor leaves memory; many concurrent calls through the repository and through a
/// handle kept from before activate it once, and every call is applied exactly once.
pub async fn passivated_actors_activate_once_under_concurrent_calls<B: Backend>(backend: &B) {
    let starts = Arc::new(AtomicUsize::new(0));
    let (system, accounts) = passivating(backend, Duration::from_millis(50), &starts);
    let kept = accounts.spawn("pas-1", Account::new()).await.unwrap();
    assert!(kept.call(deposit(1)).await.unwrap().is_accepted());
    until_passivated(&accounts).await;
    assert!(accounts.get("pas-1").is_none());
    assert!(!kept.is_stopped(), "a passivated actor is not stopped");
    assert_eq!(starts.load(Ordering::SeqCst), 1);

    let mut calls = Vec::new();
    for n in 0..32u64 {
        let accounts = accounts.clone();
        let kept = kept.clone();
        calls.push(tokio::spawn(async move {
            let outcome = if n % 2 == 0 {
                accounts.call("pas-1", deposit(1)).await
            } else {
                kept.call(deposit(1)).await
            };
            outcome.unwrap().is_accepted()
        }));
    }
    for call in calls {
        assert!(call.await.unwrap());
    }
    assert_eq!(
        starts.load(Ordering::SeqCst),
        2,
        "one activation for all callers"
    );
    let status = kept.status().await.unwrap();
    assert_eq!(status.version, 33);
    assert_eq!(status.state.balance(), 33);
    system.shutdown().await;
}

/// Messages racing the moment an actor passivates are each applied once, in the order one
/// sender sent them: no loss, no duplicate, no reordering, across many passivations.
pub async fn messages_racing_passivation_are_neither_lost_nor_repeated<B: Backend>(backend: &B) {
    let starts = Arc::new(AtomicUsize::new(0));
    let (system, accounts) = passivating(backend, Duration::from_millis(2), &starts);
    let account = accounts.spawn("pas-race", Account::new()).await.unwrap();
    let mut sent = 0u64;
    let mut expected_balance = 0u64;
    for round in 0..60u64 {
        // Sends (fire and forget) and calls, with pauses around the idle limit.
        let amount = round + 1;
        if round % 3 == 0 {
            account.send(deposit(amount)).await.unwrap();
        } else {
            assert!(account.call(deposit(amount)).await.unwrap().is_accepted());
        }
        sent += 1;
        expected_balance += amount;
        tokio::time::sleep(Duration::from_micros(500 * (round % 7))).await;
    }
    let status = account.status().await.unwrap();
    assert_eq!(status.version, sent);
    assert_eq!(status.state.balance(), expected_balance);
    assert!(
        starts.load(Ordering::SeqCst) > 1,
        "the actor passivated at least once"
    );
    // The journal holds the deposits in the order they were sent.
    let history: Vec<u64> = futures::StreamExt::collect::<Vec<_>>(account.history(1..=sent))
        .await
        .into_iter()
        .map(|entry| match entry.unwrap().event {
            AccountEvent::Deposit { amount } => amount,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(history, (1..=sent).collect::<Vec<_>>());
    system.shutdown().await;
}

/// A stopped actor stays stopped; a deleted passivated actor is not found.
pub async fn only_passivated_actors_come_back<B: Backend>(backend: &B) {
    let starts = Arc::new(AtomicUsize::new(0));
    let (system, accounts) = passivating(backend, Duration::from_millis(20), &starts);
    let stopped = accounts.spawn("pas-stop", Account::new()).await.unwrap();
    stopped.stop().await.unwrap();
    assert!(stopped.is_stopped());
    assert!(matches!(
        stopped.call(deposit(1)).await,
        Err(PersistError::Stopped(_))
    ));
    assert!(matches!(
        accounts.call("nobody", deposit(1)).await,
        Err(PersistError::NotFound(_))
    ));
    // Through the repository, the stopped (stored) actor is activated again.
    assert!(accounts
        .call("pas-stop", deposit(1))
        .await
        .unwrap()
        .is_accepted());
    system.shutdown().await;
}

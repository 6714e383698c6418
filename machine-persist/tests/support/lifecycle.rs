//! Conformance checks of the actor lifecycle (passivation, durable timers, the persistence
//! options), run against every backend through the same macros as the storage checks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use machine_core::{Record, RecordKind, SpawnOptions};
use machine_persist::store::{Catalog, DueTimer, TimerQuery};
use machine_persist::{PersistConfig, PersistError, PersistentSystem, Repository};

use super::Backend;
use crate::fixture::reminder::{Reminder, ReminderEvent};
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

// Durable timers.

fn open_reminders<B: Backend>(
    backend: &B,
    config: PersistConfig<Reminder>,
) -> (PersistentSystem, Repository<Reminder>) {
    let system = PersistentSystem::new(backend.store().clone());
    let reminders = system.repository(config.timer_poll(Duration::from_millis(50)), ());
    (system, reminders)
}

fn snooze(ms: u64) -> ReminderEvent {
    ReminderEvent::Snooze { ms }
}

/// Waits (real time, at most `limit`) until `id` has rung `rung` times, reading the store.
async fn until_rung(
    reminders: &Repository<Reminder>,
    id: &str,
    rung: u32,
    limit: Duration,
) -> Duration {
    let start = tokio::time::Instant::now();
    while start.elapsed() < limit {
        if let Some(meta) = reminders.metadata(id).await.unwrap() {
            let state = reminders.state_at(id, meta.version).await.unwrap();
            if state.rung() >= rung {
                return start.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{id} did not ring {rung} times within {limit:?}");
}

/// Every commit stores when the state's soonest timeout falls due, and the store selects the
/// due timers by machine type and time, in due order, page by page.
pub async fn commits_store_when_the_state_timeout_falls_due<B: Backend>(backend: &B) {
    let (system, reminders) = open_reminders(backend, PersistConfig::new());
    let reminder = reminders.spawn("tm-a", Reminder::new()).await.unwrap();
    let idle = reminders.metadata("tm-a").await.unwrap().unwrap();
    assert_eq!(idle.timeout_at, None, "Idle has no timeout");
    assert!(reminder
        .call(snooze(3_600_000))
        .await
        .unwrap()
        .is_accepted());
    let waiting = reminders.metadata("tm-a").await.unwrap().unwrap();
    let due = waiting.timeout_at.expect("Waiting has a timeout");
    assert_eq!(due, waiting.entered_at + chrono::Duration::hours(1));

    let other = reminders.spawn("tm-b", Reminder::new()).await.unwrap();
    assert!(other.call(snooze(7_200_000)).await.unwrap().is_accepted());
    let store = backend.store();
    let later = due + chrono::Duration::hours(3);
    let all = store
        .due_timers(&TimerQuery::new("Reminder", later))
        .await
        .unwrap();
    let all: Vec<DueTimer> = all.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        all.iter().map(|t| t.actor_id.as_str()).collect::<Vec<_>>(),
        ["tm-a", "tm-b"],
        "in due order"
    );
    assert_eq!(all[0].due, due);
    let page = store
        .due_timers(&TimerQuery::new("Reminder", later).limit(1))
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    let next = store
        .due_timers(&TimerQuery::new("Reminder", later).after(due, "tm-a"))
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].as_ref().unwrap().actor_id.as_str(), "tm-b");
    let before = store
        .due_timers(&TimerQuery::new(
            "Reminder",
            due - chrono::Duration::seconds(1),
        ))
        .await
        .unwrap();
    assert!(before.is_empty(), "not due yet");
    let elsewhere = store
        .due_timers(&TimerQuery::new("Alarm", later))
        .await
        .unwrap();
    assert!(elsewhere.is_empty(), "another machine type");

    // Leaving the state replaces its stored timeout.
    assert!(reminder
        .call(ReminderEvent::Dismiss)
        .await
        .unwrap()
        .is_accepted());
    let left = store
        .due_timers(&TimerQuery::new("Reminder", later))
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].as_ref().unwrap().actor_id.as_str(), "tm-b");
    system.shutdown().await;
}

/// A passivated actor is activated when its timeout falls due, and the timeout fires.
pub async fn a_passivated_actor_wakes_when_its_timeout_falls_due<B: Backend>(backend: &B) {
    let config = PersistConfig::new().passivate_after(Duration::from_millis(20));
    let (system, reminders) = open_reminders(backend, config);
    let reminder = reminders.spawn("tm-wake", Reminder::new()).await.unwrap();
    assert!(reminder.call(snooze(400)).await.unwrap().is_accepted());
    for _ in 0..300 {
        if reminders.active() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(reminders.active(), 0, "passivated before the timeout");
    until_rung(&reminders, "tm-wake", 1, Duration::from_secs(5)).await;
    let meta = reminders.metadata("tm-wake").await.unwrap().unwrap();
    assert_eq!(meta.version, 2);
    assert_eq!(meta.timeout_at, None, "Idle has no timeout");
    system.shutdown().await;
}

/// A timer of a state that was left never fires: the actor is not woken for it.
pub async fn leaving_a_state_cancels_its_timer<B: Backend>(backend: &B) {
    let starts = Arc::new(AtomicUsize::new(0));
    let config = PersistConfig::new()
        .passivate_after(Duration::from_millis(20))
        .spawn_options(counting_reminders(&starts));
    let (system, reminders) = open_reminders(backend, config);
    let reminder = reminders.spawn("tm-cancel", Reminder::new()).await.unwrap();
    assert!(reminder.call(snooze(300)).await.unwrap().is_accepted());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(reminders.active(), 0, "passivated");
    // Activated by the call, which leaves `Waiting` for good.
    assert!(reminders
        .call("tm-cancel", ReminderEvent::Dismiss)
        .await
        .unwrap()
        .is_accepted());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        starts.load(Ordering::SeqCst),
        2,
        "spawn and the call's activation"
    );
    let meta = reminders.metadata("tm-cancel").await.unwrap().unwrap();
    assert_eq!((meta.version, meta.timeout_at), (2, None));
    system.shutdown().await;
}

/// A timer that fell due while no process ran fires promptly once the repository is made
/// again, with nobody restoring the actor.
pub async fn a_timer_due_while_down_fires_on_start<B: Backend>(backend: &B) {
    let (system, reminders) = open_reminders(backend, PersistConfig::new());
    let reminder = reminders.spawn("tm-down", Reminder::new()).await.unwrap();
    assert!(reminder.call(snooze(150)).await.unwrap().is_accepted());
    system.shutdown().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (system, reminders) = open_reminders(backend, PersistConfig::new());
    let took = until_rung(&reminders, "tm-down", 1, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(1), "fired {took:?} after start");
    system.shutdown().await;
}

fn counting_reminders(starts: &Arc<AtomicUsize>) -> SpawnOptions<Reminder> {
    let starts = Arc::clone(starts);
    SpawnOptions::new().observer(Arc::new(move |record: &Record<'_, Reminder>| {
        if let RecordKind::Spawned { .. } = record.kind {
            starts.fetch_add(1, Ordering::SeqCst);
        }
    }))
}

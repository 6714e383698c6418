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

/// Waits (real time, bounded) until no reminder is in memory.
async fn until_no_reminder_active(reminders: &Repository<Reminder>) {
    for _ in 0..500 {
        if reminders.active() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{} reminders still active", reminders.active());
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
    assert!(reminder.call(snooze(1_000)).await.unwrap().is_accepted());
    until_no_reminder_active(&reminders).await;
    let before = reminders.metadata("tm-wake").await.unwrap().unwrap();
    assert_eq!(before.version, 1, "passivated before the timeout");
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
    assert!(reminder.call(snooze(1_500)).await.unwrap().is_accepted());
    until_no_reminder_active(&reminders).await;
    // Activated by the call, which leaves `Waiting` for good.
    assert!(reminders
        .call("tm-cancel", ReminderEvent::Dismiss)
        .await
        .unwrap()
        .is_accepted());
    tokio::time::sleep(Duration::from_millis(2_000)).await;
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

// The persistence options.

/// Collects what reaches `on_error`.
#[derive(Clone, Default)]
struct Reported(Arc<std::sync::Mutex<Vec<(String, PersistError)>>>);

impl Reported {
    fn hook(&self) -> impl Fn(&machine_core::ActorId, &PersistError) + Send + Sync + 'static {
        let seen = Arc::clone(&self.0);
        move |id, error| seen.lock().unwrap().push((id.to_string(), error.clone()))
    }

    fn take(&self) -> Vec<(String, PersistError)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn accounts_with<B: Backend>(
    backend: &B,
    config: PersistConfig<Account>,
) -> (PersistentSystem, Repository<Account>) {
    let system = PersistentSystem::new(backend.store().clone());
    let accounts = system.repository(config, Ledger::default());
    (system, accounts)
}

async fn stopped_with_deposits(accounts: &Repository<Account>, id: &str, deposits: u64) {
    let account = accounts.spawn(id, Account::new()).await.unwrap();
    for _ in 0..deposits {
        assert!(account.call(deposit(1)).await.unwrap().is_accepted());
    }
    account.stop().await.unwrap();
}

/// A state last active longer ago than the limit is discarded on restore, reported as
/// `StaleState`, and the actor starts fresh.
pub async fn a_stale_state_is_discarded_and_reported<B: Backend>(backend: &B) {
    let reported = Reported::default();
    let config = PersistConfig::new()
        .max_state_age(Duration::from_millis(1_000))
        .on_error(reported.hook());
    let (system, accounts) = accounts_with(backend, config);
    stopped_with_deposits(&accounts, "stale-1", 2).await;
    stopped_with_deposits(&accounts, "stale-2", 1).await;
    // Recent enough: restored.
    let recent = accounts.restore("stale-1").await.unwrap().expect("stored");
    recent.stop().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    assert!(accounts.restore("stale-1").await.unwrap().is_none());
    let reports = reported.take();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(matches!(
        &reports[0],
        (id, PersistError::StaleState { actor_id, age })
            if id == "stale-1" && actor_id.as_str() == "stale-1" && *age >= Duration::from_millis(1_000)
    ));
    assert!(
        accounts.metadata("stale-1").await.unwrap().is_none(),
        "deleted"
    );
    let fresh = accounts.spawn("stale-1", Account::new()).await.unwrap();
    assert_eq!(fresh.version().await.unwrap(), 0, "starts fresh");

    // In bulk, too: the stale actor fails with the reason and is deleted.
    let report = accounts
        .restore_all(machine_persist::ActorFilter::new())
        .await
        .unwrap();
    assert!(report.restored.is_empty());
    assert!(matches!(
        report.failed.as_slice(),
        [(id, PersistError::StaleState { .. })] if id.as_str() == "stale-2"
    ));
    assert!(accounts.metadata("stale-2").await.unwrap().is_none());
    system.shutdown().await;
}

/// An actor that reaches a terminal state is deleted once its effects ran.
pub async fn cleanup_on_terminate_deletes_a_finished_actor<B: Backend>(backend: &B) {
    let config = PersistConfig::new()
        .cleanup_on_terminate(true)
        .snapshots(machine_core::Schedule::every_events(1));
    let (system, accounts) = accounts_with(backend, config);
    let account = accounts.spawn("done-1", Account::new()).await.unwrap();
    assert!(account.call(deposit(5)).await.unwrap().is_accepted());
    let keep = accounts.spawn("done-2", Account::new()).await.unwrap();
    assert!(keep.call(deposit(5)).await.unwrap().is_accepted());
    assert!(account
        .call(AccountEvent::Close)
        .await
        .unwrap()
        .is_accepted());
    for _ in 0..200 {
        if accounts.metadata("done-1").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let store = backend.store();
    let id = machine_core::ActorId::from("done-1");
    assert!(accounts.metadata("done-1").await.unwrap().is_none());
    assert!(
        machine_persist::store::Journal::read(store, &id, 1, u64::MAX, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // Give a queued snapshot the chance to land, then check none outlived the actor.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        machine_persist::store::SnapshotStore::load_latest(store, &id, None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        accounts.metadata("done-2").await.unwrap().is_some(),
        "others stay"
    );
    system.shutdown().await;
}

/// The scheduled sweep deletes stored actors older than the limit, but none in memory.
pub async fn periodic_cleanup_deletes_old_actors_not_in_memory<B: Backend>(backend: &B) {
    let config = PersistConfig::new()
        .max_state_age(Duration::from_millis(100))
        .cleanup(machine_core::Schedule::spaced(Duration::from_millis(50)));
    let (system, accounts) = accounts_with(backend, config);
    stopped_with_deposits(&accounts, "old-1", 1).await;
    stopped_with_deposits(&accounts, "old-2", 1).await;
    let active = accounts.spawn("old-active", Account::new()).await.unwrap();
    for _ in 0..300 {
        if accounts.metadata("old-1").await.unwrap().is_none()
            && accounts.metadata("old-2").await.unwrap().is_none()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(accounts.metadata("old-1").await.unwrap().is_none());
    assert!(accounts.metadata("old-2").await.unwrap().is_none());
    assert!(
        accounts.metadata("old-active").await.unwrap().is_some(),
        "an actor in memory is not swept"
    );
    assert!(active.call(deposit(1)).await.unwrap().is_accepted());
    // A sweep on demand finds nothing more to delete.
    assert_eq!(accounts.sweep().await, 0);
    system.shutdown().await;
}

/// The on-restore hook sees the state with its registry row, may replace it, and its error is
/// a typed restore failure.
pub async fn the_on_restore_hook_transforms_and_refuses<B: Backend>(backend: &B) {
    let config = PersistConfig::new().on_restore(|state: Account, meta| {
        if state.balance() > 100 {
            return Err(format!("balance {} over the limit", state.balance()).into());
        }
        Ok(match state {
            // Counts restores in `ops`, to show the hook's state is the one that runs.
            Account::Open { balance, .. } => Account::Open {
                balance,
                ops: 1_000 + meta.version as u32,
            },
            other => other,
        })
    });
    let (system, accounts) = accounts_with(backend, config);
    stopped_with_deposits(&accounts, "hook-ok", 3).await;
    let big = accounts.spawn("hook-big", Account::new()).await.unwrap();
    assert!(big.call(deposit(500)).await.unwrap().is_accepted());
    big.stop().await.unwrap();

    let restored = accounts.restore("hook-ok").await.unwrap().expect("stored");
    assert_eq!(
        restored.state().await.unwrap(),
        Account::Open {
            balance: 3,
            ops: 1_003
        }
    );
    assert!(matches!(
        accounts.restore("hook-big").await,
        Err(PersistError::RestoreRejected { actor_id, .. }) if actor_id.as_str() == "hook-big"
    ));
    restored.stop().await.unwrap();
    let report = accounts.restore_many(["hook-ok", "hook-big"]).await;
    assert_eq!(report.restored.len(), 1);
    assert!(matches!(
        report.failed.as_slice(),
        [(id, PersistError::RestoreRejected { .. })] if id.as_str() == "hook-big"
    ));
    system.shutdown().await;
}

/// The before-snapshot hook skips or replaces automatic snapshots; a replacement that changes
/// what the handlers see breaks the rule, and the divergence check finds it.
pub async fn the_before_snapshot_hook_skips_and_replaces<B: Backend>(backend: &B) {
    use machine_persist::hooks::SnapshotChoice;
    use machine_persist::store::SnapshotStore;
    let store = backend.store();
    let every = machine_core::Schedule::every_events(1);

    // Skip odd versions: only even ones are written; restore is exact anyway.
    let config = PersistConfig::new()
        .snapshots(every.clone())
        .snapshot_on_stop(false)
        .before_snapshot(|_: &Account, version| {
            if version % 2 == 1 {
                SnapshotChoice::Skip
            } else {
                SnapshotChoice::Keep
            }
        });
    let (system, accounts) = accounts_with(backend, config);
    stopped_with_deposits(&accounts, "snap-skip", 5).await;
    let id = machine_core::ActorId::from("snap-skip");
    until_snapshot(store, &id, 4).await;
    let latest = store.load_latest(&id, None).await.unwrap().unwrap();
    assert_eq!(latest.version, 4);
    assert!(
        store
            .load_latest(&id, Some(3))
            .await
            .unwrap()
            .unwrap()
            .version
            == 2
    );
    let restored = accounts.restore("snap-skip").await.unwrap().unwrap();
    assert_eq!(restored.state().await.unwrap().balance(), 5);
    system.shutdown().await;

    // A replacement that keeps behaviour (the same state) verifies; one that changes the
    // balance is a divergence.
    for (actor, honest) in [("snap-same", true), ("snap-lie", false)] {
        let config = PersistConfig::new()
            .snapshots(every.clone())
            .before_snapshot(move |state: &Account, _| {
                if honest {
                    SnapshotChoice::Replace(state.clone())
                } else {
                    SnapshotChoice::Replace(Account::Open {
                        balance: state.balance() + 1,
                        ops: 0,
                    })
                }
            });
        let (system, accounts) = accounts_with(backend, config);
        stopped_with_deposits(&accounts, actor, 2).await;
        until_snapshot(store, &actor.into(), 2).await;
        let verification = accounts.verify(actor).await.unwrap();
        assert_eq!(
            verification.is_consistent(),
            honest,
            "{actor}: {verification}"
        );
        system.shutdown().await;
    }
}

/// Waits (real time, bounded) until the snapshot writer has stored a snapshot at `version`.
async fn until_snapshot<S: machine_persist::store::SnapshotStore>(
    store: &S,
    id: &machine_core::ActorId,
    version: u64,
) {
    for _ in 0..300 {
        let latest = store.load_latest(id, None).await.unwrap();
        if latest.is_some_and(|snapshot| snapshot.version >= version) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no snapshot of {id} at version {version}");
}

/// Restore on start restores the actors the filter selects, in the background.
pub async fn restore_on_start_restores_the_selected_actors<B: Backend>(backend: &B) {
    let (system, accounts) = accounts_with(backend, PersistConfig::new());
    stopped_with_deposits(&accounts, "start-a", 1).await;
    stopped_with_deposits(&accounts, "start-b", 2).await;
    let frozen = accounts
        .spawn("start-frozen", Account::new())
        .await
        .unwrap();
    assert!(frozen
        .call(AccountEvent::Freeze)
        .await
        .unwrap()
        .is_accepted());
    system.shutdown().await;

    let filter = machine_persist::ActorFilter::new().state_in([crate::fixture::AccountTag::Open]);
    let (system, accounts) = accounts_with(backend, PersistConfig::new().restore_on_start(filter));
    for _ in 0..300 {
        if accounts.active() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(accounts.active(), 2);
    let b = accounts.get("start-b").expect("restored on start");
    assert_eq!(b.version().await.unwrap(), 2);
    assert!(accounts.get("start-frozen").is_none(), "not selected");
    system.shutdown().await;
}

/// Passivation snapshots per `snapshot_on_stop`, the one name of "persist on shutdown".
pub async fn passivation_snapshots_per_snapshot_on_stop<B: Backend>(backend: &B) {
    use machine_persist::store::SnapshotStore;
    for (actor, on_stop) in [("pos-yes", true), ("pos-no", false)] {
        let config = PersistConfig::new()
            .snapshots(machine_core::Schedule::every_events(1_000))
            .snapshot_on_stop(on_stop)
            .passivate_after(Duration::from_millis(20));
        let (system, accounts) = accounts_with(backend, config);
        let account = accounts.spawn(actor, Account::new()).await.unwrap();
        assert!(account.call(deposit(1)).await.unwrap().is_accepted());
        until_passivated(&accounts).await;
        let id = machine_core::ActorId::from(actor);
        let latest = backend
            .store()
            .load_latest(&id, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.version, u64::from(on_stop), "{actor}");
        system.shutdown().await;
    }
}

/// A timer whose actor cannot be activated reaches `on_error`, typed, and fails that actor
/// alone.
pub async fn a_timer_that_cannot_activate_its_actor_is_reported<B: Backend>(backend: &B) {
    let reported = Reported::default();
    let config = PersistConfig::new()
        .passivate_after(Duration::from_millis(20))
        .on_restore(|state: Reminder, meta| {
            if meta.actor_id.as_str() == "tm-bad" {
                Err("refused".into())
            } else {
                Ok(state)
            }
        })
        .on_error(reported.hook());
    let (system, reminders) = open_reminders(backend, config);
    for id in ["tm-bad", "tm-good"] {
        let reminder = reminders.spawn(id, Reminder::new()).await.unwrap();
        assert!(reminder.call(snooze(1_000)).await.unwrap().is_accepted());
    }
    until_no_reminder_active(&reminders).await;
    until_rung(&reminders, "tm-good", 1, Duration::from_secs(5)).await;
    let reports = reported.take();
    assert!(
        reports
            .iter()
            .any(|(id, error)| id == "tm-bad"
                && matches!(error, PersistError::RestoreRejected { .. })),
        "{reports:?}"
    );
    system.shutdown().await;
}

//! Durable timers end to end: on tokio's paused clock, a passivated actor is activated by its
//! timer when it falls due and not for a state it left, and a timer whose actor cannot be
//! activated is recorded as a failed effect with its cause; and across a real process restart
//! after SIGKILL, a timer that fell due while no process ran fires within 1 s of start.

mod fixture;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fixture::reminder::{Reminder, ReminderEvent};
use machine_core::{Record, RecordKind, SpawnOptions};
use machine_persist::store::{ActionStatus, AppendRequest, Journal, NewEvent};
use machine_persist::{MemoryStore, PersistConfig, PersistentSystem, Repository, SqliteStore};
use tokio::io::{AsyncBufReadExt, BufReader};

const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

fn counting(starts: &Arc<AtomicUsize>) -> SpawnOptions<Reminder> {
    let starts = Arc::clone(starts);
    SpawnOptions::new().observer(Arc::new(move |record: &Record<'_, Reminder>| {
        if let RecordKind::Spawned { .. } = record.kind {
            starts.fetch_add(1, Ordering::SeqCst);
        }
    }))
}

/// A repository on memory whose actors passivate after a minute, counting their starts.
fn passivating(system: &PersistentSystem, starts: &Arc<AtomicUsize>) -> Repository<Reminder> {
    system.repository(
        PersistConfig::<Reminder>::new()
            .passivate_after(MINUTE)
            .spawn_options(counting(starts)),
        (),
    )
}

#[tokio::test(start_paused = true)]
async fn a_passivated_actor_is_activated_when_its_timer_falls_due() {
    let system = PersistentSystem::new(MemoryStore::new());
    let starts = Arc::new(AtomicUsize::new(0));
    let reminders = passivating(&system, &starts);
    let reminder = reminders.spawn("p-1", Reminder::new()).await.unwrap();
    assert!(reminder
        .call(ReminderEvent::Snooze {
            ms: HOUR.as_millis() as u64,
        })
        .await
        .unwrap()
        .is_accepted());
    tokio::time::sleep(2 * MINUTE).await;
    assert_eq!(reminders.active(), 0, "passivated after a minute");
    tokio::time::sleep(HOUR - 4 * MINUTE).await;
    assert_eq!(
        starts.load(Ordering::SeqCst),
        1,
        "not activated before it is due"
    );
    assert_eq!(reminders.active(), 0);
    tokio::time::sleep(4 * MINUTE).await;
    // Only the activation is checked on the paused clock: the restored runtime measures the
    // state's age on the wall clock, which a paused test does not move, so it re-arms the
    // timeout instead of firing it. The real-time conformance checks and the restart test below
    // check that the timeout fires.
    assert!(
        starts.load(Ordering::SeqCst) >= 2,
        "activated by its timer once due"
    );
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_timer_whose_actor_cannot_be_activated_is_recorded_as_a_failed_timeout() {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let starts = Arc::new(AtomicUsize::new(0));
    let reminders = passivating(&system, &starts);
    let reminder = reminders.spawn("p-1", Reminder::new()).await.unwrap();
    let snooze = ReminderEvent::Snooze {
        ms: HOUR.as_millis() as u64,
    };
    assert!(reminder.call(snooze).await.unwrap().is_accepted());
    tokio::time::sleep(2 * MINUTE).await;
    assert_eq!(reminders.active(), 0, "passivated after a minute");
    // Behind the repository's back: an event no handler can read, and a timer due soon.
    let due = chrono::Utc::now() + chrono::Duration::minutes(5);
    let damaged = AppendRequest::new("p-1", "Reminder", 1, "Waiting", chrono::Utc::now())
        .with_events(vec![NewEvent::new("Bogus", 1, "json", "not json")])
        .with_timeout_at(Some(due));
    store.append(damaged).await.unwrap();
    tokio::time::sleep(10 * MINUTE).await;
    let rows: Vec<_> = reminders
        .actions("p-1")
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let timeout = rows
        .iter()
        .find(|row| row.key.action.as_ref() == "timeout")
        .unwrap_or_else(|| panic!("no failed timeout in {rows:?}"));
    assert_eq!(timeout.status, ActionStatus::Failed);
    assert_eq!(timeout.key.version, 2, "at the head the timer belongs to");
    let cause = timeout.last_cause.as_ref().expect("a cause");
    assert!(
        cause
            .type_name
            .as_deref()
            .is_some_and(|name| name.ends_with("PersistError")),
        "{cause:?}"
    );
    assert!(!cause.message.is_empty());
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_timer_of_a_state_that_was_left_does_not_activate_its_actor() {
    let system = PersistentSystem::new(MemoryStore::new());
    let starts = Arc::new(AtomicUsize::new(0));
    let reminders = passivating(&system, &starts);
    let reminder = reminders.spawn("p-2", Reminder::new()).await.unwrap();
    assert!(reminder
        .call(ReminderEvent::Snooze {
            ms: HOUR.as_millis() as u64,
        })
        .await
        .unwrap()
        .is_accepted());
    tokio::time::sleep(30 * MINUTE).await;
    assert_eq!(reminders.active(), 0);
    // Activated by the call; dismissed is final, so it stops again at once.
    assert!(reminders
        .call("p-2", ReminderEvent::Dismiss)
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(starts.load(Ordering::SeqCst), 2);
    tokio::time::sleep(2 * HOUR).await;
    assert_eq!(starts.load(Ordering::SeqCst), 2, "its timer was cancelled");
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn without_durable_timers_a_passivated_actor_sleeps_on() {
    let system = PersistentSystem::new(MemoryStore::new());
    let starts = Arc::new(AtomicUsize::new(0));
    let reminders = system.repository(
        PersistConfig::<Reminder>::new()
            .passivate_after(MINUTE)
            .durable_timers(false)
            .spawn_options(counting(&starts)),
        (),
    );
    let reminder = reminders.spawn("p-3", Reminder::new()).await.unwrap();
    assert!(reminder
        .call(ReminderEvent::Snooze {
            ms: HOUR.as_millis() as u64,
        })
        .await
        .unwrap()
        .is_accepted());
    tokio::time::sleep(2 * HOUR).await;
    assert_eq!(starts.load(Ordering::SeqCst), 1);
    system.shutdown().await;
}

/// A call that activates an actor whose timeout fell due while it was passivated meets the state
/// that timeout led to: the overdue ring goes first, then the snooze.
#[tokio::test]
async fn an_activating_call_comes_after_the_overdue_timeout() {
    let system = PersistentSystem::new(MemoryStore::new());
    let reminders = system.repository(
        PersistConfig::<Reminder>::new()
            .passivate_after(Duration::from_millis(100))
            .durable_timers(false),
        (),
    );
    let reminder = reminders.spawn("p-4", Reminder::new()).await.unwrap();
    assert!(reminder
        .call(ReminderEvent::Snooze { ms: 300 })
        .await
        .unwrap()
        .is_accepted());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        reminders.active(),
        0,
        "passivated before its timer fell due"
    );
    let snoozed = reminder
        .call(ReminderEvent::Snooze { ms: 60_000 })
        .await
        .unwrap();
    assert_eq!(
        snoozed,
        machine_core::Outcome::Next(Reminder::Waiting {
            ms: 60_000,
            rung: 1
        }),
        "it rang first, then was snoozed again"
    );
    system.shutdown().await;
}

const CHILD_DB: &str = "MACHINE_TIMER_CHILD_DB";
/// How long after it is armed the child's timer falls due.
const DUE_AFTER: Duration = Duration::from_millis(1_500);

fn child_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Child 1: arms a timer, says so, and waits to be killed.
#[test]
#[ignore = "a child process of `a_due_timer_fires_within_a_second_of_a_restart_after_sigkill`"]
fn timer_child_arm() {
    let path = std::env::var(CHILD_DB).expect("run by the restart test");
    child_runtime().block_on(async move {
        let system = PersistentSystem::new(SqliteStore::open(&path).await.unwrap());
        let reminders = system.repository(PersistConfig::<Reminder>::new(), ());
        let reminder = reminders.spawn("r-1", Reminder::new()).await.unwrap();
        assert!(reminder
            .call(ReminderEvent::Snooze {
                ms: DUE_AFTER.as_millis() as u64,
            })
            .await
            .unwrap()
            .is_accepted());
        println!("armed");
        std::future::pending::<()>().await;
    });
}

/// Child 2: starts a system on the store and reports how long after its start the timer
/// fired, without restoring anything by hand.
#[test]
#[ignore = "a child process of `a_due_timer_fires_within_a_second_of_a_restart_after_sigkill`"]
fn timer_child_wake() {
    let start = std::time::Instant::now();
    let path = std::env::var(CHILD_DB).expect("run by the restart test");
    child_runtime().block_on(async move {
        let (rang, mut rung) = tokio::sync::mpsc::unbounded_channel();
        let observer = move |record: &Record<'_, Reminder>| {
            if let RecordKind::Transition { event, .. } = &record.kind {
                if **event == ReminderEvent::Ring {
                    let _ = rang.send(());
                }
            }
        };
        let system = PersistentSystem::new(SqliteStore::open(&path).await.unwrap());
        let _reminders = system.repository(
            PersistConfig::<Reminder>::new()
                .spawn_options(SpawnOptions::new().observer(Arc::new(observer))),
            (),
        );
        rung.recv().await.unwrap();
        println!("fired {}", start.elapsed().as_millis());
        system.shutdown().await;
    });
}

async fn run_child(name: &str, path: &std::path::Path) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let wanted = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the child answers")
            .unwrap()
            .expect("the child prints its line");
        // The harness prints `test <name> ... ` on the line the child's output starts.
        if let Some(at) = line.find("armed").or_else(|| line.find("fired ")) {
            break line[at..].to_owned();
        }
    };
    (child, wanted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_timer_fires_within_a_second_of_a_restart_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timers.db");
    let (mut armer, _) = run_child("timer_child_arm", &path).await;
    let armed_at = tokio::time::Instant::now();
    armer.kill().await.unwrap(); // SIGKILL: no shutdown, no final snapshot
    armer.wait().await.unwrap();
    // The timer falls due while no process runs.
    tokio::time::sleep_until(armed_at + DUE_AFTER + Duration::from_millis(300)).await;

    let (mut waker, line) = run_child("timer_child_wake", &path).await;
    waker.wait().await.unwrap();
    let millis: u64 = line
        .strip_prefix("fired ")
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    assert!(
        millis < 1_000,
        "the due timer fired {millis} ms after start"
    );

    let store = SqliteStore::open(&path).await.unwrap();
    let system = PersistentSystem::new(store);
    let reminders = system.repository(PersistConfig::<Reminder>::new().durable_timers(false), ());
    let reminder = reminders.restore("r-1").await.unwrap().expect("stored");
    let status = reminder.status().await.unwrap();
    assert_eq!((status.version, status.state.rung()), (2, 1), "rang once");
    system.shutdown().await;
}

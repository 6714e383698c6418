//! The actor lifecycle at scale: many stored actors with a pending durable timer and a few
//! active ones (RSS of the process, start, timer fire accuracy), and the latency of a call that
//! re-activates a passivated actor.
//!
//! ```text
//! cargo bench -p machine-persist --bench lifecycle                      # SQLite
//! cargo bench -p machine-persist --features postgres --bench lifecycle  # and Postgres
//! ```
//!
//! Environment: `BENCH_STORED` (stored actors with a pending timer, `1000000`), `BENCH_ACTIVE`
//! (10,000 of them activated), `BENCH_DUE` (1,000 timers due 3–8 s after start, whose
//! lateness is measured), `BENCH_SAMPLES` (re-activations measured, 2,000),
//! `MACHINE_TEST_POSTGRES_URL`. Prints one table per part; no figure is asserted.

#[path = "support/ceiling.rs"]
mod ceiling;
#[path = "../tests/fixture/mod.rs"]
mod fixture;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ceiling::load_average;
use fixture::reminder::{Reminder, ReminderEvent};
use fixture::{Account, AccountEvent, Ledger};
use machine_core::{Record, RecordKind, SpawnOptions};
use machine_persist::store::{AppendRequest, Journal, NewSnapshot, Store};
use machine_persist::{PersistConfig, PersistentSystem, SqliteStore};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A stored reminder waiting `ms` from `entered_at`: its genesis snapshot and due time.
fn waiting(id: &str, ms: u64, entered_at: SystemTime) -> AppendRequest {
    let snapshot = NewSnapshot::new(
        0,
        "Waiting",
        1,
        "json",
        format!(r#"{{"Waiting":{{"ms":{ms},"rung":0}}}}"#),
        entered_at.into(),
    );
    AppendRequest::new(id, "Reminder", 0, "Waiting", entered_at.into())
        .create()
        .with_snapshot(snapshot)
        .with_timeout_at(Some((entered_at + Duration::from_millis(ms)).into()))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at]
}

/// Part 1: `stored` reminders, all with a pending timer (a day away, except `due` of them due
/// 3 to 8 s after start), `active` of them activated.
async fn many_timers(path: &std::path::Path, stored: u64, active: u64, due: u64) {
    let store = SqliteStore::open(path).await.unwrap();
    let write_start = Instant::now();
    let day = 24 * 3600 * 1000;
    // Due times are set relative to the start that follows the writing.
    let start_at = SystemTime::now() + Duration::from_secs(60);
    let mut ids = (0..stored).peekable();
    while ids.peek().is_some() {
        let batch: Vec<AppendRequest> = ids
            .by_ref()
            .take(2_000)
            .map(|n| {
                let id = format!("r-{n:07}");
                if n >= stored - due {
                    // Spread over 5 s, starting 3 s after the start.
                    let offset = 3_000 + (n - (stored - due)) * 5_000 / due.max(1);
                    let now = SystemTime::now();
                    let due_at = start_at + Duration::from_millis(offset);
                    let ms = due_at.duration_since(now).unwrap_or_default().as_millis() as u64;
                    waiting(&id, ms, now)
                } else {
                    waiting(&id, day, SystemTime::now())
                }
            })
            .collect();
        for outcome in store.append_batch(&batch).await.unwrap() {
            outcome.unwrap();
        }
    }
    let written = write_start.elapsed();
    // Wait for the start the due times were set against.
    let wait = start_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(wait).await;

    let rss_before = rss_bytes();
    // The lateness of each fire: when it was committed, after its actor's due time.
    let fired = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let first_due = stored - due;
    let observer = {
        let fired = Arc::clone(&fired);
        move |record: &Record<'_, Reminder>| {
            if let RecordKind::Transition { event, .. } = &record.kind {
                if **event != ReminderEvent::Ring {
                    return;
                }
                let n: u64 = record.actor.as_str()[2..].parse().unwrap_or(0);
                let offset = 3_000 + (n.saturating_sub(first_due)) * 5_000 / due.max(1);
                let due_at = start_at + Duration::from_millis(offset);
                let late = record.at.duration_since(due_at).unwrap_or_default();
                fired.lock().unwrap().push(late);
            }
        }
    };
    let started = Instant::now();
    let system = PersistentSystem::new(store.clone());
    let reminders = system.repository(
        PersistConfig::<Reminder>::new()
            .passivate_after(Duration::from_secs(3_600))
            .spawn_options(SpawnOptions::new().observer(Arc::new(observer))),
        (),
    );
    let made = started.elapsed();
    let activate_start = Instant::now();
    for n in 0..active {
        reminders
            .activate(format!("r-{n:07}"))
            .await
            .unwrap()
            .unwrap();
    }
    let activated = activate_start.elapsed();
    let rss_active = rss_bytes();
    while (fired.lock().unwrap().len() as u64) < due && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss_after = rss_bytes();
    let mut fired = fired.lock().unwrap().clone();
    fired.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("## {stored} stored reminders with a pending timer, {active} active (SQLite)");
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| write {stored} actors (append_batch of 2,000) | {:.1} s |",
        written.as_secs_f64()
    );
    println!(
        "| make system + repository | {:.1} ms |",
        made.as_secs_f64() * 1e3
    );
    println!(
        "| activate {active} actors | {:.2} s |",
        activated.as_secs_f64()
    );
    println!("| RSS before start | {:.1} MiB |", mib(rss_before));
    println!(
        "| RSS with {active} active | {:.1} MiB (+{:.0} B per active actor) |",
        mib(rss_active),
        rss_active.saturating_sub(rss_before) as f64 / active.max(1) as f64
    );
    println!(
        "| RSS after {} due timers fired | {:.1} MiB |",
        fired.len(),
        mib(rss_after)
    );
    println!("| timers fired / due | {} / {due} |", fired.len());
    println!(
        "| fire lateness p50 / p99 / max | {:.1} / {:.1} / {:.1} ms |",
        ms(percentile(&fired, 0.5)),
        ms(percentile(&fired, 0.99)),
        ms(fired.last().copied().unwrap_or_default())
    );
    println!("| load average | {} |", load_average());
    system.shutdown().await;
    store.close().await;
}

/// Part 2: the latency of a call that activates a passivated account, beside the same call to
/// an active one.
async fn reactivation<S: Store>(name: &str, store: S, samples: u64) {
    let system = PersistentSystem::new(store);
    let accounts = system.repository(
        PersistConfig::<Account>::new().passivate_after(Duration::from_millis(20)),
        Ledger::default(),
    );
    let actors = 200u64.min(samples.max(1));
    for n in 0..actors {
        accounts
            .spawn(format!("acc-{n}"), Account::new())
            .await
            .unwrap();
    }
    let deposit = || AccountEvent::Deposit { amount: 1 };
    let mut passivated = Vec::new();
    let mut active = Vec::new();
    while (passivated.len() as u64) < samples {
        while accounts.active() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for n in 0..actors {
            let id = format!("acc-{n}");
            let start = Instant::now();
            let outcome = accounts.call(id.as_str(), deposit()).await.unwrap();
            passivated.push(start.elapsed());
            assert!(outcome.is_accepted());
            let start = Instant::now();
            let outcome = accounts.call(id.as_str(), deposit()).await.unwrap();
            active.push(start.elapsed());
            assert!(outcome.is_accepted());
        }
    }
    passivated.sort();
    active.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "## re-activation latency ({name}, {} calls)",
        passivated.len()
    );
    println!("| call to | p50 | p99 |");
    println!("|---|---|---|");
    println!(
        "| a passivated actor (restore + commit) | {:.2} ms | {:.2} ms |",
        ms(percentile(&passivated, 0.5)),
        ms(percentile(&passivated, 0.99))
    );
    println!(
        "| the same actor, active (commit) | {:.2} ms | {:.2} ms |",
        ms(percentile(&active, 0.5)),
        ms(percentile(&active, 0.99))
    );
    println!("| load average | {} | |", load_average());
    system.shutdown().await;
}

fn main() {
    let stored = env_number("BENCH_STORED", 1_000_000);
    let active = env_number("BENCH_ACTIVE", 10_000).min(stored);
    let due = env_number("BENCH_DUE", 1_000).min(stored - active);
    let samples = env_number("BENCH_SAMPLES", 2_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        many_timers(&dir.path().join("timers.db"), stored, active, due).await;
        let sqlite = SqliteStore::open(dir.path().join("reactivation.db"))
            .await
            .unwrap();
        reactivation("SQLite", sqlite, samples).await;
        #[cfg(feature = "postgres")]
        {
            let url = std::env::var("MACHINE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let schema = format!("bench_lifecycle_{}", std::process::id());
            let options =
                machine_persist::PostgresOptions::url(&url).and_then(|o| o.schema(&schema));
            match options {
                Ok(options) => match machine_persist::PostgresStore::with_options(options).await {
                    Ok(store) => {
                        reactivation("Postgres", store.clone(), samples).await;
                        let _ = store.drop_schema().await;
                    }
                    Err(error) => println!("skipped Postgres: {error}"),
                },
                Err(error) => println!("skipped Postgres: {error}"),
            }
        }
    });
}

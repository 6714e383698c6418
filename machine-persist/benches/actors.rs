//! Persistent actors on SQLite, end to end: durable events/s with many actors and with one hot
//! actor, restore speed, `restore_all` of many small actors, and memory per idle actor.
//!
//! `cargo bench -p machine-persist --bench actors` (add `-- quick` for a shorter run). Prints a
//! table; figures and method are recorded in BENCHMARKS.md.

#[path = "../tests/fixture/mod.rs"]
mod fixture;

use std::time::{Duration, Instant, SystemTime};

use fixture::{Account, AccountEvent, Ledger};
use machine_persist::store::{AppendRequest, Journal, NewEvent, NewSnapshot};
use machine_persist::{ActorFilter, PersistConfig, PersistentSystem, SqliteStore};

fn deposit() -> AccountEvent {
    AccountEvent::Deposit { amount: 1 }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// `actors` actors, each awaiting the commit of each of its events, for `duration`.
async fn many_actors(store: SqliteStore, actors: usize, duration: Duration) -> f64 {
    let system = PersistentSystem::new(store);
    let repo = system.repository(
        PersistConfig::<Account>::new().snapshot_on_stop(false),
        Ledger::default(),
    );
    let mut refs = Vec::with_capacity(actors);
    for n in 0..actors {
        refs.push(
            repo.spawn(format!("many-{n}"), Account::new())
                .await
                .unwrap(),
        );
    }
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(actors);
    for account in refs {
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                assert!(account.call(deposit()).await.unwrap().is_accepted());
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    let rate = total as f64 / start.elapsed().as_secs_f64();
    system.shutdown().await;
    rate
}

/// One actor fed with queued `send`s (batched by the actor), then one `call`.
async fn hot_actor(store: SqliteStore, events: u64) -> f64 {
    let system = PersistentSystem::new(store);
    let repo = system.repository(
        PersistConfig::<Account>::new().snapshot_on_stop(false),
        Ledger::default(),
    );
    let account = repo.spawn("hot", Account::new()).await.unwrap();
    let start = Instant::now();
    for _ in 0..events {
        account.send(deposit()).await.unwrap();
    }
    assert!(account.call(deposit()).await.unwrap().is_accepted());
    let rate = (events + 1) as f64 / start.elapsed().as_secs_f64();
    system.shutdown().await;
    rate
}

fn event() -> NewEvent {
    NewEvent::new("Deposit", 1, "json", r#"{"Deposit":{"amount":1}}"#)
}

fn genesis() -> NewSnapshot {
    NewSnapshot::new(
        0,
        "Open",
        1,
        "json",
        r#"{"Open":{"balance":0,"ops":0}}"#,
        SystemTime::now().into(),
    )
}

/// Writes actor `id` with `events` deposits straight through the journal.
fn request(id: &str, events: usize) -> AppendRequest {
    AppendRequest::new(id, "Account", 0, "Open", SystemTime::now().into())
        .create()
        .with_snapshot(genesis())
        .with_events((0..events).map(|_| event()).collect())
}

/// Restores one actor with `events` journaled events (genesis snapshot only): events/s folded.
async fn restore_one(store: SqliteStore, events: usize) -> f64 {
    let mut written = 0;
    let mut version = 0u64;
    store.append(request("long", 0)).await.unwrap();
    while written < events {
        let chunk = 10_000.min(events - written);
        let append =
            AppendRequest::new("long", "Account", version, "Open", SystemTime::now().into())
                .with_events((0..chunk).map(|_| event()).collect());
        store.append(append).await.unwrap();
        written += chunk;
        version += chunk as u64;
    }
    let system = PersistentSystem::new(store);
    let repo = system.repository(
        PersistConfig::<Account>::new().snapshot_on_stop(false),
        Ledger::default(),
    );
    let start = Instant::now();
    let account = repo.restore("long").await.unwrap().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(account.version().await.unwrap(), events as u64);
    system.shutdown().await;
    events as f64 / elapsed.as_secs_f64()
}

/// `restore_all` of `actors` actors of a genesis snapshot + 10 events each: seconds, and RSS per
/// idle restored actor.
async fn restore_all(store: SqliteStore, actors: usize) -> (f64, f64) {
    for chunk in (0..actors).collect::<Vec<_>>().chunks(1_000) {
        let batch: Vec<AppendRequest> = chunk
            .iter()
            .map(|n| request(&format!("small-{n}"), 10))
            .collect();
        store.append_batch(&batch).await.unwrap();
    }
    let system = PersistentSystem::new(store);
    let repo = system.repository(
        PersistConfig::<Account>::new().snapshot_on_stop(false),
        Ledger::default(),
    );
    let rss_before = rss_bytes();
    let start = Instant::now();
    let report = repo.restore_all(ActorFilter::new()).await.unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert!(report.is_complete(), "{:?}", report.failed.first());
    assert_eq!(report.restored.len(), actors);
    let per_actor = (rss_bytes().saturating_sub(rss_before)) as f64 / actors as f64;
    drop(report);
    system.shutdown().await;
    (seconds, per_actor)
}

async fn fresh_store(dir: &tempfile::TempDir, name: &str) -> SqliteStore {
    SqliteStore::open(dir.path().join(name)).await.unwrap()
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let duration = Duration::from_secs(if quick { 2 } else { 5 });
        println!("persistent actors on SQLite (synchronous=FULL), 2 worker threads");
        let rate = many_actors(fresh_store(&dir, "many.db").await, 1_000, duration).await;
        println!(
            "1,000 actors, each awaiting each commit : {rate:>10.0} events/s (target 150,000)"
        );
        let rate = hot_actor(
            fresh_store(&dir, "hot.db").await,
            if quick { 100_000 } else { 500_000 },
        )
        .await;
        println!("1 hot actor, queued sends              : {rate:>10.0} events/s (target 50,000)");
        let events = if quick { 200_000 } else { 1_000_000 };
        let rate = restore_one(fresh_store(&dir, "long.db").await, events).await;
        println!("restore, {events} events folded      : {rate:>10.0} events/s (target 1,000,000)");
        let actors = if quick { 10_000 } else { 100_000 };
        let (seconds, per_actor) = restore_all(fresh_store(&dir, "small.db").await, actors).await;
        println!(
            "restore_all of {actors} actors (10 events) : {seconds:>10.2} s (target 5 s for 100k)"
        );
        println!("RSS per restored idle actor            : {per_actor:>10.0} bytes");
    });
}

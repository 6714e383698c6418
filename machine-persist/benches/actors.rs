//! Persistent actors end to end, each figure beside its storage ceiling from the same run:
//! durable events/s with many actors (a scale curve) and with one hot actor, the restore fold of
//! a long history, `restore_all` of many small actors (a scale curve), memory per active actor.
//!
//! ```text
//! cargo bench -p machine-persist --bench actors                       # SQLite
//! cargo bench -p machine-persist --features postgres --bench actors   # and Postgres
//! ```
//!
//! Environment: `BENCH_SECONDS` (5), `BENCH_ACTORS` (scale curve, `1,10,100,1000,10000`),
//! `BENCH_RESTORE_ALL` (`10000,100000,1000000`), `BENCH_FOLD_EVENTS` (1,000,000), `BENCH_ONLY`
//! (`many`, `hot`, `fold`, `restore_all`, `postgres`: one part), `BENCH_CEILINGS` (`0` skips the
//! ceiling contenders, for profiling), `MACHINE_TEST_POSTGRES_URL`.
//! Prints one table per part; figures and method are recorded in BENCHMARKS.md.

#[path = "support/ceiling.rs"]
mod ceiling;
#[path = "../tests/fixture/mod.rs"]
mod fixture;

use std::time::{Duration, Instant, SystemTime};

use ceiling::{cpu_time, load_average, ratio};
use fixture::{Account, AccountEvent, Ledger};
use machine_persist::chrono::{DateTime, Utc};
#[cfg(feature = "msgpack")]
use machine_persist::codec::MessagePackCodec;
use machine_persist::codec::{Codec, JsonCodec};
use machine_persist::store::{AppendRequest, NewEvent, NewSnapshot, Store};
use machine_persist::{ActorFilter, PersistConfig, PersistentSystem, SqliteStore};

fn deposit() -> AccountEvent {
    AccountEvent::Deposit { amount: 1 }
}

fn env_list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|n| n.trim().replace('_', "").parse().ok())
        .collect()
}

fn env_number(name: &str, default: u64) -> u64 {
    env_list(name, &default.to_string())
        .first()
        .copied()
        .unwrap_or(default)
}

fn selected(part: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| only == part)
}

/// Whether to run the ceiling contenders (`BENCH_CEILINGS=0` skips them, for profiling).
fn with_ceilings() -> bool {
    std::env::var("BENCH_CEILINGS").map_or(true, |value| value != "0")
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

/// `actors` actors, each awaiting the commit of each of its events, for `duration`: events/s and
/// CPU µs per event (every thread of the process).
async fn many_actors<S: Store>(store: S, actors: usize, duration: Duration) -> (f64, f64) {
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
    let cpu = cpu_time();
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
    let micros = (cpu_time() - cpu).as_secs_f64() * 1e6 / total as f64;
    let _ = system.shutdown().await;
    (rate, micros)
}

/// One actor fed with queued `send`s (batched by the actor), then one `call`.
async fn hot_actor<S: Store>(store: S, events: u64) -> f64 {
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
    let _ = system.shutdown().await;
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

/// Writes one actor `long` with `events` deposits and a genesis snapshot, encoded by `codec`,
/// straight through the journal.
async fn write_long<S: Store>(store: &S, events: usize, codec: &impl Codec) {
    let name = codec.name();
    let payload = codec.encode(&deposit()).unwrap();
    let now: DateTime<Utc> = SystemTime::now().into();
    let state = codec.encode(&Account::new()).unwrap();
    let genesis = NewSnapshot::new(0, "Open", 1, name, state, now);
    let create = AppendRequest::new("long", "Account", 0, "Open", now)
        .create()
        .with_snapshot(genesis);
    store.append(create).await.unwrap();
    let mut written = 0;
    while written < events {
        let chunk = 10_000.min(events - written);
        let append = AppendRequest::new("long", "Account", written as u64, "Open", now)
            .with_events(
                (0..chunk)
                    .map(|_| NewEvent::new("Deposit", 1, name, payload.clone()))
                    .collect(),
            );
        store.append(append).await.unwrap();
        written += chunk;
    }
}

/// Restores actor `long` with `codec`: events/s folded.
async fn restore_long<S: Store>(store: S, events: usize, codec: impl Codec) -> f64 {
    let system = PersistentSystem::new(store);
    let repo = system.repository(
        PersistConfig::<Account>::new()
            .snapshot_on_stop(false)
            .codec(codec),
        Ledger::default(),
    );
    let start = Instant::now();
    let account = repo.restore("long").await.unwrap().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(account.version().await.unwrap(), events as u64);
    let _ = system.shutdown().await;
    events as f64 / elapsed.as_secs_f64()
}

/// One actor's history of `events` deposits written with `codec` and restored with it: payload
/// bytes per event, and events/s folded.
async fn codec_run<C: Codec>(dir: &tempfile::TempDir, codec: C, events: usize) -> (usize, f64) {
    let store = fresh_sqlite(dir, &format!("codec-{}.db", codec.name())).await;
    write_long(&store, events, &codec).await;
    store.merge().await.unwrap();
    let bytes = codec.encode(&deposit()).unwrap().len();
    (bytes, restore_long(store, events, codec).await)
}

/// Writes `actors` actors of a genesis snapshot + 10 events each.
async fn write_small<S: Store>(store: &S, actors: usize) {
    for chunk in (0..actors).collect::<Vec<_>>().chunks(1_000) {
        let batch: Vec<AppendRequest> = chunk
            .iter()
            .map(|n| request(&format!("small-{n:07}"), 10))
            .collect();
        for result in store.append_batch(&batch).await.unwrap() {
            result.unwrap();
        }
    }
}

/// `restore_all` of the small actors: seconds, and RSS per idle restored actor.
async fn restore_all<S: Store>(store: S, actors: usize) -> (f64, f64) {
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
    let _ = system.shutdown().await;
    (seconds, per_actor)
}

/// The bytes a SQLite database holds on disk: its file and its write-ahead log.
fn stored_bytes(path: &std::path::Path) -> u64 {
    let wal = path.with_extension("db-wal");
    [path, wal.as_path()]
        .iter()
        .filter_map(|file| std::fs::metadata(file).ok())
        .map(|meta| meta.len())
        .sum()
}

async fn fresh_sqlite(dir: &tempfile::TempDir, name: &str) -> SqliteStore {
    SqliteStore::open(dir.path().join(name)).await.unwrap()
}

fn header(title: &str) {
    header_with(title, ["value", "ceiling", "ratio"]);
}

fn header_with(title: &str, [value, ceiling, ratio]: [&str; 3]) {
    println!();
    println!("{title} (load {})", load_average());
    println!("{:<52} {value:>14} {ceiling:>14} {ratio:>7}", "figure");
}

fn line(figure: &str, value: f64, ceiling: f64) {
    println!(
        "{figure:<52} {value:>14.0} {ceiling:>14.0} {:>7.2}",
        ratio(value, ceiling)
    );
}

fn main() {
    let seconds = Duration::from_secs(env_number("BENCH_SECONDS", 5));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        if selected("many") {
            header("SQLite: N actors, each awaiting each commit (events/s; ceiling: the two-level design on the same tables, N rows per transaction)");
            for actors in env_list("BENCH_ACTORS", "1,10,100,1000,10000") {
                let actors = actors as usize;
                let (rate, micros) = many_actors(
                    fresh_sqlite(&dir, &format!("many-{actors}.db")).await,
                    actors,
                    seconds,
                )
                .await;
                let ceiling = if with_ceilings() {
                    let store = fresh_sqlite(&dir, &format!("design-{actors}.db")).await;
                    ceiling::sqlite::design(store.write_pool(), actors, seconds)
                        .await
                        .per_second()
                } else {
                    0.0
                };
                line(
                    &format!("{actors} actors ({micros:.1} µs CPU per event)"),
                    rate,
                    ceiling,
                );
            }
        }
        if selected("hot") {
            header("SQLite: one hot actor, queued sends (events/s; ceiling: append level, 1,000-row transactions)");
            let rate = hot_actor(fresh_sqlite(&dir, "hot.db").await, 500_000).await;
            let store = fresh_sqlite(&dir, "append.db").await;
            let ceiling = ceiling::sqlite::append_level(store.write_pool(), 1_000, seconds).await;
            line("1 hot actor", rate, ceiling.per_second());
        }
        if selected("fold") {
            let events = env_number("BENCH_FOLD_EVENTS", 1_000_000) as usize;
            header("SQLite: restore of one actor's history (events/s; ceiling: the same rows read through SQLite's C API, not decoded)");
            let store = fresh_sqlite(&dir, "long.db").await;
            write_long(&store, events, &JsonCodec).await;
            store.merge().await.unwrap();
            let raw = ceiling::sqlite::read(&dir.path().join("long.db"), "long");
            let rate = restore_long(store, events, JsonCodec).await;
            line(&format!("restore fold, {events} events"), rate, raw.per_second());
        }
        if selected("restore_all") {
            header_with(
                "SQLite: restore_all of N actors, genesis + 10 events each (memory per active actor, disk per stored actor)",
                ["time", "actors/s", "memory"],
            );
            for actors in env_list("BENCH_RESTORE_ALL", "10000,100000,1000000") {
                let actors = actors as usize;
                let store = fresh_sqlite(&dir, &format!("small-{actors}.db")).await;
                write_small(&store, actors).await;
                store.merge().await.unwrap();
                let stored = stored_bytes(&dir.path().join(format!("small-{actors}.db")));
                let (seconds, per_actor) = restore_all(store, actors).await;
                println!(
                    "{:<52} {:>11.2} s {:>11.0} a/s {:>7.0} B active {:>5.0} B stored",
                    format!("restore_all, {actors} actors"),
                    seconds,
                    actors as f64 / seconds,
                    per_actor,
                    stored as f64 / actors as f64
                );
            }
        }
        if selected("codec") {
            let events = env_number("BENCH_CODEC_EVENTS", 500_000) as usize;
            header_with(
                &format!("SQLite: codecs, {events} events of one actor restored"),
                ["bytes/event", "events/s", ""],
            );
            let (json_bytes, json_rate) = codec_run(&dir, JsonCodec, events).await;
            println!("{:<52} {json_bytes:>12} B {json_rate:>14.0}", "json");
            #[cfg(feature = "msgpack")]
            {
                let (bytes, rate) = codec_run(&dir, MessagePackCodec, events).await;
                println!("{:<52} {bytes:>12} B {rate:>14.0}", "msgpack");
            }
        }
        #[cfg(feature = "postgres")]
        if selected("postgres") {
            postgres(seconds).await;
        }
    });
}

#[cfg(feature = "postgres")]
async fn postgres(seconds: Duration) {
    use machine_persist::{PostgresOptions, PostgresStore};
    let url = std::env::var("MACHINE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let open = |name: &'static str| {
        let url = url.clone();
        async move {
            let schema = format!("mp_bench_{name}_{}", std::process::id());
            let options = PostgresOptions::url(&url).ok()?.schema(&schema).ok()?;
            PostgresStore::with_options(options).await.ok()
        }
    };
    let Some(probe) = open("probe").await else {
        println!("postgres: skipped, unreachable");
        return;
    };
    probe.drop_schema().await.unwrap();
    header("Postgres: N actors, each awaiting each commit (events/s; ceilings: raw one-row commits for 1 actor, raw 1,000-row inserts from 2 clients for more)");
    let ceiling_store = open("ceiling").await.unwrap();
    let inserts = ceiling::postgres::inserts(ceiling_store.pool(), 2, seconds).await;
    let single = ceiling::postgres::single_commits(ceiling_store.pool(), seconds).await;
    for actors in env_list("BENCH_PG_ACTORS", "1,10,100,1000,10000") {
        let store = open("many").await.unwrap();
        let (rate, micros) = many_actors(store.clone(), actors as usize, seconds).await;
        let ceiling = if actors == 1 { &single } else { &inserts };
        line(
            &format!("{actors} actors ({micros:.1} µs CPU per event)"),
            rate,
            ceiling.per_second(),
        );
        store.drop_schema().await.unwrap();
    }
    let store = open("hot").await.unwrap();
    let rate = hot_actor(store.clone(), 200_000).await;
    line("1 hot actor, queued sends", rate, inserts.per_second());
    store.drop_schema().await.unwrap();
    ceiling_store.drop_schema().await.unwrap();
}

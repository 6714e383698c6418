//! Side by side on one Postgres server: durable events per second of this crate and of
//! [cqrs-es](https://crates.io/crates/cqrs-es) 0.5 with postgres-es 0.5, under the same load.
//!
//! ```text
//! cargo bench -p machine-persist --features postgres --bench compare_cqrs
//! ```
//!
//! Contenders, each on its own fresh schema (dropped afterwards):
//!
//! - **journal writer**: the raw [`JournalWriter`] on a [`PostgresStore`]; each appender awaits
//!   each one-event append to its own actor;
//! - **persistent actors**: the full stack, `PersistentSystem::new(PostgresStore)` and a
//!   repository of a small counter machine; each caller awaits `actor.call(Add)` (the event is
//!   journaled and committed before the call returns);
//! - **cqrs-es**: the equivalent counter aggregate (one `Add` command produces one `Added`
//!   event) run by a `PostgresCqrs` over a `PersistedEventStore` with snapshots every 100 events
//!   (like the actors' default schedule); each caller awaits `execute`. Its pool has
//!   `BENCH_CQRS_POOL` connections (default 10, as `postgres_es::default_postgress_pool`; ours
//!   also has 10).
//!
//! Loads: for each of `BENCH_LEVELS` (default `1,64,1000`) that many actors (aggregates), one
//! caller each; then one hot actor (aggregate) with `BENCH_HOT_CALLERS` (default 1,000)
//! concurrent callers, where this crate's actor commits what queued while it committed as one
//! append, and concurrent cqrs-es commands on one aggregate race (the losers fail with
//! `AggregateConflict`; counted, and the caller goes on with its next command). Every load runs
//! one second of warm-up, then is measured for `BENCH_SECONDS` (default 5). Only acknowledged
//! events are counted.
//!
//! Besides events/s each row gives the CPU time per event of this process and of the server
//! (every process named `postgres` on this host, read from `/proc`; other sessions on the same
//! server count too), which is steadier than throughput on a shared machine.
//!
//! `BENCH_ONLY` (a comma-separated subset of `writer`, `actors`, `cqrs`) measures only those.
//! `MACHINE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`) names the
//! server; when it is unreachable the benchmark prints a skip line and exits.

#[path = "support/ceiling.rs"]
mod ceiling;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, CqrsFramework, DomainEvent};
use machine_core::{Event, Machine, Outcome, StateTag, Tag};
use machine_persist::store::{AppendRequest, NewEvent};
use machine_persist::writer::{JournalWriter, WriterConfig};
use machine_persist::{PersistConfig, PersistentSystem, PostgresOptions, PostgresStore};
use postgres_es::{PostgresCqrs, PostgresEventRepository};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Executor, PgConnection};

// ---------------------------------------------------------------------------------------------
// The machine: a counter, hand-written (no derive) so the benchmark needs nothing but the crates.

/// The counter's only state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Counter {
    Counting { count: u64 },
}

/// The counter's only event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum CounterEvent {
    Add { amount: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum CounterTag {
    Counting,
}

impl fmt::Display for CounterTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for CounterTag {
    const ALL: &'static [Self] = &[Self::Counting];
    fn name(self) -> &'static str {
        "Counting"
    }
}

impl StateTag for CounterTag {
    fn is_final(self) -> bool {
        false
    }
    fn is_initial(self) -> bool {
        true
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum CounterEventTag {
    Add,
}

impl fmt::Display for CounterEventTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for CounterEventTag {
    const ALL: &'static [Self] = &[Self::Add];
    fn name(self) -> &'static str {
        "Add"
    }
}

impl Event for CounterEvent {
    type Tag = CounterEventTag;
    fn tag(&self) -> CounterEventTag {
        CounterEventTag::Add
    }
}

impl Machine for Counter {
    type Event = CounterEvent;
    type Env = ();
    type Error = Infallible;
    type StateTag = CounterTag;
    const NAME: &'static str = "Counter";

    fn tag(&self) -> CounterTag {
        CounterTag::Counting
    }

    fn transition(&self, event: &CounterEvent) -> Outcome<Self, Infallible> {
        let (Counter::Counting { count }, CounterEvent::Add { amount }) = (self, event);
        Outcome::Next(Counter::Counting {
            count: count + amount,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The same counter as a cqrs-es aggregate.

/// The aggregate's state.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CqrsCounter {
    count: u64,
}

/// The aggregate's only command.
struct Add {
    amount: u64,
}

/// The aggregate's only event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum CqrsCounterEvent {
    Added { amount: u64 },
}

impl DomainEvent for CqrsCounterEvent {
    fn event_type(&self) -> String {
        "Added".to_string()
    }
    fn event_version(&self) -> String {
        "1".to_string()
    }
}

/// The aggregate never refuses a command.
#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Aggregate for CqrsCounter {
    const TYPE: &'static str = "Counter";
    type Command = Add;
    type Event = CqrsCounterEvent;
    type Error = Never;
    type Services = ();

    async fn handle(
        &mut self,
        command: Add,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Never> {
        let event = CqrsCounterEvent::Added {
            amount: command.amount,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: CqrsCounterEvent) {
        let CqrsCounterEvent::Added { amount } = event;
        self.count += amount;
    }
}

/// The tables postgres-es expects (from its `db/init.sql`), in schema `schema`.
fn cqrs_tables(schema: &str) -> String {
    format!(
        "CREATE SCHEMA {schema};
         CREATE TABLE {schema}.events (
             aggregate_type text NOT NULL,
             aggregate_id   text NOT NULL,
             sequence       bigint CHECK (sequence >= 0) NOT NULL,
             event_type     text NOT NULL,
             event_version  text NOT NULL,
             payload        json NOT NULL,
             metadata       json NOT NULL,
             PRIMARY KEY (aggregate_type, aggregate_id, sequence));
         CREATE TABLE {schema}.snapshots (
             aggregate_type   text NOT NULL,
             aggregate_id     text NOT NULL,
             last_sequence    bigint CHECK (last_sequence >= 0) NOT NULL,
             current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
             payload          json NOT NULL,
             PRIMARY KEY (aggregate_type, aggregate_id, last_sequence));"
    )
}

// ---------------------------------------------------------------------------------------------
// Measuring.

/// Settings from the environment.
struct Settings {
    url: String,
    seconds: u64,
    levels: Vec<u64>,
    hot_callers: u64,
    cqrs_pool: u32,
    only: Option<String>,
}

impl Settings {
    fn from_env() -> Self {
        let number = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|value| value.parse().ok())
                .unwrap_or(default)
        };
        let levels = std::env::var("BENCH_LEVELS")
            .ok()
            .map(|value| {
                value
                    .split(',')
                    .filter_map(|level| level.trim().parse().ok())
                    .collect()
            })
            .unwrap_or_else(|| vec![1, 64, 1000]);
        Self {
            url: std::env::var("MACHINE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string()),
            seconds: number("BENCH_SECONDS", 5),
            levels,
            hot_callers: number("BENCH_HOT_CALLERS", 1000),
            cqrs_pool: u32::try_from(number("BENCH_CQRS_POOL", 10)).unwrap_or(10),
            only: std::env::var("BENCH_ONLY").ok(),
        }
    }

    /// Whether `contender` (`writer`, `actors` or `cqrs`) is to be measured.
    fn runs(&self, contender: &str) -> bool {
        match &self.only {
            None => true,
            Some(only) => only.split(',').any(|name| name.trim() == contender),
        }
    }
}

/// What one contender did under one load.
#[derive(Clone, Copy, Default)]
struct Figures {
    events_per_second: f64,
    /// CPU time of this process per event, in microseconds.
    client_us: f64,
    /// CPU time of the server's processes per event, in microseconds.
    server_us: f64,
    /// Commands refused with a conflict (cqrs-es on a hot aggregate).
    conflicts: u64,
}

/// Total CPU time (user + system) in clock ticks of `stat`, a `/proc/<pid>/stat` text.
fn stat_ticks(stat: &str) -> u64 {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    [11, 12]
        .iter()
        .filter_map(|&index| fields.get(index)?.parse::<u64>().ok())
        .sum()
}

/// CPU ticks of this process and of every `postgres` process on this host.
fn cpu_ticks() -> (u64, u64) {
    let own = std::fs::read_to_string("/proc/self/stat").map_or(0, |stat| stat_ticks(&stat));
    let server = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
                .filter(|stat| stat.contains("(postgres)"))
                .map(|stat| stat_ticks(&stat))
                .sum()
        })
        .unwrap_or(0);
    (own, server)
}

/// Microseconds per clock tick (`USER_HZ` is 100 on Linux).
const TICK_US: f64 = 10_000.0;

/// Counters shared by the callers of one load.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    done: AtomicU64,
    conflicts: AtomicU64,
}

/// Runs `callers` copies of `step` (caller number in, "was it acknowledged" out) in a loop until
/// told to stop: one second of warm-up, then `seconds` measured.
async fn drive<F, Fut>(callers: u64, seconds: u64, step: F) -> Figures
where
    F: Fn(u64, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let shared = Arc::new(Shared::default());
    let mut tasks = Vec::new();
    for caller in 0..callers {
        let (shared, step) = (Arc::clone(&shared), step.clone());
        tasks.push(tokio::spawn(async move {
            let mut round = 0;
            while !shared.stop.load(Ordering::Relaxed) {
                if step(caller, round).await {
                    shared.done.fetch_add(1, Ordering::Relaxed);
                } else {
                    shared.conflicts.fetch_add(1, Ordering::Relaxed);
                }
                round += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (done, conflicts) = (
        shared.done.load(Ordering::Relaxed),
        shared.conflicts.load(Ordering::Relaxed),
    );
    let (own, server) = cpu_ticks();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let events = shared.done.load(Ordering::Relaxed) - done;
    let conflicts = shared.conflicts.load(Ordering::Relaxed) - conflicts;
    let elapsed = started.elapsed().as_secs_f64();
    let (own_after, server_after) = cpu_ticks();
    shared.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("caller");
    }
    let per_event = |ticks: u64| ticks as f64 * TICK_US / events.max(1) as f64;
    Figures {
        events_per_second: events as f64 / elapsed,
        client_us: per_event(own_after - own),
        server_us: per_event(server_after - server),
        conflicts,
    }
}

/// A fresh, uniquely named schema for one measurement.
fn schema_name(prefix: &str) -> String {
    format!("{prefix}_{}_{:08x}", std::process::id(), fastrand::u32(..))
}

async fn open_store(settings: &Settings) -> PostgresStore {
    let options = PostgresOptions::url(&settings.url)
        .expect("url")
        .schema(&schema_name("mp_cmp"))
        .expect("schema");
    PostgresStore::with_options(options).await.expect("store")
}

/// The raw journal writer: `actors` appenders, one actor each.
async fn journal_writer(settings: &Settings, actors: u64) -> Figures {
    let store = open_store(settings).await;
    let writer = JournalWriter::spawn(store.clone(), WriterConfig::default());
    let step = {
        let writer = writer.clone();
        move |caller: u64, round: u64| {
            let writer = writer.clone();
            async move {
                let mut request = AppendRequest::new(
                    format!("counter-{caller}"),
                    "Counter",
                    round,
                    "Counting",
                    Utc::now(),
                )
                .push_event(NewEvent::new(
                    "Add",
                    1,
                    "json",
                    r#"{"Add":{"amount":1}}"#,
                ));
                if round == 0 {
                    request = request.create();
                }
                writer.append(request).await.expect("append");
                true
            }
        }
    };
    let figures = drive(actors, settings.seconds, step).await;
    writer.shutdown().await;
    store.drop_schema().await.expect("drop schema");
    store.close().await;
    figures
}

/// Persistent actors: `actors` actors, `callers` callers spread over them.
async fn persistent_actors(settings: &Settings, actors: u64, callers: u64) -> Figures {
    let store = open_store(settings).await;
    let system = PersistentSystem::new(store.clone());
    let counters = system.repository(PersistConfig::<Counter>::new(), ());
    let spawned = futures::future::join_all((0..actors).map(|n| {
        let counters = counters.clone();
        async move {
            counters
                .spawn(format!("counter-{n}"), Counter::Counting { count: 0 })
                .await
                .expect("spawn")
        }
    }))
    .await;
    let refs = Arc::new(spawned);
    let step = move |caller: u64, _round: u64| {
        let refs = Arc::clone(&refs);
        async move {
            let actor = &refs[(caller % refs.len() as u64) as usize];
            let outcome = actor
                .call(CounterEvent::Add { amount: 1 })
                .await
                .expect("call");
            outcome.is_accepted()
        }
    };
    let figures = drive(callers, settings.seconds, step).await;
    system.shutdown().await;
    store.drop_schema().await.expect("drop schema");
    store.close().await;
    figures
}

/// cqrs-es: `aggregates` aggregates, `callers` callers spread over them.
async fn cqrs_es(settings: &Settings, aggregates: u64, callers: u64) -> Figures {
    let schema = schema_name("cqrs_cmp");
    let mut setup = PgConnection::connect(&settings.url).await.expect("connect");
    setup
        .execute(cqrs_tables(&schema).as_str())
        .await
        .expect("cqrs-es tables");
    let pool = PgPoolOptions::new()
        .max_connections(settings.cqrs_pool)
        .connect(&settings.url)
        .await
        .expect("pool");
    let repository = PostgresEventRepository::new(pool.clone())
        .with_tables(&format!("{schema}.events"), &format!("{schema}.snapshots"));
    let store = PersistedEventStore::new_snapshot_store(repository, 100);
    let cqrs: Arc<PostgresCqrs<CqrsCounter>> = Arc::new(CqrsFramework::new(store, vec![], ()));
    let step = move |caller: u64, _round: u64| {
        let cqrs = Arc::clone(&cqrs);
        async move {
            let id = format!("counter-{}", caller % aggregates);
            match cqrs.execute(&id, Add { amount: 1 }).await {
                Ok(()) => true,
                Err(AggregateError::AggregateConflict) => false,
                Err(error) => panic!("cqrs-es: {error}"),
            }
        }
    };
    let figures = drive(callers, settings.seconds, step).await;
    pool.close().await;
    setup
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await
        .expect("drop schema");
    setup.close().await.expect("close");
    figures
}

// ---------------------------------------------------------------------------------------------
// Reporting.

/// One line of the table; `None` where a contender was not measured.
struct Line {
    load: String,
    writer: Option<Figures>,
    actors: Option<Figures>,
    cqrs: Option<Figures>,
    /// The storage ceiling of the line's load, rows/s, from the same run.
    ceiling: Option<f64>,
}

fn rate(figures: &Figures) -> String {
    let mut text = format!(
        "{:.0} ({:.1} + {:.1} us)",
        figures.events_per_second, figures.client_us, figures.server_us
    );
    if figures.conflicts > 0 {
        text.push_str(&format!(", {} conflicts", figures.conflicts));
    }
    text
}

fn print_table(lines: &[Line]) {
    let cell = |figures: &Option<Figures>| figures.as_ref().map_or_else(|| "—".to_string(), rate);
    println!();
    println!(
        "durable events/s (CPU per event: this process + server); ratio = persistent actors / cqrs-es; \
         ceiling: raw one-row commits (1 actor) or raw 1,000-row inserts from 2 clients (load {})",
        ceiling::load_average()
    );
    println!();
    println!("| load | journal writer | persistent actors | cqrs-es + postgres-es | ratio | ceiling | actors / ceiling |");
    println!("|---|---|---|---|---|---|---|");
    for line in lines {
        let ratio = match (&line.actors, &line.cqrs) {
            (Some(actors), Some(cqrs)) if cqrs.events_per_second > 0.0 => {
                format!("{:.1}×", actors.events_per_second / cqrs.events_per_second)
            }
            _ => "—".to_string(),
        };
        let (ceiling, of_ceiling) = match (line.ceiling, &line.actors) {
            (Some(ceiling), Some(actors)) => (
                format!("{ceiling:.0}"),
                format!("{:.2}", ceiling::ratio(actors.events_per_second, ceiling)),
            ),
            _ => ("—".to_string(), "—".to_string()),
        };
        println!(
            "| {} | {} | {} | {} | {ratio} | {ceiling} | {of_ceiling} |",
            line.load,
            cell(&line.writer),
            cell(&line.actors),
            cell(&line.cqrs),
        );
    }
}

/// The storage ceilings of this run: raw one-row commits and raw 1,000-row inserts from two
/// clients into the store's own `events` table, rows/s.
async fn ceilings(settings: &Settings) -> (f64, f64) {
    let store = open_store(settings).await;
    let duration = Duration::from_secs(settings.seconds);
    let single = ceiling::postgres::single_commits(store.pool(), duration).await;
    let inserts = ceiling::postgres::inserts(store.pool(), 2, duration).await;
    store.drop_schema().await.expect("drop schema");
    store.close().await;
    (single.per_second(), inserts.per_second())
}

fn main() {
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if let Err(error) = PgConnection::connect(&settings.url).await {
            println!(
                "skipped: Postgres at {} is unreachable: {error}",
                settings.url
            );
            return;
        }
        let (single, inserts) = ceilings(&settings).await;
        let mut lines = Vec::new();
        for &level in &settings.levels {
            let load = format!("{level} actor(s), 1 caller each");
            println!("{load} ...");
            let writer = match settings.runs("writer") {
                true => Some(journal_writer(&settings, level).await),
                false => None,
            };
            let actors = match settings.runs("actors") {
                true => Some(persistent_actors(&settings, level, level).await),
                false => None,
            };
            let cqrs = match settings.runs("cqrs") {
                true => Some(cqrs_es(&settings, level, level).await),
                false => None,
            };
            lines.push(Line {
                load,
                writer,
                actors,
                cqrs,
                ceiling: Some(if level == 1 { single } else { inserts }),
            });
        }
        if settings.hot_callers > 0 {
            let load = format!("1 hot actor, {} callers", settings.hot_callers);
            println!("{load} ...");
            let actors = match settings.runs("actors") {
                true => Some(persistent_actors(&settings, 1, settings.hot_callers).await),
                false => None,
            };
            let cqrs = match settings.runs("cqrs") {
                true => Some(cqrs_es(&settings, 1, settings.hot_callers).await),
                false => None,
            };
            lines.push(Line {
                load,
                writer: None,
                actors,
                cqrs,
                ceiling: Some(inserts),
            });
        }
        print_table(&lines);
    });
}

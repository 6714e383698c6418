//! The read side: catch-up of a long journal through a projection, live lag from commit to
//! handler under many writing actors, and what one live projection costs the write path.
//!
//! ```text
//! cargo bench -p machine-persist --bench projection                       # SQLite
//! cargo bench -p machine-persist --features postgres --bench projection   # and Postgres
//! ```
//!
//! Environment: `BENCH_EVENTS` (catch-up history, 1,000,000), `BENCH_ACTORS` (writers, 1,000),
//! `BENCH_SECONDS` (each write run, 5), `BENCH_ONLY` (`catchup`, `live`: one part),
//! `MACHINE_TEST_POSTGRES_URL`. Prints one line per figure, with the load average.

#[path = "support/ceiling.rs"]
mod ceiling;
#[path = "../tests/fixture/mod.rs"]
mod fixture;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ceiling::{cpu_time, load_average};
use fixture::{Account, AccountEvent, Ledger};
use machine_persist::projection::{
    Envelope, Projection, ProjectionRunner, Subscription, TransactionalProjection,
    TransactionalStore,
};
use machine_persist::store::{AppendRequest, NewEvent, Store};
use machine_persist::{PersistConfig, PersistentSystem, SqliteStore};

const MACHINE_TYPE: &str = "Account";
const EVENTS_PER_REQUEST: u64 = 10;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn selected(part: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| only == part)
}

fn config() -> PersistConfig<Account> {
    PersistConfig::<Account>::new().machine_type(MACHINE_TYPE)
}

fn subscription() -> Subscription<AccountEvent> {
    Subscription::new().machine(&config())
}

/// Appends `events` deposits over 1,000 actors, 10 per request, 1,000 requests per batch.
async fn seed<S: Store>(store: &S, events: u64) {
    let actors = 1_000u64;
    let payload = serde_json::to_vec(&AccountEvent::Deposit { amount: 1 }).unwrap();
    let mut head = vec![0u64; actors as usize];
    let mut written = 0;
    while written < events {
        let batch: Vec<AppendRequest> = (0..actors)
            .map(|n| {
                let expected = head[n as usize];
                let request = AppendRequest::new(
                    format!("acc-{n}"),
                    MACHINE_TYPE,
                    expected,
                    "Open",
                    chrono::Utc::now(),
                )
                .with_events(
                    (0..EVENTS_PER_REQUEST)
                        .map(|_| NewEvent::new("Deposit", 1, "json", payload.clone()))
                        .collect(),
                );
                if expected == 0 {
                    request.create()
                } else {
                    request
                }
            })
            .collect();
        for result in store.append_batch(&batch).await.unwrap() {
            result.unwrap();
        }
        for head in &mut head {
            *head += EVENTS_PER_REQUEST;
        }
        written += actors * EVENTS_PER_REQUEST;
    }
}

/// The trivial handler: counts.
struct Count(u64);

impl Projection for Count {
    type Event = AccountEvent;
    type Error = std::convert::Infallible;

    async fn handle(&mut self, _: &Envelope<AccountEvent>) -> Result<(), Self::Error> {
        self.0 += 1;
        Ok(())
    }
}

/// The exactly-once SQL handler: one upsert per event into a balance table.
struct Balances;

const CREATE_BALANCES: &str =
    "CREATE TABLE IF NOT EXISTS bench_balances (actor_id TEXT PRIMARY KEY, version BIGINT NOT NULL)";
const UPSERT_BALANCE: &str = "INSERT INTO bench_balances (actor_id, version) VALUES ($1, $2)
    ON CONFLICT (actor_id) DO UPDATE SET version = excluded.version";

macro_rules! balances_on {
    ($db:ty) => {
        impl TransactionalProjection<$db> for Balances {
            type Event = AccountEvent;
            type Error = sqlx::Error;

            async fn handle<'t>(
                &'t mut self,
                tx: &'t mut sqlx::Transaction<'static, $db>,
                event: &'t Envelope<AccountEvent>,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(UPSERT_BALANCE)
                    .bind(event.actor_id.as_str())
                    .bind(event.version as i64)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            async fn reset<'t>(
                &'t mut self,
                tx: &'t mut sqlx::Transaction<'static, $db>,
            ) -> Result<(), sqlx::Error> {
                sqlx::query("DELETE FROM bench_balances")
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
        }
    };
}
balances_on!(sqlx::Sqlite);
#[cfg(feature = "postgres")]
balances_on!(sqlx::Postgres);

/// Seeds `events`, catches up twice (trivial, exactly-once); the trivial handler's events/s.
async fn catch_up<S: TransactionalStore>(backend: &str, store: &S, events: u64) -> f64
where
    Balances: TransactionalProjection<S::Db, Event = AccountEvent>,
{
    let started = Instant::now();
    seed(store, events).await;
    println!(
        "{backend}: seeded {events} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (started, cpu) = (Instant::now(), cpu_time().as_secs_f64());
    let status = ProjectionRunner::new(store.clone(), "bench-count", subscription())
        .batch(4_096)
        .catch_up(Count(0))
        .await
        .unwrap();
    let trivial = report(
        backend,
        "trivial handler (at-least-once)",
        status.handled,
        started,
        cpu,
    );
    let (started, cpu) = (Instant::now(), cpu_time().as_secs_f64());
    let status = ProjectionRunner::new(store.clone(), "bench-balances", subscription())
        .batch(4_096)
        .catch_up_exactly_once(Balances)
        .await
        .unwrap();
    report(
        backend,
        "exactly-once SQL upsert per event",
        status.handled,
        started,
        cpu,
    );
    trivial
}

/// Prints one catch-up figure: events/s, and this process's CPU per event (the database
/// server's, on Postgres, is not in it); returns the events/s.
fn report(backend: &str, run: &str, events: u64, started: Instant, cpu: f64) -> f64 {
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_time().as_secs_f64() - cpu;
    println!(
        "{backend}: catch-up, {run}: {events} events in {seconds:.2} s = {:.0} events/s, \
         {:.2} µs of this process's CPU per event  [load {}]",
        events as f64 / seconds,
        cpu * 1e6 / events as f64,
        load_average()
    );
    events as f64 / seconds
}

/// One event handled: (writer, version, when handled, delay since `recorded_at`).
type Seen = (usize, u64, Instant, Duration);

/// When each writer's calls were acknowledged (the commit is durable when `call` returns), by
/// actor index and version, and when the handler saw each event.
#[derive(Clone, Default)]
struct Lag {
    /// Per writer (its index in the run), the acknowledgement instant of each version.
    acked: Arc<Vec<Mutex<Vec<Instant>>>>,
    /// Every event handled.
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Lag {
    fn new(actors: usize) -> Self {
        Self {
            acked: Arc::new((0..actors).map(|_| Mutex::new(Vec::new())).collect()),
            seen: Arc::default(),
        }
    }

    /// Commit→handler delays (handler instant − acknowledgement; an event handled before its
    /// caller heard back counts as 0) and recorded→handler delays (from the timestamp the
    /// request was stamped with, before it queued for the writer: includes the write's own
    /// latency), each sorted.
    fn delays(&self) -> (Vec<Duration>, Vec<Duration>) {
        let seen = self.seen.lock().unwrap();
        let mut from_commit = Vec::with_capacity(seen.len());
        let mut from_record = Vec::with_capacity(seen.len());
        for &(writer, version, handled, recorded) in seen.iter() {
            let acked = self.acked[writer].lock().unwrap();
            if let Some(acked) = acked.get(version as usize - 1) {
                from_commit.push(handled.saturating_duration_since(*acked));
                from_record.push(recorded);
            }
        }
        from_commit.sort();
        from_record.sort();
        (from_commit, from_record)
    }
}

impl Projection for Lag {
    type Event = AccountEvent;
    type Error = std::convert::Infallible;

    async fn handle(&mut self, event: &Envelope<AccountEvent>) -> Result<(), Self::Error> {
        let handled = Instant::now();
        let recorded = (chrono::Utc::now() - event.recorded_at)
            .to_std()
            .unwrap_or_default();
        // Writers are named `<run>-<index>`.
        let writer = event
            .actor_id
            .as_str()
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok());
        if let Some(writer) = writer {
            self.seen
                .lock()
                .unwrap()
                .push((writer, event.version, handled, recorded));
        }
        Ok(())
    }
}

fn percentiles(label: &str, delays: &[Duration]) -> String {
    let at = |q: f64| delays[((delays.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e3;
    format!(
        "{label}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// Durable events/s of `actors` actors each depositing in a loop for `seconds`, with or without
/// one live projection; with one, also the lag percentiles.
async fn write_run<S: Store>(store: S, actors: u64, seconds: u64, project: bool, run: &str) -> f64 {
    let system = PersistentSystem::new(store.clone());
    let repository = system.repository(config(), Ledger::default());
    let lag = Lag::new(actors as usize);
    let mut projection = project.then(|| {
        ProjectionRunner::new(store.clone(), format!("bench-lag-{run}"), subscription())
            .spawn(lag.clone())
    });
    // Only live events count: the history of earlier runs is caught up first.
    if let Some(handle) = &mut projection {
        handle.wait_for(store.stream_head().await.unwrap()).await;
        lag.seen.lock().unwrap().clear();
    }
    let mut refs = Vec::new();
    for n in 0..actors {
        refs.push(
            repository
                .spawn(format!("{run}-{n}"), Account::new())
                .await
                .unwrap(),
        );
    }
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let writers: Vec<_> = refs
        .into_iter()
        .enumerate()
        .map(|(writer, account)| {
            let (done, count, lag) = (Arc::clone(&done), Arc::clone(&count), lag.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    if account
                        .call(AccountEvent::Deposit { amount: 1 })
                        .await
                        .is_ok()
                    {
                        if project {
                            lag.acked[writer].lock().unwrap().push(Instant::now());
                        }
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    done.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    let rate = count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    if let Some(mut handle) = projection {
        let head = store.stream_head().await.unwrap();
        handle.wait_for(head).await;
        handle.stop().await.unwrap();
        let (from_commit, from_record) = lag.delays();
        if !from_commit.is_empty() {
            println!(
                "{run}: live lag over {} events: {}; {}",
                from_commit.len(),
                percentiles("commit (call acknowledged) → handler", &from_commit),
                percentiles("recorded_at (before the write) → handler", &from_record),
            );
        }
    }
    system.shutdown().await;
    rate
}

async fn live<S: Store>(backend: &str, store: S) {
    let actors = env_number("BENCH_ACTORS", 1_000);
    let seconds = env_number("BENCH_SECONDS", 5);
    let without = write_run(
        store.clone(),
        actors,
        seconds,
        false,
        &format!("{backend}-plain"),
    )
    .await;
    let with = write_run(
        store.clone(),
        actors,
        seconds,
        true,
        &format!("{backend}-live"),
    )
    .await;
    println!(
        "{backend}: {actors} actors writing: {without:.0} durable events/s without a projection, \
         {with:.0} with one live ({:+.1} %)  [load {}]",
        (with / without - 1.0) * 100.0,
        load_average()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let events = env_number("BENCH_EVENTS", 1_000_000);
    println!("started {}", chrono::Utc::now().to_rfc3339());
    if selected("catchup") {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("catchup.db"))
            .await
            .unwrap();
        sqlx::query(CREATE_BALANCES)
            .execute(store.write_pool())
            .await
            .unwrap();
        let figure = catch_up("sqlite", &store, events).await;
        store.close().await;
        // The engine's own limit for the same read: the stream in position order through
        // SQLite's C API, every column's bytes looked at, nothing decoded.
        let ceiling = ceiling::sqlite::read_stream(&dir.path().join("catchup.db"));
        println!(
            "sqlite: ceiling, the stream read raw: {} events in {:.2} s = {:.0} events/s; \
             catch-up / ceiling = {:.2}  [load {}]",
            ceiling.rows,
            ceiling.seconds,
            ceiling.per_second(),
            ceiling::ratio(figure, ceiling.per_second()),
            load_average()
        );
        #[cfg(feature = "postgres")]
        if let Some(store) = postgres("catchup").await {
            sqlx::query(CREATE_BALANCES)
                .execute(store.pool())
                .await
                .unwrap();
            catch_up("postgres", &store, events).await;
            store.drop_schema().await.unwrap();
            store.close().await;
        }
    }
    if selected("live") {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("live.db")).await.unwrap();
        live("sqlite", store.clone()).await;
        store.close().await;
        #[cfg(feature = "postgres")]
        if let Some(store) = postgres("live").await {
            live("postgres", store.clone()).await;
            store.drop_schema().await.unwrap();
            store.close().await;
        }
    }
}

#[cfg(feature = "postgres")]
async fn postgres(part: &str) -> Option<machine_persist::PostgresStore> {
    let url = std::env::var("MACHINE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let options = machine_persist::PostgresOptions::url(&url)
        .ok()?
        .schema(&format!("bench_projection_{part}_{}", std::process::id()))
        .ok()?;
    match machine_persist::PostgresStore::with_options(options).await {
        Ok(store) => Some(store),
        Err(error) => {
            println!("postgres: skipped ({error})");
            None
        }
    }
}

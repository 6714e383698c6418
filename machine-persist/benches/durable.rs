//! Durable actions and idempotent commands, end to end on SQLite (and Postgres when reachable):
//!
//! * `throughput`: 1,000 actors, each awaiting each event; every event declaring one durable
//!   action against the same run without actions (events/s and the ratio), each beside its
//!   ceiling from the same run (`support/ceiling.rs`): the plain run beside the bare design's
//!   rows, the durable run beside the same rows plus an outbox row per event and its record;
//!   and the ceiling of an outbox row that is never recorded, which bounds any design that
//!   stores intents as rows of their own;
//! * `latency`: from the commit's acknowledgement (`call` returning) to the start of the
//!   action's first attempt, p50 and p99, in the durable run;
//! * `commands`: `call_command` with a fresh id per call against a plain `call` (µs per call).
//!
//! ```text
//! cargo bench -p machine-persist --bench durable
//! cargo bench -p machine-persist --features postgres --bench durable
//! ```
//!
//! Environment: `BENCH_SECONDS` (5), `BENCH_ACTORS` (1000), `MACHINE_TEST_POSTGRES_URL`;
//! `BENCH_ONLY=sqlite|postgres` runs one store, `BENCH_RUN=plain|durable` only that run of the
//! throughput pair (for profiling).

#[path = "support/ceiling.rs"]
mod ceiling;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ceiling::{cpu_time, load_average, ratio};
use machine_core::{ActionCtx, Actions, DurableAction, EffectError, Effects, IdempotencyKey, Step};
use machine_macros::{Event, Machine};
use machine_persist::dispatch::DurablePolicy;
use machine_persist::store::Store;
use machine_persist::{PersistConfig, PersistentSystem, SqliteStore};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, Event)]
enum TallyEvent {
    Add { durable: bool },
}

#[derive(Clone, Debug, Serialize, Deserialize, Machine)]
#[machine(event = TallyEvent, env = Started, effects)]
enum Tally {
    #[initial]
    #[on(Add => Counting)]
    Counting { n: u64 },
}

impl TallyTransitions for Tally {
    fn counting_add(
        n: &u64,
        _: TallyEventAdd<'_>,
    ) -> Result<TallyCountingOnAdd, std::convert::Infallible> {
        Ok(TallyCountingOnAdd::Counting { n: n + 1 })
    }
}

impl Effects for Tally {
    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        if let TallyEvent::Add { durable: true } = step.event {
            actions.durable(Note);
        }
    }
}

/// The durable action: notes when its first attempt started.
#[derive(Debug, Serialize, Deserialize)]
struct Note;

impl DurableAction<Tally> for Note {
    const NAME: &'static str = "note";

    async fn perform(self, ctx: ActionCtx<Tally>) -> Result<(), EffectError> {
        // Recording costs a push: the bench measures the dispatcher, not a map of its own.
        let now = Instant::now();
        ctx.env()
            .started
            .lock()
            .unwrap()
            .push((ctx.key().clone(), now));
        Ok(())
    }
}

/// When each attempt started, with its key.
#[derive(Debug, Default)]
struct Started {
    started: Mutex<Vec<(IdempotencyKey, Instant)>>,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// `actors` actors calling for `duration`: events/s, and the acknowledgement time of each
/// event by key.
async fn run<S: Store>(
    store: S,
    actors: usize,
    duration: Duration,
    durable: bool,
    commands: bool,
) -> (f64, HashMap<(String, u64), Instant>, Arc<Started>, f64) {
    let system = PersistentSystem::new(store);
    let started = Arc::new(Started::default());
    let config = PersistConfig::<Tally>::new()
        .snapshot_on_stop(false)
        .durable(DurablePolicy::<Tally, Note>::new());
    let repo = system.repository(config, Arc::clone(&started));
    let tag = format!("{}{}", u8::from(durable), u8::from(commands));
    let mut refs = Vec::with_capacity(actors);
    for n in 0..actors {
        let id = format!("t{tag}-{}-{n}", fastrand::u32(..));
        refs.push(repo.spawn(id, Tally::Counting { n: 0 }).await.unwrap());
    }
    let start = Instant::now();
    let cpu_before = cpu_time();
    let deadline = start + duration;
    let tasks: Vec<_> = refs
        .into_iter()
        .map(|actor| {
            tokio::spawn(async move {
                let mut acked = Vec::new();
                let mut version = 0u64;
                while Instant::now() < deadline {
                    let event = TallyEvent::Add { durable };
                    let outcome = if commands {
                        actor.call_command(format!("c{version}"), event).await
                    } else {
                        actor.call(event).await
                    };
                    let _ = outcome.unwrap();
                    version += 1;
                    if durable {
                        acked.push((version, Instant::now()));
                    }
                }
                (version, actor.id().to_string(), acked)
            })
        })
        .collect();
    let mut events = 0;
    let mut acked = HashMap::new();
    for task in tasks {
        let (count, id, times) = task.await.unwrap();
        events += count;
        acked.extend(
            times
                .into_iter()
                .map(|(version, at)| ((id.clone(), version), at)),
        );
    }
    let rate = events as f64 / start.elapsed().as_secs_f64();
    let cpu = (cpu_time() - cpu_before).as_secs_f64() * 1e6 / events as f64;
    // Let the last actions start before measuring latency.
    tokio::time::sleep(Duration::from_secs(2)).await;
    system.shutdown().await;
    (rate, acked, started, cpu)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// The engine's ceilings for the throughput pair, measured in the same run (events/s).
#[derive(Clone, Copy, Debug)]
struct Ceilings {
    /// The plain run's rows.
    plain: f64,
    /// And one outbox row per event, never recorded.
    intents: f64,
    /// And its record: the durable run's rows.
    recorded: f64,
    /// The plain rows, each event carrying its action, and a progress row per transaction.
    inline: f64,
}

async fn bench<S: Store, F, Fut>(name: &str, ceilings: Ceilings, open: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    let seconds = env_number("BENCH_SECONDS", 5);
    let actors = env_number("BENCH_ACTORS", 1000) as usize;
    let duration = Duration::from_secs(seconds);
    println!(
        "\n{name}: {actors} actors, {seconds} s per run, load average {}",
        load_average()
    );
    let only = std::env::var("BENCH_RUN").unwrap_or_default();
    let (plain, plain_cpu) = if only == "durable" {
        (f64::NAN, f64::NAN)
    } else {
        let (rate, _, _, cpu) = run(open().await, actors, duration, false, false).await;
        (rate, cpu)
    };
    let (durable, acked, started, durable_cpu) = if only == "plain" {
        (f64::NAN, HashMap::new(), Arc::default(), f64::NAN)
    } else {
        run(open().await, actors, duration, true, false).await
    };
    // The first attempt of each key.
    let mut first: HashMap<(String, u64), Instant> = HashMap::new();
    for (key, at) in started.started.lock().unwrap().iter() {
        first
            .entry((key.actor_id.to_string(), key.version))
            .or_insert(*at);
    }
    let started = first;
    let mut latencies: Vec<Duration> = acked
        .iter()
        .filter_map(|(key, at)| started.get(key).map(|s| s.saturating_duration_since(*at)))
        .collect();
    latencies.sort();
    let ran = latencies.len();
    println!("| run | events/s | ratio | process CPU per event | ceiling | ÷ ceiling |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| plain events | {plain:.0} | 1.00 | {plain_cpu:.1} µs | {:.0} | {:.2} |",
        ceilings.plain,
        ratio(plain, ceilings.plain)
    );
    println!(
        "| one durable action per event | {durable:.0} | {:.2} | {durable_cpu:.1} µs | {:.0} | {:.2} |",
        durable / plain,
        ceilings.recorded,
        ratio(durable, ceilings.recorded)
    );
    println!(
        "ceilings: plain rows {:.0}/s; with an outbox row per event {:.0}/s ({:.2} of plain); and its record {:.0}/s ({:.2} of plain); intents inline in the event rows {:.0}/s ({:.2} of plain)",
        ceilings.plain,
        ceilings.intents,
        ratio(ceilings.intents, ceilings.plain),
        ceilings.recorded,
        ratio(ceilings.recorded, ceilings.plain),
        ceilings.inline,
        ratio(ceilings.inline, ceilings.plain)
    );
    println!(
        "dispatch latency from the commit's acknowledgement to the first attempt: p50 {:?}, p99 {:?} ({ran} of {} actions started within the run + 2 s)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        acked.len()
    );
    if !only.is_empty() {
        return;
    }
    let few = actors.min(64);
    let (calls, _, _, _) = run(open().await, few, duration, false, false).await;
    let (commands, _, _, _) = run(open().await, few, duration, false, true).await;
    println!(
        "{few} actors: plain call {calls:.0}/s ({:.1} µs each per actor), call_command {commands:.0}/s ({:.1} µs), ratio {:.2}",
        few as f64 * 1e6 / calls,
        few as f64 * 1e6 / commands,
        commands / calls
    );
}

/// One SQLite ceiling, on a database of its own in `dir`.
async fn sqlite_ceiling(
    dir: &std::path::Path,
    writes: ceiling::sqlite::Writes,
    actors: usize,
    seconds: Duration,
) -> f64 {
    let store = SqliteStore::open(dir.join(format!("ceiling-{writes:?}.db")))
        .await
        .unwrap();
    ceiling::sqlite::write(store.write_pool(), actors, seconds, writes)
        .await
        .per_second()
}

/// One Postgres ceiling, from 2 clients (as the store's append connections), on a schema of
/// its own that is dropped afterwards.
#[cfg(feature = "postgres")]
async fn postgres_ceiling(
    options: &machine_persist::PostgresOptions,
    outbox: ceiling::postgres::Outbox,
    seconds: Duration,
) -> f64 {
    let store = machine_persist::PostgresStore::with_options(options.clone())
        .await
        .unwrap();
    let rate = ceiling::postgres::write(store.pool(), 2, seconds, outbox).await;
    store.drop_schema().await.unwrap();
    store.close().await;
    rate.per_second()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let counter = std::sync::atomic::AtomicUsize::new(0);
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        let seconds = Duration::from_secs(env_number("BENCH_SECONDS", 5));
        let actors = env_number("BENCH_ACTORS", 1000) as usize;
        if only != "postgres" {
            use ceiling::sqlite::Writes;
            let path = dir.path();
            let ceilings = Ceilings {
                plain: sqlite_ceiling(path, Writes::Design, actors, seconds).await,
                intents: sqlite_ceiling(path, Writes::Intents, actors, seconds).await,
                recorded: sqlite_ceiling(path, Writes::RecordedIntents, actors, seconds).await,
                inline: sqlite_ceiling(path, Writes::InlineIntents, actors, seconds).await,
            };
            bench("SQLite", ceilings, || {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let path = dir.path().join(format!("durable-{n}.db"));
                async move { SqliteStore::open(&path).await.unwrap() }
            })
            .await;
        }
        #[cfg(feature = "postgres")]
        if only != "sqlite" {
            use machine_persist::{PostgresOptions, PostgresStore};
            let url = std::env::var("MACHINE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let schema = format!("bench_durable_{:08x}", fastrand::u32(..));
            let options = PostgresOptions::url(&url).unwrap().schema(&schema).unwrap();
            match PostgresStore::with_options(options.clone()).await {
                Ok(first) => {
                    first.drop_schema().await.unwrap();
                    first.close().await;
                    use ceiling::postgres::Outbox;
                    let ceilings = Ceilings {
                        plain: postgres_ceiling(&options, Outbox::None, seconds).await,
                        intents: postgres_ceiling(&options, Outbox::Intents, seconds).await,
                        recorded: postgres_ceiling(&options, Outbox::RecordedIntents, seconds)
                            .await,
                        inline: postgres_ceiling(&options, Outbox::InlineIntents, seconds).await,
                    };
                    let first = PostgresStore::with_options(options.clone()).await.unwrap();
                    bench("Postgres", ceilings, || {
                        let options = options.clone();
                        async move { PostgresStore::with_options(options).await.unwrap() }
                    })
                    .await;
                    first.drop_schema().await.unwrap();
                    first.close().await;
                }
                Err(error) => println!("Postgres skipped: {error}"),
            }
        }
    });
}

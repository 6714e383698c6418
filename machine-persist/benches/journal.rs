//! Journal throughput through a `JournalWriter`, and restore-read speed.
//!
//! Three workloads, on SQLite (`synchronous=FULL`, a temporary file) and on Postgres when
//! reachable; the in-memory store shows the writer's own ceiling for the first:
//!
//! - **appenders**: many concurrent appenders, each awaiting each one-event append to its own
//!   actor (group commit gathers them into batches);
//! - **batches**: the same shape without the writer: batches of one one-event request per actor
//!   (`BENCH_APPENDERS` actors) committed straight to the journal, back to back;
//! - **hot actor**: one actor appending requests of `BENCH_HOT_BATCH` events, awaiting each;
//! - **read**: one actor with `BENCH_READ_EVENTS` events read back with `Journal::read` in pages
//!   of 4,096 (rows fetched and decoded into `StoredEvent`s).
//!
//! ```text
//! cargo bench -p machine-persist --bench journal
//! cargo bench -p machine-persist --features postgres --bench journal
//! ```
//!
//! Environment: `BENCH_APPENDERS` (default 1000), `BENCH_SECONDS` (default 5),
//! `BENCH_HOT_BATCH` (default 256), `BENCH_READ_EVENTS` (default 1,000,000; 0 skips the read),
//! `BENCH_SQLITE_MERGE_AFTER` and `BENCH_SQLITE_CHECKPOINT_PAGES` (`SqliteOptions::merge_after`
//! and `checkpoint_pages`, default the store's),
//! `BENCH_ONLY` (`memory`, `appenders`, `batches`, `hot` or `read`: run one workload; `memory` is the
//! appenders workload on the in-memory store),
//! `MACHINE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//!
//! Each line also gives the process's CPU time per event (user + system, all threads), which is
//! steadier than throughput on a shared machine.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use machine_persist::store::{AppendRequest, Journal, NewEvent};
use machine_persist::writer::{JournalWriter, WriterConfig};

/// Page size of the read workload.
const READ_PAGE: usize = 4_096;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn selected(workload: &str) -> bool {
    match std::env::var("BENCH_ONLY") {
        Ok(only) => only == workload,
        Err(_) => true,
    }
}

/// CPU time of this process so far (user + system, every thread), from `/proc/self/stat`;
/// zero where that file does not exist.
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rsplit(')').next() else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&index| fields.get(index)?.parse::<u64>().ok())
        .sum();
    // Linux reports these in USER_HZ, 100 per second on every mainstream configuration.
    Duration::from_millis(ticks * 10)
}

/// Throughput of one measured interval.
struct Measured {
    events: u64,
    elapsed: Duration,
    cpu: Duration,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    fn cpu_micros_per_event(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.events.max(1) as f64
    }
}

/// Appends to `actor` from version 0 while `stop` is unset, `events` events per request, counting
/// the events of acknowledged appends in `done` while `counting` is set.
async fn append_loop(
    writer: JournalWriter,
    actor: String,
    events: usize,
    stop: Arc<AtomicBool>,
    counting: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
) {
    let mut version = 0;
    let mut create = true;
    while !stop.load(Ordering::Relaxed) {
        let batch = (0..events)
            .map(|_| NewEvent::new("Tick", 1, "json", r#"{"amount":1,"note":"bench"}"#))
            .collect();
        let mut request =
            AppendRequest::new(actor.as_str(), "Bench", version, "Running", Utc::now())
                .with_events(batch);
        if create {
            request = request.create();
        }
        writer.append(request).await.expect("append");
        create = false;
        version += events as u64;
        if counting.load(Ordering::Relaxed) {
            done.fetch_add(events as u64, Ordering::Relaxed);
        }
    }
}

/// Runs `appenders` tasks, each appending `events` events per request to its own actor, for one
/// second of warm-up and then `seconds` measured.
async fn run_writer<J: Journal + Clone + 'static>(
    name: &str,
    journal: J,
    appenders: u64,
    events: usize,
    seconds: u64,
) {
    let writer = JournalWriter::spawn(journal, WriterConfig::default());
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let run_id = Utc::now().timestamp_micros();
    let tasks: Vec<_> = (0..appenders)
        .map(|n| {
            tokio::spawn(append_loop(
                writer.clone(),
                format!("bench-{run_id}-{n}"),
                events,
                stop.clone(),
                counting.clone(),
                done.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = writer.stats();
    let cpu_before = cpu_time();
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let measured = Measured {
        events: done.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        cpu: cpu_time().saturating_sub(cpu_before),
    };
    let after = writer.stats();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("appender");
    }
    writer.shutdown().await;
    let batches = after.batches - before.batches;
    let requests = after.requests - before.requests;
    println!(
        "{name}: {appenders} appender(s) x {events} event(s): {:.0} events/s ({} events in \
         {:.2}s), {:.1} us cpu/event, {batches} batches, mean batch {:.0} requests, largest {}",
        measured.per_second(),
        measured.events,
        measured.elapsed.as_secs_f64(),
        measured.cpu_micros_per_event(),
        requests as f64 / batches.max(1) as f64,
        after.largest_batch,
    );
}

/// Writes `total` events to one actor (requests of 8,192 events, straight to the journal), then
/// reads them all back in pages of [`READ_PAGE`] and reports the read speed.
async fn run_read<J: Journal>(name: &str, journal: &J, total: u64) {
    let actor = format!("bench-read-{}", Utc::now().timestamp_micros());
    let mut head = 0;
    while head < total {
        let count = 8_192.min(total - head);
        let batch = (0..count)
            .map(|n| {
                NewEvent::new(
                    "Tick",
                    1,
                    "json",
                    format!(r#"{{"amount":{},"note":"bench"}}"#, head + n),
                )
            })
            .collect();
        let request = AppendRequest::new(actor.as_str(), "Bench", head, "Running", Utc::now())
            .with_events(batch);
        journal.append(request).await.expect("populate");
        head += count;
    }
    let id = actor.as_str().into();
    for round in 1..=2 {
        let cpu_before = cpu_time();
        let started = Instant::now();
        let mut next = 1;
        let mut read = 0u64;
        let mut bytes = 0usize;
        loop {
            let page = journal
                .read(&id, next, u64::MAX, READ_PAGE)
                .await
                .expect("read");
            read += page.len() as u64;
            bytes += page.iter().map(|event| event.payload.len()).sum::<usize>();
            match page.last() {
                Some(last) if page.len() == READ_PAGE => next = last.version + 1,
                _ => break,
            }
        }
        assert_eq!(read, total, "every event is read back");
        let measured = Measured {
            events: read,
            elapsed: started.elapsed(),
            cpu: cpu_time().saturating_sub(cpu_before),
        };
        println!(
            "{name}: read #{round}: {:.0} events/s ({read} events, {bytes} payload bytes in \
             {:.2}s, pages of {READ_PAGE}), {:.2} us cpu/event",
            measured.per_second(),
            measured.elapsed.as_secs_f64(),
            measured.cpu_micros_per_event(),
        );
    }
}

/// Commits batches of one one-event request for each of `actors` actors straight to the
/// journal, back to back, for `seconds`: the store's own ceiling for wide batches, without the
/// writer and the appender tasks.
async fn run_batches<J: Journal>(name: &str, journal: &J, actors: u64, seconds: u64) {
    let run_id = Utc::now().timestamp_micros();
    let ids: Vec<String> = (0..actors)
        .map(|n| format!("bench-batch-{run_id}-{n}"))
        .collect();
    let mut version = 0;
    let mut events = 0u64;
    let mut batches = 0u64;
    let cpu_before = cpu_time();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        let requests: Vec<AppendRequest> = ids
            .iter()
            .map(|id| {
                AppendRequest::new(id.as_str(), "Bench", version, "Running", Utc::now()).push_event(
                    NewEvent::new("Tick", 1, "json", r#"{"amount":1,"note":"bench"}"#),
                )
            })
            .collect();
        let outcome = journal.append_batch(&requests).await.expect("batch");
        assert!(outcome.iter().all(Result::is_ok), "every request commits");
        version += 1;
        events += actors;
        batches += 1;
    }
    let measured = Measured {
        events,
        elapsed: started.elapsed(),
        cpu: cpu_time().saturating_sub(cpu_before),
    };
    println!(
        "{name}: batches of {actors} actors x 1 event, straight to the journal: {:.0} events/s \
         ({events} events in {batches} batches, {:.2}s), {:.1} us cpu/event",
        measured.per_second(),
        measured.elapsed.as_secs_f64(),
        measured.cpu_micros_per_event(),
    );
}

/// Every workload against one journal.
async fn run_all<J: Journal + Clone + 'static>(name: &str, journal: J, settings: &Settings) {
    if selected("appenders") {
        run_writer(
            name,
            journal.clone(),
            settings.appenders,
            1,
            settings.seconds,
        )
        .await;
    }
    if selected("batches") {
        run_batches(name, &journal, settings.appenders, settings.seconds).await;
    }
    if selected("hot") {
        let hot = settings.hot_batch;
        run_writer(name, journal.clone(), 1, hot, settings.seconds).await;
    }
    if selected("read") && settings.read_events > 0 {
        run_read(name, &journal, settings.read_events).await;
    }
}

struct Settings {
    appenders: u64,
    seconds: u64,
    hot_batch: usize,
    read_events: u64,
}

fn main() {
    let settings = Settings {
        appenders: env_number("BENCH_APPENDERS", 1000),
        seconds: env_number("BENCH_SECONDS", 5),
        hot_batch: usize::try_from(env_number("BENCH_HOT_BATCH", 256)).expect("batch size"),
        read_events: env_number("BENCH_READ_EVENTS", 1_000_000),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if selected("memory") {
            // The writer's own ceiling, without storage costs.
            let memory = machine_persist::MemoryStore::new();
            run_writer("memory", memory, settings.appenders, 1, settings.seconds).await;
        }
        #[cfg(feature = "sqlite")]
        {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut options = machine_persist::SqliteOptions::file(dir.path().join("bench.db"));
            if let Ok(events) = std::env::var("BENCH_SQLITE_MERGE_AFTER") {
                options = options.merge_after(events.parse().expect("BENCH_SQLITE_MERGE_AFTER"));
            }
            if let Ok(pages) = std::env::var("BENCH_SQLITE_CHECKPOINT_PAGES") {
                let pages = pages.parse().expect("BENCH_SQLITE_CHECKPOINT_PAGES");
                options = options.checkpoint_pages(pages);
            }
            let store = machine_persist::SqliteStore::with_options(options)
                .await
                .expect("sqlite");
            run_all("sqlite (synchronous=FULL)", store.clone(), &settings).await;
            store.close().await;
        }
        #[cfg(feature = "postgres")]
        postgres(&settings).await;
    });
}

#[cfg(feature = "postgres")]
async fn postgres(settings: &Settings) {
    use machine_persist::{PostgresOptions, PostgresStore};
    let url = std::env::var("MACHINE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("mp_bench_{}", std::process::id());
    let options = match PostgresOptions::url(&url) {
        Ok(options) => options.schema(&schema).expect("schema"),
        Err(error) => {
            println!("postgres: skipped ({error})");
            return;
        }
    };
    let store = match PostgresStore::with_options(options).await {
        Ok(store) => store,
        Err(error) => {
            println!("postgres: skipped, unreachable ({error})");
            return;
        }
    };
    run_all("postgres", store.clone(), settings).await;
    store.drop_schema().await.expect("drop schema");
    store.close().await;
}

//! Group-commit throughput: appends per second through a `JournalWriter` with many concurrent
//! appenders, each awaiting each append (one event per append), on SQLite (`synchronous=FULL`,
//! a temporary file) and on Postgres when reachable; the in-memory store shows the writer's own
//! ceiling.
//!
//! ```text
//! cargo bench -p machine-persist --features postgres --bench journal
//! ```
//!
//! Environment: `BENCH_APPENDERS` (default 1000), `BENCH_SECONDS` (default 5),
//! `MACHINE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use machine_persist::{AppendRequest, Journal, JournalWriter, NewEvent, WriterConfig};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Runs `appenders` tasks appending to their own actors for `seconds`; returns events/s.
async fn run<J: Journal + Clone + 'static>(name: &str, journal: J, appenders: u64, seconds: u64) {
    let writer = JournalWriter::spawn(journal, WriterConfig::default());
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let run_id = Utc::now().timestamp_micros();
    for n in 0..appenders {
        let (writer, stop, counting, done) =
            (writer.clone(), stop.clone(), counting.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let actor = format!("bench-{run_id}-{n}");
            let mut version = 0;
            let mut create = true;
            while !stop.load(Ordering::Relaxed) {
                let mut request =
                    AppendRequest::new(actor.as_str(), "Bench", version, "Running", Utc::now())
                        .push_event(NewEvent::new("Tick", 1, r#"{"amount":1,"note":"bench"}"#));
                if create {
                    request = request.create();
                }
                writer.append(request).await.expect("append");
                create = false;
                version += 1;
                if counting.load(Ordering::Relaxed) {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = writer.stats();
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let events = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let after = writer.stats();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("appender");
    }
    writer.shutdown().await;
    let batches = after.batches - before.batches;
    let requests = after.requests - before.requests;
    println!(
        "{name}: {appenders} appenders, {:.0} events/s ({events} events in {elapsed:.2}s), \
         {batches} batches, mean batch {:.0}, largest {}",
        events as f64 / elapsed,
        requests as f64 / batches.max(1) as f64,
        after.largest_batch,
    );
}

fn main() {
    let appenders = env_number("BENCH_APPENDERS", 1000);
    let seconds = env_number("BENCH_SECONDS", 5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // The writer's own ceiling, without storage costs.
        run(
            "memory",
            machine_persist::MemoryStore::new(),
            appenders,
            seconds,
        )
        .await;
        #[cfg(feature = "sqlite")]
        {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = machine_persist::SqliteStore::open(dir.path().join("bench.db"))
                .await
                .expect("sqlite");
            run(
                "sqlite (synchronous=FULL)",
                store.clone(),
                appenders,
                seconds,
            )
            .await;
            store.close().await;
        }
        #[cfg(feature = "postgres")]
        postgres(appenders, seconds).await;
    });
}

#[cfg(feature = "postgres")]
async fn postgres(appenders: u64, seconds: u64) {
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
    run("postgres", store.clone(), appenders, seconds).await;
    store.drop_schema().await.expect("drop schema");
    store.close().await;
}

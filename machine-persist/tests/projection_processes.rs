//! Projections against other processes: two OS processes append while a projection tails the
//! stream live, and a projection process is killed with SIGKILL mid-batch and restarted. On
//! SQLite (one file) and on Postgres (one schema).
//!
//! The children are this test binary re-executed with an `--ignored` child test and the role in
//! the environment.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod fixture;
#[macro_use]
mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fixture::{Account, AccountEvent, Ledger};
use machine_persist::projection::{
    Envelope, Projection, ProjectionRunner, Subscription, TransactionalProjection,
    TransactionalStore,
};
use machine_persist::store::{CheckpointStore, GlobalPosition, Store, StreamFilter};
use machine_persist::{
    PersistConfig, PersistentSystem, PostgresOptions, PostgresStore, SqliteStore,
};
use machine_test_support::{postgres, process};
use tokio::io::AsyncWriteExt;

const TARGET: &str = "MACHINE_PROJECTION_TARGET";
const PREFIX: &str = "MACHINE_PROJECTION_PREFIX";
const LOG: &str = "MACHINE_PROJECTION_LOG";
const ACTORS: usize = 8;
const EVENTS_PER_ROUND: usize = 20;
const ROUNDS: usize = 5;
/// How long the killed reader's handlers pause per event.
const PAUSE: Duration = Duration::from_millis(1);
/// Rounds of history the killed reader projects.
const HISTORY_ROUNDS: usize = 5;

/// Where the children find the data: `sqlite:<path>` or `postgres:<schema>`.
#[derive(Clone, Debug)]
enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Target {
    fn encode(&self) -> String {
        match self {
            Target::Sqlite(path) => format!("sqlite:{}", path.display()),
            Target::Postgres(schema) => format!("postgres:{schema}"),
        }
    }

    fn from_env() -> Self {
        let text = std::env::var(TARGET).expect("run by a projection test");
        if let Some(path) = text.strip_prefix("sqlite:") {
            Target::Sqlite(PathBuf::from(path))
        } else {
            Target::Postgres(text.strip_prefix("postgres:").unwrap().to_owned())
        }
    }
}

async fn open_postgres(schema: &str) -> PostgresStore {
    let options = PostgresOptions::url(&postgres::url())
        .unwrap()
        .schema(schema)
        .unwrap()
        .max_connections(4);
    PostgresStore::with_options(options).await.unwrap()
}

/// An exactly-once read model: one row per delivery, no key, so a repeat would show. It pauses
/// after each event, so a process killed at a random moment dies mid-batch.
struct Deliveries {
    pause: Duration,
}

const CREATE: &str =
    "CREATE TABLE IF NOT EXISTS deliveries (actor_id TEXT NOT NULL, version BIGINT NOT NULL)";
const INSERT: &str = "INSERT INTO deliveries (actor_id, version) VALUES ($1, $2)";
const READ: &str = "SELECT actor_id, version FROM deliveries ORDER BY actor_id, version";

macro_rules! deliveries_on {
    ($db:ty) => {
        impl TransactionalProjection<$db> for Deliveries {
            type Event = AccountEvent;
            type Error = sqlx::Error;

            async fn handle<'t>(
                &'t mut self,
                tx: &'t mut sqlx::Transaction<'static, $db>,
                event: &'t Envelope<AccountEvent>,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(INSERT)
                    .bind(event.actor_id.as_str())
                    .bind(event.version as i64)
                    .execute(&mut **tx)
                    .await?;
                tokio::time::sleep(self.pause).await;
                Ok(())
            }

            async fn reset<'t>(
                &'t mut self,
                tx: &'t mut sqlx::Transaction<'static, $db>,
            ) -> Result<(), sqlx::Error> {
                sqlx::query("DELETE FROM deliveries")
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
        }
    };
}
deliveries_on!(sqlx::Sqlite);
deliveries_on!(sqlx::Postgres);

/// An at-least-once projection that appends `actor version position` to a file per delivery,
/// pausing after each.
struct Log {
    file: tokio::fs::File,
    pause: Duration,
}

impl Projection for Log {
    type Event = AccountEvent;
    type Error = std::io::Error;

    async fn handle(&mut self, event: &Envelope<AccountEvent>) -> Result<(), std::io::Error> {
        let line = format!("{} {} {}\n", event.actor_id, event.version, event.position);
        self.file.write_all(line.as_bytes()).await?;
        tokio::time::sleep(self.pause).await;
        Ok(())
    }
}

fn accounts() -> Subscription<AccountEvent> {
    Subscription::new().machine(&PersistConfig::<Account>::new())
}

/// Deposits 1 into `prefix-0..ACTORS` `EVENTS_PER_ROUND` times each, all actors at once (so
/// the journal writer batches and, on Postgres, pipelines).
async fn write_round<S: Store>(store: S, prefix: &str) {
    let system = PersistentSystem::new(store);
    let repository = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let mut writers = Vec::new();
    for n in 0..ACTORS {
        let account = repository
            .spawn(format!("{prefix}-{n}"), Account::new())
            .await
            .unwrap();
        writers.push(tokio::spawn(async move {
            for _ in 0..EVENTS_PER_ROUND {
                let outcome = account
                    .call(AccountEvent::Deposit { amount: 1 })
                    .await
                    .unwrap();
                assert!(outcome.is_accepted());
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    system.shutdown().await;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
#[ignore = "a child process of the projection tests"]
fn projection_writer_child() {
    let prefix = std::env::var(PREFIX).unwrap();
    runtime().block_on(async move {
        match Target::from_env() {
            Target::Sqlite(path) => {
                write_round(SqliteStore::open(&path).await.unwrap(), &prefix).await
            }
            Target::Postgres(schema) => write_round(open_postgres(&schema).await, &prefix).await,
        }
    });
}

/// Catches both projections up, then prints `caught-up`.
async fn read_to_the_end<S: TransactionalStore>(store: S, log: &Path)
where
    Deliveries: TransactionalProjection<S::Db, Event = AccountEvent>,
{
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .await
        .unwrap();
    let exact = ProjectionRunner::new(store.clone(), "exact", accounts())
        .batch(50)
        .catch_up_exactly_once(Deliveries { pause: PAUSE });
    let logged = ProjectionRunner::new(store, "logged", accounts())
        .batch(50)
        .checkpoint_every(100, Duration::from_secs(3_600))
        .catch_up(Log { file, pause: PAUSE });
    let (exact, logged) = tokio::join!(exact, logged);
    exact.unwrap();
    logged.unwrap();
    println!("caught-up");
}

#[test]
#[ignore = "a child process of the projection tests"]
fn projection_reader_child() {
    let log = PathBuf::from(std::env::var(LOG).unwrap());
    runtime().block_on(async move {
        match Target::from_env() {
            Target::Sqlite(path) => {
                read_to_the_end(SqliteStore::open(&path).await.unwrap(), &log).await
            }
            Target::Postgres(schema) => read_to_the_end(open_postgres(&schema).await, &log).await,
        }
    });
}

fn child(role: &str, target: &Target) -> tokio::process::Command {
    let mut command = process::role(role);
    command
        .env(TARGET, target.encode())
        .stderr(std::process::Stdio::inherit());
    command
}

/// Every (actor, version) of `prefixes`, for `rounds` rounds.
fn expected(prefixes: &[&str], rounds: usize) -> Vec<(String, i64)> {
    let mut all: Vec<(String, i64)> = prefixes
        .iter()
        .flat_map(|prefix| {
            (0..ACTORS).flat_map(move |n| {
                (1..=(rounds * EVENTS_PER_ROUND) as i64).map(move |v| (format!("{prefix}-{n}"), v))
            })
        })
        .collect();
    all.sort();
    all
}

/// Each actor's versions are delivered in order, each exactly once.
fn assert_in_version_order(seen: &[(String, u64)], prefixes: &[&str], rounds: usize) {
    let mut next: HashMap<&str, u64> = HashMap::new();
    for (actor, version) in seen {
        let expected = next.entry(actor.as_str()).or_insert(1);
        assert_eq!(
            *version, *expected,
            "{actor}: out of order, repeated or skipped"
        );
        *expected += 1;
    }
    assert_eq!(next.len(), prefixes.len() * ACTORS);
    assert!(next
        .values()
        .all(|&n| n == (rounds * EVENTS_PER_ROUND) as u64 + 1));
}

/// Two writer processes per round append while this process tails the stream live with an
/// exactly-once and an at-least-once projection.
async fn tail_two_writer_processes<S: TransactionalStore>(
    store: S,
    target: Target,
    read_model: impl AsyncFn(&S) -> Vec<(String, i64)>,
) where
    Deliveries: TransactionalProjection<S::Db, Event = AccountEvent>,
{
    let poll = Duration::from_millis(20);
    let mut exact = ProjectionRunner::new(store.clone(), "exact", accounts())
        .poll_interval(poll)
        .batch(64)
        .spawn_exactly_once(Deliveries {
            pause: Duration::ZERO,
        });
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    struct Forward(tokio::sync::mpsc::UnboundedSender<(String, u64)>);
    impl Projection for Forward {
        type Event = AccountEvent;
        type Error = std::convert::Infallible;
        async fn handle(&mut self, event: &Envelope<AccountEvent>) -> Result<(), Self::Error> {
            let _ = self.0.send((event.actor_id.to_string(), event.version));
            Ok(())
        }
    }
    let mut logged = ProjectionRunner::new(store.clone(), "logged", accounts())
        .poll_interval(poll)
        .batch(64)
        .spawn(Forward(seen_tx));
    let prefixes = ["one", "two"];
    for _ in 0..ROUNDS {
        let mut writers = Vec::new();
        for prefix in prefixes {
            let mut command = child("projection_writer_child", &target);
            command
                .env(PREFIX, prefix)
                .stdout(std::process::Stdio::null());
            writers.push(command.spawn().unwrap());
        }
        for mut writer in writers {
            let status = tokio::time::timeout(Duration::from_secs(120), writer.wait())
                .await
                .expect("the writer finishes")
                .unwrap();
            assert!(status.success());
        }
    }
    let total = prefixes.len() * ACTORS * ROUNDS * EVENTS_PER_ROUND;
    let mut seen = Vec::with_capacity(total);
    while seen.len() < total {
        let next = tokio::time::timeout(Duration::from_secs(60), seen_rx.recv())
            .await
            .expect("the live projection keeps up")
            .unwrap();
        seen.push(next);
    }
    let head = store.stream_head().await.unwrap();
    assert!(exact.wait_for(head).await);
    assert!(logged.wait_for(head).await);
    exact.stop().await.unwrap();
    logged.stop().await.unwrap();
    assert!(
        seen_rx.try_recv().is_err(),
        "nothing beyond the committed events"
    );
    assert_in_version_order(&seen, &prefixes, ROUNDS);
    assert_eq!(read_model(&store).await, expected(&prefixes, ROUNDS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_writer_processes_and_a_live_projection_see_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let store = SqliteStore::open(&path).await.unwrap();
    sqlx::query(CREATE)
        .execute(store.write_pool())
        .await
        .unwrap();
    tail_two_writer_processes(
        store.clone(),
        Target::Sqlite(path),
        async |store: &SqliteStore| {
            sqlx::query_as(READ)
                .fetch_all(store.read_pool())
                .await
                .unwrap()
        },
    )
    .await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_writer_processes_and_a_live_projection_see_every_event_once() {
    let schema = postgres::fresh_schema("mp_proj");
    let Some(store) =
        support::pg::open_at("projection_processes", &postgres::url(), &schema, |o| o).await
    else {
        return;
    };
    sqlx::query(CREATE).execute(store.pool()).await.unwrap();
    tail_two_writer_processes(
        store.clone(),
        Target::Postgres(schema),
        async |store: &PostgresStore| sqlx::query_as(READ).fetch_all(store.pool()).await.unwrap(),
    )
    .await;
    support::pg::teardown(store).await;
}

/// Appends history, then runs a projection process that is killed with SIGKILL at a random
/// moment, `kills` times, and finally lets one finish.
async fn kill_the_projection_mid_batch<S: Store + CheckpointStore>(
    store: S,
    target: Target,
    dir: &Path,
    read_model: impl AsyncFn(&S) -> Vec<(String, i64)>,
) {
    for _ in 0..HISTORY_ROUNDS {
        write_round(store.clone(), "acc").await;
    }
    let all = expected(&["acc"], HISTORY_ROUNDS);
    let mut stream: Vec<GlobalPosition> = Vec::new();
    let mut at = GlobalPosition::START;
    while stream.len() < all.len() {
        let page = store
            .read_all(at, 1_000, &StreamFilter::all())
            .await
            .unwrap();
        stream.extend(page.entries.iter().map(|entry| entry.at));
        at = page.through;
    }
    let kills = 3;
    for run in 0..=kills {
        let checkpoint = store.load_checkpoint("logged").await.unwrap();
        let log = dir.join(format!("run-{run}.log"));
        let mut command = child("projection_reader_child", &target);
        command.env(LOG, &log);
        let mut reader = command.spawn().unwrap();
        if run < kills {
            // Once it is delivering, at a random moment.
            let started = tokio::time::Instant::now();
            while tokio::fs::metadata(&log).await.map_or(0, |meta| meta.len()) == 0 {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "the reader never started"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(fastrand::u64(0..300))).await;
            reader.kill().await.unwrap(); // SIGKILL: no flush, no checkpoint save
            reader.wait().await.unwrap();
        } else {
            let status = tokio::time::timeout(Duration::from_secs(120), reader.wait())
                .await
                .expect("the reader finishes")
                .unwrap();
            assert!(status.success());
        }
        // Exactly-once: never a repeat, whenever the process died.
        let model = read_model(&store).await;
        let mut deduped = model.clone();
        deduped.dedup();
        assert_eq!(model, deduped, "run {run}: a delivery was repeated");
        assert!(model.iter().all(|row| all.binary_search(row).is_ok()));
        // At-least-once: the run delivered the stream in order from the first event after the
        // checkpoint it found, without a gap (a line cut by the kill is ignored).
        let lines = tokio::fs::read_to_string(&log).await.unwrap_or_default();
        let delivered: Vec<GlobalPosition> = lines
            .lines()
            .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
            .collect();
        let from = stream.partition_point(|at| checkpoint.is_some_and(|saved| *at <= saved));
        let expected_run = &stream[from..(from + delivered.len()).min(stream.len())];
        let whole = delivered.len().min(expected_run.len());
        assert_eq!(
            delivered[..whole],
            expected_run[..whole],
            "run {run}: redelivery starts right after the checkpoint and has no gap"
        );
        if run == kills {
            assert_eq!(
                model, all,
                "the last run completed the read model exactly once"
            );
            assert_eq!(
                delivered.len(),
                stream.len() - from,
                "the last run delivered the rest"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_projection_killed_mid_batch_neither_loses_nor_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.db");
    let store = SqliteStore::open(&path).await.unwrap();
    sqlx::query(CREATE)
        .execute(store.write_pool())
        .await
        .unwrap();
    kill_the_projection_mid_batch(
        store.clone(),
        Target::Sqlite(path),
        dir.path(),
        async |store: &SqliteStore| {
            sqlx::query_as(READ)
                .fetch_all(store.read_pool())
                .await
                .unwrap()
        },
    )
    .await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_projection_killed_mid_batch_neither_loses_nor_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let schema = postgres::fresh_schema("mp_projkill");
    let Some(store) =
        support::pg::open_at("projection_processes", &postgres::url(), &schema, |o| o).await
    else {
        return;
    };
    sqlx::query(CREATE).execute(store.pool()).await.unwrap();
    kill_the_projection_mid_batch(
        store.clone(),
        Target::Postgres(schema),
        dir.path(),
        async |store: &PostgresStore| sqlx::query_as(READ).fetch_all(store.pool()).await.unwrap(),
    )
    .await;
    support::pg::teardown(store).await;
}

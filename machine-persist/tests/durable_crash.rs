//! Durable actions across SIGKILL: a child process pays orders (each payment declares a
//! durable `charge card`) and is killed at a random moment, many times, on SQLite and on
//! Postgres. Afterwards, with one clean run to finish what is pending:
//! * every committed payment's action ran until it succeeded;
//! * no action ran for an event that was not committed;
//! * every attempt carried its action's key, and attempts beyond the recorded ones (repeats of
//!   attempts whose end was never recorded) are at most one per crash.

mod shop;
#[macro_use]
#[allow(unused_macros)]
mod support;
mod fixture;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use machine_core::Schedule;
use machine_persist::dispatch::{DispatchConfig, DurablePolicy};
use machine_persist::store::ActionStatus;
use machine_persist::{ActorFilter, PersistentSystem, Repository, SqliteStore};
use machine_test_support::process;
use shop::{Gateway, Order, OrderEvent};

const CHILD_STORE: &str = "MACHINE_DURABLE_CRASH_STORE";
const CHILD_LOG: &str = "MACHINE_DURABLE_CRASH_LOG";
const WRITERS: usize = 4;

/// Where the child's store is: a SQLite file or a Postgres schema.
#[derive(Clone, Debug)]
enum Place {
    Sqlite(PathBuf),
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres(String),
}

impl Place {
    fn encode(&self) -> String {
        match self {
            Place::Sqlite(path) => format!("sqlite:{}", path.display()),
            Place::Postgres(schema) => format!("postgres:{schema}"),
        }
    }

    fn decode(text: &str) -> Self {
        match text.split_once(':') {
            Some(("sqlite", path)) => Place::Sqlite(path.into()),
            Some(("postgres", schema)) => Place::Postgres(schema.to_owned()),
            _ => panic!("bad store place {text}"),
        }
    }
}

fn gateway(log: &Path) -> Gateway {
    Gateway {
        // The first attempt of every charge fails, so retries cross crashes too.
        fail_first: 1,
        delay: Duration::from_millis(3),
        log: Some(log.to_owned()),
        ..Gateway::default()
    }
}

/// One owner name for every run: a restarted process takes its claims back at once.
fn dispatch() -> DispatchConfig {
    DispatchConfig::default()
        .owner("crash-node")
        .poll_interval(Duration::from_millis(50))
        .attempt_timeout(Duration::from_secs(2))
}

fn policy() -> DurablePolicy<Order, shop::ChargeCard> {
    DurablePolicy::new()
        .retry(Schedule::spaced(Duration::from_millis(20)).intersect(Schedule::recurs(1_000)))
}

/// Runs `work` with a system on `place`.
async fn with_system<T>(
    place: &Place,
    log: &Path,
    work: impl AsyncFnOnce(&Repository<Order>) -> T,
) -> Option<T> {
    let system = match place {
        Place::Sqlite(path) => PersistentSystem::builder(SqliteStore::open(path).await.unwrap())
            .dispatch(dispatch())
            .build(),
        #[cfg(feature = "postgres")]
        Place::Postgres(schema) => {
            let url = machine_test_support::postgres::url();
            let store =
                support::pg::open_at("durable_crash", &url, schema, |options| options).await?;
            PersistentSystem::builder(store)
                .dispatch(dispatch())
                .build()
        }
        #[cfg(not(feature = "postgres"))]
        Place::Postgres(_) => return None,
    };
    let orders = system.repository(shop::config(policy()), Arc::new(gateway(log)));
    let result = work(&orders).await;
    system.shutdown().await;
    Some(result)
}

/// The child: pays fresh orders forever, printing each acknowledged payment.
#[test]
#[ignore = "the child process of the durable crash tests"]
fn durable_crash_child() {
    let place = Place::decode(&std::env::var(CHILD_STORE).expect("run by the crash test"));
    let log = PathBuf::from(std::env::var(CHILD_LOG).expect("run by the crash test"));
    let run = format!("{:08x}", fastrand::u32(..));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        with_system(&place, &log, async |orders| {
            let writers: Vec<_> = (0..WRITERS)
                .map(|writer| {
                    let orders = orders.clone();
                    let run = run.clone();
                    tokio::spawn(async move {
                        for n in 0.. {
                            let id = format!("o-{run}-{writer}-{n}");
                            let order = orders.spawn(id.as_str(), Order::Pending).await.unwrap();
                            let paid = order.call(OrderEvent::Pay { cents: 100 }).await.unwrap();
                            assert!(paid.is_accepted());
                            println!("ack {id}");
                        }
                    })
                })
                .collect();
            for writer in writers {
                writer.await.unwrap();
            }
        })
        .await
        .expect("the store is reachable");
    });
}

/// Kills the child `rounds` times at random moments, then checks the outbox.
async fn crash_rounds(place: Place, rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("attempts.log");
    let mut acked: Vec<String> = Vec::new();
    for _ in 0..rounds {
        let mut child = process::role("durable_crash_child")
            .env(CHILD_STORE, place.encode())
            .env(CHILD_LOG, &log)
            .spawn()
            .unwrap();
        let mut lines = process::lines(&mut child);
        let kill_after = Duration::from_millis(30 + fastrand::u64(0..250));
        process::read_until_kill(&mut lines, kill_after, |line| {
            match line.strip_prefix("ack ") {
                Some(id) => {
                    acked.push(id.to_owned());
                    true
                }
                None => false,
            }
        })
        .await;
        child.kill().await.unwrap(); // SIGKILL: no shutdown, no flush, claims left behind
        child.wait().await.unwrap();
    }
    assert!(!acked.is_empty(), "the child made progress");

    // One clean run finishes what is pending, then the outbox is checked.
    let checked = with_system(&place, &log, async |orders| {
        let listing = orders.list(ActorFilter::new()).await.unwrap();
        assert!(listing.unreadable.is_empty());
        let committed: HashMap<String, u64> = listing
            .actors
            .iter()
            .map(|meta| (meta.actor_id.to_string(), meta.version))
            .collect();
        for id in &acked {
            assert!(
                committed.get(id).is_some_and(|v| *v >= 1),
                "{id} was acknowledged"
            );
        }
        let start = tokio::time::Instant::now();
        let mut recorded: HashMap<String, u32> = HashMap::new();
        for (id, version) in &committed {
            let key = format!("{id}/1/charge card");
            loop {
                let actions: Vec<_> = orders
                    .actions(id.as_str())
                    .await
                    .unwrap()
                    .into_iter()
                    .map(Result::unwrap)
                    .collect();
                if *version == 0 {
                    assert!(actions.is_empty(), "{id} never paid, yet has {actions:?}");
                    break;
                }
                assert_eq!(actions.len(), 1, "{id}: one action per committed payment");
                assert_eq!(actions[0].key.to_string(), key);
                if actions[0].status == ActionStatus::Succeeded {
                    recorded.insert(key, actions[0].attempts);
                    break;
                }
                assert_eq!(actions[0].status, ActionStatus::Pending);
                assert!(
                    start.elapsed() < Duration::from_secs(120),
                    "{key} still pending: {:?}",
                    actions[0]
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        (committed, recorded)
    })
    .await
    .expect("the store is reachable");
    let (committed, recorded) = checked;

    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut logged: HashMap<&str, u32> = HashMap::new();
    for key in text.lines() {
        *logged.entry(key).or_default() += 1;
    }
    for key in logged.keys() {
        let (id, rest) = key
            .split_once('/')
            .unwrap_or_else(|| panic!("log line {key:?}"));
        assert_eq!(rest, "1/charge card", "{key}");
        assert!(
            committed.get(id).is_some_and(|v| *v >= 1),
            "{key} ran, but its event was never committed"
        );
    }
    let rounds = u32::try_from(rounds).unwrap();
    for (key, &attempts) in &recorded {
        let runs = logged.get(key.as_str()).copied().unwrap_or(0);
        assert!(
            attempts >= 2,
            "{key}: the first attempt fails, so a success is the 2nd+"
        );
        assert!(
            runs >= attempts && runs <= attempts + rounds,
            "{key}: {runs} runs for {attempts} recorded attempts over {rounds} crashes"
        );
    }
    assert_eq!(
        recorded.len(),
        committed.values().filter(|v| **v >= 1).count()
    );
    let runs: u32 = logged.values().sum();
    let attempts: u32 = recorded.values().sum();
    eprintln!(
        "{} payments committed ({} acknowledged) over {rounds} crashes: {attempts} recorded attempts, {} repeated after a crash",
        recorded.len(),
        acked.len(),
        runs - attempts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_action_runs_after_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    crash_rounds(Place::Sqlite(dir.path().join("orders.db")), 12).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_action_runs_after_sigkill_on_postgres() {
    let schema = machine_test_support::postgres::fresh_schema("mp_crash");
    let url = machine_test_support::postgres::url();
    // Create the schema (and learn whether the server is there) before the children start.
    let Some(store) = support::pg::open_at("durable_crash", &url, &schema, |o| o).await else {
        return;
    };
    crash_rounds(Place::Postgres(schema), 8).await;
    support::pg::teardown(store).await;
}

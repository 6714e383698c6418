//! Crash safety: a child process appends under load and is killed with SIGKILL at a random
//! moment. After each crash, every event whose `call` returned is in the journal, versions are
//! contiguous, and restore succeeds.

mod fixture;

use std::collections::HashMap;
use std::time::Duration;

use fixture::{Account, AccountEvent, Ledger};
use machine_persist::store::Journal;
use machine_persist::{PersistConfig, PersistentSystem, SqliteStore};
use machine_test_support::process;

const CHILD_ENV: &str = "MACHINE_CRASH_CHILD_DB";
const ACTORS: usize = 8;
const ROUNDS: usize = 20;

/// The child: restore (or create) the accounts and deposit 1 forever, printing each
/// acknowledged balance (= version, since only deposits are sent).
#[test]
#[ignore = "the child process of `acknowledged_events_survive_sigkill`"]
fn crash_child() {
    let path = std::env::var(CHILD_ENV).expect("run by the crash test");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let system = PersistentSystem::new(SqliteStore::open(&path).await.unwrap());
        let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
        let mut writers = Vec::new();
        for n in 0..ACTORS {
            let account = accounts
                .spawn(format!("acc-{n}"), Account::new())
                .await
                .unwrap();
            writers.push(tokio::spawn(async move {
                loop {
                    let state = account
                        .call(AccountEvent::Deposit { amount: 1 })
                        .await
                        .unwrap()
                        .into_state()
                        .unwrap();
                    println!("ack {} {}", account.id(), state.balance());
                }
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut acked: HashMap<String, u64> = HashMap::new();
    for round in 0..ROUNDS {
        let mut child = process::role("crash_child")
            .env(CHILD_ENV, &path)
            .spawn()
            .unwrap();
        let mut lines = process::lines(&mut child);
        let kill_after = Duration::from_millis(20 + fastrand::u64(0..200));
        process::read_until_kill(&mut lines, kill_after, |line| {
            let Some(rest) = line.strip_prefix("ack ") else {
                return false;
            };
            let (id, version) = rest.split_once(' ').unwrap();
            let version: u64 = version.parse().unwrap();
            let best = acked.entry(id.to_owned()).or_default();
            *best = (*best).max(version);
            true
        })
        .await;
        child.kill().await.unwrap(); // SIGKILL: no shutdown, no flush
        child.wait().await.unwrap();

        let store = SqliteStore::open(&path).await.unwrap();
        for (id, &version) in &acked {
            let actor = machine_core::ActorId::from(id.as_str());
            let head = store.head(&actor).await.unwrap();
            assert!(
                head >= version,
                "round {round}: {id} acknowledged v{version} but head is v{head}"
            );
            let events = store.read(&actor, 1, u64::MAX, usize::MAX).await.unwrap();
            assert!(
                events.iter().map(|e| e.version).eq(1..=head),
                "round {round}: {id} has a gap or duplicate"
            );
        }
        let system = PersistentSystem::new(store);
        let accounts = system.repository(
            PersistConfig::<Account>::new().snapshot_on_stop(false),
            Ledger::default(),
        );
        let report = accounts
            .restore_all(machine_persist::ActorFilter::new())
            .await
            .unwrap();
        assert!(report.is_complete(), "round {round}: {:?}", report.failed);
        for account in &report.restored {
            let snapshot = account.status().await.unwrap();
            assert_eq!(snapshot.state.balance(), snapshot.version);
        }
        system.shutdown().await;
    }
    assert_eq!(acked.len(), ACTORS, "every actor made progress");
}

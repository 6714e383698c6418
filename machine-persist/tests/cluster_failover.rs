//! Failover under load: three node processes on one Postgres database, each calling every actor
//! (locally or routed to its owner); one node is killed with SIGKILL again and again (and restarted, as a
//! supervisor would). After every kill every actor answers again within the lease TTL plus a
//! bound; at the end no version is duplicated or missing and every acknowledged event is stored.
//!
//! The test re-executes its own binary as the node processes (`cluster_node`).

#![cfg(feature = "cluster")]

mod fixture;
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fixture::{Account, AccountEvent, Ledger};
use machine_persist::cluster::{Cluster, ClusterConfig};
use machine_persist::store::Journal;
use machine_persist::{PersistConfig, PersistentSystem};
use machine_test_support::process;
use tokio::time::Instant;

const SCHEMA_ENV: &str = "MACHINE_CLUSTER_TEST_SCHEMA";
const NODE_ENV: &str = "MACHINE_CLUSTER_TEST_NODE";
const NODES: usize = 3;
const ACTORS: usize = 12;
const SHARDS: u32 = 12;
const ROUNDS: usize = 5;
const TTL: Duration = Duration::from_millis(1_000);
const HEARTBEAT: Duration = Duration::from_millis(250);
/// How long a routed call waits for an owner's answer (a call to the killed node waits this).
const ANSWER: Duration = Duration::from_millis(1_500);
/// How long after the TTL every actor must answer again: two heartbeats to notice and take the
/// lease, an answer timeout for callers that were waiting on the killed node, plus the restore
/// and a call, with room for a loaded 2-core machine.
const BOUND: Duration = Duration::from_secs(6);

fn actor(n: usize) -> String {
    format!("acc-{n}")
}

/// A node process: joins, then calls every actor wherever its owner runs, printing every
/// acknowledged balance (= version, since only deposits of 1 are sent).
#[test]
#[ignore = "a node process of `every_actor_answers_again_after_each_kill`"]
fn cluster_node() {
    let schema = std::env::var(SCHEMA_ENV).expect("run by the failover test");
    let node_id = std::env::var(NODE_ENV).expect("run by the failover test");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let url = machine_test_support::postgres::url();
        let store = support::pg::open_at("cluster_node", &url, &schema, |o| o)
            .await
            .expect("the parent reached the server");
        let config = ClusterConfig::new(node_id)
            .shards(SHARDS)
            .lease_ttl(TTL)
            .heartbeat(HEARTBEAT)
            .answer_timeout(ANSWER);
        let node = Cluster::join(store, config).await.unwrap();
        let accounts = node.routed(PersistConfig::<Account>::new(), Ledger::default());
        // Every node calls every actor: through its own repository for the shards it holds,
        // through the owner's channel for the others.
        let callers = (0..ACTORS).map(|n| {
            let handle = accounts.get(actor(n));
            tokio::spawn(async move {
                loop {
                    match handle.call(AccountEvent::Deposit { amount: 1 }).await {
                        Ok(outcome) => {
                            let balance = outcome.into_state().map(|state| state.balance());
                            println!("ack {} {}", handle.id(), balance.unwrap_or(0));
                        }
                        // No answer from an owner that died: try again, the shard moves.
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            })
        });
        futures::future::join_all(callers).await;
    });
}

/// Highest acknowledged balance and last acknowledgement time per actor, over every process.
type Acks = Arc<Mutex<HashMap<String, (u64, Instant)>>>;

fn start_node(schema: &str, node: usize, acks: &Acks) -> tokio::process::Child {
    let mut child = process::role("cluster_node")
        .env(SCHEMA_ENV, schema)
        .env(NODE_ENV, format!("node-{node}"))
        .spawn()
        .unwrap();
    let mut lines = process::lines(&mut child);
    let acks = Arc::clone(acks);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let Some((id, balance)) = line.strip_prefix("ack ").and_then(|r| r.split_once(' '))
            else {
                continue;
            };
            let Ok(balance) = balance.parse::<u64>() else {
                continue;
            };
            let mut acks = acks.lock().unwrap();
            let entry = acks.entry(id.to_owned()).or_insert((0, Instant::now()));
            *entry = (entry.0.max(balance), Instant::now());
        }
    });
    child
}

/// Waits until every actor was acknowledged after `since`; returns how long that took.
async fn all_answer_after(acks: &Acks, since: Instant, round: usize) -> Duration {
    let deadline = since + TTL + BOUND;
    loop {
        let answered = {
            let acks = acks.lock().unwrap();
            (0..ACTORS).all(|n| acks.get(&actor(n)).is_some_and(|(_, at)| *at > since))
        };
        if answered {
            return since.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "round {round}: an actor did not answer within TTL + {BOUND:?}: {:?}",
            acks.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_actor_answers_again_after_each_kill() {
    let Some(store) = support::pg::open("every_actor_answers_again_after_each_kill", |o| o).await
    else {
        return;
    };
    // The accounts exist before the nodes start.
    let setup = PersistentSystem::new(store.clone());
    let accounts = setup.repository(PersistConfig::<Account>::new(), Ledger::default());
    for n in 0..ACTORS {
        accounts.spawn(actor(n), Account::new()).await.unwrap();
    }
    setup.shutdown().await;

    let acks: Acks = Arc::default();
    let mut nodes: Vec<tokio::process::Child> = (0..NODES)
        .map(|node| start_node(store.schema(), node, &acks))
        .collect();
    all_answer_after(&acks, Instant::now(), 0).await;
    let mut failovers = Vec::new();
    for round in 1..=ROUNDS {
        let victim = fastrand::usize(0..NODES);
        // SIGKILL: no release, no leave; its leases run out on their own.
        nodes[victim].kill().await.unwrap();
        let killed = Instant::now();
        nodes[victim] = start_node(store.schema(), victim, &acks);
        failovers.push(all_answer_after(&acks, killed, round).await);
    }
    for node in &mut nodes {
        node.kill().await.unwrap();
    }
    // A statement a killed node sent may still commit on the server: let the server finish.
    tokio::time::sleep(Duration::from_secs(1)).await;
    eprintln!("failover (kill to every actor answering again) per round: {failovers:?}");

    let acked = acks.lock().unwrap().clone();
    for n in 0..ACTORS {
        let id = machine_core::ActorId::from(actor(n));
        let (balance, _) = acked[id.as_str()];
        let head = store.head(&id).await.unwrap();
        assert!(
            head >= balance,
            "{id} acknowledged v{balance}, head is v{head}"
        );
        let events = store.read(&id, 1, u64::MAX, usize::MAX).await.unwrap();
        let versions: Vec<u64> = events.iter().map(|event| event.version).collect();
        assert_eq!(
            versions,
            (1..=head).collect::<Vec<_>>(),
            "{id}: a gap or a duplicate"
        );
    }
    // Every journal folds to balance == version: each stored event was applied exactly once.
    let check = PersistentSystem::new(store.clone());
    let accounts = check.repository(PersistConfig::<Account>::new(), Ledger::default());
    for n in 0..ACTORS {
        let account = accounts.restore(actor(n)).await.unwrap().unwrap();
        let status = account.status().await.unwrap();
        assert_eq!(status.state.balance(), status.version);
    }
    check.shutdown().await;
    support::pg::teardown(store).await;
}

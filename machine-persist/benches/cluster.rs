//! Routed calls on a cluster of nodes sharing one Postgres database (all nodes in this process,
//! so they share its cores with the server).
//!
//! ```text
//! cargo bench -p machine-persist --features cluster --bench cluster
//! ```
//!
//! Environment: `BENCH_SECONDS` (5 per figure), `BENCH_ACTORS` (1,000), `BENCH_CALLERS` (64),
//! `MACHINE_TEST_POSTGRES_URL`. Prints, for 3 nodes, the latency of one caller's calls (p50,
//! p99) and the calls/s of many callers, to actors on the caller's node and on another node;
//! then calls/s on 1 node and on 3 nodes at the same load.

#[path = "../tests/fixture/mod.rs"]
mod fixture;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fixture::{Account, AccountEvent, Ledger};
use machine_persist::cluster::{Cluster, ClusterConfig, Routed};
use machine_persist::{PersistConfig, PostgresOptions, PostgresStore};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn url() -> String {
    std::env::var("MACHINE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

async fn store(schema: &str) -> PostgresStore {
    let options = PostgresOptions::url(&url())
        .expect("a valid URL")
        .schema(schema)
        .expect("a valid schema");
    PostgresStore::with_options(options)
        .await
        .expect("Postgres is reachable")
}

async fn nodes(schema: &str, count: usize) -> Vec<(Cluster, Routed<Account>)> {
    let mut nodes = Vec::new();
    for n in 0..count {
        let config = ClusterConfig::new(format!("node-{n}"))
            .shards(30)
            .lease_ttl(Duration::from_secs(10));
        let node = Cluster::join(store(schema).await, config)
            .await
            .expect("joins");
        let routed = node.routed(PersistConfig::<Account>::new(), Ledger::default());
        nodes.push((node, routed));
    }
    for _ in 0..2 {
        for (node, _) in &nodes {
            node.rebalance().await.expect("rebalances");
        }
    }
    nodes
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// One caller, sequential calls for `seconds`: (p50, p99, calls).
async fn latency(
    routed: &Routed<Account>,
    ids: &[String],
    seconds: u64,
) -> (Duration, Duration, usize) {
    let mut samples = Vec::new();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut n = 0;
    while Instant::now() < until {
        let id = &ids[n % ids.len()];
        n += 1;
        let started = Instant::now();
        let _ = routed
            .get(id.as_str())
            .call(AccountEvent::Deposit { amount: 1 })
            .await
            .expect("call");
        samples.push(started.elapsed());
    }
    samples.sort();
    (
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples.len(),
    )
}

/// `callers` concurrent callers, each on its own actor, spread over `from`'s nodes: calls/s.
async fn throughput(from: &[Routed<Account>], ids: &[String], callers: usize, seconds: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..callers)
        .map(|caller| {
            let routed = from[caller % from.len()].clone();
            let ids: Vec<String> = ids.iter().skip(caller).step_by(callers).cloned().collect();
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let mut n = 0;
                while Instant::now() < until && !ids.is_empty() {
                    let id = &ids[n % ids.len()];
                    n += 1;
                    if routed
                        .get(id.as_str())
                        .call(AccountEvent::Deposit { amount: 1 })
                        .await
                        .is_ok()
                    {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    futures::future::join_all(tasks).await;
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds = env_number("BENCH_SECONDS", 5);
    let actors = env_number("BENCH_ACTORS", 1_000) as usize;
    let callers = env_number("BENCH_CALLERS", 64) as usize;
    let schema = format!("bench_cluster_{}", std::process::id());
    let three = nodes(&schema, 3).await;
    let ids: Vec<String> = (0..actors).map(|n| format!("acc-{n}")).collect();
    for id in &ids {
        let owner = three
            .iter()
            .find(|(node, _)| node.owns(id))
            .expect("every shard has an owner");
        owner
            .1
            .repository()
            .spawn(id.as_str(), Account::new())
            .await
            .expect("spawn");
    }
    let (first, routed) = &three[0];
    let local: Vec<String> = ids.iter().filter(|id| first.owns(id)).cloned().collect();
    let remote: Vec<String> = ids.iter().filter(|id| !first.owns(id)).cloned().collect();
    println!("load average before: {}", load_average());
    println!("| 3 nodes, from node-0 | p50 | p99 | calls |");
    println!("|---|---|---|---|");
    for (name, set) in [
        ("owner is node-0", &local),
        ("owner is another node", &remote),
    ] {
        let (p50, p99, calls) = latency(routed, set, seconds).await;
        println!("| one caller, {name} | {p50:.2?} | {p99:.2?} | {calls} |");
    }
    for (name, set) in [
        ("owner is node-0", &local),
        ("owner is another node", &remote),
    ] {
        let rate = throughput(std::slice::from_ref(routed), set, callers, seconds).await;
        println!("| {callers} callers, {name} | | | {rate:.0}/s |");
    }
    let all: Vec<Routed<Account>> = three.iter().map(|(_, routed)| routed.clone()).collect();
    let rate = throughput(&all, &ids, callers, seconds).await;
    println!("| {callers} callers spread over 3 nodes, {actors} actors, each caller's actors on any node | | | {rate:.0}/s |");
    let store = store(&schema).await;
    for (node, _) in three {
        node.leave().await.expect("leaves");
    }
    let one = nodes(&schema, 1).await;
    let all: Vec<Routed<Account>> = one.iter().map(|(_, routed)| routed.clone()).collect();
    let rate = throughput(&all, &ids, callers, seconds).await;
    println!("| {callers} callers on 1 node, {actors} actors | | | {rate:.0}/s |");
    println!("load average after: {}", load_average());
    for (node, _) in one {
        node.leave().await.expect("leaves");
    }
    store.drop_schema().await.expect("drops the schema");
}

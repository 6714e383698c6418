//! Three nodes on one Postgres database: each node runs the turnstiles of the shards it holds,
//! one node is killed with SIGKILL, and its turnstiles answer again from the survivors once its
//! leases expire.
//!
//! ```text
//! cargo run --example cluster --features cluster
//! MACHINE_EXAMPLE_POSTGRES_URL=postgres://app@db/app cargo run --example cluster --features cluster
//! ```
//!
//! Run without arguments it is the supervisor: it starts three node processes (this program
//! with `node <id>`), prints which node answers for each turnstile, kills one and shows the
//! others take over. The data lives in the schema `cluster_example`, recreated on every run.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use machine::persist::cluster::{Cluster, ClusterConfig};
use machine::persist::PostgresOptions;
use machine::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Clone, Debug, Serialize, Deserialize, Event)]
enum TurnstileEvent {
    Coin,
    Push,
}

#[derive(Clone, Debug, Serialize, Deserialize, Machine)]
#[machine(event = TurnstileEvent)]
enum Turnstile {
    #[initial]
    #[on(Coin => Unlocked)]
    Locked { passes: u64 },
    #[on(Push => Locked)]
    Unlocked { passes: u64 },
}

impl TurnstileTransitions for Turnstile {
    fn locked_coin(
        passes: &u64,
        _: TurnstileEventCoin<'_>,
    ) -> Result<TurnstileLockedOnCoin, Infallible> {
        Ok(TurnstileLockedOnCoin::Unlocked { passes: *passes })
    }

    fn unlocked_push(
        passes: &u64,
        _: TurnstileEventPush<'_>,
    ) -> Result<TurnstileUnlockedOnPush, Infallible> {
        Ok(TurnstileUnlockedOnPush::Locked { passes: passes + 1 })
    }
}

const SCHEMA: &str = "cluster_example";
const GATES: usize = 6;
const TTL: Duration = Duration::from_secs(2);

fn gate(n: usize) -> String {
    format!("gate-{n}")
}

async fn open() -> Result<PostgresStore, Box<dyn std::error::Error>> {
    let url = std::env::var("MACHINE_EXAMPLE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let options = PostgresOptions::url(&url)?.schema(SCHEMA)?;
    Ok(PostgresStore::with_options(options).await?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("node") => node(args.get(2).cloned().unwrap_or_else(|| "node".to_owned())).await,
        _ => supervise().await,
    }
}

/// One node: joins, then pushes each turnstile of its shards through a coin and a push, once
/// every 200 ms, printing who answered.
async fn node(id: String) -> Result<(), Box<dyn std::error::Error>> {
    let config = ClusterConfig::new(id.clone()).shards(12).lease_ttl(TTL);
    let node = Cluster::join(open().await?, config).await?;
    let gates = node.repository(PersistConfig::<Turnstile>::new(), ());
    loop {
        for n in 0..GATES {
            let name = gate(n);
            if !node.owns(&name) {
                continue;
            }
            let coin = gates.call(name.as_str(), TurnstileEvent::Coin).await;
            let push = gates.call(name.as_str(), TurnstileEvent::Push).await;
            if let (Ok(_), Ok(Outcome::Next(Turnstile::Locked { passes }))) = (coin, push) {
                println!("{id} {name} {passes}");
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The supervisor: a fresh schema, the turnstiles, three nodes, one killed.
async fn supervise() -> Result<(), Box<dyn std::error::Error>> {
    open().await?.drop_schema().await?;
    let store = open().await?;
    let system = PersistentSystem::new(store);
    let gates = system.repository(PersistConfig::<Turnstile>::new(), ());
    for n in 0..GATES {
        gates
            .spawn(gate(n), Turnstile::Locked { passes: 0 })
            .await?;
    }
    system.shutdown().await;

    let (tx, mut answers) = tokio::sync::mpsc::unbounded_channel::<(String, String, u64)>();
    let mut nodes = Vec::new();
    for n in 0..3 {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .args(["node", &format!("node-{n}")])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut parts = line.split(' ');
                if let (Some(node), Some(gate), Some(Ok(passes))) =
                    (parts.next(), parts.next(), parts.next().map(str::parse))
                {
                    let _ = tx.send((node.to_owned(), gate.to_owned(), passes));
                }
            }
        });
        nodes.push(child);
    }

    let owners = collect(&mut answers, Duration::from_secs(3)).await;
    println!("before the kill:");
    print(&owners);
    let victim = owners
        .values()
        .next()
        .map(|(node, _)| node.clone())
        .ok_or("no node answered")?;
    let index: usize = victim.trim_start_matches("node-").parse()?;
    nodes[index].kill().await?;
    let killed = Instant::now();
    println!("\nkilled {victim} (SIGKILL); its leases expire within {TTL:?}\n");

    // Skip what was printed before the kill, then wait until every gate answered from a survivor.
    let mut after: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let deadline = killed + TTL + Duration::from_secs(10);
    while after.len() < GATES && Instant::now() < deadline {
        if let Ok(Some((node, gate, passes))) =
            tokio::time::timeout(Duration::from_millis(100), answers.recv()).await
        {
            if node != victim {
                after.insert(gate, (node, passes));
            }
        }
    }
    println!("after the kill ({:.1?} later):", killed.elapsed());
    print(&after);
    for mut node in nodes {
        let _ = node.kill().await;
    }
    if after.len() < GATES {
        return Err("some turnstiles did not answer again".into());
    }
    Ok(())
}

/// The last answer per gate over `window`.
async fn collect(
    answers: &mut tokio::sync::mpsc::UnboundedReceiver<(String, String, u64)>,
    window: Duration,
) -> BTreeMap<String, (String, u64)> {
    let mut seen = BTreeMap::new();
    let until = Instant::now() + window;
    while Instant::now() < until {
        if let Ok(Some((node, gate, passes))) =
            tokio::time::timeout(Duration::from_millis(100), answers.recv()).await
        {
            seen.insert(gate, (node, passes));
        }
    }
    seen
}

fn print(owners: &BTreeMap<String, (String, u64)>) {
    for (gate, (node, passes)) in owners {
        println!("  {gate}: answered by {node}, {passes} passes");
    }
}

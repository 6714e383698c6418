//! Three nodes on one Postgres database: every node calls every turnstile, whichever node owns
//! it (a call for a turnstile owned elsewhere is routed to its owner); one node is killed with
//! SIGKILL, and its turnstiles answer again from a survivor once its leases expire.
//!
//! ```text
//! cargo run --example cluster --features cluster
//! MACHINE_EXAMPLE_POSTGRES_URL=postgres://app@db/app cargo run --example cluster --features cluster
//! ```
//!
//! Run without arguments it is the supervisor: it recreates the schema `cluster_example`,
//! starts three node processes (this program with `node <id>`), prints for each turnstile the
//! node that owns it and the nodes whose calls it answered, kills one node and prints the same
//! once every turnstile answered the survivors again. The turnstile machine never rejects (its
//! error is `Infallible`): routing needs no error type of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::time::{Duration, Instant};

use machine::persist::cluster::{Cluster, ClusterConfig};
use machine::persist::PostgresOptions;
use machine::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

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

impl Turnstile {
    fn passes(&self) -> u64 {
        match self {
            Turnstile::Locked { passes } | Turnstile::Unlocked { passes } => *passes,
        }
    }
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
const NODES: usize = 3;
const GATES: usize = 6;
const TTL: Duration = Duration::from_secs(2);
/// How long every gate may take to answer every live node (the nodes starting, or the leases of
/// the killed node expiring and being taken over), with room for a busy machine.
const SETTLE: Duration = Duration::from_secs(30);

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

/// One node: joins, then calls every turnstile (a coin, then a push) every 300 ms, each from a
/// task of its own, printing `answer <caller> <gate> <owner> <passes>` for every push answered.
async fn node(id: String) -> Result<(), Box<dyn std::error::Error>> {
    let config = ClusterConfig::new(id.clone())
        .shards(12)
        .lease_ttl(TTL)
        .answer_timeout(Duration::from_secs(1));
    let node = Cluster::join(open().await?, config).await?;
    let gates = node.routed(PersistConfig::<Turnstile>::new(), ());
    let callers = (0..GATES).map(|n| {
        let (node, id, gate) = (node.clone(), id.clone(), gates.get(gate(n)));
        tokio::spawn(async move {
            loop {
                // The owner runs the calls, here or on another node; the answer comes back.
                let coin = gate.call(TurnstileEvent::Coin).await;
                let push = gate.call(TurnstileEvent::Push).await;
                if let (Ok(_), Ok(outcome)) = (coin, push) {
                    let owner = node.owner(gate.id().as_str()).await.ok().flatten();
                    if let (Some(owner), Some(state)) = (owner, outcome.into_state()) {
                        println!("answer {id} {} {owner} {}", gate.id(), state.passes());
                    }
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    });
    futures::future::join_all(callers).await;
    Ok(())
}

/// One answered call, as a node printed it.
struct Answer {
    caller: String,
    gate: String,
    owner: String,
    passes: u64,
}

impl Answer {
    fn parse(line: &str) -> Option<Self> {
        let mut parts = line.strip_prefix("answer ")?.split(' ');
        Some(Self {
            caller: parts.next()?.to_owned(),
            gate: parts.next()?.to_owned(),
            owner: parts.next()?.to_owned(),
            passes: parts.next()?.parse().ok()?,
        })
    }
}

/// Per gate: its owner at the last answer, the callers it answered, the passes counted.
#[derive(Default)]
struct Seen {
    owner: String,
    callers: BTreeSet<String>,
    passes: u64,
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

    let (tx, mut answers) = unbounded_channel::<Answer>();
    let mut nodes = Vec::new();
    for n in 0..NODES {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .args(["node", &format!("node-{n}")])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(answer) = Answer::parse(&line) {
                    let _ = tx.send(answer);
                }
            }
        });
        nodes.push(child);
    }
    let all: BTreeSet<String> = (0..NODES).map(|n| format!("node-{n}")).collect();

    println!("{NODES} nodes started; each calls all {GATES} turnstiles, routed to the owner");
    let before = settle(&mut answers, &all, |_| true).await;
    println!("\nbefore the kill:");
    print(&before, None);
    let victim = before
        .values()
        .next()
        .map(|seen| seen.owner.clone())
        .ok_or("no node answered")?;
    let index: usize = victim.trim_start_matches("node-").parse()?;
    nodes[index].kill().await?;
    let killed = Instant::now();
    println!("\nkilled {victim} (SIGKILL: no goodbye); its leases expire within {TTL:?}");

    let survivors: BTreeSet<String> = all.iter().filter(|n| **n != victim).cloned().collect();
    // Only answers from survivors, by survivors: the victim's last lines may still be queued.
    let after = settle(&mut answers, &survivors, |answer| {
        answer.caller != victim && answer.owner != victim
    })
    .await;
    println!("\nafter the kill ({:.1?} later):", killed.elapsed());
    print(&after, Some(&before));
    for mut node in nodes {
        let _ = node.kill().await;
    }
    let answered = after.len() == GATES && after.values().all(|seen| seen.callers == survivors);
    if !answered {
        return Err("some turnstiles did not answer every survivor again".into());
    }
    Ok(())
}

/// Reads answers that pass `keep` until every gate answered every node of `callers` (or
/// [`SETTLE`] ran out).
async fn settle(
    answers: &mut UnboundedReceiver<Answer>,
    callers: &BTreeSet<String>,
    keep: impl Fn(&Answer) -> bool,
) -> BTreeMap<String, Seen> {
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let until = Instant::now() + SETTLE;
    let done = |seen: &BTreeMap<String, Seen>| {
        seen.len() == GATES && seen.values().all(|gate| gate.callers == *callers)
    };
    while !done(&seen) && Instant::now() < until {
        let next = tokio::time::timeout(Duration::from_millis(100), answers.recv());
        let Ok(Some(answer)) = next.await else {
            continue;
        };
        if !keep(&answer) {
            continue;
        }
        let gate = seen.entry(answer.gate).or_default();
        gate.owner = answer.owner;
        gate.callers.insert(answer.caller);
        gate.passes = gate.passes.max(answer.passes);
    }
    seen
}

fn print(gates: &BTreeMap<String, Seen>, before: Option<&BTreeMap<String, Seen>>) {
    for (gate, seen) in gates {
        let callers: Vec<&str> = seen.callers.iter().map(String::as_str).collect();
        let moved = before
            .and_then(|before| before.get(gate))
            .filter(|earlier| earlier.owner != seen.owner)
            .map(|earlier| format!(" (was {})", earlier.owner))
            .unwrap_or_default();
        println!(
            "  {gate}: owned by {}{moved}, answered calls from {}; {} passes",
            seen.owner,
            callers.join(", "),
            seen.passes
        );
    }
}

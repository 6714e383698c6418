//! What one `call` costs in instructions: `call`s in a row through one actor, against a plain
//! tokio loop doing the same work (a bounded `mpsc` channel of the same capacity, a `oneshot`
//! reply, the same `Tally::transition`), both on a current-thread runtime, the caller a task of
//! its own. The same for `send`s in a row (then one query of the state), the workload of
//! `actor_throughput`, counted rather than timed.
//!
//! A bench binary that prints its figures. It runs itself under `valgrind --tool=callgrind`
//! twice per contender, with `CALLS` and with `2 * CALLS` operations, and divides the
//! difference of the two instruction totals by `CALLS`: everything done once (the runtime, the
//! spawn, the shutdown, lazy initialisation) cancels out. Each run is a process of its own. One
//! run by hand, for `callgrind_annotate`:
//!
//! ```text
//! valgrind --tool=callgrind target/release/deps/call_cost-* --run actor 100000
//! ```

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use machine_core::{ActorSystem, Machine, Outcome};
use tokio::sync::{mpsc, oneshot};

#[path = "support/tally.rs"]
mod tally;

use tally::{nth_event, Tally, TallyEvent};

/// Calls (or sends) in the shorter run; the longer one makes twice as many.
const CALLS: u64 = 50_000;
/// The default mailbox capacity of `SpawnOptions`, used for the plain channel too.
const MAILBOX: usize = 1024;

type Answer = Outcome<Tally, <Tally as Machine>::Error>;

/// `sends` events sent through an actor, then one call for the final state.
async fn actor_sends(sends: u64) -> Tally {
    let system = ActorSystem::new();
    let actor = system
        .spawn("tally", Tally::default(), Arc::new(()))
        .expect("spawn");
    for i in 0..sends {
        actor.send(nth_event(i)).await.expect("send");
    }
    let state = actor.state().await.expect("state");
    system.shutdown().await;
    state
}

/// `calls` calls through an actor; returns the final state.
async fn actor(calls: u64) -> Tally {
    let system = ActorSystem::new();
    let actor = system
        .spawn("tally", Tally::default(), Arc::new(()))
        .expect("spawn");
    let mut state = Tally::default();
    for i in 0..calls {
        if let Outcome::Next(next) = actor.call(nth_event(i)).await.expect("call") {
            state = next;
        }
    }
    system.shutdown().await;
    state
}

/// The same calls through a hand-written loop.
async fn plain(calls: u64) -> Tally {
    let (tx, mut rx) = mpsc::channel::<(TallyEvent, oneshot::Sender<Answer>)>(MAILBOX);
    let consumer = tokio::spawn(async move {
        let mut state = Tally::default();
        while let Some((event, reply)) = rx.recv().await {
            let outcome = state.transition(&event);
            if let Outcome::Next(next) = &outcome {
                state = next.clone();
            }
            let _ = reply.send(outcome);
        }
    });
    let mut state = Tally::default();
    for i in 0..calls {
        let (reply, answer) = oneshot::channel();
        tx.send((nth_event(i), reply))
            .await
            .unwrap_or_else(|_| panic!("send"));
        if let Outcome::Next(next) = answer.await.expect("answer") {
            state = next;
        }
    }
    drop(tx);
    consumer.await.expect("consumer");
    state
}

/// What the plain loop's channel carries when most messages are sends.
enum Message {
    Send(TallyEvent),
    Get(oneshot::Sender<Tally>),
}

/// The same sends through a hand-written loop.
async fn plain_sends(sends: u64) -> Tally {
    let (tx, mut rx) = mpsc::channel::<Message>(MAILBOX);
    let consumer = tokio::spawn(async move {
        let mut state = Tally::default();
        while let Some(message) = rx.recv().await {
            match message {
                Message::Send(event) => {
                    if let Outcome::Next(next) = state.transition(&event) {
                        state = next;
                    }
                }
                Message::Get(reply) => {
                    let _ = reply.send(state.clone());
                }
            }
        }
    });
    for i in 0..sends {
        tx.send(Message::Send(nth_event(i)))
            .await
            .unwrap_or_else(|_| panic!("send"));
    }
    let (reply, answer) = oneshot::channel();
    tx.send(Message::Get(reply))
        .await
        .unwrap_or_else(|_| panic!("get"));
    let state = answer.await.expect("answer");
    drop(tx);
    consumer.await.expect("consumer");
    state
}

/// The contenders, by name, with the operation each repeats.
const CONTENDERS: [(&str, &str); 4] = [
    ("actor", "call"),
    ("plain", "call"),
    ("actor-sends", "send"),
    ("plain-sends", "send"),
];

/// Runs one contender in this process and checks its result.
fn run(contender: &str, calls: u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let start = Instant::now();
    // The caller is a task of its own, as callers are in a service: were it the future
    // `block_on` drives, the runtime would poll its I/O and timer driver after every call,
    // about 800 instructions that neither contender is about.
    let state = runtime.block_on(async {
        match contender {
            "actor" => tokio::spawn(actor(calls)).await,
            "plain" => tokio::spawn(plain(calls)).await,
            "actor-sends" => tokio::spawn(actor_sends(calls)).await,
            "plain-sends" => tokio::spawn(plain_sends(calls)).await,
            other => panic!("unknown contender {other}"),
        }
        .expect("caller task")
    });
    let elapsed = start.elapsed();
    assert_eq!(state, tally::expected_after(calls));
    println!(
        "  {contender}: {calls} in a row, {:.0} ns each (wall clock, this run)",
        elapsed.as_nanos() as f64 / calls as f64
    );
}

/// The instruction total of one contender run under callgrind.
fn instructions(exe: &Path, contender: &str, calls: u64) -> Option<u64> {
    let out = std::env::temp_dir().join(format!(
        "call_cost-{}-{contender}-{calls}.callgrind",
        std::process::id()
    ));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .args(["--run", contender, &calls.to_string()])
        .output()
        .ok()?
        .status;
    let text = std::fs::read_to_string(&out).ok();
    let _ = std::fs::remove_file(&out);
    assert!(status.success(), "valgrind run of {contender} failed");
    text?
        .lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or(line.strip_prefix("totals:"))
        })
        .and_then(|total| total.trim().parse().ok())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, contender, calls, ..] = args.as_slice() {
        if flag == "--run" {
            run(contender, calls.parse().expect("a number of calls"));
            return;
        }
    }
    let exe = std::env::current_exe().expect("current exe");
    println!("call_cost: instructions per operation under callgrind, current-thread runtime");
    let mut costs = Vec::new();
    for (contender, unit) in CONTENDERS {
        let short = instructions(&exe, contender, CALLS);
        let long = instructions(&exe, contender, 2 * CALLS);
        let (Some(short), Some(long)) = (short, long) else {
            println!("  valgrind is not available: wall clock only");
            run(contender, 2 * CALLS);
            continue;
        };
        let cost = long.saturating_sub(short) as f64 / CALLS as f64;
        println!(
            "  {contender}: {cost:.0} instructions per {unit} ({short} for {CALLS}, {long} for {})",
            2 * CALLS
        );
        costs.push(cost);
    }
    if let [call, plain_call, send, plain_send] = costs.as_slice() {
        println!("  actor / plain, per call: {:.2}", call / plain_call);
        println!("  actor / plain, per send: {:.2}", send / plain_send);
    }
}

//! Events per second through one actor: 1,000,000 `send`s and then one `call`, against a plain
//! tokio loop doing the same work (a bounded mpsc channel of the same capacity, a task applying
//! the same transition to each message, a final request answered over a oneshot).
//!
//! Each measured run starts a fresh actor (or loop) on a task of its own, so the producer and
//! the consumer are both runtime tasks; the clock covers the sends and the call, not the spawn
//! or the shutdown. The machine is the effect-free `Tally` of `support/tally.rs`.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use machine_core::{ActorSystem, Machine, Outcome};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

#[path = "support/tally.rs"]
mod tally;

use tally::{nth_event, Tally, TallyEvent};

const SENDS: u64 = 1_000_000;
/// The default mailbox capacity of `SpawnOptions`, used for the plain channel too.
const MAILBOX: usize = 1024;
/// Side-by-side runs for the printed ratio.
const PAIRS: usize = 7;

/// One run through an actor; returns the time from the first send to the call's answer.
async fn actor_run(expected: Tally) -> Duration {
    let system = ActorSystem::new();
    let actor = system
        .spawn("tally", Tally::default(), Arc::new(()))
        .expect("spawn");
    let start = Instant::now();
    for i in 0..SENDS {
        actor.send(nth_event(i)).await.expect("send");
    }
    let outcome = actor.call(TallyEvent::Add(1)).await.expect("call");
    let elapsed = start.elapsed();
    assert_eq!(outcome.into_state(), Some(expected));
    system.shutdown().await;
    elapsed
}

/// What the plain loop's channel carries.
enum Message {
    Send(TallyEvent),
    Call(
        TallyEvent,
        oneshot::Sender<Outcome<Tally, <Tally as Machine>::Error>>,
    ),
}

/// The same run through a hand-written tokio loop.
async fn plain_run(expected: Tally) -> Duration {
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
                Message::Call(event, reply) => {
                    let outcome = state.transition(&event);
                    if let Outcome::Next(next) = &outcome {
                        state = next.clone();
                    }
                    let _ = reply.send(outcome);
                }
            }
        }
    });
    let start = Instant::now();
    for i in 0..SENDS {
        tx.send(Message::Send(nth_event(i)))
            .await
            .unwrap_or_else(|_| panic!("send"));
    }
    let (reply, answer) = oneshot::channel();
    tx.send(Message::Call(TallyEvent::Add(1), reply))
        .await
        .unwrap_or_else(|_| panic!("call"));
    let outcome = answer.await.expect("answer");
    let elapsed = start.elapsed();
    assert_eq!(outcome.into_state(), Some(expected));
    drop(tx);
    consumer.await.expect("consumer");
    elapsed
}

/// The state after the workload and the final `Add(1)`.
fn expected() -> Tally {
    let state = tally::expected_after(SENDS);
    state
        .transition(&TallyEvent::Add(1))
        .into_state()
        .unwrap_or(state)
}

fn runtimes() -> [(&'static str, Runtime); 2] {
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    [("multi_thread_2", multi), ("current_thread", current)]
}

/// Runs `run` `iters` times, each on a task of its own, and sums the times it reports.
fn measure<F, Fut>(runtime: &Runtime, iters: u64, run: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = Duration> + Send + 'static,
{
    runtime.block_on(async {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            total += tokio::spawn(run()).await.expect("run");
        }
        total
    })
}

/// Prints the median of actor/plain throughput ratios over runs made side by side: on a
/// machine shared with other work, steadier than the ratio of two separate measurements.
fn paired_ratio(flavor: &str, runtime: &Runtime, expected: &Tally) {
    let mut ratios: Vec<f64> = (0..PAIRS)
        .map(|_| {
            let actor = measure(runtime, 1, || actor_run(expected.clone()));
            let plain = measure(runtime, 1, || plain_run(expected.clone()));
            plain.as_secs_f64() / actor.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "actor_throughput/{flavor}: actor/plain throughput, median of {PAIRS} paired runs: {:.2}",
        ratios[PAIRS / 2]
    );
}

fn throughput(c: &mut Criterion) {
    let expected = expected();
    for (flavor, runtime) in &runtimes() {
        paired_ratio(flavor, runtime, &expected);
    }
    let mut group = c.benchmark_group("actor_throughput");
    group.throughput(Throughput::Elements(SENDS + 1));
    group.sampling_mode(SamplingMode::Flat);
    for (flavor, runtime) in runtimes() {
        group.bench_function(format!("{flavor}/actor"), |b| {
            b.iter_custom(|iters| measure(&runtime, iters, || actor_run(expected.clone())))
        });
        group.bench_function(format!("{flavor}/plain"), |b| {
            b.iter_custom(|iters| measure(&runtime, iters, || plain_run(expected.clone())))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    targets = throughput
}
criterion_main!(benches);

//! The cost of dispatching through [`Machine::transition`], against a hand-written `match` doing
//! the same work, over the same 1,000,000 order events.
//!
//! Both contenders take `&state, &event`, build the same next state with the same clones, keep
//! the state when the event is unhandled or rejected, and start a fresh order whenever one
//! reaches a final state. Another machine over this workload (a derived one, say) is one more
//! [`bench_machine`] call with its own start state and the events converted once, up front.

use std::hint::black_box;
use std::time::Instant;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use machine_core::{Machine, Outcome};

use machine_test_support::order::{Order, OrderEvent, FRAUD_LIMIT};

#[path = "support/derived_order.rs"]
mod derived_order;

use derived_order::{DerivedEvent, DerivedOrder};

const EVENTS: usize = 1_000_000;
/// Side-by-side runs for the printed ratio.
const PAIRS: usize = 15;

/// Orders one after another, mostly valid: a few `Pending` orders first get an event they do
/// not handle or reject, a tenth are cancelled or expire unpaid, the rest are paid, get 0–4
/// notes, and are shipped (or, one in five, cancelled). Deterministic for a given seed.
fn generate(count: usize, seed: u64) -> Vec<OrderEvent> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut events = Vec::with_capacity(count + 8);
    while events.len() < count {
        match rng.u8(..20) {
            0 => events.push(OrderEvent::Ship("too early".into())),
            1 => events.push(OrderEvent::Pay { amount: 0 }),
            _ => {}
        }
        if rng.u8(..10) == 0 {
            events.push(if rng.bool() {
                OrderEvent::Cancel
            } else {
                OrderEvent::Expire
            });
            continue;
        }
        events.push(OrderEvent::Pay {
            amount: rng.u64(1..10_000),
        });
        for _ in 0..rng.u8(..5) {
            events.push(OrderEvent::Note);
        }
        events.push(if rng.u8(..5) == 0 {
            OrderEvent::Cancel
        } else {
            OrderEvent::Ship(format!("TRK{:07}", rng.u32(..10_000_000)))
        });
    }
    events.truncate(count);
    events
}

/// Folds `events` through [`Machine::transition`]; returns the last state and how many events
/// were accepted.
fn fold_machine<M: Machine>(start: &M, events: &[M::Event]) -> (M, usize) {
    let mut state = start.clone();
    let mut accepted = 0;
    for event in events {
        if let Outcome::Next(next) = state.transition(event) {
            accepted += 1;
            state = if next.is_final() { start.clone() } else { next };
        }
    }
    (state, accepted)
}

/// The baseline: the order's transitions as a plain function.
fn step(state: &Order, event: &OrderEvent) -> Option<Order> {
    match (state, event) {
        (Order::Pending { .. }, OrderEvent::Pay { amount: 0 }) => None,
        (Order::Pending { .. }, OrderEvent::Pay { amount }) if *amount > FRAUD_LIMIT => {
            Some(Order::Cancelled {
                reason: format!("payment of {amount} flagged as fraud"),
            })
        }
        (Order::Pending { id }, OrderEvent::Pay { amount }) => Some(Order::Paid {
            id: id.clone(),
            amount: *amount,
            notes: 0,
        }),
        (Order::Pending { .. }, OrderEvent::Cancel) => Some(Order::Cancelled {
            reason: "cancelled by customer".into(),
        }),
        (Order::Pending { .. }, OrderEvent::Expire) => Some(Order::Cancelled {
            reason: "payment window expired".into(),
        }),
        (Order::Pending { id }, OrderEvent::Extend) => Some(Order::Pending { id: id.clone() }),
        (Order::Paid { id, amount, notes }, OrderEvent::Note) => Some(Order::Paid {
            id: id.clone(),
            amount: *amount,
            notes: notes + 1,
        }),
        (Order::Paid { .. }, OrderEvent::Ship(tracking)) if tracking.is_empty() => None,
        (Order::Paid { id, .. }, OrderEvent::Ship(tracking)) => Some(Order::Shipped {
            id: id.clone(),
            tracking: tracking.clone(),
        }),
        (Order::Paid { amount, .. }, OrderEvent::Cancel) => Some(Order::Cancelled {
            reason: format!("refund {amount}"),
        }),
        _ => None,
    }
}

/// [`fold_machine`] with [`step`] in place of the trait.
fn fold_match(start: &Order, events: &[OrderEvent]) -> (Order, usize) {
    let mut state = start.clone();
    let mut accepted = 0;
    for event in events {
        if let Some(next) = step(&state, event) {
            accepted += 1;
            let done = matches!(next, Order::Shipped { .. } | Order::Cancelled { .. });
            state = if done { start.clone() } else { next };
        }
    }
    (state, accepted)
}

/// One contender: folds `events` through machine `M` from `start`.
fn bench_machine<M: Machine>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    start: &M,
    events: &[M::Event],
) {
    group.bench_function(name, |b| {
        b.iter(|| fold_machine(black_box(start), black_box(events)))
    });
}

/// Prints the median of machine/match time ratios over folds made side by side: on a machine
/// shared with other work, steadier than the ratio of two separate measurements.
fn paired_ratio<M: Machine>(
    name: &str,
    start: &Order,
    events: &[OrderEvent],
    contender: (&M, &[M::Event]),
) {
    let time = |fold: &dyn Fn() -> usize| {
        let begin = Instant::now();
        black_box(fold());
        begin.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..PAIRS)
        .map(|_| {
            let machine = time(&|| fold_machine(black_box(contender.0), black_box(contender.1)).1);
            machine / time(&|| fold_match(black_box(start), black_box(events)).1)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "dispatch: {name}/match time, median of {PAIRS} paired folds: {:.3}",
        ratios[PAIRS / 2]
    );
}

fn dispatch(c: &mut Criterion) {
    let events = generate(EVENTS, 0x5eed);
    let start = Order::new("order-000042");
    let (state, accepted) = fold_machine(&start, &events);
    assert_eq!((state, accepted), fold_match(&start, &events));
    println!("dispatch: {accepted} of {EVENTS} events accepted");
    let derived_start = DerivedOrder::Pending {
        id: "order-000042".into(),
    };
    let derived_events: Vec<DerivedEvent> = events.iter().map(DerivedEvent::from).collect();
    assert_eq!(
        fold_machine(&derived_start, &derived_events).1,
        accepted,
        "the derived machine accepts the same events"
    );
    paired_ratio("machine", &start, &events, (&start, &events));
    paired_ratio(
        "derived",
        &start,
        &events,
        (&derived_start, &derived_events),
    );

    let mut group = c.benchmark_group("dispatch");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("match", |b| {
        b.iter(|| fold_match(black_box(&start), black_box(&events)))
    });
    bench_machine(&mut group, "machine", &start, &events);
    bench_machine(&mut group, "derived", &derived_start, &derived_events);
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = dispatch
}
criterion_main!(benches);

//! The laws of `Schedule`, checked on random schedule trees and random steps.
//!
//! Each law compares drivers stepped with the same start, seed and inputs. The expected
//! decisions of the combinators are computed here from first principles (a reference truth
//! table), not by calling into the implementation.

use std::time::{Duration, Instant};

use machine_core::{Decision, Schedule};
use proptest::prelude::*;

/// One step: milliseconds since the previous step (so `now` never goes backwards) and the input.
type Steps = Vec<(u64, u64)>;

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        4 => (0u64..1_500).prop_map(Duration::from_millis),
        1 => Just(Duration::ZERO),
        1 => Just(Duration::MAX),
    ]
}

fn leaf() -> impl Strategy<Value = Schedule> {
    prop_oneof![
        Just(Schedule::forever()),
        Just(Schedule::once()),
        (0u64..6).prop_map(Schedule::recurs),
        duration().prop_map(Schedule::spaced),
        duration().prop_map(Schedule::fixed),
        (0u64..6).prop_map(Schedule::every_events),
        duration().prop_map(Schedule::exponential),
        (duration(), 0.0f64..4.0).prop_map(|(b, f)| Schedule::exponential_with_factor(b, f)),
    ]
}

fn schedule() -> impl Strategy<Value = Schedule> {
    leaf().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.union(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.intersect(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and_then(b)),
            (inner.clone(), duration()).prop_map(|(s, d)| s.up_to(d)),
            inner.prop_map(Schedule::jittered),
        ]
    })
}

fn steps() -> impl Strategy<Value = Steps> {
    let events = prop_oneof![8 => 0u64..4, 1 => Just(u64::MAX)];
    prop::collection::vec((0u64..700, events), 0..40)
}

/// The instants of `steps`, counted from `start`.
fn instants(start: Instant, steps: &[(u64, u64)]) -> Vec<Instant> {
    steps
        .iter()
        .scan(start, |now, &(ms, _)| {
            *now += Duration::from_millis(ms);
            Some(*now)
        })
        .collect()
}

/// Steps a driver of `s` started at `start` through `steps`, whose instants are `times`.
fn run_at(
    s: &Schedule,
    seed: u64,
    start: Instant,
    times: &[Instant],
    steps: &[(u64, u64)],
) -> Vec<Decision> {
    let mut driver = s.driver_seeded(start, seed);
    times
        .iter()
        .zip(steps)
        .map(|(&now, &(_, events))| driver.next(now, events))
        .collect()
}

/// Steps a driver of `s` from `start` through `steps`.
fn run(s: &Schedule, seed: u64, start: Instant, steps: &[(u64, u64)]) -> Vec<Decision> {
    run_at(s, seed, start, &instants(start, steps), steps)
}

/// The rank of a decision in `Done < Skip < Continue(long) < Continue(short)`.
fn rank(d: Decision) -> (u8, std::cmp::Reverse<Duration>) {
    match d {
        Decision::Done => (0, std::cmp::Reverse(Duration::MAX)),
        Decision::Skip => (1, std::cmp::Reverse(Duration::MAX)),
        Decision::Continue(delay) => (2, std::cmp::Reverse(delay)),
    }
}

/// Reference truth table of `union`.
fn union(a: Decision, b: Decision) -> Decision {
    match (a, b) {
        (Decision::Continue(x), Decision::Continue(y)) => Decision::Continue(x.min(y)),
        (Decision::Continue(x), _) | (_, Decision::Continue(x)) => Decision::Continue(x),
        (Decision::Done, Decision::Done) => Decision::Done,
        _ => Decision::Skip,
    }
}

/// Reference truth table of `intersect`.
fn intersect(a: Decision, b: Decision) -> Decision {
    match (a, b) {
        (Decision::Done, _) | (_, Decision::Done) => Decision::Done,
        (Decision::Continue(x), Decision::Continue(y)) => Decision::Continue(x.max(y)),
        _ => Decision::Skip,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn done_is_absorbing_and_reported(s in schedule(), steps in steps(), seed: u64) {
        let start = Instant::now();
        let times = instants(start, &steps);
        let mut driver = s.driver_seeded(start, seed);
        let mut seen_done = false;
        for (&now, &(_, events)) in times.iter().zip(&steps) {
            let d = driver.next(now, events);
            if seen_done {
                prop_assert_eq!(d, Decision::Done);
            }
            seen_done |= d == Decision::Done;
            prop_assert_eq!(driver.is_done(), seen_done);
        }
    }

    #[test]
    fn same_seed_same_decisions(s in schedule(), steps in steps(), seed: u64) {
        let start = Instant::now();
        prop_assert_eq!(run(&s, seed, start, &steps), run(&s.clone(), seed, start, &steps));
    }

    #[test]
    fn union_and_intersect_combine_pointwise(
        a in schedule(), b in schedule(), steps in steps(), seed: u64,
    ) {
        let start = Instant::now();
        let left = run(&a, seed, start, &steps);
        let right = run(&b, seed, start, &steps);
        let unions: Vec<Decision> = left.iter().zip(&right).map(|(&x, &y)| union(x, y)).collect();
        let intersections: Vec<Decision> =
            left.iter().zip(&right).map(|(&x, &y)| intersect(x, y)).collect();
        prop_assert_eq!(run(&a.clone().union(b.clone()), seed, start, &steps), unions);
        prop_assert_eq!(run(&a.intersect(b), seed, start, &steps), intersections);
    }

    #[test]
    fn union_is_the_max_and_intersect_the_min_of_the_order(
        a in schedule(), b in schedule(), steps in steps(), seed: u64,
    ) {
        let start = Instant::now();
        let left = run(&a, seed, start, &steps);
        let right = run(&b, seed, start, &steps);
        let unions = run(&a.clone().union(b.clone()), seed, start, &steps);
        let intersections = run(&a.intersect(b), seed, start, &steps);
        for i in 0..steps.len() {
            prop_assert_eq!(rank(unions[i]), rank(left[i]).max(rank(right[i])));
            prop_assert_eq!(rank(intersections[i]), rank(left[i]).min(rank(right[i])));
        }
    }

    #[test]
    fn union_and_intersect_are_commutative(
        a in schedule(), b in schedule(), steps in steps(), seed: u64,
    ) {
        let start = Instant::now();
        let run = |s: Schedule| run(&s, seed, start, &steps);
        prop_assert_eq!(run(a.clone().union(b.clone())), run(b.clone().union(a.clone())));
        prop_assert_eq!(run(a.clone().intersect(b.clone())), run(b.intersect(a)));
    }

    #[test]
    fn union_and_intersect_are_associative(
        a in schedule(), b in schedule(), c in schedule(), steps in steps(), seed: u64,
    ) {
        let start = Instant::now();
        let run = |s: Schedule| run(&s, seed, start, &steps);
        prop_assert_eq!(
            run(a.clone().union(b.clone()).union(c.clone())),
            run(a.clone().union(b.clone().union(c.clone())))
        );
        prop_assert_eq!(
            run(a.clone().intersect(b.clone()).intersect(c.clone())),
            run(a.intersect(b.intersect(c)))
        );
    }

    #[test]
    fn union_and_intersect_are_idempotent(s in schedule(), steps in steps(), seed: u64) {
        let start = Instant::now();
        let run = |s: Schedule| run(&s, seed, start, &steps);
        let alone = run(s.clone());
        prop_assert_eq!(run(s.clone().union(s.clone())), alone.clone());
        prop_assert_eq!(run(s.clone().intersect(s)), alone);
    }

    #[test]
    fn union_and_intersect_absorb_each_other(
        a in schedule(), b in schedule(), steps in steps(), seed: u64,
    ) {
        let start = Instant::now();
        let run = |s: Schedule| run(&s, seed, start, &steps);
        let alone = run(a.clone());
        prop_assert_eq!(run(a.clone().union(a.clone().intersect(b.clone()))), alone.clone());
        prop_assert_eq!(run(a.clone().intersect(a.union(b))), alone);
    }

    #[test]
    fn identities_of_union_and_intersect(s in schedule(), steps in steps(), seed: u64) {
        let start = Instant::now();
        let run = |s: Schedule| run(&s, seed, start, &steps);
        let alone = run(s.clone());
        prop_assert_eq!(run(s.clone().union(Schedule::recurs(0))), alone.clone());
        prop_assert_eq!(run(s.intersect(Schedule::forever())), alone);
    }

    #[test]
    fn recurs_n_continues_exactly_n_times(n in 0u64..50, steps in steps()) {
        let decisions = run(&Schedule::recurs(n), 0, Instant::now(), &steps);
        for (i, d) in decisions.iter().enumerate() {
            let expected = if (i as u64) < n { Decision::Continue(Duration::ZERO) } else { Decision::Done };
            prop_assert_eq!(*d, expected);
        }
    }

    #[test]
    fn intersect_with_recurs_n_continues_at_most_n_times(
        s in schedule(), n in 0u64..10, steps in steps(), seed: u64,
    ) {
        let decisions = run(&s.intersect(Schedule::recurs(n)), seed, Instant::now(), &steps);
        let running = decisions.iter().filter(|d| !d.is_done()).count() as u64;
        prop_assert!(running <= n, "{running} steps not done, at most {n} allowed");
    }

    #[test]
    fn every_events_continues_when_the_count_passes_a_multiple(n in 0u64..8, steps in steps()) {
        let decisions = run(&Schedule::every_events(n), 0, Instant::now(), &steps);
        let period = n.max(1);
        let mut total: u64 = 0;
        for (d, &(_, events)) in decisions.iter().zip(&steps) {
            let before = total / period;
            total = total.saturating_add(events);
            let expected = if total / period > before {
                Decision::Continue(Duration::ZERO)
            } else {
                Decision::Skip
            };
            prop_assert_eq!(*d, expected);
        }
    }

    #[test]
    fn exponential_doubles_and_saturates(base in duration(), len in 0usize..100) {
        let steps = vec![(0, 1); len];
        let decisions = run(&Schedule::exponential(base), 0, Instant::now(), &steps);
        for (k, d) in decisions.iter().enumerate() {
            let nanos = base.as_nanos().checked_mul(1u128.checked_shl(k as u32).unwrap_or(u128::MAX));
            let expected = match nanos {
                Some(n) if n <= Duration::MAX.as_nanos() => {
                    Duration::new((n / 1_000_000_000) as u64, (n % 1_000_000_000) as u32)
                }
                _ if base.is_zero() => Duration::ZERO,
                _ => Duration::MAX,
            };
            prop_assert_eq!(*d, Decision::Continue(expected), "step {}", k);
        }
    }

    #[test]
    fn and_then_runs_the_first_until_done_then_the_next(
        a in schedule(), b in schedule(), steps in steps(), seed: u64,
    ) {
        let start = Instant::now();
        let times = instants(start, &steps);
        let first = run_at(&a, seed, start, &times, &steps);
        let handover = first.iter().position(|d| d.is_done()).unwrap_or(steps.len());
        let mut expected = first[..handover].to_vec();
        if handover < steps.len() {
            expected.extend(run_at(&b, seed, times[handover], &times[handover..], &steps[handover..]));
        }
        prop_assert_eq!(run_at(&a.and_then(b), seed, start, &times, &steps), expected);
    }

    #[test]
    fn and_then_forever_is_never_done(s in schedule(), steps in steps(), seed: u64) {
        let decisions = run(&s.and_then(Schedule::forever()), seed, Instant::now(), &steps);
        prop_assert!(decisions.iter().all(|d| !d.is_done()));
    }

    #[test]
    fn and_then_is_associative(
        a in schedule(), b in schedule(), c in schedule(), steps in steps(), seed: u64,
    ) {
        let start = Instant::now();
        let run = |s: Schedule| run(&s, seed, start, &steps);
        prop_assert_eq!(
            run(a.clone().and_then(b.clone()).and_then(c.clone())),
            run(a.and_then(b.and_then(c)))
        );
    }

    #[test]
    fn up_to_is_done_after_its_bound(
        s in schedule(), max_ms in 0u64..5_000, steps in steps(), seed: u64,
    ) {
        let start = Instant::now();
        let max = Duration::from_millis(max_ms);
        let times = instants(start, &steps);
        let inner = run_at(&s, seed, start, &times, &steps);
        let bounded = run_at(&s.up_to(max), seed, start, &times, &steps);
        for i in 0..steps.len() {
            if times[i] - start >= max {
                prop_assert_eq!(bounded[i], Decision::Done);
            } else {
                prop_assert_eq!(bounded[i], inner[i]);
            }
        }
    }

    #[test]
    fn jitter_stays_within_bounds(s in schedule(), steps in steps(), seed: u64) {
        let start = Instant::now();
        let plain = run(&s, seed, start, &steps);
        let jittered = run(&s.jittered(), seed, start, &steps);
        for (p, j) in plain.iter().zip(&jittered) {
            match (p, j) {
                (Decision::Continue(d), Decision::Continue(j)) => {
                    let (d, j) = (d.as_nanos(), j.as_nanos());
                    prop_assert!(j >= 4 * d / 5, "{} below 0.8 x {}", j, d);
                    prop_assert!(5 * j < 6 * d || (d == 0 && j == 0), "{} not below 1.2 x {}", j, d);
                }
                _ => prop_assert_eq!(p, j),
            }
        }
    }

    #[test]
    fn extreme_inputs_do_not_panic(
        n in any::<u64>(),
        secs in any::<u64>(),
        factor in any::<f64>(),
        events in prop::collection::vec(any::<u64>(), 0..20),
        seed: u64,
    ) {
        let d = Duration::new(secs, 999_999_999);
        let s = Schedule::every_events(n)
            .union(Schedule::recurs(n))
            .union(Schedule::exponential_with_factor(d, factor).jittered())
            .intersect(Schedule::fixed(d).up_to(d))
            .and_then(Schedule::exponential(d).jittered().union(Schedule::spaced(d)));
        let start = Instant::now();
        let mut driver = s.driver_seeded(start, seed);
        let mut now = start;
        for e in events {
            now += Duration::from_secs(e % 1_000_000);
            let _ = driver.next(now, e);
        }
        prop_assert!(!s.to_string().is_empty());
    }
}

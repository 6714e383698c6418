//! Combinators: schedules built from other schedules.

use std::time::Duration;

use super::node::{Node, Schedule};

impl Schedule {
    /// Recurs while either side recurs: both sides are stepped with every input, and the
    /// step answers `Continue(min delay)` if either continues, `Skip` if neither continues
    /// but one skips, and `Done` only when both are done.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// // Snapshot after 100 events, or 5 s after the last commit, whichever comes first.
    /// let policy = Schedule::every_events(100).union(Schedule::spaced(Duration::from_secs(5)));
    /// let now = Instant::now();
    /// let mut driver = policy.driver(now);
    /// assert_eq!(driver.next(now, 40), Decision::Continue(Duration::from_secs(5)));
    /// assert_eq!(driver.next(now, 60), Decision::Continue(Duration::ZERO));
    /// ```
    pub fn union(self, other: Schedule) -> Self {
        Schedule::from_node(Node::Union(self.node, other.node))
    }

    /// Recurs while both sides recur: both sides are stepped with every input, and the step
    /// answers `Continue(max delay)` if both continue, `Done` if either is done, else `Skip`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let ms = Duration::from_millis(1);
    /// let retry = Schedule::exponential(10 * ms).intersect(Schedule::recurs(2));
    /// let now = Instant::now();
    /// let mut driver = retry.driver(now);
    /// assert_eq!(driver.next(now, 1), Decision::Continue(10 * ms));
    /// assert_eq!(driver.next(now, 1), Decision::Continue(20 * ms));
    /// assert_eq!(driver.next(now, 1), Decision::Done);
    /// ```
    pub fn intersect(self, other: Schedule) -> Self {
        Schedule::from_node(Node::Intersect(self.node, other.node))
    }

    /// Bounds a schedule in time: a step at `now` answers `Done` once
    /// `now - start >= max`, else the inner schedule's decision. `start` is the driver's
    /// start (or, inside [`and_then`](Schedule::and_then), the step that handed over).
    /// `up_to(ZERO)` is `Done` at the first step. The inner schedule is not stepped once the
    /// time is up.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let start = Instant::now();
    /// let mut driver = Schedule::forever().up_to(Duration::from_secs(1)).driver(start);
    /// assert_eq!(driver.next(start, 1), Decision::Continue(Duration::ZERO));
    /// assert_eq!(driver.next(start + Duration::from_secs(1), 1), Decision::Done);
    /// ```
    pub fn up_to(self, max: Duration) -> Self {
        Schedule::from_node(Node::UpTo(self.node, max))
    }

    /// Randomizes delays: each `Continue(d)` becomes `Continue(d · f)` with `f` drawn
    /// uniformly from `[0.8, 1.2)` (in steps of one millionth, the product rounded down to
    /// the nanosecond and saturating at [`Duration::MAX`]); `Skip` and `Done` pass through.
    ///
    /// The factors are deterministic given the driver's seed (see
    /// [`driver_seeded`](Schedule::driver_seeded)), and each jittered part of a tree draws
    /// from its own stream derived from the seed and from the schedule it jitters, so its
    /// factors do not depend on where it sits (which keeps `union` and `intersect`
    /// commutative); two jittered copies of the same schedule in one tree draw the same
    /// factors.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::Schedule;
    ///
    /// let now = Instant::now();
    /// let mut driver = Schedule::spaced(Duration::from_millis(100)).jittered().driver(now);
    /// let delay = driver.next(now, 1).delay().unwrap();
    /// assert!(delay >= Duration::from_millis(80) && delay < Duration::from_millis(120));
    /// ```
    pub fn jittered(self) -> Self {
        Schedule::from_node(Node::Jittered(self.node))
    }

    /// Runs this schedule until it is `Done`, then `next`: the step that got `Done` from this
    /// schedule is fed to `next`, whose driver starts at that step's `now`. The result is
    /// `Done` only once `next` is.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let s = Schedule::recurs(1).and_then(Schedule::spaced(Duration::from_secs(1)));
    /// let now = Instant::now();
    /// let mut driver = s.driver(now);
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::ZERO));
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::from_secs(1)));
    /// ```
    pub fn and_then(self, next: Schedule) -> Self {
        Schedule::from_node(Node::AndThen(self.node, next.node))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::schedule::Decision::{self, Continue, Done, Skip};

    const ZERO: Duration = Duration::ZERO;
    const MS: Duration = Duration::from_millis(1);

    /// Steps a fresh driver with `(milliseconds since start, events)` inputs.
    fn run(schedule: &Schedule, steps: &[(u64, u64)]) -> Vec<Decision> {
        let start = Instant::now();
        let mut driver = schedule.driver_seeded(start, 42);
        steps
            .iter()
            .map(|&(ms, events)| driver.next(start + Duration::from_millis(ms), events))
            .collect()
    }

    fn ones(n: usize) -> Vec<(u64, u64)> {
        vec![(0, 1); n]
    }

    #[test]
    fn union_takes_the_shorter_delay_and_outlives_both_sides() {
        let s = Schedule::spaced(5 * MS).union(Schedule::exponential(MS));
        assert_eq!(
            run(&s, &ones(5)),
            [
                Continue(MS),
                Continue(2 * MS),
                Continue(4 * MS),
                Continue(5 * MS),
                Continue(5 * MS)
            ]
        );
        let s = Schedule::recurs(1).union(Schedule::recurs(3));
        assert_eq!(
            run(&s, &ones(5)),
            [Continue(ZERO), Continue(ZERO), Continue(ZERO), Done, Done]
        );
    }

    #[test]
    fn union_skips_only_when_no_side_continues() {
        let s = Schedule::every_events(2).union(Schedule::recurs(1));
        assert_eq!(
            run(&s, &ones(4)),
            [Continue(ZERO), Continue(ZERO), Skip, Continue(ZERO)]
        );
    }

    #[test]
    fn union_steps_both_sides_with_every_input() {
        // The event counter also counts the steps where the other side already continues.
        let s = Schedule::recurs(2).union(Schedule::every_events(3));
        assert_eq!(
            run(&s, &ones(4)),
            [Continue(ZERO), Continue(ZERO), Continue(ZERO), Skip]
        );
    }

    #[test]
    fn intersect_takes_the_longer_delay_and_stops_with_either_side() {
        let s = Schedule::spaced(5 * MS).intersect(Schedule::exponential(MS));
        assert_eq!(
            run(&s, &ones(5)),
            [
                Continue(5 * MS),
                Continue(5 * MS),
                Continue(5 * MS),
                Continue(8 * MS),
                Continue(16 * MS)
            ]
        );
        let s = Schedule::forever().intersect(Schedule::recurs(2));
        assert_eq!(
            run(&s, &ones(4)),
            [Continue(ZERO), Continue(ZERO), Done, Done]
        );
    }

    #[test]
    fn intersect_skips_when_either_side_skips() {
        let s = Schedule::every_events(2).intersect(Schedule::recurs(3));
        assert_eq!(run(&s, &ones(4)), [Skip, Continue(ZERO), Skip, Done]);
    }

    #[test]
    fn intersect_is_done_for_good_even_if_the_other_side_would_continue() {
        let s = Schedule::recurs(0).intersect(Schedule::forever());
        assert_eq!(run(&s, &ones(3)), [Done; 3]);
    }

    #[test]
    fn up_to_stops_at_the_deadline_measured_from_the_start() {
        let s = Schedule::spaced(MS).up_to(10 * MS);
        assert_eq!(
            run(&s, &[(0, 1), (9, 1), (10, 1), (11, 1)]),
            [Continue(MS), Continue(MS), Done, Done]
        );
        assert_eq!(run(&Schedule::forever().up_to(ZERO), &[(0, 1)]), [Done]);
        let forever_ish = Schedule::forever().up_to(Duration::MAX);
        assert_eq!(run(&forever_ish, &[(0, 1), (u64::from(u32::MAX), 1)]), {
            [Continue(ZERO); 2]
        });
    }

    #[test]
    fn up_to_passes_inner_decisions_through() {
        let s = Schedule::recurs(1).up_to(Duration::from_secs(1));
        assert_eq!(run(&s, &ones(2)), [Continue(ZERO), Done]);
        let s = Schedule::every_events(2).up_to(Duration::from_secs(1));
        assert_eq!(run(&s, &ones(2)), [Skip, Continue(ZERO)]);
    }

    #[test]
    fn up_to_does_not_come_back_when_time_goes_backwards() {
        let s = Schedule::forever().up_to(10 * MS);
        assert_eq!(run(&s, &[(20, 1), (0, 1)]), [Done, Done]);
    }

    #[test]
    fn jittered_delays_stay_within_bounds_and_vary() {
        let s = Schedule::spaced(Duration::from_secs(1)).jittered();
        let decisions = run(&s, &ones(200));
        let delays: Vec<Duration> = decisions.iter().filter_map(|d| d.delay()).collect();
        assert_eq!(delays.len(), 200);
        for d in &delays {
            assert!(*d >= 800 * MS && *d < 1200 * MS, "{d:?}");
        }
        assert!(delays.iter().any(|d| *d != delays[0]), "no variation");
    }

    #[test]
    fn jittered_passes_skip_done_and_zero_through() {
        let s = Schedule::every_events(2)
            .intersect(Schedule::recurs(2))
            .jittered();
        assert_eq!(run(&s, &ones(3)), [Skip, Continue(ZERO), Done]);
        let s = Schedule::spaced(Duration::MAX).jittered();
        for d in run(&s, &ones(20)) {
            let d = d.delay().unwrap();
            assert!(d >= Duration::MAX.mul_f64(0.79), "{d:?}");
        }
    }

    #[test]
    fn jittered_is_deterministic_per_seed() {
        let s = Schedule::exponential(MS).jittered();
        let start = Instant::now();
        let draw = |seed| {
            let mut driver = s.driver_seeded(start, seed);
            (0..10).map(|_| driver.next(start, 1)).collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn and_then_feeds_the_done_step_to_the_next_schedule() {
        let s = Schedule::recurs(2).and_then(Schedule::every_events(2));
        assert_eq!(
            run(&s, &[(0, 1), (0, 1), (0, 1), (0, 1), (0, 1)]),
            // The third step is the Done of recurs(2) and the first input of every_events(2).
            [Continue(ZERO), Continue(ZERO), Skip, Continue(ZERO), Skip]
        );
    }

    #[test]
    fn and_then_is_done_when_the_next_schedule_is() {
        let s = Schedule::recurs(1).and_then(Schedule::recurs(1));
        assert_eq!(
            run(&s, &ones(4)),
            [Continue(ZERO), Continue(ZERO), Done, Done]
        );
        let s = Schedule::recurs(0).and_then(Schedule::recurs(0));
        assert_eq!(run(&s, &ones(2)), [Done, Done]);
    }

    #[test]
    fn and_then_starts_the_clock_of_the_next_schedule_at_the_hand_over() {
        let s = Schedule::forever()
            .up_to(10 * MS)
            .and_then(Schedule::fixed(10 * MS).up_to(10 * MS));
        assert_eq!(
            run(&s, &[(0, 1), (13, 1), (17, 1), (22, 1), (23, 1)]),
            [
                Continue(ZERO),
                Continue(10 * MS), // hand over at 13: the grid starts there
                Continue(6 * MS),
                Continue(MS),
                Done // 10 ms after the hand over
            ]
        );
    }
}

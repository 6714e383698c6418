//! The leaves of a schedule: how it recurs on its own.

use std::time::Duration;

use super::node::{Node, Schedule};

impl Schedule {
    /// Recurs at every step without delay: `Continue(ZERO)` forever.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let now = Instant::now();
    /// let mut driver = Schedule::forever().driver(now);
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::ZERO));
    /// ```
    pub fn forever() -> Self {
        Schedule::from_node(Node::Forever)
    }

    /// Recurs once: the same as [`Schedule::recurs(1)`](Schedule::recurs).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let now = Instant::now();
    /// let mut driver = Schedule::once().driver(now);
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::ZERO));
    /// assert_eq!(driver.next(now, 1), Decision::Done);
    /// ```
    pub fn once() -> Self {
        Schedule::recurs(1)
    }

    /// Recurs `n` times without delay: `Continue(ZERO)` for the first `n` steps (whatever
    /// their input), then `Done`. `recurs(0)` is `Done` at the first step.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let now = Instant::now();
    /// let mut driver = Schedule::recurs(2).driver(now);
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::ZERO));
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::ZERO));
    /// assert_eq!(driver.next(now, 1), Decision::Done);
    /// ```
    pub fn recurs(n: u64) -> Self {
        Schedule::from_node(Node::Recurs(n))
    }

    /// Recurs at every step after the same delay `d`: `Continue(d)` forever.
    ///
    /// Each step re-arms the delay, so a caller that restarts its timer at every step gets a
    /// debounce: it fires once the inputs have paused for `d`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let now = Instant::now();
    /// let mut driver = Schedule::spaced(Duration::from_secs(5)).driver(now);
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::from_secs(5)));
    /// ```
    pub fn spaced(d: Duration) -> Self {
        Schedule::from_node(Node::Spaced(d))
    }

    /// Recurs on a fixed grid of period `d` counted from the driver's start:
    /// `Continue(time until the next boundary start + k·d strictly after now)`.
    ///
    /// The delay is in `(0, d]`: a step exactly on a boundary (a timer that fired on time)
    /// waits a whole period for the next one, and a step that runs late is not made up for
    /// by several recurrences. `fixed(ZERO)` answers `Continue(ZERO)` at every step. Inside
    /// [`and_then`](Schedule::and_then), the grid of the second schedule starts at the step
    /// that hands over to it.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let start = Instant::now();
    /// let mut driver = Schedule::fixed(Duration::from_secs(10)).driver(start);
    /// assert_eq!(driver.next(start, 1), Decision::Continue(Duration::from_secs(10)));
    /// let later = start + Duration::from_secs(13);
    /// assert_eq!(driver.next(later, 1), Decision::Continue(Duration::from_secs(7)));
    /// ```
    pub fn fixed(d: Duration) -> Self {
        Schedule::from_node(Node::Fixed(d))
    }

    /// Recurs once every `n` inputs: it adds each step's `events` to a running count (which
    /// saturates at `u64::MAX`) and answers `Continue(ZERO)` when the count reaches or passes
    /// a multiple of `n` at this step, else `Skip`. A step that passes several multiples at
    /// once recurs once.
    ///
    /// `every_events(0)` is treated as `every_events(1)` (a zero period recurs at every
    /// opportunity, like `spaced(ZERO)`): it recurs at every step whose input is non-zero.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let now = Instant::now();
    /// let mut driver = Schedule::every_events(3).driver(now);
    /// assert_eq!(driver.next(now, 1), Decision::Skip);
    /// assert_eq!(driver.next(now, 1), Decision::Skip);
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::ZERO));
    /// assert_eq!(driver.next(now, 7), Decision::Continue(Duration::ZERO)); // 10 passes 6 and 9
    /// assert_eq!(driver.next(now, 1), Decision::Skip); // 11
    /// ```
    pub fn every_events(n: u64) -> Self {
        Schedule::from_node(Node::EveryEvents(n.max(1)))
    }

    /// Exponential backoff: `Continue(base · 2^k)` at step `k` (counting from 0), forever.
    /// The delay saturates at [`Duration::MAX`]; it never overflows.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let now = Instant::now();
    /// let mut driver = Schedule::exponential(Duration::from_millis(10)).driver(now);
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::from_millis(10)));
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::from_millis(20)));
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::from_millis(40)));
    /// ```
    pub fn exponential(base: Duration) -> Self {
        Schedule::exponential_with_factor(base, 2.0)
    }

    /// Exponential backoff with another growth factor: `Continue(base · factor^k)` at step
    /// `k` (counting from 0), forever, saturating at [`Duration::MAX`].
    ///
    /// Each delay is the previous one multiplied by `factor`, exactly for whole factors and
    /// in floating point otherwise. A factor below 1 shrinks the delays; a factor that is
    /// negative or not a number is replaced by 1 (constant delays).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let now = Instant::now();
    /// let mut driver =
    ///     Schedule::exponential_with_factor(Duration::from_millis(100), 1.5).driver(now);
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::from_millis(100)));
    /// assert_eq!(driver.next(now, 1), Decision::Continue(Duration::from_millis(150)));
    /// ```
    pub fn exponential_with_factor(base: Duration, factor: f64) -> Self {
        let factor = if factor >= 0.0 { factor } else { 1.0 };
        Schedule::from_node(Node::Exponential { base, factor })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::schedule::Decision::{self, Continue, Done, Skip};

    const ZERO: Duration = Duration::ZERO;
    const MS: Duration = Duration::from_millis(1);

    /// Steps a fresh driver of `schedule` with the given inputs, all at the start instant.
    fn run(schedule: &Schedule, inputs: &[u64]) -> Vec<Decision> {
        let start = Instant::now();
        let mut driver = schedule.driver_seeded(start, 7);
        inputs.iter().map(|&e| driver.next(start, e)).collect()
    }

    #[test]
    fn forever_continues_at_every_step_whatever_the_input() {
        assert_eq!(
            run(&Schedule::forever(), &[0, 1, u64::MAX, 5]),
            [Continue(ZERO); 4]
        );
    }

    #[test]
    fn recurs_counts_steps_not_events() {
        assert_eq!(run(&Schedule::recurs(0), &[1, 1]), [Done, Done]);
        assert_eq!(
            run(&Schedule::once(), &[0, 1, 1]),
            [Continue(ZERO), Done, Done]
        );
        assert_eq!(
            run(&Schedule::recurs(2), &[100, 0, 1]),
            [Continue(ZERO), Continue(ZERO), Done]
        );
    }

    #[test]
    fn recurs_u64_max_does_not_overflow() {
        assert_eq!(
            run(&Schedule::recurs(u64::MAX), &[1, 1, 1]),
            [Continue(ZERO); 3]
        );
    }

    #[test]
    fn spaced_repeats_its_delay() {
        assert_eq!(
            run(&Schedule::spaced(5 * MS), &[1, 0, 9]),
            [Continue(5 * MS); 3]
        );
        assert_eq!(run(&Schedule::spaced(ZERO), &[1]), [Continue(ZERO)]);
        assert_eq!(
            run(&Schedule::spaced(Duration::MAX), &[1]),
            [Continue(Duration::MAX)]
        );
    }

    #[test]
    fn fixed_aligns_on_the_grid_from_the_start() {
        let start = Instant::now();
        let mut driver = Schedule::fixed(10 * MS).driver(start);
        assert_eq!(driver.next(start, 1), Continue(10 * MS));
        assert_eq!(driver.next(start + 4 * MS, 1), Continue(6 * MS));
        assert_eq!(driver.next(start + 10 * MS, 1), Continue(10 * MS));
        assert_eq!(driver.next(start + 37 * MS, 1), Continue(3 * MS));
        assert!(!driver.is_done());
    }

    #[test]
    fn fixed_zero_and_huge_periods() {
        assert_eq!(run(&Schedule::fixed(ZERO), &[1, 1]), [Continue(ZERO); 2]);
        assert_eq!(
            run(&Schedule::fixed(Duration::MAX), &[1]),
            [Continue(Duration::MAX)]
        );
    }

    #[test]
    fn every_events_recurs_when_crossing_a_multiple() {
        assert_eq!(
            run(&Schedule::every_events(3), &[1, 1, 1, 2, 2, 0, 6, 3]),
            [
                Skip,
                Skip,
                Continue(ZERO), // 3
                Skip,           // 5
                Continue(ZERO), // 7 passes 6
                Skip,           // no input
                Continue(ZERO), // 13 passes 9 and 12
                Continue(ZERO), // 16 passes 15
            ]
        );
    }

    #[test]
    fn every_events_zero_is_every_event() {
        assert_eq!(
            run(&Schedule::every_events(0), &[1, 0, 2]),
            [Continue(ZERO), Skip, Continue(ZERO)]
        );
    }

    #[test]
    fn every_events_saturates_its_count() {
        assert_eq!(
            run(
                &Schedule::every_events(u64::MAX),
                &[u64::MAX - 1, 1, u64::MAX, 1]
            ),
            [Skip, Continue(ZERO), Skip, Skip]
        );
        assert_eq!(
            run(&Schedule::every_events(2), &[u64::MAX, u64::MAX]),
            [Continue(ZERO), Skip]
        );
    }

    #[test]
    fn exponential_doubles_and_saturates() {
        assert_eq!(
            run(&Schedule::exponential(10 * MS), &[1, 1, 1, 1]),
            [
                Continue(10 * MS),
                Continue(20 * MS),
                Continue(40 * MS),
                Continue(80 * MS)
            ]
        );
        let steps = run(&Schedule::exponential(Duration::from_secs(1)), &[1; 100]);
        assert_eq!(steps[63], Continue(Duration::from_secs(1 << 63)));
        assert_eq!(steps[64], Continue(Duration::MAX));
        assert_eq!(steps[99], Continue(Duration::MAX));
        assert_eq!(
            run(&Schedule::exponential(ZERO), &[1, 1]),
            [Continue(ZERO); 2]
        );
    }

    #[test]
    fn exponential_with_other_factors() {
        assert_eq!(
            run(
                &Schedule::exponential_with_factor(100 * MS, 1.5),
                &[1, 1, 1]
            ),
            [Continue(100 * MS), Continue(150 * MS), Continue(225 * MS)]
        );
        assert_eq!(
            run(&Schedule::exponential_with_factor(100 * MS, 3.0), &[1, 1]),
            [Continue(100 * MS), Continue(300 * MS)]
        );
        assert_eq!(
            run(&Schedule::exponential_with_factor(100 * MS, 0.5), &[1, 1]),
            [Continue(100 * MS), Continue(50 * MS)]
        );
        assert_eq!(
            run(
                &Schedule::exponential_with_factor(100 * MS, 0.0),
                &[1, 1, 1]
            ),
            [Continue(100 * MS), Continue(ZERO), Continue(ZERO)]
        );
        assert_eq!(
            run(
                &Schedule::exponential_with_factor(100 * MS, f64::INFINITY),
                &[1, 1]
            ),
            [Continue(100 * MS), Continue(Duration::MAX)]
        );
        assert_eq!(
            run(&Schedule::exponential_with_factor(MS, 1e300), &[1, 1, 1]),
            [
                Continue(MS),
                Continue(Duration::MAX),
                Continue(Duration::MAX)
            ]
        );
    }

    #[test]
    fn exponential_invalid_factors_are_constant() {
        for factor in [f64::NAN, -2.0, f64::NEG_INFINITY] {
            let s = Schedule::exponential_with_factor(100 * MS, factor);
            assert_eq!(run(&s, &[1, 1, 1]), [Continue(100 * MS); 3], "{factor}");
        }
    }
}

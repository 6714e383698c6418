//! The stateful stepping of a schedule.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::arith;
use super::decision::Decision;
use super::node::{mix, Node, Schedule};

impl Schedule {
    /// Starts stepping this schedule at `start`, with a random seed for
    /// [`jittered`](Schedule::jittered) parts.
    ///
    /// `start` is the origin of `fixed` and `up_to`. Under tokio's paused clock, pass
    /// `tokio::time::Instant::now().into_std()` (and the same for each step's `now`).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::{Decision, Schedule};
    ///
    /// let start = Instant::now();
    /// let mut driver = Schedule::recurs(1).driver(start);
    /// assert_eq!(driver.next(start, 1), Decision::Continue(Duration::ZERO));
    /// ```
    pub fn driver(&self, start: Instant) -> Driver {
        self.driver_seeded(start, fastrand::u64(..))
    }

    /// Like [`driver`](Schedule::driver), with a fixed seed: two drivers of the same schedule
    /// with the same seed, stepped with the same inputs, make the same decisions.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use machine_core::Schedule;
    ///
    /// let retry = Schedule::exponential(Duration::from_millis(10)).jittered();
    /// let now = Instant::now();
    /// let (mut a, mut b) = (retry.driver_seeded(now, 7), retry.driver_seeded(now, 7));
    /// assert_eq!(a.next(now, 1), b.next(now, 1));
    /// ```
    pub fn driver_seeded(&self, start: Instant, seed: u64) -> Driver {
        Driver {
            schedule: self.clone(),
            root: Step::new(&self.node, start, seed),
        }
    }
}

/// The stateful stepping of one [`Schedule`]: its counters, start instant and random
/// generator. Create one with [`Schedule::driver`] or [`Schedule::driver_seeded`].
///
/// A driver never reads a clock: each step is given `now`, which should not go backwards
/// (an earlier `now` does not panic; elapsed time is then counted as zero, and a `Done`
/// already answered stays `Done`).
///
/// ```
/// use std::time::{Duration, Instant};
/// use machine_core::{Decision, Schedule};
///
/// let start = Instant::now();
/// let mut driver = Schedule::spaced(Duration::from_secs(1)).up_to(Duration::from_secs(3)).driver(start);
/// assert_eq!(driver.next(start, 1), Decision::Continue(Duration::from_secs(1)));
/// assert!(!driver.is_done());
/// assert_eq!(driver.next(start + Duration::from_secs(3), 1), Decision::Done);
/// assert!(driver.is_done());
/// ```
#[derive(Clone)]
pub struct Driver {
    schedule: Schedule,
    root: Step,
}

impl Driver {
    /// One step: `events` is the input count for this step (1 for a retry attempt, the number
    /// of events committed for a snapshot policy), `now` the current instant.
    #[must_use = "the decision says whether and when to recur"]
    pub fn next(&mut self, now: Instant, events: u64) -> Decision {
        self.root.next(now, events)
    }

    /// True once it answered [`Decision::Done`].
    pub fn is_done(&self) -> bool {
        self.root.done
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("schedule", &self.schedule)
            .field("done", &self.root.done)
            .finish_non_exhaustive()
    }
}

/// The state of one node, latched once it answered `Done` so that `Done` is absorbing at
/// every level of the tree.
#[derive(Clone)]
struct Step {
    done: bool,
    state: State,
}

#[derive(Clone)]
enum State {
    Forever,
    Recurs {
        remaining: u64,
    },
    Spaced(Duration),
    Fixed {
        period: Duration,
        start: Instant,
    },
    EveryEvents {
        n: u64,
        count: u64,
    },
    Exponential {
        next: Duration,
        factor: f64,
    },
    Union(Box<Step>, Box<Step>),
    Intersect(Box<Step>, Box<Step>),
    UpTo {
        inner: Box<Step>,
        max: Duration,
        start: Instant,
    },
    Jittered {
        inner: Box<Step>,
        rng: fastrand::Rng,
    },
    AndThen {
        first: Box<Step>,
        /// Started at the step where `first` answers `Done`.
        second: Option<Box<Step>>,
        next: Arc<Node>,
        seed: u64,
    },
}

impl Step {
    fn new(node: &Node, start: Instant, seed: u64) -> Step {
        let child = |node: &Node| Box::new(Step::new(node, start, seed));
        let state = match node {
            Node::Forever => State::Forever,
            Node::Recurs(n) => State::Recurs { remaining: *n },
            Node::Spaced(d) => State::Spaced(*d),
            Node::Fixed(period) => State::Fixed {
                period: *period,
                start,
            },
            Node::EveryEvents(n) => State::EveryEvents { n: *n, count: 0 },
            Node::Exponential { base, factor } => State::Exponential {
                next: *base,
                factor: *factor,
            },
            Node::Union(a, b) => State::Union(child(a), child(b)),
            Node::Intersect(a, b) => State::Intersect(child(a), child(b)),
            Node::UpTo(inner, max) => State::UpTo {
                inner: child(inner),
                max: *max,
                start,
            },
            Node::Jittered(inner) => State::Jittered {
                inner: child(inner),
                rng: fastrand::Rng::with_seed(mix(seed, inner.fingerprint())),
            },
            Node::AndThen(first, next) => State::AndThen {
                first: child(first),
                second: None,
                next: Arc::clone(next),
                seed,
            },
        };
        Step { done: false, state }
    }

    fn next(&mut self, now: Instant, events: u64) -> Decision {
        if self.done {
            return Decision::Done;
        }
        let decision = self.state.next(now, events);
        self.done = decision.is_done();
        decision
    }
}

impl State {
    fn next(&mut self, now: Instant, events: u64) -> Decision {
        match self {
            State::Forever => Decision::Continue(Duration::ZERO),
            State::Recurs { remaining } => match remaining.checked_sub(1) {
                Some(left) => {
                    *remaining = left;
                    Decision::Continue(Duration::ZERO)
                }
                None => Decision::Done,
            },
            State::Spaced(d) => Decision::Continue(*d),
            State::Fixed { period, start } => {
                Decision::Continue(arith::until_next_boundary(*start, now, *period))
            }
            State::EveryEvents { n, count } => {
                let before = *count / *n;
                *count = count.saturating_add(events);
                if *count / *n > before {
                    Decision::Continue(Duration::ZERO)
                } else {
                    Decision::Skip
                }
            }
            State::Exponential { next, factor } => {
                let delay = *next;
                *next = arith::grow(delay, *factor);
                Decision::Continue(delay)
            }
            State::Union(a, b) => {
                let a = a.next(now, events);
                a.union(b.next(now, events))
            }
            State::Intersect(a, b) => {
                let a = a.next(now, events);
                a.intersect(b.next(now, events))
            }
            State::UpTo { inner, max, start } => {
                if now.saturating_duration_since(*start) >= *max {
                    Decision::Done
                } else {
                    inner.next(now, events)
                }
            }
            State::Jittered { inner, rng } => match inner.next(now, events) {
                Decision::Continue(delay) => {
                    let millionths =
                        rng.u32(arith::JITTER_MIN_MILLIONTHS..arith::JITTER_END_MILLIONTHS);
                    Decision::Continue(arith::scale_millionths(delay, millionths))
                }
                other => other,
            },
            State::AndThen {
                first,
                second,
                next,
                seed,
            } => {
                if let Some(second) = second {
                    return second.next(now, events);
                }
                match first.next(now, events) {
                    Decision::Done => second
                        .insert(Box::new(Step::new(next, now, *seed)))
                        .next(now, events),
                    decision => decision,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn done_is_latched_and_reported() {
        let start = Instant::now();
        let mut driver = Schedule::once().driver(start);
        assert!(!driver.is_done());
        assert_eq!(driver.next(start, 1), Decision::Continue(Duration::ZERO));
        assert!(!driver.is_done());
        assert_eq!(driver.next(start, 1), Decision::Done);
        assert!(driver.is_done());
        assert_eq!(driver.next(start, 1), Decision::Done);
    }

    #[test]
    fn a_cloned_driver_continues_independently_from_the_same_state() {
        let start = Instant::now();
        let mut a = Schedule::exponential(SEC).jittered().driver(start);
        assert!(a.next(start, 1).delay().is_some());
        let mut b = a.clone();
        for _ in 0..5 {
            assert_eq!(a.next(start, 1), b.next(start, 1));
        }
    }

    #[test]
    fn debug_names_the_schedule() {
        let driver = Schedule::spaced(SEC).driver(Instant::now());
        assert_eq!(
            format!("{driver:?}"),
            "Driver { schedule: spaced(1s), done: false, .. }"
        );
    }

    #[test]
    fn driver_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Driver>();
    }

    /// Time-based schedules run under tokio's paused clock: the driver only sees the
    /// instants it is given.
    #[tokio::test(start_paused = true)]
    async fn steps_with_the_paused_tokio_clock() {
        let now = || tokio::time::Instant::now().into_std();
        let mut driver = Schedule::fixed(SEC).up_to(3 * SEC).driver(now());
        assert_eq!(driver.next(now(), 1), Decision::Continue(SEC));
        tokio::time::advance(SEC + SEC / 2).await;
        assert_eq!(driver.next(now(), 1), Decision::Continue(SEC / 2));
        tokio::time::advance(SEC + SEC / 2).await;
        assert_eq!(driver.next(now(), 1), Decision::Done);
    }
}

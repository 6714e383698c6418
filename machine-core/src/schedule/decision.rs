//! The answer of one step of a [`Driver`](super::Driver).

use std::time::Duration;

/// The answer of one step.
///
/// Decisions are totally ordered by how much they want to recur:
/// `Done < Skip < Continue(long delay) < Continue(short delay)`.
/// [`Schedule::union`](super::Schedule::union) takes the greater of its two sides' decisions
/// and [`Schedule::intersect`](super::Schedule::intersect) the lesser, which is why both are
/// commutative, associative and idempotent.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use machine_core::Decision;
///
/// let d = Decision::Continue(Duration::from_millis(20));
/// assert_eq!(d.delay(), Some(Duration::from_millis(20)));
/// assert_eq!(Decision::Skip.delay(), None);
/// assert!(Decision::Done.is_done());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Recur after this delay (ZERO = now).
    Continue(Duration),
    /// Still running, but this input does not trigger a recurrence (e.g. `every_events(3)` at
    /// the 1st and 2nd event).
    Skip,
    /// The schedule is exhausted; it answers Done forever after.
    Done,
}

impl Decision {
    /// The delay before the recurrence, if this decision is a [`Decision::Continue`].
    ///
    /// The delay may be as large as [`Duration::MAX`] (a saturated exponential): add it to an
    /// instant with `checked_add`, or hand it to `tokio::time::sleep`, which accepts any duration.
    ///
    /// ```
    /// use std::time::Duration;
    /// use machine_core::Decision;
    ///
    /// assert_eq!(Decision::Continue(Duration::ZERO).delay(), Some(Duration::ZERO));
    /// assert_eq!(Decision::Done.delay(), None);
    /// ```
    pub fn delay(self) -> Option<Duration> {
        match self {
            Decision::Continue(delay) => Some(delay),
            Decision::Skip | Decision::Done => None,
        }
    }

    /// True for [`Decision::Done`].
    ///
    /// ```
    /// use machine_core::Decision;
    ///
    /// assert!(Decision::Done.is_done());
    /// assert!(!Decision::Skip.is_done());
    /// ```
    pub fn is_done(self) -> bool {
        self == Decision::Done
    }

    /// The decision of a union whose sides answered `self` and `other`: the one that wants to
    /// recur most (the shorter delay wins).
    pub(super) fn union(self, other: Decision) -> Decision {
        match (self, other) {
            (Decision::Continue(a), Decision::Continue(b)) => Decision::Continue(a.min(b)),
            (Decision::Continue(a), _) | (_, Decision::Continue(a)) => Decision::Continue(a),
            (Decision::Skip, _) | (_, Decision::Skip) => Decision::Skip,
            (Decision::Done, Decision::Done) => Decision::Done,
        }
    }

    /// The decision of an intersection whose sides answered `self` and `other`: the one that
    /// wants to recur least (the longer delay wins).
    pub(super) fn intersect(self, other: Decision) -> Decision {
        match (self, other) {
            (Decision::Done, _) | (_, Decision::Done) => Decision::Done,
            (Decision::Skip, _) | (_, Decision::Skip) => Decision::Skip,
            (Decision::Continue(a), Decision::Continue(b)) => Decision::Continue(a.max(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Decision = Decision::Continue(Duration::from_millis(1));
    const LONG: Decision = Decision::Continue(Duration::from_secs(1));
    const ALL: [Decision; 4] = [Decision::Done, Decision::Skip, LONG, SHORT];

    #[test]
    fn union_truth_table() {
        use Decision::{Done, Skip};
        assert_eq!(SHORT.union(LONG), SHORT);
        assert_eq!(LONG.union(Skip), LONG);
        assert_eq!(LONG.union(Done), LONG);
        assert_eq!(Skip.union(SHORT), SHORT);
        assert_eq!(Done.union(SHORT), SHORT);
        assert_eq!(Skip.union(Skip), Skip);
        assert_eq!(Skip.union(Done), Skip);
        assert_eq!(Done.union(Skip), Skip);
        assert_eq!(Done.union(Done), Done);
    }

    #[test]
    fn intersect_truth_table() {
        use Decision::{Done, Skip};
        assert_eq!(SHORT.intersect(LONG), LONG);
        assert_eq!(LONG.intersect(Skip), Skip);
        assert_eq!(Skip.intersect(SHORT), Skip);
        assert_eq!(LONG.intersect(Done), Done);
        assert_eq!(Done.intersect(SHORT), Done);
        assert_eq!(Skip.intersect(Skip), Skip);
        assert_eq!(Skip.intersect(Done), Done);
        assert_eq!(Done.intersect(Skip), Done);
        assert_eq!(Done.intersect(Done), Done);
    }

    /// Union is the maximum and intersect the minimum of the order `ALL` is sorted in.
    #[test]
    fn union_and_intersect_are_max_and_min_of_the_order() {
        for (i, &a) in ALL.iter().enumerate() {
            for (j, &b) in ALL.iter().enumerate() {
                assert_eq!(a.union(b), ALL[i.max(j)], "{a:?} union {b:?}");
                assert_eq!(a.intersect(b), ALL[i.min(j)], "{a:?} intersect {b:?}");
            }
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(SHORT.delay(), Some(Duration::from_millis(1)));
        assert_eq!(Decision::Skip.delay(), None);
        assert_eq!(Decision::Done.delay(), None);
        assert!(Decision::Done.is_done());
        assert!(!SHORT.is_done());
        assert!(!Decision::Skip.is_done());
    }
}

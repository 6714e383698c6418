//! The description tree behind a [`Schedule`].

use std::sync::Arc;
use std::time::Duration;

/// A recurrence policy: a description of when to recur, stepped by a [`Driver`](super::Driver).
///
/// A `Schedule` holds no state; it is cheap to clone (a reference-counted tree) and is
/// `Send + Sync`. Build one from the constructors (e.g. [`Schedule::recurs`]) and the
/// combinators (e.g. [`Schedule::union`]), then call [`Schedule::driver`] to step it. See the
/// [crate documentation](crate#schedules) for the semantics and the laws.
///
/// ```
/// use std::time::Duration;
/// use machine_core::Schedule;
///
/// let policy = Schedule::spaced(Duration::from_secs(5)).union(Schedule::every_events(100));
/// assert_eq!(policy.to_string(), "spaced(5s).union(every_events(100))");
/// ```
#[derive(Clone)]
pub struct Schedule {
    pub(super) node: Arc<Node>,
}

impl Schedule {
    pub(super) fn from_node(node: Node) -> Self {
        Schedule {
            node: Arc::new(node),
        }
    }

    /// True when this schedule's decisions can carry a non-zero delay or depend on `now`: it
    /// contains `spaced`, `fixed` or `exponential` with a non-zero duration, or `up_to`.
    ///
    /// A caller that only steps on inputs (e.g. at each commit) needs a timer only for a
    /// time-based schedule.
    ///
    /// ```
    /// use std::time::Duration;
    /// use machine_core::Schedule;
    ///
    /// assert!(!Schedule::every_events(100).is_time_based());
    /// assert!(Schedule::every_events(100)
    ///     .union(Schedule::spaced(Duration::from_secs(5)))
    ///     .is_time_based());
    /// ```
    pub fn is_time_based(&self) -> bool {
        self.node.is_time_based()
    }
}

/// One node of a schedule's description.
pub(super) enum Node {
    Forever,
    Recurs(u64),
    Spaced(Duration),
    Fixed(Duration),
    /// `n` is at least 1.
    EveryEvents(u64),
    /// `factor` is a non-negative number (infinity allowed).
    Exponential {
        base: Duration,
        factor: f64,
    },
    Union(Arc<Node>, Arc<Node>),
    Intersect(Arc<Node>, Arc<Node>),
    UpTo(Arc<Node>, Duration),
    Jittered(Arc<Node>),
    AndThen(Arc<Node>, Arc<Node>),
}

impl Node {
    fn is_time_based(&self) -> bool {
        match self {
            Node::Forever | Node::Recurs(_) | Node::EveryEvents(_) => false,
            Node::Spaced(d) | Node::Fixed(d) => !d.is_zero(),
            Node::Exponential { base, .. } => !base.is_zero(),
            Node::UpTo(..) => true,
            Node::Jittered(inner) => inner.is_time_based(),
            Node::Union(a, b) | Node::Intersect(a, b) | Node::AndThen(a, b) => {
                a.is_time_based() || b.is_time_based()
            }
        }
    }

    /// A hash of the structure, stable across runs and platforms: a jittered node draws its
    /// factors from the driver's seed mixed with the fingerprint of what it jitters, so its
    /// draws do not depend on where it sits in the tree.
    pub(super) fn fingerprint(&self) -> u64 {
        let duration =
            |tag: u64, d: &Duration| mix(mix(tag, d.as_secs()), u64::from(d.subsec_nanos()));
        match self {
            Node::Forever => mix(1, 0),
            Node::Recurs(n) => mix(2, *n),
            Node::Spaced(d) => duration(3, d),
            Node::Fixed(d) => duration(4, d),
            Node::EveryEvents(n) => mix(5, *n),
            Node::Exponential { base, factor } => mix(duration(6, base), factor.to_bits()),
            Node::Union(a, b) => mix(mix(7, a.fingerprint()), b.fingerprint()),
            Node::Intersect(a, b) => mix(mix(8, a.fingerprint()), b.fingerprint()),
            Node::UpTo(inner, max) => duration(mix(9, inner.fingerprint()), max),
            Node::Jittered(inner) => mix(10, inner.fingerprint()),
            Node::AndThen(a, b) => mix(mix(11, a.fingerprint()), b.fingerprint()),
        }
    }
}

/// Combines a running hash with one more value (splitmix64 finalizer), order-sensitive.
pub(super) fn mix(hash: u64, value: u64) -> u64 {
    let mut z = hash
        .rotate_left(29)
        .wrapping_add(value)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn schedule_is_send_sync_and_clone_shares_the_tree() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Schedule>();
        let s = Schedule::spaced(SEC);
        let c = s.clone();
        assert!(Arc::ptr_eq(&s.node, &c.node));
    }

    #[test]
    fn time_based_detection() {
        assert!(!Schedule::forever().is_time_based());
        assert!(!Schedule::recurs(3).is_time_based());
        assert!(!Schedule::every_events(3).is_time_based());
        assert!(!Schedule::spaced(Duration::ZERO).is_time_based());
        assert!(!Schedule::fixed(Duration::ZERO).is_time_based());
        assert!(!Schedule::exponential(Duration::ZERO).is_time_based());
        assert!(!Schedule::recurs(3).jittered().is_time_based());
        assert!(Schedule::spaced(SEC).is_time_based());
        assert!(Schedule::fixed(SEC).is_time_based());
        assert!(Schedule::exponential(SEC).is_time_based());
        assert!(Schedule::spaced(SEC).jittered().is_time_based());
        assert!(Schedule::forever().up_to(SEC).is_time_based());
        assert!(Schedule::forever()
            .union(Schedule::spaced(SEC))
            .is_time_based());
        assert!(Schedule::spaced(SEC)
            .intersect(Schedule::forever())
            .is_time_based());
        assert!(Schedule::recurs(1)
            .and_then(Schedule::spaced(SEC))
            .is_time_based());
    }

    #[test]
    fn fingerprint_tells_structures_apart() {
        let schedules = [
            Schedule::forever(),
            Schedule::recurs(1),
            Schedule::recurs(2),
            Schedule::spaced(SEC),
            Schedule::fixed(SEC),
            Schedule::every_events(2),
            Schedule::exponential(SEC),
            Schedule::exponential_with_factor(SEC, 1.5),
            Schedule::recurs(1).union(Schedule::recurs(2)),
            Schedule::recurs(2).union(Schedule::recurs(1)),
            Schedule::recurs(1).intersect(Schedule::recurs(2)),
            Schedule::recurs(1).and_then(Schedule::recurs(2)),
            Schedule::recurs(1).up_to(SEC),
            Schedule::recurs(1).jittered(),
        ];
        let prints: Vec<u64> = schedules.iter().map(|s| s.node.fingerprint()).collect();
        for (i, a) in prints.iter().enumerate() {
            for b in &prints[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            Schedule::spaced(SEC).jittered().node.fingerprint(),
            Schedule::spaced(SEC).jittered().node.fingerprint()
        );
    }
}

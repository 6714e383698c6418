//! A schedule prints as the Rust expression that builds it.

use std::fmt;

use super::node::{Node, Schedule};

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Forever => f.write_str("forever()"),
            Node::Recurs(n) => write!(f, "recurs({n})"),
            Node::Spaced(d) => write!(f, "spaced({d:?})"),
            Node::Fixed(d) => write!(f, "fixed({d:?})"),
            Node::EveryEvents(n) => write!(f, "every_events({n})"),
            Node::Exponential { base, factor } if *factor == 2.0 => {
                write!(f, "exponential({base:?})")
            }
            Node::Exponential { base, factor } => {
                write!(f, "exponential_with_factor({base:?}, {factor})")
            }
            Node::Union(a, b) => write!(f, "{a}.union({b})"),
            Node::Intersect(a, b) => write!(f, "{a}.intersect({b})"),
            Node::UpTo(inner, max) => write!(f, "{inner}.up_to({max:?})"),
            Node::Jittered(inner) => write!(f, "{inner}.jittered()"),
            Node::AndThen(a, b) => write!(f, "{a}.and_then({b})"),
        }
    }
}

/// Prints the expression that builds the schedule, e.g. `spaced(5s).union(every_events(100))`.
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.node, f)
    }
}

/// Same as [`Display`](fmt::Display): the expression that builds the schedule.
impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.node, f)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn leaves_print_as_their_constructor() {
        let ms = Duration::from_millis(10);
        assert_eq!(Schedule::forever().to_string(), "forever()");
        assert_eq!(Schedule::once().to_string(), "recurs(1)");
        assert_eq!(Schedule::recurs(3).to_string(), "recurs(3)");
        assert_eq!(Schedule::spaced(ms).to_string(), "spaced(10ms)");
        assert_eq!(Schedule::fixed(ms).to_string(), "fixed(10ms)");
        assert_eq!(Schedule::every_events(100).to_string(), "every_events(100)");
        assert_eq!(Schedule::every_events(0).to_string(), "every_events(1)");
        assert_eq!(Schedule::exponential(ms).to_string(), "exponential(10ms)");
        assert_eq!(
            Schedule::exponential_with_factor(ms, 1.5).to_string(),
            "exponential_with_factor(10ms, 1.5)"
        );
    }

    #[test]
    fn combinators_print_as_method_chains() {
        let s = Schedule::exponential(Duration::from_millis(10))
            .jittered()
            .intersect(Schedule::recurs(5))
            .up_to(Duration::from_secs(30))
            .and_then(Schedule::spaced(Duration::from_secs(1)).union(Schedule::once()));
        let expected = "exponential(10ms).jittered().intersect(recurs(5)).up_to(30s)\
                        .and_then(spaced(1s).union(recurs(1)))";
        assert_eq!(s.to_string(), expected);
        assert_eq!(format!("{s:?}"), expected);
    }
}

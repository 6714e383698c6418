//! One-line assertions over simulations.

use super::{simulate, Simulation};
use crate::model::Machine;

/// Asserts that offering `events` to `initial` walks exactly through `expected` state tags
/// (the starting state's tag first, then one per accepted event).
///
/// # Panics
///
/// When the path differs, with both paths and the outcome of every event in the message.
pub fn assert_path<M: Machine>(
    initial: M,
    events: impl IntoIterator<Item = M::Event>,
    expected: &[M::StateTag],
) -> Simulation<M> {
    let run = simulate(initial, events);
    let path = run.path();
    if path != expected {
        panic!(
            "{} took path {:?}, expected {:?}\n{}",
            M::NAME,
            path,
            expected,
            describe(&run)
        );
    }
    run
}

/// Asserts that offering `events` to `initial` ends in a state tagged `tag`.
///
/// # Panics
///
/// When it ends elsewhere, with the path taken.
pub fn assert_reaches<M: Machine>(
    initial: M,
    events: impl IntoIterator<Item = M::Event>,
    tag: M::StateTag,
) -> Simulation<M> {
    let run = simulate(initial, events);
    if run.state().tag() != tag {
        panic!(
            "{} ended in {} instead of {}; path {:?}\n{}",
            M::NAME,
            run.state().tag(),
            tag,
            run.path(),
            describe(&run)
        );
    }
    run
}

/// Asserts that offering `events` to `initial` never passes through a state tagged `tag`.
///
/// # Panics
///
/// When it does, with the path taken.
pub fn assert_never_reaches<M: Machine>(
    initial: M,
    events: impl IntoIterator<Item = M::Event>,
    tag: M::StateTag,
) -> Simulation<M> {
    let run = simulate(initial, events);
    if run.visits(tag) {
        panic!(
            "{} reached {} but must not; path {:?}\n{}",
            M::NAME,
            tag,
            run.path(),
            describe(&run)
        );
    }
    run
}

fn describe<M: Machine>(run: &Simulation<M>) -> String {
    use crate::model::Outcome;
    let mut lines = vec![format!("  start: {:?}", run.initial)];
    for step in &run.steps {
        let outcome = match &step.outcome {
            Outcome::Next(state) => format!("-> {state:?}"),
            Outcome::Unhandled => "unhandled".to_owned(),
            Outcome::Rejected(error) => format!("rejected: {error}"),
        };
        lines.push(format!("  {:?}: {outcome}", step.event));
    }
    if !run.undelivered.is_empty() {
        lines.push(format!(
            "  not delivered after the final state: {:?}",
            run.undelivered
        ));
    }
    lines.join("\n")
}

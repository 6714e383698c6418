//! Folding events through a machine without a runtime.

use crate::model::{Machine, Outcome};

/// One event offered during a [`Simulation`].
#[derive(Debug)]
pub struct SimStep<M: Machine> {
    /// The event.
    pub event: M::Event,
    /// What the machine decided; `Next` holds the state after the event.
    pub outcome: Outcome<M, M::Error>,
}

/// The record of offering a sequence of events to a machine, as an actor would.
#[derive(Debug)]
pub struct Simulation<M: Machine> {
    /// The starting state.
    pub initial: M,
    /// Every event offered, with its outcome, in order.
    pub steps: Vec<SimStep<M>>,
    /// Events left undelivered because a final state was reached first.
    pub undelivered: Vec<M::Event>,
}

impl<M: Machine> Simulation<M> {
    /// The state after the last accepted event.
    pub fn state(&self) -> &M {
        self.steps
            .iter()
            .rev()
            .find_map(|step| step.outcome.state())
            .unwrap_or(&self.initial)
    }

    /// The starting state and every state after it, in order (one per accepted event).
    pub fn states(&self) -> Vec<&M> {
        std::iter::once(&self.initial)
            .chain(self.steps.iter().filter_map(|step| step.outcome.state()))
            .collect()
    }

    /// The tags of [`states`](Self::states).
    pub fn path(&self) -> Vec<M::StateTag> {
        self.states().into_iter().map(Machine::tag).collect()
    }

    /// How many events were accepted (the version an actor would be at).
    pub fn version(&self) -> u64 {
        self.steps
            .iter()
            .filter(|step| step.outcome.is_accepted())
            .count() as u64
    }

    /// Whether any state along the way has this tag.
    pub fn visits(&self, tag: M::StateTag) -> bool {
        self.path().contains(&tag)
    }
}

/// Offers `events` to `initial` one by one, exactly as an actor applies them: accepted events
/// move the state, unhandled and rejected ones leave it, and nothing is delivered after a final
/// state is reached.
///
/// ```
/// # use machine_core::testkit::simulate;
/// # fn check<M: machine_core::Machine>(initial: M, events: Vec<M::Event>) {
/// let run = simulate(initial, events);
/// println!("path: {:?}, version {}", run.path(), run.version());
/// # }
/// ```
pub fn simulate<M: Machine>(
    initial: M,
    events: impl IntoIterator<Item = M::Event>,
) -> Simulation<M> {
    let mut simulation = Simulation {
        initial,
        steps: Vec::new(),
        undelivered: Vec::new(),
    };
    let mut events = events.into_iter();
    for event in events.by_ref() {
        let outcome = simulation.state().transition(&event);
        let reached_final = outcome.state().is_some_and(Machine::is_final);
        simulation.steps.push(SimStep { event, outcome });
        if reached_final {
            break;
        }
    }
    simulation.undelivered.extend(events);
    simulation
}

//! The [`Machine`] trait: one state type, one event type, pure transitions, declared effects.

use crate::effect::{Actions, Background, Scope};
use crate::model::{Event, Outcome, StateTag};

/// One accepted transition: the state before, the event, and the state after.
///
/// Effects are declared from a `Step` ([`Machine::actions`]); observers and
/// `ActorRef::transitions` see the same triple.
#[derive(Debug)]
pub struct Step<'a, M: Machine> {
    /// The state the event was offered to.
    pub from: &'a M,
    /// The accepted event.
    pub event: &'a M::Event,
    /// The state the machine moved to.
    pub to: &'a M,
}

/// A typed state machine: implemented by the *state* type, usually an enum.
///
/// Implement it by hand (shown below) or derive it with `#[derive(Machine)]` from
/// `machine-macros`, which also makes illegal transitions fail to compile.
///
/// # Contract
///
/// * [`transition`](Machine::transition) is **pure and deterministic**: no I/O, no clock, no
///   randomness, no interior mutability. Persistence replays it on journaled events, and replay
///   must reach the same state the live actor reached.
/// * Effects are *declared* by [`actions`](Machine::actions), [`enter`](Machine::enter) and
///   [`background`](Machine::background); the runtime performs them after the event is accepted
///   (and durable, for persistent actors), exactly once, and never during replay.
///
/// # Example
///
/// ```
/// use machine_core::{Event, Machine, Outcome, StateTag, Tag};
/// use std::fmt;
///
/// #[derive(Clone, Debug, PartialEq)]
/// enum Door { Open, Closed { locked: bool } }
///
/// #[derive(Clone, Debug)]
/// enum DoorEvent { Close, Lock, Unlock, Open }
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("the door is locked")]
/// struct Locked;
///
/// #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
/// enum DoorTag { Open, Closed }
/// impl fmt::Display for DoorTag {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.name()) }
/// }
/// impl Tag for DoorTag {
///     const ALL: &'static [Self] = &[DoorTag::Open, DoorTag::Closed];
///     fn name(self) -> &'static str { match self { DoorTag::Open => "Open", DoorTag::Closed => "Closed" } }
/// }
/// impl StateTag for DoorTag {
///     fn is_final(self) -> bool { false }
///     fn is_initial(self) -> bool { self == DoorTag::Open }
/// }
///
/// #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
/// enum DoorEventTag { Close, Lock, Unlock, Open }
/// impl fmt::Display for DoorEventTag {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.name()) }
/// }
/// impl Tag for DoorEventTag {
///     const ALL: &'static [Self] = &[Self::Close, Self::Lock, Self::Unlock, Self::Open];
///     fn name(self) -> &'static str {
///         match self { Self::Close => "Close", Self::Lock => "Lock", Self::Unlock => "Unlock", Self::Open => "Open" }
///     }
/// }
///
/// impl Event for DoorEvent {
///     type Tag = DoorEventTag;
///     fn tag(&self) -> DoorEventTag {
///         match self {
///             DoorEvent::Close => DoorEventTag::Close, DoorEvent::Lock => DoorEventTag::Lock,
///             DoorEvent::Unlock => DoorEventTag::Unlock, DoorEvent::Open => DoorEventTag::Open,
///         }
///     }
/// }
///
/// impl Machine for Door {
///     type Event = DoorEvent;
///     type Env = ();
///     type Error = Locked;
///     type StateTag = DoorTag;
///     const NAME: &'static str = "Door";
///
///     fn tag(&self) -> DoorTag {
///         match self { Door::Open => DoorTag::Open, Door::Closed { .. } => DoorTag::Closed }
///     }
///     fn transition(&self, event: &DoorEvent) -> Outcome<Self, Locked> {
///         match (self, event) {
///             (Door::Open, DoorEvent::Close) => Outcome::Next(Door::Closed { locked: false }),
///             (Door::Closed { locked: false }, DoorEvent::Lock) => Outcome::Next(Door::Closed { locked: true }),
///             (Door::Closed { locked: true }, DoorEvent::Unlock) => Outcome::Next(Door::Closed { locked: false }),
///             (Door::Closed { locked: false }, DoorEvent::Open) => Outcome::Next(Door::Open),
///             (Door::Closed { locked: true }, DoorEvent::Open) => Outcome::Rejected(Locked),
///             _ => Outcome::Unhandled,
///         }
///     }
/// }
///
/// let closed = Door::Open.transition(&DoorEvent::Close).into_state().unwrap();
/// assert!(closed.can(&DoorEvent::Lock));
/// assert!(!closed.can(&DoorEvent::Unlock));
/// ```
pub trait Machine: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The events this machine accepts.
    type Event: Event;
    /// The dependencies its effects need (clients, clocks, configuration), supplied at spawn.
    type Env: Send + Sync + 'static;
    /// The machine's own error, returned when a guard rejects an event.
    type Error: std::error::Error + Send + Sync + 'static;
    /// The data-less names of the states.
    type StateTag: StateTag;

    /// The name of this machine type (registry, tracing, diagrams).
    const NAME: &'static str;

    /// The tag of this state.
    fn tag(&self) -> Self::StateTag;

    /// Offers `event` to this state. Pure and deterministic (see the trait docs).
    fn transition(&self, event: &Self::Event) -> Outcome<Self, Self::Error>;

    /// Whether `event` would be accepted in this state, guards included.
    fn can(&self, event: &Self::Event) -> bool {
        self.transition(event).is_accepted()
    }

    /// Whether this state is final: the actor stops once the effects that led here have run.
    fn is_final(&self) -> bool {
        self.tag().is_final()
    }

    /// Whether a step *enters* its target state anew: the state-scoped tasks and timeouts of the
    /// old state are cancelled and those of the new state start.
    ///
    /// By default a step enters when the tag changes, so an event that keeps the machine in the
    /// same state (an internal transition) leaves running tasks and timeouts alone. Override it
    /// to make, say, every event re-enter an `Active` state and so reset its idle timeout.
    fn is_entry(step: &Step<'_, Self>) -> bool {
        step.from.tag() != step.to.tag()
    }

    /// Declares the actions to run once `step` is accepted (and durable, when persisted).
    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        let _ = (step, actions);
    }

    /// Declares the tasks and timeouts scoped to this state, started when it is entered and
    /// cancelled when it is left.
    fn enter(&self, scope: &mut Scope<Self>) {
        let _ = scope;
    }

    /// Declares the background tasks that run for the actor's whole life, started once when the
    /// actor starts (fresh or restored) with its starting state.
    fn background(&self, tasks: &mut Background<Self>) {
        let _ = tasks;
    }
}

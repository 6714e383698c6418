//! The machine model: what a typed state machine *is*, independent of how it runs.
//!
//! A machine is a `State` type (usually an enum) implementing [`Machine`], an `Event` type, and
//! **pure, deterministic** transition handlers. Purity is what makes event sourcing work: the
//! persistence layer re-runs [`Machine::transition`] on journaled events to rebuild state, so a
//! handler must compute the same next state from the same inputs every time, with no I/O.
//!
//! Side effects are *declared* by the machine ([`Machine::actions`], [`Machine::enter`],
//! [`Machine::background`]) and performed by the runtime, only after the event that caused them
//! has been accepted (and, for persistent actors, committed). Replay never performs them.

mod diagram;
mod event;
mod id;
mod machine;
mod outcome;
mod table;
mod tag;

pub use diagram::Diagram;
pub use event::Event;
pub use id::ActorId;
pub use machine::{Machine, Step};
pub use outcome::Outcome;
pub use table::{TimeoutInfo, TransitionInfo};
pub use tag::{StateTag, Tag};

/// The event tag type of machine `M`.
pub type EventTagOf<M> = <<M as Machine>::Event as Event>::Tag;

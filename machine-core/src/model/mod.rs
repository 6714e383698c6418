//! The machine model: what a typed state machine *is*, independent of how it runs.
//!
//! Its items are exported at the crate root, whose documentation describes them.

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

//! Actors: each machine instance runs as one tokio task with a bounded mailbox.
//!
//! Its items are exported at the crate root, whose documentation describes them.

mod actor_ref;
mod durability;
mod error;
mod mailbox;
mod options;
mod registry;
mod runtime;
mod streams;
mod system;

pub use actor_ref::{ActorRef, ActorStatus};
pub use durability::{CommandMark, Commit, Current, Durability, Ephemeral, Start};
pub use error::{ActorError, CommitError, SpawnError, StopReason, VersionConflict};
pub use options::SpawnOptions;
pub use streams::{Changes, Transition, Transitions};
pub use system::ActorSystem;

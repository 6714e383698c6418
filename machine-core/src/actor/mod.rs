//! Actors: each machine instance runs as one tokio task with a bounded mailbox.
//!
//! An [`ActorSystem`] owns actors by id. [`ActorRef`] is the handle: `send` (fire and forget,
//! with backpressure), `call` (the outcome, once the step is durable), `state`, `changes`,
//! `transitions`, `wait_for`, `stop`.
//!
//! # How an actor processes events
//!
//! The actor takes everything queued in its mailbox (up to `max_batch`) as one *batch*, offers
//! each event to the machine in order, and hands the accepted ones to its [`Durability`] in one
//! call. Only when that call returns `Ok` does the batch become visible: callers get their
//! outcomes, `changes()` and `transitions()` see every intermediate state in order, the declared
//! actions run, and the tasks and timeouts of a newly entered state start. If it fails, the
//! state rolls back to before the batch and every caller in the batch gets the error. That is the
//! hook `machine-persist` uses to make "effects run only after the event is durable" true with no
//! change to user code; plain actors use [`Ephemeral`], which commits instantly.

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
pub use durability::{Commit, Current, Durability, Ephemeral, Start};
pub use error::{ActorError, CommitError, SpawnError, StopReason, VersionConflict};
pub use options::SpawnOptions;
pub use streams::{Changes, Transition, Transitions};
pub use system::ActorSystem;

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
//! call. Nothing of the batch is visible before that call returns, not even the answer to an
//! event that was unhandled or rejected: every caller waits for the commit.
//!
//! * When it returns `Ok`, the batch becomes visible: callers get their outcomes, `changes()`,
//!   `transitions()` and `wait_for` see every intermediate state in order, the declared actions
//!   run, and the tasks and timeouts of a newly entered state start.
//! * When it fails, the state rolls back to before the batch. Callers whose answer was computed
//!   on top of an accepted event of the batch get the error; callers whose event was unhandled
//!   or rejected before the batch's first accepted event get that answer, which stays true.
//!
//! That is the hook `machine-persist` uses to make "effects run only after the event is
//! durable" true with no change to user code; plain actors use [`Ephemeral`], which commits
//! instantly.
//!
//! # When the machine's code panics
//!
//! Transition handlers and the machine's hooks (`actions`, `enter`, `background`, `is_entry`,
//! `tag`, `is_final`) run on the actor's task. If one panics, the batch is rolled back (nothing
//! of it is committed), its callers get [`ActorError::HandlerPanicked`] (but for answers settled
//! before its first accepted event, as above), the observer gets an error record, and the actor
//! stops with [`StopReason::Panicked`]; calls still queued get [`ActorError::Stopped`]. Effects
//! run on tasks of their own: their panics are reported and the actor carries on.

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

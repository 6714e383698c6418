//! # machine-core
//!
//! Typed state machines that run as tokio actors.
//!
//! * [`Machine`] — a state type, an event type, pure transitions, declared effects.
//! * [`ActorSystem`] / [`ActorRef`] — run instances by id; `send`, `call`, `state`, `changes`,
//!   `transitions`, `wait_for`, `stop`.
//! * [`effect`] — transition actions, state-scoped tasks and timeouts, background tasks.
//! * [`Schedule`] — recurrence policies as values (snapshot policy, retries).
//! * [`inspect`] — an observer of everything an actor does.
//! * [`testkit`] — simulate machines without a runtime; drive real actors with a paused clock.
//!
//! Nothing here knows about storage: persistence plugs in through [`Durability`], which the
//! runtime calls once per batch of accepted events *before* making the batch visible.

#![warn(missing_docs)]

pub mod actor;
pub mod effect;
pub mod inspect;
pub mod model;
pub mod schedule;
pub mod testkit;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use actor::{
    ActorError, ActorRef, ActorStatus, ActorSystem, Changes, CommandMark, Commit, CommitError,
    Current, Durability, Ephemeral, SpawnError, SpawnOptions, Start, StopReason, Transition,
    Transitions, VersionConflict,
};
pub use effect::{
    ActionCtx, Actions, Background, Ctx, DurableAction, EffectError, Effects, IdempotencyKey,
    Intent, Scope,
};
pub use inspect::{Observer, Record, RecordKind, Recorder};
pub use model::{ActorId, Event, EventTagOf, Machine, Outcome, StateTag, Step, Tag};
pub use schedule::{Decision, Driver, Schedule};

/// The names most programs need.
pub mod prelude {
    pub use crate::{
        ActionCtx, Actions, ActorError, ActorId, ActorRef, ActorSystem, Background, Ctx,
        DurableAction, EffectError, Effects, Event, Machine, Outcome, Schedule, Scope,
        SpawnOptions, StateTag, Step, Tag,
    };
}

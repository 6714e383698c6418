//! Persistent actors: the machine-core runtime with a journal behind every commit.
//!
//! A [`PersistentSystem`] binds an actor system to a [`Store`](crate::store::Store). Each actor
//! it starts gets a [`Durability`](machine_core::Durability) that turns the runtime's batches
//! into journal appends (expected version = the actor's version before the batch) through the
//! shared group-commit writer. Because the runtime makes nothing of a batch visible before that
//! commit returns, `call` answers only once the events are durable, and effects run only for
//! committed events — with no change to the machine's code.

mod cleanup;
mod command;
mod failures;
mod fencing;
mod filter;
mod incarnation;
mod journaled;
mod persistent_ref;
mod repository;
mod rewound;
mod snapshotter;
mod system;
mod timer_service;

pub use filter::ActorFilter;
pub use persistent_ref::PersistentRef;
pub use repository::Repository;
pub use system::{
    default_retry, PersistentSystem, ShutdownReport, SystemBuilder, DEFAULT_SHUTDOWN_TIMEOUT,
};

#[cfg(feature = "cluster")]
pub(crate) use fencing::Fencing;
#[cfg(feature = "inspector")]
pub(crate) use repository::listing;
pub(crate) use repository::Shared;

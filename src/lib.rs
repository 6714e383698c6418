//! # machine
//!
//! Typed state machines as tokio actors, with durable event sourcing.
//!
//! This crate re-exports the three crates of the workspace:
//!
//! * [`core`] (`machine-core`): the machine model, the actor runtime, effects, `Schedule`,
//!   inspection and the test kit;
//! * [`macros`] (`machine-macros`): `#[derive(Machine)]`;
//! * [`persist`] (`machine-persist`): journal, snapshots, restore, time travel and the storage
//!   backends (memory, SQLite, Postgres).
//!
//! Most programs only need the [`prelude`].

#![warn(missing_docs)]

pub use machine_core as core;
pub use machine_macros as macros;
pub use machine_persist as persist;

pub use machine_core::testkit;

/// Everything a typical program uses, in one import.
pub mod prelude {
    pub use machine_core::prelude::*;
}

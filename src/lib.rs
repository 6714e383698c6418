//! # machine
//!
//! Typed state machines as tokio actors, with durable event sourcing.
//!
//! States and events are plain Rust enums. `#[derive(Machine)]` reads the transition table
//! declared on the state enum and generates a handler trait whose signatures admit only the
//! declared targets, so an illegal transition does not compile. Each machine instance runs as an
//! actor with a mailbox, effects, timers and streams of its changes. A
//! [`PersistentSystem`](persist::PersistentSystem) journals every accepted event before
//! acknowledging it, restores actors after a restart (snapshot + journal tail), and replays
//! history to any version.
//!
//! This crate re-exports the three crates of the workspace:
//!
//! * [`core`] (`machine-core`): the machine model, the actor runtime, effects, `Schedule`,
//!   inspection and the test kit;
//! * [`macros`] (`machine-macros`): `#[derive(Event)]` and `#[derive(Machine)]`, documented in
//!   full there;
//! * [`persist`] (`machine-persist`): journal, snapshots, restore, time travel and the storage
//!   backends (memory, SQLite, Postgres).
//!
//! Most programs only need `use machine::prelude::*;`. With only `machine` in
//! `[dependencies]`, the derives find the core crate through this facade on their own; no
//! `crate = ...` attribute is needed.
//!
//! ## Example
//!
//! ```
//! use machine::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Event)]
//! enum DoorEvent {
//!     Open,
//!     Close,
//!     Lock { code: u32 },
//! }
//!
//! #[derive(Debug, PartialEq, thiserror::Error)]
//! enum DoorError {
//!     #[error("a code needs four digits")]
//!     ShortCode,
//! }
//!
//! #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Machine)]
//! #[machine(event = DoorEvent, error = DoorError)]
//! enum Door {
//!     #[initial]
//!     #[on(Open => Opened, Lock => Locked)]
//!     Closed,
//!     #[on(Close => Closed)]
//!     Opened,
//!     #[terminal]
//!     Locked { code: u32 },
//! }
//!
//! impl DoorTransitions for Door {
//!     fn closed_open(_: DoorEventOpen<'_>) -> Result<DoorClosedOnOpen, DoorError> {
//!         Ok(DoorClosedOnOpen::Opened)
//!     }
//!     fn closed_lock(lock: DoorEventLock<'_>) -> Result<DoorClosedOnLock, DoorError> {
//!         if *lock.code < 1000 {
//!             return Err(DoorError::ShortCode); // a guard: rejected, not journaled
//!         }
//!         Ok(DoorClosedOnLock::Locked { code: *lock.code })
//!     }
//!     fn opened_close(_: DoorEventClose<'_>) -> Result<DoorOpenedOnClose, DoorError> {
//!         Ok(DoorOpenedOnClose::Closed)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // `SqliteStore::open("doors.db")` keeps them across restarts; memory is for tests.
//! let system = PersistentSystem::new(MemoryStore::new());
//! let doors = system.repository(PersistConfig::<Door>::new(), ());
//!
//! let door = doors.spawn("front", Door::Closed).await?;
//! assert_eq!(door.call(DoorEvent::Open).await?, Outcome::Next(Door::Opened));
//! assert_eq!(door.call(DoorEvent::Lock { code: 1234 }).await?, Outcome::Unhandled);
//! assert_eq!(door.call(DoorEvent::Close).await?, Outcome::Next(Door::Closed));
//! assert_eq!(
//!     door.call(DoorEvent::Lock { code: 12 }).await?,
//!     Outcome::Rejected(DoorError::ShortCode),
//! );
//! assert_eq!(door.version().await?, 2); // only accepted events are journaled
//!
//! // Time travel: the state after the first event, computed from the journal.
//! assert_eq!(door.state_at(1).await?, Door::Opened);
//!
//! system.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## Features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `sqlite` | yes | [`SqliteStore`](persist::SqliteStore), the embedded backend |
//! | `postgres` | no | `persist::PostgresStore` |
//! | `cluster` | no | `persist::cluster`: several nodes on one Postgres database, one writer per actor |
//! | `msgpack` | no | [`MessagePackCodec`](persist::codec), a compact binary codec |
//! | `test-util` | no | [`testkit::Harness`](core::testkit), real actors on tokio's paused clock |
//! | `inspector` | no | `persist::inspect`, the embeddable web inspector (axum) |
//! | `inspect-cli` | no | the `machine-inspect` binary: list, show, history, tail and export on a SQLite file or a Postgres schema |

#![warn(missing_docs)]

pub use machine_core as core;
pub use machine_macros as macros;
pub use machine_persist as persist;

/// What a basic program uses, in one import: `use machine::prelude::*;`. Everything else has one
/// path, in [`core`], [`macros`] or [`persist`].
///
/// `Machine` and `Event` are each two items, a trait and its derive macro; Rust keeps them
/// apart (traits and macros live in different namespaces), so the one import brings both.
pub mod prelude {
    pub use machine_core::{ActorSystem, Event, Machine, Outcome, Schedule, StateTag, Tag};
    pub use machine_macros::{Event, Machine};
    #[cfg(feature = "postgres")]
    pub use machine_persist::PostgresStore;
    #[cfg(feature = "sqlite")]
    pub use machine_persist::SqliteStore;
    pub use machine_persist::{MemoryStore, PersistConfig, PersistentSystem};
}

//! Event-sourced persistence for machine actors.
//!
//! This crate stores what durable actors need to survive restarts and to travel in time:
//!
//! - the **journal** ([`Journal`]): every accepted event of every actor, appended under an
//!   optimistic version lock, in batches that commit many actors in one transaction;
//! - **snapshots** ([`SnapshotStore`]): encoded states keyed by version, so restore can start
//!   from the latest one instead of replaying everything;
//! - the **registry** ([`Registry`]): one metadata row per actor (machine type, head version,
//!   state tag, creation and last activity), kept in step with the journal by every append.
//!
//! A backend implements all three and is a [`Store`]: [`MemoryStore`] for tests,
#![cfg_attr(feature = "sqlite", doc = "[`SqliteStore`]")]
#![cfg_attr(not(feature = "sqlite"), doc = "`SqliteStore`")]
//! (feature `sqlite`, the default) and
#![cfg_attr(feature = "postgres", doc = "[`PostgresStore`]")]
#![cfg_attr(not(feature = "postgres"), doc = "`PostgresStore`")]
//! (feature `postgres`). One conformance suite holds every backend to the same semantics.
//!
//! Throughput comes from **group commit**: a [`JournalWriter`] gathers appends from many actors
//! and hands them to [`Journal::append_batch`] together, so one durable commit serves hundreds
//! of events. A refused append (a [`VersionConflict`](AppendError::VersionConflict) or an
//! [`AlreadyExists`](AppendError::AlreadyExists)) never fails the others in its batch.
//!
//! Payloads are opaque text produced by a [`Codec`] ([`JsonCodec`] by default) and stored
//! verbatim; bad stored data surfaces as a typed error naming the actor and version.

#![warn(missing_docs)]

mod actor;
mod codec;
mod config;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod convert;
mod erased;
mod error;
mod memory;
mod model;
mod persistable;
mod plan;
mod restore;
mod schema;
mod store;
mod time_travel;
pub mod writer;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use actor::{PersistentRef, PersistentSystem, Repository};
pub use codec::{Codec, DecodeError, EncodeError, JsonCodec, SharedError};
pub use config::{ErrorHook, PersistConfig, Retention};
pub use error::{AppendError, BoxError, PersistError, StoreError};
pub use memory::MemoryStore;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use model::{id_from, id_str};
pub use model::{
    ActorFilter, ActorId, ActorMetadata, AppendRequest, EventMetadata, NewEvent, NewSnapshot,
    StoredEvent, StoredSnapshot,
};
pub use persistable::Persistable;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore, MAX_SCHEMA_LEN};
pub use restore::RestoreReport;
pub use schema::{UpcastError, Upcasters};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};
pub use store::{BatchOutcome, Journal, Registry, SnapshotStore, Store, STREAM_PAGE};
pub use time_travel::HistoryEntry;
pub use writer::{JournalWriter, WriterConfig};

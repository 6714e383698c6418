//! Event-sourced persistence for machine actors.
//!
//! A [`PersistentSystem`] runs typed state machines as actors whose every accepted event is
//! journaled before anyone hears of it, restores them after a restart from a snapshot plus the
//! journal after it, and replays their history to any version. Get a [`Repository`] per machine
//! type to spawn, restore, list and inspect actors; each running actor is a [`PersistentRef`].
//!
//! # Modules
//!
//! | module | what |
//! |---|---|
//! | crate root | the persistent-actor API: systems, repositories, handles, configuration, errors, the backends |
//! | [`store`] | the storage traits ([`store::Journal`], [`store::SnapshotStore`], [`store::Catalog`], [`store::EventStream`], [`store::CheckpointStore`], [`store::Store`]) and the rows they exchange, for tools and custom backends |
//! | `cluster` (feature `cluster`) | several nodes on one Postgres database: shard leases with epochs, fenced appends |
//! | [`codec`] | how events and states become bytes ([`JsonCodec`](codec::JsonCodec) by default) |
//! | [`dispatch`] | durable actions: the transactional outbox, its dispatcher and the delivery guarantee |
//! | [`hooks`] | the on-restore and before-snapshot hooks, and the rule a replaced snapshot must follow |
//! | [`fixture`] | an actor's stored history as a file a unit test replays through the test kit |
//! | `inspect` (feature `inspector`) | the embeddable web inspector: actors, time travel, statechart, divergence check |
//! | [`projection`] | read models fed from the global event stream: checkpoints, catch-up, live, at-least-once and exactly-once |
//! | [`schema`] | upcasters that migrate old payloads |
//! | [`tail`] | following the journal as it grows ([`JournalTail`](tail::JournalTail)) |
//! | [`verify`] | the divergence check: does the current code still replay the stored history? |
//! | [`writer`] | the group-commit [`JournalWriter`](writer::JournalWriter) and its retry policies |
//!
//! # Backends
//!
//! [`MemoryStore`] for tests,
#![cfg_attr(feature = "sqlite", doc = "[`SqliteStore`]")]
#![cfg_attr(not(feature = "sqlite"), doc = "`SqliteStore`")]
//! (feature `sqlite`, the default) and
#![cfg_attr(feature = "postgres", doc = "[`PostgresStore`]")]
#![cfg_attr(not(feature = "postgres"), doc = "`PostgresStore`")]
//! (feature `postgres`). One conformance suite holds every backend to the same semantics. Without
//! either feature, sqlx is not compiled at all.
//!
//! # Names
//!
//! A *status* ([`ActorStatus`](machine_core::ActorStatus)) is what a running actor shows now:
//! its state and version. A *snapshot* is a state written to the store
//! ([`PersistentRef::save_snapshot`] writes one now; [`PersistConfig::snapshots`] says when they
//! are written on their own). The *registry* is the store's table of actors, read through the
//! [`Catalog`](store::Catalog) trait; a [`Repository`] is the typed entry point of one machine
//! type.
//!
//! Throughput comes from **group commit**: a journal writer gathers appends from many actors and
//! commits them in one transaction, so one durable commit serves hundreds of events. A refused
//! append never fails the others in its batch, and a bad stored row never fails another actor.

#![warn(missing_docs)]

mod actor;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod codec;
mod config;
pub mod dispatch;
mod erased;
mod error;
pub mod fixture;
pub mod hooks;
#[cfg(feature = "inspector")]
pub mod inspect;
mod key;
mod memory;
mod model;
mod persistable;
mod plan;
pub mod projection;
mod restore;
pub mod schema;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
pub mod store;
pub mod tail;
mod time_travel;
mod timers;
pub mod verify;
pub mod writer;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

/// The date-time library of this crate's timestamps.
pub use chrono;
/// The JSON library upcasters work with.
pub use serde_json;
/// The SQL library of the backends: exactly-once projections write their read model through
/// its transactions.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sqlx;

pub use actor::{
    default_retry, ActorFilter, PersistentRef, PersistentSystem, Repository, ShutdownReport,
    SystemBuilder, DEFAULT_SHUTDOWN_TIMEOUT,
};
pub use config::{ErrorHook, PersistConfig, Retention, DEFAULT_COMMAND_WINDOW, DEFAULT_TIMER_POLL};
pub use error::{Inconsistency, PersistError, ReplayCause};
pub use key::PersistenceKey;
pub use memory::MemoryStore;
pub use persistable::Persistable;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore, MAX_SCHEMA_LEN};
pub use restore::{Listing, RestoreReport};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};
pub use time_travel::HistoryEntry;

// Crate-internal shorthands for the storage model.
pub(crate) use error::{AppendError, StoreError};
pub(crate) use model::{
    ActorId, ActorMetadata, AppendRequest, CatalogQuery, DueTimer, EventMetadata, NewEvent,
    NewSnapshot, StoredEvent, StoredSnapshot, TimerQuery,
};
pub(crate) use store::{BatchOutcome, Catalog, Journal, SnapshotStore, Store};

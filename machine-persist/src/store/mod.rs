//! The storage layer: the traits every backend implements and the data they exchange.
//!
//! * [`Journal`]: optimistic-locked, batched appends and ordered reads per actor;
//! * [`SnapshotStore`]: encoded states keyed by version;
//! * [`Catalog`]: one metadata row per actor (the registry), kept in step by every append;
//! * [`Store`]: all three, cheap to clone and shareable, which is what a
//!   [`PersistentSystem`](crate::PersistentSystem) runs on.
//!
//! The traits use `impl Future + Send` returns, so backends are used generically (no boxing).
//! Applications rarely call them: persistent actors do. Tools, tests and custom backends do.
//!
//! # Isolation
//!
//! A refused request ([`AppendError`]) never affects the others of its batch; a bad stored row
//! in a bulk read ([`RowResult`]) fails its actor alone. Only a failure of the store itself (a
//! lost connection, a deadline) fails a whole call.
//!
//! # Actor ids
//!
//! Every backend holds ids to one rule: 1 to [`MAX_ACTOR_ID_BYTES`] bytes without a NUL
//! ([`check_actor_id`]); machine types the same up to [`MAX_MACHINE_TYPE_BYTES`].

mod catalog;
mod journal;
mod snapshots;

pub use catalog::{Catalog, RowResult};
pub use journal::{BatchOutcome, Journal, STREAM_PAGE};
pub use snapshots::SnapshotStore;

pub use crate::error::{AppendError, BoxError, StoreError};
pub use crate::model::{
    check_actor_id, check_machine_type, ActorMetadata, AppendRequest, CatalogQuery, DueTimer,
    EventMetadata, Fence, IdKind, IdProblem, InvalidId, NewEvent, NewSnapshot, StoredEvent,
    StoredSnapshot, TimerQuery, DEFAULT_TIMER_PAGE, MAX_ACTOR_ID_BYTES, MAX_MACHINE_TYPE_BYTES,
};
/// The id of an actor, as every row is keyed.
pub use machine_core::ActorId;

/// A complete backend: journal, snapshots and catalog, cheap to clone and shareable.
pub trait Store: Journal + SnapshotStore + Catalog + Clone + Send + Sync + 'static {}

impl<T> Store for T where T: Journal + SnapshotStore + Catalog + Clone + Send + Sync + 'static {}

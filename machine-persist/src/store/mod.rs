//! The storage layer: the traits every backend implements and the data they exchange.
//!
//! * [`Journal`]: optimistic-locked, batched appends and ordered reads per actor;
//! * [`SnapshotStore`]: encoded states keyed by version;
//! * [`Catalog`]: one metadata row per actor (the registry), kept in step by every append;
//! * [`EventStream`]: every committed event of the store in one order no reader skips in (the
//!   global stream projections read);
//! * [`CheckpointStore`]: how far each projection has read, next to the events;
//! * [`Outbox`]: the durable actions appended with their events, claimed and recorded by
//!   dispatchers;
//! * [`CommandLog`]: the command ids applied to each actor (idempotent commands);
//! * [`Store`]: all of them, cheap to clone and shareable, which is what a
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
mod checkpoints;
mod commands;
mod effects_json;
mod journal;
mod outbox;
mod snapshots;
mod stream;

pub use catalog::{Catalog, RowResult};
pub(crate) use checkpoints::check_name;
pub use checkpoints::{CheckpointStore, MAX_PROJECTION_NAME_BYTES};
pub use commands::CommandLog;
pub use effects_json::effects_json;
pub use journal::{BatchOutcome, Journal, STREAM_PAGE};
pub use outbox::Outbox;
pub use snapshots::SnapshotStore;
pub use stream::{
    BadPosition, CommitSignal, EventStream, GlobalPosition, StreamEntry, StreamFilter, StreamPage,
};
#[cfg(feature = "postgres")]
pub(crate) use stream::{CommitWire, SignalRef};

pub use crate::error::{ActionProblem, AppendError, BoxError, StoreError};
pub use crate::model::{
    check_actor_id, check_machine_type, ActorMetadata, AppendRequest, CatalogQuery, DueTimer,
    EventMetadata, Fence, IdKind, IdProblem, InvalidId, NewEvent, NewSnapshot, StoredEvent,
    StoredSnapshot, TimerQuery, DEFAULT_TIMER_PAGE, MAX_ACTOR_ID_BYTES, MAX_MACHINE_TYPE_BYTES,
};
pub use crate::model::{
    fingerprint, ActionClaim, ActionOutcome, ActionStatus, ActionUpdate, ClaimRequest,
    FailedEffect, NewAction, NewCommand, StoredAction, StoredCommand, MAX_ACTION_NAME_BYTES,
    MAX_COMMAND_ID_BYTES,
};

/// A complete backend: journal, snapshots, catalog, global stream, checkpoints, outbox and
/// command log, cheap to clone and shareable.
pub trait Store:
    Journal
    + SnapshotStore
    + Catalog
    + EventStream
    + CheckpointStore
    + Outbox
    + CommandLog
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: Journal
        + SnapshotStore
        + Catalog
        + EventStream
        + CheckpointStore
        + Outbox
        + CommandLog
        + Clone
        + Send
        + Sync
        + 'static
{
}

//! The storage model shared by every backend: ids, events, snapshots, append requests and
//! catalog metadata. Plain data, no I/O.

mod action;
mod actor_id;
mod append;
mod catalog;
mod command;
mod event;
mod fence;
mod snapshot;
pub(crate) mod time;
mod timer;

pub(crate) use action::key as action_key;
pub use action::{
    ActionClaim, ActionOutcome, ActionStatus, ActionUpdate, ClaimRequest, FailedEffect, NewAction,
    StoredAction, MAX_ACTION_NAME_BYTES,
};
pub(crate) use actor_id::valid;
pub use actor_id::{
    check_actor_id, check_machine_type, ActorId, IdKind, IdProblem, InvalidId, MAX_ACTOR_ID_BYTES,
    MAX_MACHINE_TYPE_BYTES,
};
pub(crate) use append::new_request_id;
pub use append::AppendRequest;
pub use catalog::{ActorMetadata, CatalogQuery};
pub(crate) use command::fnv1a;
pub use command::{fingerprint, NewCommand, StoredCommand, MAX_COMMAND_ID_BYTES};
pub use event::{EventMetadata, NewEvent, StoredEvent};
pub use fence::Fence;
pub use snapshot::{NewSnapshot, StoredSnapshot};
pub use timer::{DueTimer, TimerQuery, DEFAULT_TIMER_PAGE};

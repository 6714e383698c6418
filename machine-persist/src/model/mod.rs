//! The storage model shared by every backend: ids, events, snapshots, append requests and
//! registry metadata. Plain data, no I/O.

mod actor_id;
mod append;
mod event;
mod registry;
mod snapshot;
pub(crate) mod time;

pub use actor_id::ActorId;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use actor_id::{id_from, id_str};
pub use append::AppendRequest;
pub use event::{EventMetadata, NewEvent, StoredEvent};
pub use registry::{ActorFilter, ActorMetadata};
pub use snapshot::{NewSnapshot, StoredSnapshot};

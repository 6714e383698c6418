//! The hook through which a node's leases reach every append its actors make.
//!
//! A system built for a cluster node asks its [`Fencing`] for the fence of each actor before
//! it writes: the shard and epoch the node holds, or an error when it holds no current lease on
//! the actor's shard (then nothing is sent and the actor stops). A system without one writes
//! unfenced, as a single node does.

use crate::model::Fence;
use crate::{ActorId, PersistError};

/// Supplies the fence under which an actor is written.
pub(crate) trait Fencing: std::fmt::Debug + Send + Sync + 'static {
    /// The fence for `id`, or [`PersistError::NotOwner`] when this node may not write it now.
    fn fence(&self, id: &ActorId) -> Result<Fence, PersistError>;
}

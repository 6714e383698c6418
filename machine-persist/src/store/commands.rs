//! The command log: which command ids were applied to an actor, as which version.

use std::future::Future;

use crate::model::StoredCommand;
use crate::{ActorId, StoreError};

/// Reading recorded commands. Rows are written by
/// [`Journal::append_batch`](super::Journal::append_batch) in the transaction of their event
/// ([`AppendRequest::commands`](crate::store::AppendRequest::commands)), which refuses a command
/// id already recorded and not expired, also against other processes on the same database.
pub trait CommandLog: Send + Sync {
    /// The record of `command_id` for `actor_id`, if any (expired or not: the caller compares
    /// [`recorded_at`](StoredCommand::recorded_at) with its window).
    fn find_command(
        &self,
        actor_id: &ActorId,
        command_id: &str,
    ) -> impl Future<Output = Result<Option<StoredCommand>, StoreError>> + Send;
}

//! [`CommandLog`] for [`MemoryStore`].

use super::MemoryStore;
use crate::model::valid;
use crate::store::{CommandLog, StoredCommand};
use crate::{ActorId, StoreError};

impl CommandLog for MemoryStore {
    async fn find_command(
        &self,
        actor_id: &ActorId,
        command_id: &str,
    ) -> Result<Option<StoredCommand>, StoreError> {
        valid(actor_id)?;
        let state = self.lock();
        Ok(state
            .commands
            .get(&(actor_id.clone(), command_id.to_owned()))
            .cloned())
    }
}

//! [`CheckpointStore`] for [`MemoryStore`].

use super::MemoryStore;
use crate::store::{check_name, CheckpointStore, GlobalPosition};
use crate::StoreError;

impl CheckpointStore for MemoryStore {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<GlobalPosition>, StoreError> {
        check_name(name)?;
        Ok(self.lock().checkpoints.get(name).copied())
    }

    async fn save_checkpoint(&self, name: &str, at: GlobalPosition) -> Result<(), StoreError> {
        check_name(name)?;
        self.lock().checkpoints.insert(name.to_owned(), at);
        Ok(())
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<bool, StoreError> {
        check_name(name)?;
        Ok(self.lock().checkpoints.remove(name).is_some())
    }
}

//! [`SnapshotStore`] for [`MemoryStore`].

use super::journal::remove_range;
use super::MemoryStore;
use crate::model::{time, valid};
use crate::{ActorId, NewSnapshot, SnapshotStore, StoreError, StoredSnapshot};

impl SnapshotStore for MemoryStore {
    async fn save(&self, actor_id: &ActorId, snapshot: NewSnapshot) -> Result<(), StoreError> {
        valid(actor_id)?;
        let stored = StoredSnapshot {
            actor_id: actor_id.clone(),
            version: snapshot.version,
            state_tag: snapshot.state_tag.into_owned(),
            schema_version: snapshot.schema_version,
            codec: snapshot.codec,
            payload: snapshot.payload,
            entered_at: time::to_micros(snapshot.entered_at),
            created_at: time::now(),
        };
        self.lock()
            .snapshots
            .entry(actor_id.clone())
            .or_default()
            .insert(stored.version, stored);
        Ok(())
    }

    async fn load_latest(
        &self,
        actor_id: &ActorId,
        at_most: Option<u64>,
    ) -> Result<Option<StoredSnapshot>, StoreError> {
        valid(actor_id)?;
        let state = self.lock();
        Ok(state.snapshots.get(actor_id).and_then(|snapshots| {
            snapshots
                .range(..=at_most.unwrap_or(u64::MAX))
                .next_back()
                .map(|(_, snapshot)| snapshot.clone())
        }))
    }

    async fn delete_range(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
    ) -> Result<u64, StoreError> {
        valid(actor_id)?;
        Ok(self
            .lock()
            .snapshots
            .get_mut(actor_id)
            .map_or(0, |snapshots| remove_range(snapshots, from, to)))
    }

    async fn keep_last(&self, actor_id: &ActorId, keep: usize) -> Result<u64, StoreError> {
        valid(actor_id)?;
        let mut state = self.lock();
        let Some(snapshots) = state.snapshots.get_mut(actor_id) else {
            return Ok(0);
        };
        let excess = snapshots.len().saturating_sub(keep);
        if excess == 0 {
            return Ok(0);
        }
        match snapshots.keys().nth(excess - 1).copied() {
            Some(last_removed) => Ok(remove_range(snapshots, 0, last_removed)),
            None => Ok(0),
        }
    }
}

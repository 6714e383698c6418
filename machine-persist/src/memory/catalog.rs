//! [`Catalog`] for [`MemoryStore`].

use std::ops::Bound;

use super::MemoryStore;
use crate::model::valid;
use crate::store::RowResult;
use crate::{ActorId, ActorMetadata, Catalog, CatalogQuery, DueTimer, StoreError, TimerQuery};

impl Catalog for MemoryStore {
    async fn get(&self, actor_id: &ActorId) -> Result<Option<ActorMetadata>, StoreError> {
        valid(actor_id)?;
        Ok(self.lock().registry.get(actor_id).cloned())
    }

    async fn list(
        &self,
        query: &CatalogQuery,
    ) -> Result<Vec<RowResult<ActorMetadata>>, StoreError> {
        let state = self.lock();
        let start = query
            .after
            .as_ref()
            .map_or(Bound::Unbounded, Bound::Excluded);
        Ok(state
            .registry
            .range::<ActorId, _>((start, Bound::Unbounded))
            .map(|(_, meta)| meta)
            .filter(|meta| query.matches(meta))
            .take(query.limit.unwrap_or(usize::MAX))
            .map(|meta| Ok(meta.clone()))
            .collect())
    }

    async fn due_timers(&self, query: &TimerQuery) -> Result<Vec<RowResult<DueTimer>>, StoreError> {
        let state = self.lock();
        let mut due: Vec<DueTimer> = state
            .registry
            .values()
            .filter_map(|meta| {
                let at = meta.timeout_at?;
                query
                    .matches(&meta.machine_type, &meta.actor_id, at)
                    .then(|| DueTimer {
                        actor_id: meta.actor_id.clone(),
                        due: at,
                    })
            })
            .collect();
        due.sort_by(|a, b| (a.due, &a.actor_id).cmp(&(b.due, &b.actor_id)));
        due.truncate(query.limit);
        Ok(due.into_iter().map(Ok).collect())
    }

    async fn delete_actor(&self, actor_id: &ActorId) -> Result<bool, StoreError> {
        valid(actor_id)?;
        let mut state = self.lock();
        let removed = state.events.remove(actor_id);
        if let Some(removed) = &removed {
            for event in removed.values() {
                state.by_position.remove(&event.position);
            }
        }
        let events = removed.is_some();
        let snapshots = state.snapshots.remove(actor_id).is_some();
        let registry = state.registry.remove(actor_id).is_some();
        state.last_requests.remove(actor_id);
        state.actions.retain(|key, _| &key.actor_id != actor_id);
        state.commands.retain(|(actor, _), _| actor != actor_id);
        Ok(events || snapshots || registry)
    }
}

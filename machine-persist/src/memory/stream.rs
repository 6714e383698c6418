//! [`EventStream`] for [`MemoryStore`]: positions are assigned under the store's lock, so the
//! position order is the commit order.

use super::MemoryStore;
use crate::store::{
    CommitSignal, EventStream, GlobalPosition, StreamEntry, StreamFilter, StreamPage,
};
use crate::StoreError;

impl EventStream for MemoryStore {
    async fn read_all(
        &self,
        after: GlobalPosition,
        max: usize,
        filter: &StreamFilter,
    ) -> Result<StreamPage, StoreError> {
        let state = self.lock();
        let head = GlobalPosition::from_parts(0, state.last_position).unwrap_or_default();
        let mut entries = Vec::new();
        if max == 0 {
            return Ok(StreamPage {
                entries,
                through: after,
            });
        }
        let from = if after.to_parts().0 > 0 {
            // Positions of another store (a commit group this store never assigns): nothing.
            i64::MAX
        } else {
            after.position()
        };
        let stored = state
            .by_position
            .range(from.saturating_add(1)..)
            .filter_map(|(_, (actor_id, version))| state.events.get(actor_id)?.get(version))
            .filter(|event| filter.admits(&event.machine_type, &event.tag));
        for event in stored {
            let at = GlobalPosition::from_parts(0, event.position).unwrap_or_default();
            entries.push(StreamEntry {
                at,
                event: Ok(event.clone()),
            });
            if entries.len() == max {
                return Ok(StreamPage {
                    entries,
                    through: at,
                });
            }
        }
        Ok(StreamPage {
            entries,
            through: head.max(after),
        })
    }

    async fn stream_head(&self) -> Result<GlobalPosition, StoreError> {
        Ok(GlobalPosition::from_parts(0, self.lock().last_position).unwrap_or_default())
    }

    fn commit_signal(&self) -> &CommitSignal {
        &self.commits
    }
}

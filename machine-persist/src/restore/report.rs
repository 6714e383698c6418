//! The results of bulk operations: restoring many actors, listing the registry.

use machine_core::ActorId;

use crate::{ActorMetadata, PersistError, Persistable, PersistentRef};

/// What `restore_many` and `restore_all` did: the actors now running, and those that could not
/// be restored, each with its reason.
pub struct RestoreReport<M: Persistable> {
    /// The restored, running actors.
    pub restored: Vec<PersistentRef<M>>,
    /// The actors that failed, with why (`NotFound` for ids with no stored data; a registry row
    /// that could not be read is reported here too, under its id).
    pub failed: Vec<(ActorId, PersistError)>,
}

impl<M: Persistable> std::fmt::Debug for RestoreReport<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreReport")
            .field("restored", &self.restored.len())
            .field("failed", &self.failed)
            .finish()
    }
}

impl<M: Persistable> RestoreReport<M> {
    /// Whether every actor was restored.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Registry rows: those that could be read, and the others with why, so one damaged row never
/// hides the rest.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// The rows read, ordered by actor id.
    pub actors: Vec<ActorMetadata>,
    /// The rows that could not be read, under the id they were found with.
    pub unreadable: Vec<(ActorId, PersistError)>,
}

impl Listing {
    /// Whether every matching row could be read.
    pub fn is_complete(&self) -> bool {
        self.unreadable.is_empty()
    }

    /// The id of the last row seen, readable or not: the cursor for the next page.
    pub fn last_id(&self) -> Option<&ActorId> {
        let read = self.actors.last().map(|meta| &meta.actor_id);
        let unreadable = self.unreadable.last().map(|(id, _)| id);
        read.max(unreadable)
    }
}

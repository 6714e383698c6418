//! The result of restoring many actors.

use machine_core::ActorId;

use crate::{PersistError, Persistable, PersistentRef};

/// What `restore_many` and `restore_all` did: the actors now running, and those that could not
/// be restored, each with its reason.
pub struct RestoreReport<M: Persistable> {
    /// The restored, running actors.
    pub restored: Vec<PersistentRef<M>>,
    /// The actors that failed, with why (`NotFound` for ids with no stored data).
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

//! The id → actor table of a system, with type-erased entries.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, Weak};

use super::system::SystemInner;
use crate::model::ActorId;

/// What the registry keeps of an actor: its typed handle, behind a trait object.
pub(crate) trait Registered: Send + Sync {
    /// The `ActorRef<M>`, for downcasting.
    fn as_any(&self) -> &dyn Any;

    /// Wakes the actor if it is idle, so that it sees the system is shutting down.
    fn nudge(&self);
}

/// One registered actor: its handle, and the serial of its spawn.
pub(crate) struct Entry {
    pub(crate) serial: u64,
    pub(crate) actor: Box<dyn Registered>,
}

/// The table. A plain mutex: it is touched on spawn, lookup and exit, never per event.
#[derive(Default)]
pub(crate) struct Registry {
    entries: Mutex<HashMap<ActorId, Entry>>,
}

impl Registry {
    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<ActorId, Entry>> {
        // A panic while holding this lock cannot leave the map inconsistent (every critical
        // section is a single insert, remove or lookup), so a poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Removes an actor's entry when its task ends, however it ends (panics included).
pub(crate) struct Registration {
    pub(crate) system: Weak<SystemInner>,
    pub(crate) id: ActorId,
    pub(crate) serial: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(system) = self.system.upgrade() {
            let mut entries = system.registry.lock();
            if entries
                .get(&self.id)
                .is_some_and(|e| e.serial == self.serial)
            {
                entries.remove(&self.id);
            }
        }
    }
}

//! Which actors of a system are rewound, so a `send` to one is refused at once.
//!
//! A rewound actor refuses new events; `call` learns it from the actor's answer, but `send` does
//! not wait for one. So rewinding marks the actor here first, and `send` checks the mark: one
//! relaxed atomic load when nothing is rewound, which is nearly always.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use machine_core::ActorId;

/// The rewound actors: `(version, head)` of each.
#[derive(Debug, Default)]
pub(crate) struct Rewinds {
    count: AtomicUsize,
    actors: Mutex<HashMap<ActorId, (u64, u64)>>,
}

impl Rewinds {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ActorId, (u64, u64)>> {
        // Every critical section is one insert, remove or lookup: a poisoned map is still whole.
        self.actors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks `id` as rewound to `version` (its head being `head`).
    pub(crate) fn mark(&self, id: &ActorId, version: u64, head: u64) {
        let mut actors = self.lock();
        if actors.insert(id.clone(), (version, head)).is_none() {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Clears the mark of `id`.
    pub(crate) fn clear(&self, id: &ActorId) {
        let mut actors = self.lock();
        if actors.remove(id).is_some() {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// `(version, head)` if `id` is rewound.
    pub(crate) fn get(&self, id: &ActorId) -> Option<(u64, u64)> {
        if self.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.lock().get(id).copied()
    }
}

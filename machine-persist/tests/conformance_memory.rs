//! The conformance suite against the in-memory backend.

#[macro_use]
mod support;
mod fixture;

use machine_persist::MemoryStore;

/// Clones of a memory store share its state, so the "other handle" is a clone.
struct Memory {
    store: MemoryStore,
    other: MemoryStore,
}

impl support::Backend for Memory {
    type S = MemoryStore;

    async fn open() -> Option<Self> {
        let store = MemoryStore::new();
        Some(Self {
            other: store.clone(),
            store,
        })
    }

    fn store(&self) -> &MemoryStore {
        &self.store
    }

    fn other(&self) -> &MemoryStore {
        &self.other
    }

    async fn teardown(self) {}
}

all_conformance_tests!(Memory);
lifecycle_conformance_tests!(Memory);
key_conformance_tests!(Memory);

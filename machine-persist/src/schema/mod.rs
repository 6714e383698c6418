//! Schema evolution: reading what older code wrote.
//!
//! Every journaled event stores its variant tag and the schema version it was written with;
//! every snapshot stores the state's schema version. When the shapes change, bump the version in
//! [`PersistConfig`](crate::PersistConfig) and register an [`Upcasters`] step that turns the old
//! JSON into the new shape. Reads run the chain of steps from the stored version up to the
//! current one before deserialising, so the machine only ever sees current types.
//!
//! A snapshot that cannot be migrated is not fatal: restore falls back to an older snapshot, and
//! ultimately to replaying the journal from the genesis snapshot, reporting why (configurable).

mod payload;
mod upcasters;

pub(crate) use payload::Payloads;
pub use upcasters::{UpcastError, Upcasters};

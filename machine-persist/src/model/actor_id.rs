//! The identifier of a persisted actor.
//!
//! Every row the store keeps is keyed by an [`ActorId`], the runtime's own id type. The
//! conversions to and from the stored text live in this one file.

pub use machine_core::ActorId;

/// Borrows the textual form of an id (what the backends store).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn id_str(id: &ActorId) -> &str {
    id.as_str()
}

/// Builds an id from its stored textual form.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn id_from(text: &str) -> ActorId {
    ActorId::from(text)
}

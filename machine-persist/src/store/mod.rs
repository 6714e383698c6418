//! The storage traits every backend implements: [`Journal`], [`SnapshotStore`], [`Registry`],
//! and [`Store`], which is all three plus what a runtime needs to share a backend between tasks.
//!
//! The traits use `impl Future + Send` returns, so backends are used generically (no boxing).

mod journal;
mod registry;
mod snapshots;

pub use journal::{BatchOutcome, Journal, STREAM_PAGE};
pub use registry::Registry;
pub use snapshots::SnapshotStore;

/// A complete backend: journal, snapshots and registry, cheap to clone and shareable.
pub trait Store: Journal + SnapshotStore + Registry + Clone + Send + Sync + 'static {}

impl<T> Store for T where T: Journal + SnapshotStore + Registry + Clone + Send + Sync + 'static {}

//! Snapshot storage: many snapshots per actor, keyed by version.

use std::future::Future;

use crate::{ActorId, NewSnapshot, StoreError, StoredSnapshot};

/// Keeps snapshots per actor, keyed by version: saving at an existing version overwrites it, and
/// the latest snapshot is the one with the greatest version, so an older snapshot saved late never
/// replaces a newer one.
pub trait SnapshotStore: Send + Sync {
    /// Saves `snapshot` for `actor_id` (overwriting one at the same version).
    fn save(
        &self,
        actor_id: &ActorId,
        snapshot: NewSnapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The snapshot with the greatest version, or with the greatest version `<= at_most`.
    fn load_latest(
        &self,
        actor_id: &ActorId,
        at_most: Option<u64>,
    ) -> impl Future<Output = Result<Option<StoredSnapshot>, StoreError>> + Send;

    /// The latest snapshot of each of `actor_ids` (actors without one are left out), for bulk
    /// restores. The default asks [`load_latest`](Self::load_latest) once per actor; backends
    /// override it with one query.
    fn load_latest_many(
        &self,
        actor_ids: &[ActorId],
    ) -> impl Future<Output = Result<Vec<StoredSnapshot>, StoreError>> + Send {
        async move {
            let mut found = Vec::with_capacity(actor_ids.len());
            for actor_id in actor_ids {
                found.extend(self.load_latest(actor_id, None).await?);
            }
            Ok(found)
        }
    }

    /// Deletes the snapshots with `from <= version <= to`; returns how many were deleted.
    fn delete_range(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Retention: keeps the `keep` snapshots with the greatest versions and deletes the others;
    /// returns how many were deleted.
    fn keep_last(
        &self,
        actor_id: &ActorId,
        keep: usize,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

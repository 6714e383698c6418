//! Snapshot storage: many snapshots per actor, keyed by version.

use std::future::Future;

use super::RowResult;
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

    /// Saves several snapshots in one transaction (all or none). The default saves them one by
    /// one; backends override it.
    fn save_many(
        &self,
        snapshots: &[(ActorId, NewSnapshot)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            for (actor_id, snapshot) in snapshots {
                self.save(actor_id, snapshot.clone()).await?;
            }
            Ok(())
        }
    }

    /// The snapshot with the greatest version, or with the greatest version `<= at_most`.
    fn load_latest(
        &self,
        actor_id: &ActorId,
        at_most: Option<u64>,
    ) -> impl Future<Output = Result<Option<StoredSnapshot>, StoreError>> + Send;

    /// The latest snapshot of each of `actor_ids`, one result per id in input order (`None` for
    /// an actor without one; an error for a snapshot that cannot be read, which fails that actor
    /// alone), for bulk restores. The default asks [`load_latest`](Self::load_latest) once per
    /// actor; backends override it with one query.
    fn load_latest_many(
        &self,
        actor_ids: &[ActorId],
    ) -> impl Future<Output = Result<Vec<RowResult<Option<StoredSnapshot>>>, StoreError>> + Send
    {
        async move {
            let mut found = Vec::with_capacity(actor_ids.len());
            for actor_id in actor_ids {
                match self.load_latest(actor_id, None).await {
                    Err(error) if error.is_transient() => return Err(error),
                    row => found.push(row),
                }
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

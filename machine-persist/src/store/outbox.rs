//! The outbox: durable actions stored with their events, claimed and recorded by dispatchers.

use std::future::Future;

use super::RowResult;
use crate::model::{ActionUpdate, ClaimRequest, FailedEffect, StoredAction};
use crate::{ActorId, StoreError};

/// Storage of durable actions.
///
/// Rows are written by [`Journal::append_batch`](super::Journal::append_batch), in the
/// transaction of their events ([`AppendRequest::actions`](crate::store::AppendRequest::actions)),
/// each claimed by the dispatcher of the writing process. Implementations guarantee, also
/// against other processes on the same database:
/// - a pending action is claimed by at most one dispatcher at a time: [`claim_due`] takes only
///   rows whose claim has ended, atomically;
/// - [`record`] applies only while the action is pending under the exact claim the attempt ran
///   under ([`ActionUpdate::claim`]: holder and end), so a dispatcher that lost its claim (it
///   outlived its lease, or its own poller took the claim back) cannot overwrite the new
///   holder's record.
///
/// [`claim_due`]: Outbox::claim_due
/// [`record`]: Outbox::record
pub trait Outbox: Send + Sync {
    /// Claims up to `request.limit` pending actions of `request.machine_types` whose claim ended
    /// before `request.now` (and those [`ClaimRequest::reclaim_own_before`] takes back), oldest
    /// claim first (per table, where a backend keeps two levels), for `request.claim`; returns
    /// them as claimed. A
    /// row that cannot be read is returned as its error (and stays claimed until the claim
    /// ends, so it is not retried in a tight loop).
    fn claim_due(
        &self,
        request: &ClaimRequest,
    ) -> impl Future<Output = Result<Vec<RowResult<StoredAction>>, StoreError>> + Send;

    /// Records an ended attempt; returns whether it applied (`false`: the action is not pending,
    /// or it is held under another claim: another dispatcher's, or a newer one of the same
    /// dispatcher).
    fn record(
        &self,
        update: &ActionUpdate,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records many ended attempts at once (in one transaction where the backend can); one
    /// answer per update, in order, as [`record`](Outbox::record) gives (two updates of one
    /// action apply in order). The default records them one by one. A record may reach the disk
    /// only with the store's next flushed commit: losing it to a power loss runs its action
    /// again, which at-least-once delivery allows.
    fn record_many(
        &self,
        updates: &[ActionUpdate],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send {
        async move {
            let mut applied = Vec::with_capacity(updates.len());
            for update in updates {
                applied.push(self.record(update).await?);
            }
            Ok(applied)
        }
    }

    /// Records a plain effect that failed, as an [`ActionStatus::Failed`] row that is never
    /// claimed; returns whether it was written (`false`: a row with its key exists, and is
    /// kept).
    ///
    /// [`ActionStatus::Failed`]: crate::store::ActionStatus::Failed
    fn record_failure(
        &self,
        failure: &FailedEffect,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every durable action and failed effect of `actor_id`, by version then name.
    fn actions(
        &self,
        actor_id: &ActorId,
    ) -> impl Future<Output = Result<Vec<RowResult<StoredAction>>, StoreError>> + Send;
}

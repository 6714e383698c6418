//! The event journal: optimistic-locked, batched appends and ordered reads per actor.

use std::future::Future;

use futures::Stream;

use super::RowResult;
use crate::{ActorId, AppendError, AppendRequest, PersistError, StoreError, StoredEvent};

/// Page size [`Journal::stream`] reads with.
pub const STREAM_PAGE: usize = 512;

/// One result per request of a batch, in request order.
pub type BatchOutcome = Vec<Result<(), AppendError>>;

/// Append-only, per-actor event storage.
///
/// Implementations guarantee, also against other processes writing the same database:
/// - a request is applied only if the actor's head equals its `expected_version`, and then
///   entirely (events, registry row, optional snapshot) or not at all;
/// - versions are dense: no duplicate and no gap, with the `(actor_id, version)` key as backstop;
/// - the head never decreases, even when old events are deleted by retention.
pub trait Journal: Send + Sync {
    /// Applies `requests` in ONE transaction and returns one result per request, in order.
    ///
    /// A refused request ([`AppendError`]) never affects the others; several requests for the
    /// same actor apply in order (the second may expect the head the first produces). Only a
    /// failure of the store itself fails the whole batch with a [`StoreError`], in which case
    /// nothing of the batch was applied.
    fn append_batch(
        &self,
        requests: &[AppendRequest],
    ) -> impl Future<Output = Result<BatchOutcome, StoreError>> + Send;

    /// How many batches a [`JournalWriter`](crate::writer::JournalWriter) commits at once by default: 1
    /// (gather the next batch while the current one commits). A backend whose transactions commit
    /// in parallel, such as a server database, may ask for more.
    fn concurrent_batches(&self) -> usize {
        1
    }

    /// Applies one request (a batch of one).
    fn append(
        &self,
        request: AppendRequest,
    ) -> impl Future<Output = Result<(), PersistError>> + Send {
        async move {
            let outcome = self.append_batch(std::slice::from_ref(&request)).await?;
            match <[_; 1]>::try_from(outcome) {
                Ok([result]) => result.map_err(PersistError::from),
                Err(outcome) => Err(StoreError::Contract(format!(
                    "a batch of one request was answered with {} outcomes",
                    outcome.len()
                ))
                .into()),
            }
        }
    }

    /// Reads the events of `actor_id` with `from <= version <= to`, ascending, at most `max`.
    fn read(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Every event after the given version of each actor (`(actor, after)` pairs): one result
    /// per pair, in input order, each ascending by version (the tails bulk restores fold). An
    /// event that cannot be read fails its actor alone. The default reads actor by actor;
    /// backends override it with one query.
    fn read_after_many(
        &self,
        tails: &[(ActorId, u64)],
    ) -> impl Future<Output = Result<Vec<RowResult<Vec<StoredEvent>>>, StoreError>> + Send {
        async move {
            let mut found = Vec::with_capacity(tails.len());
            for (actor_id, after) in tails {
                let Some(from) = after.checked_add(1) else {
                    found.push(Ok(Vec::new()));
                    continue;
                };
                match self.read(actor_id, from, u64::MAX, usize::MAX).await {
                    Err(error) if error.is_transient() => return Err(error),
                    row => found.push(row),
                }
            }
            Ok(found)
        }
    }

    /// The actor's head version; 0 for an unknown actor.
    fn head(&self, actor_id: &ActorId) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes the events of `actor_id` with `version <= up_to` (retention) and returns how many
    /// were deleted. The head is unchanged.
    ///
    /// An event that a registered projection (one with a stored checkpoint, see
    /// [`CheckpointStore`](super::CheckpointStore)) has not passed yet is kept: retention never
    /// takes an event from under a projection. It goes in a later deletion, once every checkpoint
    /// is past it; deleting an abandoned projection's checkpoint unregisters it.
    fn delete_up_to(
        &self,
        actor_id: &ActorId,
        up_to: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Streams every event of `actor_id` from version `from` on, reading [`STREAM_PAGE`] events
    /// at a time, so long histories are never loaded whole.
    fn stream<'a>(
        &'a self,
        actor_id: &'a ActorId,
        from: u64,
    ) -> impl Stream<Item = Result<StoredEvent, StoreError>> + Send + 'a
    where
        Self: Sized,
    {
        async_stream::try_stream! {
            let mut next = from;
            loop {
                let page = self.read(actor_id, next, u64::MAX, STREAM_PAGE).await?;
                let last_page = page.len() < STREAM_PAGE;
                for event in page {
                    next = event.version.saturating_add(1);
                    yield event;
                }
                if last_page {
                    break;
                }
            }
        }
    }
}

//! The catalog: metadata per actor (the registry), kept in step with the journal by every
//! append.

use std::future::Future;

use crate::{ActorId, ActorMetadata, CatalogQuery, DueTimer, StoreError, TimerQuery};

/// One row read in bulk: the row, or why it could not be read. A bad row is that row's error
/// alone; the rows around it are unaffected.
pub type RowResult<T> = Result<T, StoreError>;

/// Queries and removes actors as a whole.
pub trait Catalog: Send + Sync {
    /// The metadata of `actor_id`, if the actor is known.
    fn get(
        &self,
        actor_id: &ActorId,
    ) -> impl Future<Output = Result<Option<ActorMetadata>, StoreError>> + Send;

    /// The metadata of each of `actor_ids`, one result per id in input order (`None` for an
    /// unknown actor, an error for a row that cannot be read). The default asks
    /// [`get`](Self::get) once per actor; backends override it with one query.
    fn get_many(
        &self,
        actor_ids: &[ActorId],
    ) -> impl Future<Output = Result<Vec<RowResult<Option<ActorMetadata>>>, StoreError>> + Send
    {
        async move {
            let mut rows = Vec::with_capacity(actor_ids.len());
            for actor_id in actor_ids {
                match self.get(actor_id).await {
                    // The store itself failed: the whole call fails.
                    Err(error) if error.is_transient() => return Err(error),
                    row => rows.push(row),
                }
            }
            Ok(rows)
        }
    }

    /// The actors matching `query`, ordered by actor id. A row that cannot be read is returned
    /// as its error ([`StoreError::Corrupt`] naming the actor) in its place; the others are
    /// listed as usual.
    fn list(
        &self,
        query: &CatalogQuery,
    ) -> impl Future<Output = Result<Vec<RowResult<ActorMetadata>>, StoreError>> + Send;

    /// The pending state timeouts `query` selects, in (due, actor id) order (see
    /// [`DueTimer`]). A row that cannot be read is its own error in its place.
    fn due_timers(
        &self,
        query: &TimerQuery,
    ) -> impl Future<Output = Result<Vec<RowResult<DueTimer>>, StoreError>> + Send;

    /// Deletes the actor's events, snapshots and registry row in one transaction; returns whether
    /// the actor was known. Its id may then be created afresh, starting at version 0.
    fn delete_actor(
        &self,
        actor_id: &ActorId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

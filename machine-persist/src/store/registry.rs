//! The actor registry: metadata per actor, kept in step with the journal by every append.

use std::future::Future;

use crate::{ActorFilter, ActorId, ActorMetadata, StoreError};

/// Queries and removes actors as a whole.
pub trait Registry: Send + Sync {
    /// The metadata of `actor_id`, if the actor is known.
    fn get(
        &self,
        actor_id: &ActorId,
    ) -> impl Future<Output = Result<Option<ActorMetadata>, StoreError>> + Send;

    /// The actors matching `filter`, ordered by actor id.
    fn list(
        &self,
        filter: &ActorFilter,
    ) -> impl Future<Output = Result<Vec<ActorMetadata>, StoreError>> + Send;

    /// Deletes the actor's events, snapshots and registry row in one transaction; returns whether
    /// the actor was known. Its id may then be created afresh, starting at version 0.
    fn delete_actor(
        &self,
        actor_id: &ActorId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

//! A type-erased view of a [`Store`], so the actor layer is not generic over the backend.
//!
//! [`Store`]'s methods return `impl Future`, which keeps backends zero-cost but makes the trait
//! unusable as `dyn`. Restore and time travel are not on the hot path, so they go through this
//! boxed adapter; the journal writer, which is, stays generic.

use futures::future::BoxFuture;

use crate::{
    ActorFilter, ActorId, ActorMetadata, Journal, NewSnapshot, Registry, SnapshotStore, Store,
    StoreError, StoredEvent, StoredSnapshot,
};

pub(crate) trait ErasedStore: Send + Sync + 'static {
    fn read<'a>(
        &'a self,
        actor_id: &'a ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<StoredEvent>, StoreError>>;

    fn load_latest<'a>(
        &'a self,
        actor_id: &'a ActorId,
        at_most: Option<u64>,
    ) -> BoxFuture<'a, Result<Option<StoredSnapshot>, StoreError>>;

    fn save<'a>(
        &'a self,
        actor_id: &'a ActorId,
        snapshot: NewSnapshot,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    fn load_latest_many<'a>(
        &'a self,
        actor_ids: &'a [ActorId],
    ) -> BoxFuture<'a, Result<Vec<StoredSnapshot>, StoreError>>;

    fn read_after_many<'a>(
        &'a self,
        tails: &'a [(ActorId, u64)],
    ) -> BoxFuture<'a, Result<Vec<StoredEvent>, StoreError>>;

    fn keep_last<'a>(
        &'a self,
        actor_id: &'a ActorId,
        keep: usize,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;

    fn delete_up_to<'a>(
        &'a self,
        actor_id: &'a ActorId,
        up_to: u64,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;

    fn list<'a>(
        &'a self,
        filter: &'a ActorFilter,
    ) -> BoxFuture<'a, Result<Vec<ActorMetadata>, StoreError>>;
}

impl<S: Store> ErasedStore for S {
    fn read<'a>(
        &'a self,
        actor_id: &'a ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<StoredEvent>, StoreError>> {
        Box::pin(Journal::read(self, actor_id, from, to, max))
    }

    fn load_latest<'a>(
        &'a self,
        actor_id: &'a ActorId,
        at_most: Option<u64>,
    ) -> BoxFuture<'a, Result<Option<StoredSnapshot>, StoreError>> {
        Box::pin(SnapshotStore::load_latest(self, actor_id, at_most))
    }

    fn save<'a>(
        &'a self,
        actor_id: &'a ActorId,
        snapshot: NewSnapshot,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(SnapshotStore::save(self, actor_id, snapshot))
    }

    fn keep_last<'a>(
        &'a self,
        actor_id: &'a ActorId,
        keep: usize,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(SnapshotStore::keep_last(self, actor_id, keep))
    }

    fn load_latest_many<'a>(
        &'a self,
        actor_ids: &'a [ActorId],
    ) -> BoxFuture<'a, Result<Vec<StoredSnapshot>, StoreError>> {
        Box::pin(SnapshotStore::load_latest_many(self, actor_ids))
    }

    fn read_after_many<'a>(
        &'a self,
        tails: &'a [(ActorId, u64)],
    ) -> BoxFuture<'a, Result<Vec<StoredEvent>, StoreError>> {
        Box::pin(Journal::read_after_many(self, tails))
    }

    fn delete_up_to<'a>(
        &'a self,
        actor_id: &'a ActorId,
        up_to: u64,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(Journal::delete_up_to(self, actor_id, up_to))
    }

    fn list<'a>(
        &'a self,
        filter: &'a ActorFilter,
    ) -> BoxFuture<'a, Result<Vec<ActorMetadata>, StoreError>> {
        Box::pin(Registry::list(self, filter))
    }
}

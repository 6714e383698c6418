//! A type-erased view of a [`Store`], so the actor layer is not generic over the backend.
//!
//! [`Store`]'s methods return `impl Future`, which keeps backends zero-cost but makes the trait
//! unusable as `dyn`. Restore, snapshots and time travel are not on the hot path, so they go
//! through this boxed adapter; the journal writer, which is, stays generic.

use futures::future::BoxFuture;

use crate::store::{
    ActionUpdate, ClaimRequest, CommandLog, CommitSignal, EventStream, FailedEffect,
    GlobalPosition, Outbox, RowResult, StoredAction, StoredCommand, StreamFilter, StreamPage,
};
use crate::{
    ActorId, ActorMetadata, Catalog, CatalogQuery, DueTimer, Journal, NewSnapshot, SnapshotStore,
    Store, StoreError, StoredEvent, StoredSnapshot, TimerQuery,
};

/// The result of a boxed store call.
type Call<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

pub(crate) trait ErasedStore: Send + Sync + 'static {
    fn read<'a>(
        &'a self,
        actor_id: &'a ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> Call<'a, Vec<StoredEvent>>;

    fn read_after_many<'a>(
        &'a self,
        tails: &'a [(ActorId, u64)],
    ) -> Call<'a, Vec<RowResult<Vec<StoredEvent>>>>;

    fn load_latest<'a>(
        &'a self,
        actor_id: &'a ActorId,
        at_most: Option<u64>,
    ) -> Call<'a, Option<StoredSnapshot>>;

    fn load_latest_many<'a>(
        &'a self,
        actor_ids: &'a [ActorId],
    ) -> Call<'a, Vec<RowResult<Option<StoredSnapshot>>>>;

    fn save_many<'a>(&'a self, snapshots: &'a [(ActorId, NewSnapshot)]) -> Call<'a, ()>;

    fn keep_last<'a>(&'a self, actor_id: &'a ActorId, keep: usize) -> Call<'a, u64>;

    fn delete_up_to<'a>(&'a self, actor_id: &'a ActorId, up_to: u64) -> Call<'a, u64>;

    fn get<'a>(&'a self, actor_id: &'a ActorId) -> Call<'a, Option<ActorMetadata>>;

    fn get_many<'a>(
        &'a self,
        actor_ids: &'a [ActorId],
    ) -> Call<'a, Vec<RowResult<Option<ActorMetadata>>>>;

    fn list<'a>(&'a self, query: &'a CatalogQuery) -> Call<'a, Vec<RowResult<ActorMetadata>>>;

    fn read_all<'a>(
        &'a self,
        after: GlobalPosition,
        max: usize,
        filter: &'a StreamFilter,
    ) -> Call<'a, StreamPage>;

    fn stream_head(&self) -> Call<'_, GlobalPosition>;

    fn commit_signal(&self) -> &CommitSignal;

    fn claim_due<'a>(&'a self, request: &'a ClaimRequest)
        -> Call<'a, Vec<RowResult<StoredAction>>>;

    fn record_many<'a>(&'a self, updates: &'a [ActionUpdate]) -> Call<'a, Vec<bool>>;

    fn record_failure<'a>(&'a self, failure: &'a FailedEffect) -> Call<'a, bool>;

    fn actions<'a>(&'a self, actor_id: &'a ActorId) -> Call<'a, Vec<RowResult<StoredAction>>>;

    fn find_command<'a>(
        &'a self,
        actor_id: &'a ActorId,
        command_id: &'a str,
    ) -> Call<'a, Option<StoredCommand>>;

    fn due_timers<'a>(&'a self, query: &'a TimerQuery) -> Call<'a, Vec<RowResult<DueTimer>>>;

    fn delete_actor<'a>(&'a self, actor_id: &'a ActorId) -> Call<'a, bool>;
}

impl<S: Store> ErasedStore for S {
    fn read<'a>(
        &'a self,
        actor_id: &'a ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> Call<'a, Vec<StoredEvent>> {
        Box::pin(Journal::read(self, actor_id, from, to, max))
    }

    fn read_after_many<'a>(
        &'a self,
        tails: &'a [(ActorId, u64)],
    ) -> Call<'a, Vec<RowResult<Vec<StoredEvent>>>> {
        Box::pin(Journal::read_after_many(self, tails))
    }

    fn load_latest<'a>(
        &'a self,
        actor_id: &'a ActorId,
        at_most: Option<u64>,
    ) -> Call<'a, Option<StoredSnapshot>> {
        Box::pin(SnapshotStore::load_latest(self, actor_id, at_most))
    }

    fn load_latest_many<'a>(
        &'a self,
        actor_ids: &'a [ActorId],
    ) -> Call<'a, Vec<RowResult<Option<StoredSnapshot>>>> {
        Box::pin(SnapshotStore::load_latest_many(self, actor_ids))
    }

    fn save_many<'a>(&'a self, snapshots: &'a [(ActorId, NewSnapshot)]) -> Call<'a, ()> {
        Box::pin(SnapshotStore::save_many(self, snapshots))
    }

    fn keep_last<'a>(&'a self, actor_id: &'a ActorId, keep: usize) -> Call<'a, u64> {
        Box::pin(SnapshotStore::keep_last(self, actor_id, keep))
    }

    fn delete_up_to<'a>(&'a self, actor_id: &'a ActorId, up_to: u64) -> Call<'a, u64> {
        Box::pin(Journal::delete_up_to(self, actor_id, up_to))
    }

    fn get<'a>(&'a self, actor_id: &'a ActorId) -> Call<'a, Option<ActorMetadata>> {
        Box::pin(Catalog::get(self, actor_id))
    }

    fn get_many<'a>(
        &'a self,
        actor_ids: &'a [ActorId],
    ) -> Call<'a, Vec<RowResult<Option<ActorMetadata>>>> {
        Box::pin(Catalog::get_many(self, actor_ids))
    }

    fn list<'a>(&'a self, query: &'a CatalogQuery) -> Call<'a, Vec<RowResult<ActorMetadata>>> {
        Box::pin(Catalog::list(self, query))
    }

    fn read_all<'a>(
        &'a self,
        after: GlobalPosition,
        max: usize,
        filter: &'a StreamFilter,
    ) -> Call<'a, StreamPage> {
        Box::pin(EventStream::read_all(self, after, max, filter))
    }

    fn stream_head(&self) -> Call<'_, GlobalPosition> {
        Box::pin(EventStream::stream_head(self))
    }

    fn commit_signal(&self) -> &CommitSignal {
        EventStream::commit_signal(self)
    }

    fn claim_due<'a>(
        &'a self,
        request: &'a ClaimRequest,
    ) -> Call<'a, Vec<RowResult<StoredAction>>> {
        Box::pin(Outbox::claim_due(self, request))
    }

    fn record_many<'a>(&'a self, updates: &'a [ActionUpdate]) -> Call<'a, Vec<bool>> {
        Box::pin(Outbox::record_many(self, updates))
    }

    fn record_failure<'a>(&'a self, failure: &'a FailedEffect) -> Call<'a, bool> {
        Box::pin(Outbox::record_failure(self, failure))
    }

    fn actions<'a>(&'a self, actor_id: &'a ActorId) -> Call<'a, Vec<RowResult<StoredAction>>> {
        Box::pin(Outbox::actions(self, actor_id))
    }

    fn find_command<'a>(
        &'a self,
        actor_id: &'a ActorId,
        command_id: &'a str,
    ) -> Call<'a, Option<StoredCommand>> {
        Box::pin(CommandLog::find_command(self, actor_id, command_id))
    }

    fn due_timers<'a>(&'a self, query: &'a TimerQuery) -> Call<'a, Vec<RowResult<DueTimer>>> {
        Box::pin(Catalog::due_timers(self, query))
    }

    fn delete_actor<'a>(&'a self, actor_id: &'a ActorId) -> Call<'a, bool> {
        Box::pin(Catalog::delete_actor(self, actor_id))
    }
}

//! The storage traits, implemented once for every SQL backend.
//!
//! A backend provides its pools, its deadline and the operations it does its own way
//! ([`SqlBackend`]); [`Journal`], [`SnapshotStore`] and [`Catalog`] follow, with every operation
//! under the backend's client-side deadline. No store operation of a SQL backend escapes it.
//!
//! Every id is checked against the storage rule before it reaches SQL, so a hostile id is the
//! same typed [`StoreError::InvalidId`] on every backend (Postgres would refuse a NUL with an
//! error of its own, SQLite would store it); in a bulk read it fails its own row alone.

use std::future::Future;

use sqlx::Pool;

use super::convert::bound_to_sql;
use super::deadline::Deadline;
use super::outbox::RelaxedWrite;
use super::stream::FilterParams;
use super::{
    catalog, checkpoints, commands, execute_in, failures, outbox, snapshots, stream, Dialect,
};
use crate::model::valid;
use crate::store::{
    check_name, ActionUpdate, CheckpointStore, ClaimRequest, CommandLog, CommitSignal, EventStream,
    FailedEffect, GlobalPosition, Outbox, RowResult, StoredAction, StoredCommand, StreamEntry,
    StreamFilter, StreamPage,
};
use crate::{
    ActorId, ActorMetadata, AppendRequest, BatchOutcome, Catalog, CatalogQuery, DueTimer, Journal,
    NewSnapshot, SnapshotStore, StoreError, StoredEvent, StoredSnapshot, TimerQuery,
};

/// A page of one actor's journal: the events with `from <= version <= to`, at most `max`.
#[derive(Clone, Copy, Debug)]
pub struct Page<'a> {
    /// The actor.
    pub actor_id: &'a ActorId,
    /// The first version.
    pub from: u64,
    /// The last version.
    pub to: u64,
    /// The most events.
    pub max: usize,
}

/// The bounds of one page of the global stream.
#[derive(Clone, Copy, Debug)]
pub struct StreamBounds<'a> {
    /// Events after this position.
    pub after: GlobalPosition,
    /// Events at or before this position (the horizon).
    pub through: GlobalPosition,
    /// The most events.
    pub max: usize,
    /// Which events.
    pub filter: &'a StreamFilter,
    /// The parameter numbers of the filter's lists.
    pub params: FilterParams,
}

/// What a SQL backend provides; the storage traits are derived from it.
pub trait SqlBackend: Send + Sync {
    /// The driver.
    type Db: Dialect;

    /// The pool reads run on.
    fn reader(&self) -> &Pool<Self::Db>;

    /// The pool writes run on.
    fn writer(&self) -> &Pool<Self::Db>;

    /// The deadline of every operation.
    fn deadline(&self) -> Deadline;

    /// The wake-up given after every commit that appended events.
    fn commit_signal(&self) -> &CommitSignal;

    /// One row of two integers: the stream's horizon, the greatest position such that every
    /// event at or before it is final (see `crate::sql::stream`).
    fn stream_horizon_sql() -> &'static str;

    /// The events after (`$1`, `$2`) and at or before (`$3`, `$4`), at most `$5`, passing the
    /// filters numbered in `params`, in stream order, as stream rows (`actor_id`, the event
    /// columns, the commit group).
    fn stream_page_sql(params: FilterParams) -> String;

    /// At most one row of two integers: the last event a reader can see now.
    fn stream_head_sql() -> &'static str;

    /// The page of [`stream_page_sql`](Self::stream_page_sql) with these bounds, read a faster
    /// way than row by row where the backend has one; `None` to read it row by row (also when
    /// a value does not decode: the row reader names it).
    fn stream_page_fast(
        &self,
        _page: StreamBounds<'_>,
    ) -> impl Future<Output = Result<Option<Vec<StreamEntry>>, StoreError>> + Send {
        async { Ok(None) }
    }

    /// See [`Journal::concurrent_batches`].
    fn concurrent_batches(&self) -> usize {
        1
    }

    /// See [`Journal::append_batch`].
    fn append_batch(
        &self,
        requests: &[AppendRequest],
    ) -> impl Future<Output = Result<BatchOutcome, StoreError>> + Send;

    /// See [`Journal::read`] (called with `from <= to` and `max > 0`).
    fn read(
        &self,
        page: Page<'_>,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// See [`Journal::read_after_many`] (called with at least one tail).
    fn read_after_many(
        &self,
        tails: &[(ActorId, u64)],
    ) -> impl Future<Output = Result<Vec<RowResult<Vec<StoredEvent>>>, StoreError>> + Send;

    /// See [`SnapshotStore::load_latest_many`] (called with at least one id).
    fn load_latest_many(
        &self,
        actor_ids: &[ActorId],
    ) -> impl Future<Output = Result<Vec<RowResult<Option<StoredSnapshot>>>, StoreError>> + Send;

    /// How the transactions that record ended attempts of durable actions are opened and
    /// closed: their commits need not be durable by themselves (see `crate::dispatch`).
    fn relaxed_write(&self) -> RelaxedWrite;

    /// Records ended attempts of durable actions (see [`Outbox::record_many`]; called with at
    /// least one update): in a [relaxed](Self::relaxed_write) transaction of their own, unless
    /// the backend has a cheaper way.
    fn record_attempts<'a>(
        &'a self,
        updates: &'a [ActionUpdate],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send + 'a {
        outbox::record_many(self.writer(), self.relaxed_write(), updates)
    }

    /// The statements that delete the events of actor `$1` with `version <= $2` (retention), run
    /// in order in one write transaction.
    fn delete_events_sql() -> Vec<String>;

    /// The statements that delete everything stored for actor `$1`, run in order in one write
    /// transaction.
    fn delete_actor_sql() -> Vec<String>;
}

/// Runs `statements` for `actor_id` (and `up_to` as `$2`, if given) in one write transaction;
/// returns how many rows they deleted.
async fn delete_in_one_transaction<DB: Dialect>(
    pool: &Pool<DB>,
    statements: Vec<String>,
    actor_id: &ActorId,
    up_to: Option<u64>,
) -> Result<u64, StoreError> {
    let mut tx = DB::begin_write(pool).await?;
    let mut deleted = 0;
    for sql in &statements {
        let mut query = DB::bind_text(sqlx::query(sql), actor_id.as_str());
        if let Some(up_to) = up_to {
            query = DB::bind_int(query, bound_to_sql(up_to));
        }
        deleted += execute_in(&mut tx, query).await?;
    }
    tx.commit().await?;
    Ok(deleted)
}

/// Runs a bulk query over the items whose id is valid, and answers the others with their
/// [`StoreError::InvalidId`], keeping the input order.
async fn bulk<I: Clone, T, Q, F>(
    items: &[I],
    id: impl Fn(&I) -> &ActorId,
    query: Q,
) -> Result<Vec<RowResult<T>>, StoreError>
where
    Q: FnOnce(Vec<I>) -> F,
    F: Future<Output = Result<Vec<RowResult<T>>, StoreError>>,
{
    let checks: Vec<Result<(), StoreError>> = items.iter().map(|item| valid(id(item))).collect();
    if checks.iter().all(Result::is_ok) {
        return query(items.to_vec()).await;
    }
    let valid_items: Vec<I> = items
        .iter()
        .zip(&checks)
        .filter(|(_, check)| check.is_ok())
        .map(|(item, _)| item.clone())
        .collect();
    let mut answers = if valid_items.is_empty() {
        Vec::new()
    } else {
        query(valid_items).await?
    }
    .into_iter();
    let mut results = Vec::with_capacity(items.len());
    for check in checks {
        match check {
            Ok(()) => match answers.next() {
                Some(answer) => results.push(answer),
                None => {
                    return Err(StoreError::Contract(
                        "a bulk query answered fewer items than asked".into(),
                    ))
                }
            },
            Err(invalid) => results.push(Err(invalid)),
        }
    }
    Ok(results)
}

impl<B: SqlBackend> Journal for B {
    async fn append_batch(&self, requests: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let outcome = self
            .deadline()
            .run("append", SqlBackend::append_batch(self, requests))
            .await?;
        if outcome.iter().any(Result::is_ok) {
            self.commit_signal().notify();
        }
        Ok(outcome)
    }

    fn concurrent_batches(&self) -> usize {
        SqlBackend::concurrent_batches(self)
    }

    async fn read(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        valid(actor_id)?;
        if from > to || max == 0 {
            return Ok(Vec::new());
        }
        let page = Page {
            actor_id,
            from,
            to,
            max,
        };
        self.deadline()
            .run("read", SqlBackend::read(self, page))
            .await
    }

    async fn read_after_many(
        &self,
        tails: &[(ActorId, u64)],
    ) -> Result<Vec<RowResult<Vec<StoredEvent>>>, StoreError> {
        if tails.is_empty() {
            return Ok(Vec::new());
        }
        let read = bulk(
            tails,
            |(actor_id, _)| actor_id,
            |tails| async move { SqlBackend::read_after_many(self, &tails).await },
        );
        self.deadline().run("read tails", read).await
    }

    async fn head(&self, actor_id: &ActorId) -> Result<u64, StoreError> {
        valid(actor_id)?;
        self.deadline()
            .run("head", catalog::head(self.reader(), actor_id))
            .await
    }

    async fn delete_up_to(&self, actor_id: &ActorId, up_to: u64) -> Result<u64, StoreError> {
        valid(actor_id)?;
        let delete = delete_in_one_transaction(
            self.writer(),
            Self::delete_events_sql(),
            actor_id,
            Some(up_to),
        );
        self.deadline().run("delete events", delete).await
    }
}

impl<B: SqlBackend> SnapshotStore for B {
    async fn save(&self, actor_id: &ActorId, snapshot: NewSnapshot) -> Result<(), StoreError> {
        self.save_many(&[(actor_id.clone(), snapshot)]).await
    }

    async fn save_many(&self, snapshots: &[(ActorId, NewSnapshot)]) -> Result<(), StoreError> {
        for (actor_id, _) in snapshots {
            valid(actor_id)?;
        }
        self.deadline()
            .run(
                "save snapshots",
                snapshots::save_many(self.writer(), snapshots),
            )
            .await
    }

    async fn load_latest(
        &self,
        actor_id: &ActorId,
        at_most: Option<u64>,
    ) -> Result<Option<StoredSnapshot>, StoreError> {
        valid(actor_id)?;
        self.deadline()
            .run(
                "load snapshot",
                snapshots::load_latest(self.reader(), actor_id, at_most),
            )
            .await
    }

    async fn load_latest_many(
        &self,
        actor_ids: &[ActorId],
    ) -> Result<Vec<RowResult<Option<StoredSnapshot>>>, StoreError> {
        if actor_ids.is_empty() {
            return Ok(Vec::new());
        }
        let read = bulk(
            actor_ids,
            |actor_id| actor_id,
            |actor_ids| async move { SqlBackend::load_latest_many(self, &actor_ids).await },
        );
        self.deadline().run("load snapshots", read).await
    }

    async fn delete_range(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
    ) -> Result<u64, StoreError> {
        valid(actor_id)?;
        self.deadline()
            .run(
                "delete snapshots",
                snapshots::delete_range(self.writer(), actor_id, from, to),
            )
            .await
    }

    async fn keep_last(&self, actor_id: &ActorId, keep: usize) -> Result<u64, StoreError> {
        valid(actor_id)?;
        self.deadline()
            .run(
                "delete snapshots",
                snapshots::keep_last(self.writer(), actor_id, keep),
            )
            .await
    }
}

impl<B: SqlBackend> Catalog for B {
    async fn get(&self, actor_id: &ActorId) -> Result<Option<ActorMetadata>, StoreError> {
        valid(actor_id)?;
        self.deadline()
            .run("get actor", catalog::get(self.reader(), actor_id))
            .await
    }

    async fn get_many(
        &self,
        actor_ids: &[ActorId],
    ) -> Result<Vec<RowResult<Option<ActorMetadata>>>, StoreError> {
        if actor_ids.is_empty() {
            return Ok(Vec::new());
        }
        let read = bulk(
            actor_ids,
            |actor_id| actor_id,
            |actor_ids| async move { catalog::get_many(self.reader(), &actor_ids).await },
        );
        self.deadline().run("get actors", read).await
    }

    async fn list(
        &self,
        query: &CatalogQuery,
    ) -> Result<Vec<RowResult<ActorMetadata>>, StoreError> {
        self.deadline()
            .run("list actors", catalog::list(self.reader(), query))
            .await
    }

    async fn due_timers(&self, query: &TimerQuery) -> Result<Vec<RowResult<DueTimer>>, StoreError> {
        self.deadline()
            .run("read due timers", catalog::due_timers(self.reader(), query))
            .await
    }

    async fn delete_actor(&self, actor_id: &ActorId) -> Result<bool, StoreError> {
        valid(actor_id)?;
        let delete =
            delete_in_one_transaction(self.writer(), Self::delete_actor_sql(), actor_id, None);
        Ok(self.deadline().run("delete actor", delete).await? > 0)
    }
}

impl<B: SqlBackend> EventStream for B {
    async fn read_all(
        &self,
        after: GlobalPosition,
        max: usize,
        filter: &StreamFilter,
    ) -> Result<StreamPage, StoreError> {
        self.deadline()
            .run("read stream", stream::read_all(self, after, max, filter))
            .await
    }

    async fn stream_head(&self) -> Result<GlobalPosition, StoreError> {
        self.deadline().run("stream head", stream::head(self)).await
    }

    fn commit_signal(&self) -> &CommitSignal {
        SqlBackend::commit_signal(self)
    }
}

impl<B: SqlBackend> CheckpointStore for B {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<GlobalPosition>, StoreError> {
        check_name(name)?;
        self.deadline()
            .run("load checkpoint", checkpoints::load(self.reader(), name))
            .await
    }

    async fn save_checkpoint(&self, name: &str, at: GlobalPosition) -> Result<(), StoreError> {
        check_name(name)?;
        self.deadline()
            .run(
                "save checkpoint",
                checkpoints::save(self.writer(), name, at),
            )
            .await
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<bool, StoreError> {
        check_name(name)?;
        self.deadline()
            .run(
                "delete checkpoint",
                checkpoints::delete(self.writer(), name),
            )
            .await
    }
}

impl<B: SqlBackend> Outbox for B {
    async fn claim_due(
        &self,
        request: &ClaimRequest,
    ) -> Result<Vec<RowResult<StoredAction>>, StoreError> {
        self.deadline()
            .run("claim actions", outbox::claim_due(self.writer(), request))
            .await
    }

    async fn record(&self, update: &ActionUpdate) -> Result<bool, StoreError> {
        let applied = self.record_many(std::slice::from_ref(update)).await?;
        Ok(applied.first().copied().unwrap_or(false))
    }

    async fn record_many(&self, updates: &[ActionUpdate]) -> Result<Vec<bool>, StoreError> {
        for update in updates {
            valid(&update.key.actor_id)?;
        }
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        self.deadline()
            .run("record actions", self.record_attempts(updates))
            .await
    }

    async fn record_failure(&self, failure: &FailedEffect) -> Result<bool, StoreError> {
        valid(&failure.key.actor_id)?;
        self.deadline()
            .run(
                "record failed effect",
                failures::record(self.writer(), failure),
            )
            .await
    }

    async fn actions(
        &self,
        actor_id: &ActorId,
    ) -> Result<Vec<RowResult<StoredAction>>, StoreError> {
        valid(actor_id)?;
        self.deadline()
            .run("read actions", outbox::of_actor(self.reader(), actor_id))
            .await
    }
}

impl<B: SqlBackend> CommandLog for B {
    async fn find_command(
        &self,
        actor_id: &ActorId,
        command_id: &str,
    ) -> Result<Option<StoredCommand>, StoreError> {
        valid(actor_id)?;
        self.deadline()
            .run(
                "find command",
                commands::find(self.reader(), actor_id, command_id),
            )
            .await
    }
}

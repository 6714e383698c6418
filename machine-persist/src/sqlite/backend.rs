//! [`SqliteStore`] as a [`SqlBackend`]: what SQLite does its own way. The storage traits follow
//! from it (see `crate::sql::backend`).

use std::future::Future;

use sqlx::{Pool, Sqlite};

use super::append_thread;
use super::reads::RECENT_OF_ACTOR;
use super::SqliteStore;
use crate::sql::backend::{Page, SqlBackend, StreamBounds};
use crate::sql::deadline::Deadline;
use crate::sql::decode::EVENT_COLUMNS;
use crate::sql::outbox::RelaxedWrite;
use crate::sql::stream::FilterParams;
use crate::store::{ActionUpdate, CommitSignal, RowResult, StreamEntry};
use crate::{ActorId, AppendRequest, BatchOutcome, StoreError, StoredEvent, StoredSnapshot};

impl SqlBackend for SqliteStore {
    type Db = Sqlite;

    /// The read pool: readers never block the writer (WAL).
    fn reader(&self) -> &Pool<Sqlite> {
        &self.reader
    }

    /// The one write connection: every write of this store serialises on it.
    fn writer(&self) -> &Pool<Sqlite> {
        &self.writer
    }

    fn deadline(&self) -> Deadline {
        self.deadline
    }

    fn commit_signal(&self) -> &CommitSignal {
        &self.commits
    }

    fn relaxed_write(&self) -> RelaxedWrite {
        self.relaxed
    }

    /// With the next append while appends are flowing (see [`records`](super::records)).
    fn record_attempts<'a>(
        &'a self,
        updates: &'a [ActionUpdate],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send + 'a {
        self.record_with_appends(updates)
    }

    /// Positions are assigned under the write lock, which a transaction holds until it commits:
    /// the last position assigned is final as soon as it is visible.
    fn stream_horizon_sql() -> &'static str {
        "SELECT 0, last_position FROM journal_state"
    }

    /// Both levels of the journal, each read by position (an index of `events`, the key of
    /// `recent_events`), merged. A merge moves rows between the levels in one transaction with
    /// their positions, so a read sees each row exactly once. The commit group is always 0.
    ///
    /// One compound `SELECT` with the `ORDER BY`: SQLite then merges the two index-ordered
    /// scans as they come, stopping at the limit. (Each level as an ordered subquery would be
    /// sorted again in a temporary b-tree before the merge.)
    fn stream_page_sql(params: FilterParams) -> String {
        let filters = params.conditions::<Sqlite>();
        let level = |table: &str| {
            format!(
                "SELECT actor_id, {EVENT_COLUMNS}, 0 AS commit_tx FROM {table}
                 WHERE $1 = 0 AND $3 = 0 AND position > $2 AND position <= $4{filters}"
            )
        };
        format!(
            "{} UNION ALL {} ORDER BY position LIMIT $5",
            level("events"),
            level("recent_events")
        )
    }

    fn stream_head_sql() -> &'static str {
        "SELECT 0, last_position FROM journal_state"
    }

    /// Packed values, a large page's two halves read at once (see `sqlite::stream`).
    async fn stream_page_fast(
        &self,
        page: StreamBounds<'_>,
    ) -> Result<Option<Vec<StreamEntry>>, StoreError> {
        self.stream_page_split(page).await
    }

    /// Driven from the appends' own thread (see `sqlite::append_thread`).
    async fn append_batch(&self, requests: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        let store = self.clone();
        let requests = requests.to_vec();
        append_thread::drive(async move { store.decide_and_write(&requests).await }).await
    }

    /// Fast as one packed value; a page with anything that does not decode is read again row by
    /// row, which names the actor, version and column of the bad value.
    async fn read(&self, page: Page<'_>) -> Result<Vec<StoredEvent>, StoreError> {
        match self.page_packed(page).await {
            Ok(Some(events)) => Ok(events),
            Ok(None) | Err(_) => self.page_by_rows(page).await,
        }
    }

    async fn read_after_many(
        &self,
        tails: &[(ActorId, u64)],
    ) -> Result<Vec<RowResult<Vec<StoredEvent>>>, StoreError> {
        self.tails_of(tails).await
    }

    async fn load_latest_many(
        &self,
        actor_ids: &[ActorId],
    ) -> Result<Vec<RowResult<Option<StoredSnapshot>>>, StoreError> {
        self.latest_snapshots_of(actor_ids).await
    }

    /// Both levels; unmerged events are found through the registry row. An event a registered
    /// projection has not passed stays (the commit group is always 0 here).
    fn delete_events_sql() -> Vec<String> {
        let passed = |table: &str| {
            format!(
                "NOT EXISTS (SELECT 1 FROM projection_checkpoints AS c
                             WHERE c.position < {table}.position)"
            )
        };
        vec![
            format!(
                "DELETE FROM recent_events WHERE {RECENT_OF_ACTOR} AND version <= $2 AND {}",
                passed("recent_events")
            ),
            format!(
                "DELETE FROM events WHERE actor_id = $1 AND version <= $2 AND {}",
                passed("events")
            ),
        ]
    }

    /// Unmerged events are found through the registry row, so they go first.
    fn delete_actor_sql() -> Vec<String> {
        vec![
            format!("DELETE FROM recent_events WHERE {RECENT_OF_ACTOR}"),
            "DELETE FROM events WHERE actor_id = $1".into(),
            "DELETE FROM snapshots WHERE actor_id = $1".into(),
            "DELETE FROM recent_actions WHERE actor_id = $1".into(),
            "DELETE FROM durable_actions WHERE actor_id = $1".into(),
            "DELETE FROM commands WHERE actor_id = $1".into(),
            "DELETE FROM actors WHERE actor_id = $1".into(),
        ]
    }
}

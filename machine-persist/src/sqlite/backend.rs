//! [`SqliteStore`] as a [`SqlBackend`]: what SQLite does its own way. The storage traits follow
//! from it (see `crate::sql::backend`).

use sqlx::{Pool, Sqlite};

use super::reads::RECENT_OF_ACTOR;
use super::SqliteStore;
use crate::sql::backend::{Page, SqlBackend};
use crate::sql::deadline::Deadline;
use crate::store::RowResult;
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

    async fn append_batch(&self, requests: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        self.decide_and_write(requests).await
    }

    /// Fast as one JSON value; a page with anything that does not decode (or that SQLite cannot
    /// put into JSON) is read again row by row, which names the actor, version and column of the
    /// bad value.
    async fn read(&self, page: Page<'_>) -> Result<Vec<StoredEvent>, StoreError> {
        match self.page_as_json(page).await {
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

    /// Both levels; unmerged events are found through the registry row.
    fn delete_events_sql() -> Vec<String> {
        vec![
            format!("DELETE FROM recent_events WHERE {RECENT_OF_ACTOR} AND version <= $2"),
            "DELETE FROM events WHERE actor_id = $1 AND version <= $2".into(),
        ]
    }

    /// Unmerged events are found through the registry row, so they go first.
    fn delete_actor_sql() -> Vec<String> {
        vec![
            format!("DELETE FROM recent_events WHERE {RECENT_OF_ACTOR}"),
            "DELETE FROM events WHERE actor_id = $1".into(),
            "DELETE FROM snapshots WHERE actor_id = $1".into(),
            "DELETE FROM durable_actions WHERE actor_id = $1".into(),
            "DELETE FROM commands WHERE actor_id = $1".into(),
            "DELETE FROM actors WHERE actor_id = $1".into(),
        ]
    }
}

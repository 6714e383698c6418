//! [`SqliteStore`] as a [`SqlBackend`]: what SQLite does its own way. The storage traits follow
//! from it (see `crate::sql::backend`).

use sqlx::{Pool, Sqlite};

use super::reads::RECENT_OF_ACTOR;
use super::SqliteStore;
use crate::sql::backend::SqlBackend;
use crate::sql::convert::bound_to_sql;
use crate::sql::deadline::Deadline;
use crate::sql::{execute_in, Dialect, SqlDatabase};
use crate::store::RowResult;
use crate::{ActorId, AppendRequest, BatchOutcome, StoreError, StoredEvent};

impl SqlBackend for SqliteStore {
    type Db = Sqlite;

    fn reader(&self) -> &Pool<Sqlite> {
        &self.reader
    }

    fn writer(&self) -> &Pool<Sqlite> {
        &self.writer
    }

    fn deadline(&self) -> Deadline {
        self.deadline
    }

    async fn append_batch(&self, requests: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        self.append_batch_impl(requests).await
    }

    async fn read(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_page(actor_id, from, to, max).await
    }

    async fn read_after_many(
        &self,
        tails: &[(ActorId, u64)],
    ) -> Result<Vec<RowResult<Vec<StoredEvent>>>, StoreError> {
        self.read_tails(tails).await
    }

    /// Both levels, in one write transaction; unmerged events are found through the registry
    /// row.
    async fn delete_up_to(&self, actor_id: &ActorId, up_to: u64) -> Result<u64, StoreError> {
        let recent = format!("DELETE FROM recent_events WHERE {RECENT_OF_ACTOR} AND version <= $2");
        let mut tx = Sqlite::begin_write(&self.writer).await?;
        let mut deleted = 0;
        for sql in [
            recent.as_str(),
            "DELETE FROM events WHERE actor_id = $1 AND version <= $2",
        ] {
            let query = Sqlite::bind_text(sqlx::query(sql), actor_id.as_str());
            deleted += execute_in(&mut tx, Sqlite::bind_int(query, bound_to_sql(up_to))).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Unmerged events are found through the registry row, so they go first.
    async fn delete_actor(&self, actor_id: &ActorId) -> Result<bool, StoreError> {
        let recent = format!("DELETE FROM recent_events WHERE {RECENT_OF_ACTOR}");
        let mut tx = Sqlite::begin_write(&self.writer).await?;
        let mut deleted = 0;
        for sql in [
            recent.as_str(),
            "DELETE FROM events WHERE actor_id = $1",
            "DELETE FROM snapshots WHERE actor_id = $1",
            "DELETE FROM actors WHERE actor_id = $1",
        ] {
            let query = Sqlite::bind_text(sqlx::query(sql), actor_id.as_str());
            deleted += execute_in(&mut tx, query).await?;
        }
        tx.commit().await?;
        Ok(deleted > 0)
    }
}

//! [`PostgresStore`] as a [`SqlBackend`]: what Postgres does its own way. The storage traits
//! follow from it (see `crate::sql::backend`).

use sqlx::{Pool, Postgres};

use super::PostgresStore;
use crate::sql::backend::SqlBackend;
use crate::sql::convert::bound_to_sql;
use crate::sql::deadline::Deadline;
use crate::sql::{execute, execute_in, Dialect, SqlDatabase};
use crate::store::RowResult;
use crate::{ActorId, AppendRequest, BatchOutcome, StoreError, StoredEvent};

impl SqlBackend for PostgresStore {
    type Db = Postgres;

    fn reader(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn writer(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn deadline(&self) -> Deadline {
        self.deadline
    }

    fn concurrent_batches(&self) -> usize {
        self.concurrent_batches
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

    async fn delete_up_to(&self, actor_id: &ActorId, up_to: u64) -> Result<u64, StoreError> {
        let query = Postgres::bind_text(
            sqlx::query("DELETE FROM events WHERE actor_id = $1 AND version <= $2"),
            actor_id.as_str(),
        );
        Ok(execute(Postgres::bind_int(query, bound_to_sql(up_to)), &self.pool).await?)
    }

    /// The registry row first: deleting it locks the actor against concurrent appends.
    async fn delete_actor(&self, actor_id: &ActorId) -> Result<bool, StoreError> {
        let mut tx = Postgres::begin_write(&self.pool).await?;
        let mut deleted = 0;
        for sql in [
            "DELETE FROM actors WHERE actor_id = $1",
            "DELETE FROM events WHERE actor_id = $1",
            "DELETE FROM snapshots WHERE actor_id = $1",
        ] {
            let query = Postgres::bind_text(sqlx::query(sql), actor_id.as_str());
            deleted += execute_in(&mut tx, query).await?;
        }
        tx.commit().await?;
        Ok(deleted > 0)
    }
}

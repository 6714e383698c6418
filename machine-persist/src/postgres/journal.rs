//! [`Journal`] for [`PostgresStore`].

use futures::{StreamExt, TryStreamExt};
use sqlx::Row;

use super::rows::{self, EVENT_COLUMNS, EVENT_COLUMN_COUNT};
use super::PostgresStore;
use crate::convert::{bound_to_sql, count_to_sql, version_from_sql};
use crate::{id_str, ActorId, AppendRequest, BatchOutcome, Journal, StoreError, StoredEvent};

impl Journal for PostgresStore {
    async fn append_batch(&self, requests: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        self.append_batch_impl(requests).await
    }

    fn concurrent_batches(&self) -> usize {
        self.concurrent_batches
    }

    async fn read(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if from > to || max == 0 {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE actor_id = $1 AND version >= $2 AND version <= $3
             ORDER BY version LIMIT $4"
        );
        // Rows are decoded as they arrive, while the server is still sending the rest.
        sqlx::query(&sql)
            .bind(id_str(actor_id))
            .bind(bound_to_sql(from))
            .bind(bound_to_sql(to))
            .bind(count_to_sql(max))
            .fetch(&self.pool)
            .map(|row| rows::event(&row?, actor_id))
            .try_collect()
            .await
    }

    /// One query for every tail: the events are joined to the `(actor, after)` pairs, so each
    /// actor's tail is an index range scan.
    async fn read_after_many(
        &self,
        tails: &[(ActorId, u64)],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if tails.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = tails.iter().map(|(actor_id, _)| id_str(actor_id)).collect();
        let after: Vec<i64> = tails
            .iter()
            .map(|&(_, after)| bound_to_sql(after))
            .collect();
        let sql = format!(
            "SELECT {EVENT_COLUMNS}, t.ord
             FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS t(tail_actor, after, ord)
             JOIN events ON events.actor_id = t.tail_actor AND events.version > t.after
             ORDER BY t.ord, events.version"
        );
        sqlx::query(&sql)
            .bind(&ids)
            .bind(&after)
            .fetch(&self.pool)
            .map(|row| {
                let row = row?;
                let actor_id = rows::ordinal(&row, EVENT_COLUMN_COUNT, tails)?;
                rows::event(&row, &actor_id.0)
            })
            .try_collect()
            .await
    }

    async fn head(&self, actor_id: &ActorId) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT head_version FROM actors WHERE actor_id = $1")
            .bind(id_str(actor_id))
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => version_from_sql(actor_id, None, "head_version", row.try_get(0)?),
            None => Ok(0),
        }
    }

    async fn delete_up_to(&self, actor_id: &ActorId, up_to: u64) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM events WHERE actor_id = $1 AND version <= $2")
            .bind(id_str(actor_id))
            .bind(bound_to_sql(up_to))
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }
}

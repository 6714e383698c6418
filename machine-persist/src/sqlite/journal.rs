//! [`Journal`] for [`SqliteStore`].

use sqlx::Row;

use super::rows::{self, EVENT_COLUMNS};
use super::SqliteStore;
use crate::convert::{bound_to_sql, count_to_sql, version_from_sql};
use crate::{id_str, ActorId, AppendRequest, BatchOutcome, Journal, StoreError, StoredEvent};

impl Journal for SqliteStore {
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
        if from > to || max == 0 {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE actor_id = ?1 AND version >= ?2 AND version <= ?3
             ORDER BY version LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(id_str(actor_id))
            .bind(bound_to_sql(from))
            .bind(bound_to_sql(to))
            .bind(count_to_sql(max))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(|row| rows::event(row, actor_id)).collect()
    }

    async fn head(&self, actor_id: &ActorId) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT head_version FROM actors WHERE actor_id = ?1")
            .bind(id_str(actor_id))
            .fetch_optional(&self.reader)
            .await?;
        match row {
            Some(row) => version_from_sql(actor_id, None, "head_version", row.try_get(0)?),
            None => Ok(0),
        }
    }

    async fn delete_up_to(&self, actor_id: &ActorId, up_to: u64) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM events WHERE actor_id = ?1 AND version <= ?2")
            .bind(id_str(actor_id))
            .bind(bound_to_sql(up_to))
            .execute(&self.writer)
            .await?;
        Ok(result.rows_affected())
    }
}

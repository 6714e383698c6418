//! [`SnapshotStore`] for [`SqliteStore`].

use super::append::{snapshot_row, UPSERT_SNAPSHOTS};
use super::rows::{self, time_text, SNAPSHOT_COLUMNS};
use super::SqliteStore;
use crate::convert::{bound_to_sql, count_to_sql};
use crate::model::time;
use crate::{id_str, ActorId, NewSnapshot, SnapshotStore, StoreError, StoredSnapshot};

impl SnapshotStore for SqliteStore {
    async fn save(&self, actor_id: &ActorId, snapshot: NewSnapshot) -> Result<(), StoreError> {
        let row = snapshot_row(id_str(actor_id), actor_id, &snapshot)?;
        sqlx::query(UPSERT_SNAPSHOTS)
            .bind(serde_json::to_string(&[row])?)
            .bind(time_text(time::now()))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn load_latest(
        &self,
        actor_id: &ActorId,
        at_most: Option<u64>,
    ) -> Result<Option<StoredSnapshot>, StoreError> {
        let sql = format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM snapshots
             WHERE actor_id = ?1 AND version <= ?2
             ORDER BY version DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(id_str(actor_id))
            .bind(bound_to_sql(at_most.unwrap_or(u64::MAX)))
            .fetch_optional(&self.reader)
            .await?;
        row.map(|row| rows::snapshot(&row, actor_id)).transpose()
    }

    async fn delete_range(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
    ) -> Result<u64, StoreError> {
        if from > to {
            return Ok(0);
        }
        let result = sqlx::query(
            "DELETE FROM snapshots WHERE actor_id = ?1 AND version >= ?2 AND version <= ?3",
        )
        .bind(id_str(actor_id))
        .bind(bound_to_sql(from))
        .bind(bound_to_sql(to))
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }

    async fn keep_last(&self, actor_id: &ActorId, keep: usize) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM snapshots WHERE actor_id = ?1 AND version NOT IN (
                 SELECT version FROM snapshots WHERE actor_id = ?1
                 ORDER BY version DESC LIMIT ?2)",
        )
        .bind(id_str(actor_id))
        .bind(count_to_sql(keep))
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }
}

//! [`SnapshotStore`] for [`PostgresStore`].

use futures::{StreamExt, TryStreamExt};

use super::rows::{self, SNAPSHOT_COLUMNS, SNAPSHOT_COLUMN_COUNT};
use super::PostgresStore;
use crate::convert::{bound_to_sql, count_to_sql, version_to_sql};
use crate::model::time;
use crate::{id_str, ActorId, NewSnapshot, SnapshotStore, StoreError, StoredSnapshot};

impl SnapshotStore for PostgresStore {
    async fn save(&self, actor_id: &ActorId, snapshot: NewSnapshot) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO snapshots
                 (actor_id, version, state_tag, schema_version, payload, entered_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, now())
             ON CONFLICT (actor_id, version) DO UPDATE SET
                 state_tag = excluded.state_tag,
                 schema_version = excluded.schema_version,
                 payload = excluded.payload,
                 entered_at = excluded.entered_at,
                 created_at = excluded.created_at",
        )
        .bind(id_str(actor_id))
        .bind(version_to_sql(actor_id, snapshot.version)?)
        .bind(&snapshot.state_tag)
        .bind(i64::from(snapshot.schema_version))
        .bind(&snapshot.payload)
        .bind(time::to_micros(snapshot.entered_at))
        .execute(&self.pool)
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
             WHERE actor_id = $1 AND version <= $2
             ORDER BY version DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(id_str(actor_id))
            .bind(bound_to_sql(at_most.unwrap_or(u64::MAX)))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| rows::snapshot(&row, actor_id)).transpose()
    }

    /// One query for every actor: each actor's latest snapshot is one backward index probe.
    async fn load_latest_many(
        &self,
        actor_ids: &[ActorId],
    ) -> Result<Vec<StoredSnapshot>, StoreError> {
        if actor_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = actor_ids.iter().map(id_str).collect();
        let sql = format!(
            "SELECT latest.*, t.ord
             FROM unnest($1::text[]) WITH ORDINALITY AS t(wanted, ord)
             CROSS JOIN LATERAL (
                 SELECT {SNAPSHOT_COLUMNS} FROM snapshots
                 WHERE snapshots.actor_id = t.wanted
                 ORDER BY version DESC LIMIT 1) AS latest
             ORDER BY t.ord"
        );
        sqlx::query(&sql)
            .bind(&ids)
            .fetch(&self.pool)
            .map(|row| {
                let row = row?;
                let actor_id = rows::ordinal(&row, SNAPSHOT_COLUMN_COUNT, actor_ids)?;
                rows::snapshot(&row, actor_id)
            })
            .try_collect()
            .await
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
            "DELETE FROM snapshots WHERE actor_id = $1 AND version >= $2 AND version <= $3",
        )
        .bind(id_str(actor_id))
        .bind(bound_to_sql(from))
        .bind(bound_to_sql(to))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    async fn keep_last(&self, actor_id: &ActorId, keep: usize) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM snapshots WHERE actor_id = $1 AND version NOT IN (
                 SELECT version FROM snapshots WHERE actor_id = $1
                 ORDER BY version DESC LIMIT $2)",
        )
        .bind(id_str(actor_id))
        .bind(count_to_sql(keep))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }
}

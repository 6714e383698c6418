//! [`Registry`] for [`SqliteStore`].

use sqlx::{QueryBuilder, Sqlite};

use super::journal::RECENT_OF_ACTOR;
use super::rows::{self, time_text, ACTOR_COLUMNS};
use super::SqliteStore;
use crate::convert::count_to_sql;
use crate::model::time;
use crate::{id_str, ActorFilter, ActorId, ActorMetadata, Registry, StoreError};

impl Registry for SqliteStore {
    async fn get(&self, actor_id: &ActorId) -> Result<Option<ActorMetadata>, StoreError> {
        let sql = format!("SELECT {ACTOR_COLUMNS} FROM actors WHERE actor_id = ?1");
        let row = sqlx::query(&sql)
            .bind(id_str(actor_id))
            .fetch_optional(&self.reader)
            .await?;
        row.map(|row| rows::actor(&row)).transpose()
    }

    async fn list(&self, filter: &ActorFilter) -> Result<Vec<ActorMetadata>, StoreError> {
        let mut query =
            QueryBuilder::<Sqlite>::new(format!("SELECT {ACTOR_COLUMNS} FROM actors WHERE true"));
        if let Some(machine_type) = &filter.machine_type {
            query.push(" AND machine_type = ").push_bind(machine_type);
        }
        if let Some(tags) = &filter.state_in {
            query
                .push(" AND state_tag IN (SELECT value FROM json_each(")
                .push_bind(serde_json::to_string(tags)?)
                .push("))");
        }
        if !filter.state_not_in.is_empty() {
            query
                .push(" AND state_tag NOT IN (SELECT value FROM json_each(")
                .push_bind(serde_json::to_string(&filter.state_not_in)?)
                .push("))");
        }
        if let Some(at) = filter.updated_before {
            query
                .push(" AND last_activity < ")
                .push_bind(time_text(time::to_micros(at)));
        }
        if let Some(at) = filter.updated_after {
            query
                .push(" AND last_activity > ")
                .push_bind(time_text(time::to_micros(at)));
        }
        if let Some(after) = &filter.after {
            query.push(" AND actor_id > ").push_bind(id_str(after));
        }
        query.push(" ORDER BY actor_id");
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(count_to_sql(limit));
        }
        let rows = query.build().fetch_all(&self.reader).await?;
        rows.iter().map(rows::actor).collect()
    }

    async fn delete_actor(&self, actor_id: &ActorId) -> Result<bool, StoreError> {
        let id = id_str(actor_id);
        // Unmerged events are found through the registry row, so they go first.
        let recent = format!("DELETE FROM recent_events WHERE {RECENT_OF_ACTOR}");
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut deleted = 0;
        for sql in [
            recent.as_str(),
            "DELETE FROM events WHERE actor_id = ?1",
            "DELETE FROM snapshots WHERE actor_id = ?1",
            "DELETE FROM actors WHERE actor_id = ?1",
        ] {
            deleted += sqlx::query(sql)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted > 0)
    }
}

//! [`Registry`] for [`PostgresStore`].

use sqlx::{Acquire, Postgres, QueryBuilder};

use super::rows::{self, ACTOR_COLUMNS};
use super::PostgresStore;
use crate::convert::count_to_sql;
use crate::model::time;
use crate::{id_str, ActorFilter, ActorId, ActorMetadata, Registry, StoreError};

impl Registry for PostgresStore {
    async fn get(&self, actor_id: &ActorId) -> Result<Option<ActorMetadata>, StoreError> {
        let sql = format!("SELECT {ACTOR_COLUMNS} FROM actors WHERE actor_id = $1");
        let row = sqlx::query(&sql)
            .bind(id_str(actor_id))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| rows::actor(&row)).transpose()
    }

    async fn list(&self, filter: &ActorFilter) -> Result<Vec<ActorMetadata>, StoreError> {
        let mut query =
            QueryBuilder::<Postgres>::new(format!("SELECT {ACTOR_COLUMNS} FROM actors WHERE true"));
        if let Some(machine_type) = &filter.machine_type {
            query.push(" AND machine_type = ").push_bind(machine_type);
        }
        if let Some(tags) = &filter.state_in {
            query
                .push(" AND state_tag = ANY(")
                .push_bind(tags)
                .push(")");
        }
        if !filter.state_not_in.is_empty() {
            query
                .push(" AND state_tag <> ALL(")
                .push_bind(&filter.state_not_in)
                .push(")");
        }
        if let Some(at) = filter.updated_before {
            query
                .push(" AND last_activity < ")
                .push_bind(time::to_micros(at));
        }
        if let Some(at) = filter.updated_after {
            query
                .push(" AND last_activity > ")
                .push_bind(time::to_micros(at));
        }
        if let Some(after) = &filter.after {
            query.push(" AND actor_id > ").push_bind(id_str(after));
        }
        query.push(" ORDER BY actor_id");
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(count_to_sql(limit));
        }
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(rows::actor).collect()
    }

    async fn delete_actor(&self, actor_id: &ActorId) -> Result<bool, StoreError> {
        let id = id_str(actor_id);
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let mut deleted = 0;
        // The registry row first: it locks the actor against concurrent appends.
        for sql in [
            "DELETE FROM actors WHERE actor_id = $1",
            "DELETE FROM events WHERE actor_id = $1",
            "DELETE FROM snapshots WHERE actor_id = $1",
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

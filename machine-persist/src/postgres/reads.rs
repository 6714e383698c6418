//! Reading the journal of [`PostgresStore`]: pages of one actor, and the tails of many.

use futures::{StreamExt, TryStreamExt};
use sqlx::Postgres;

use super::PostgresStore;
use crate::sql::backend::Page;
use crate::sql::convert::{bound_to_sql, count_to_sql};
use crate::sql::decode::{self, EVENT_COLUMNS, EVENT_COLUMN_COUNT};
use crate::store::RowResult;
use crate::{ActorId, StoreError, StoredEvent};

impl PostgresStore {
    /// A page of one actor's events; rows are decoded as they arrive, while the server is still
    /// sending the rest.
    pub(super) async fn page_streamed(
        &self,
        page: Page<'_>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE actor_id = $1 AND version >= $2 AND version <= $3
             ORDER BY version LIMIT $4"
        );
        sqlx::query(&sql)
            .bind(page.actor_id.as_str())
            .bind(bound_to_sql(page.from))
            .bind(bound_to_sql(page.to))
            .bind(count_to_sql(page.max))
            .fetch(&self.pool)
            .map(|row| decode::event::<Postgres>(&row?, page.actor_id, 0))
            .try_collect()
            .await
    }

    /// One query for every tail: the events are joined to the `(actor, after)` pairs, so each
    /// actor's tail is an index range scan. A bad row fails its actor alone.
    pub(super) async fn tails_joined(
        &self,
        tails: &[(ActorId, u64)],
    ) -> Result<Vec<RowResult<Vec<StoredEvent>>>, StoreError> {
        let ids: Vec<&str> = tails
            .iter()
            .map(|(actor_id, _)| actor_id.as_str())
            .collect();
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
        let mut found: Vec<RowResult<Vec<StoredEvent>>> =
            tails.iter().map(|_| Ok(Vec::new())).collect();
        let mut rows = sqlx::query(&sql).bind(&ids).bind(&after).fetch(&self.pool);
        while let Some(row) = rows.next().await {
            let row = row?;
            let at = decode::ordinal::<Postgres>(&row, EVENT_COLUMN_COUNT, tails.len())?;
            let Ok(events) = &mut found[at] else {
                continue;
            };
            match decode::event::<Postgres>(&row, &tails[at].0, 0) {
                Ok(event) => events.push(event),
                Err(error) => found[at] = Err(error),
            }
        }
        Ok(found)
    }
}

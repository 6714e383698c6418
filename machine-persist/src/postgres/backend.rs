//! [`PostgresStore`] as a [`SqlBackend`]: what Postgres does its own way. The storage traits
//! follow from it (see `crate::sql::backend`).

use sqlx::{Pool, Postgres};

use super::PostgresStore;
use crate::sql::backend::{Page, SqlBackend};
use crate::sql::deadline::Deadline;
use crate::sql::decode::EVENT_COLUMNS;
use crate::sql::outbox::RelaxedWrite;
use crate::sql::snapshots;
use crate::sql::stream::FilterParams;
use crate::store::{CommitSignal, RowResult};
use crate::{ActorId, AppendRequest, BatchOutcome, StoreError, StoredEvent, StoredSnapshot};

impl SqlBackend for PostgresStore {
    type Db = Postgres;

    /// Pipelined: while one batch waits for its commit to reach the disk, the next executes.
    fn concurrent_batches(&self) -> usize {
        self.concurrent_batches
    }

    fn deadline(&self) -> Deadline {
        self.deadline
    }

    fn commit_signal(&self) -> &CommitSignal {
        &self.commits
    }

    /// Asynchronous commit for the transaction alone: it returns before its log record is
    /// flushed, which the server does within `wal_writer_delay` (or the next flushed commit).
    fn relaxed_write(&self) -> RelaxedWrite {
        RelaxedWrite {
            begin: "BEGIN; SET LOCAL synchronous_commit = off",
            restore: None,
        }
    }

    /// Every transaction with an id below the snapshot's `xmin` has ended, and every one that
    /// has not yet ended (or started) has a greater id: the events of the commit groups below it
    /// are final.
    fn stream_horizon_sql() -> &'static str {
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1,
                9223372036854775807::bigint"
    }

    /// One range scan of the `(commit_tx, position)` index.
    fn stream_page_sql(params: FilterParams) -> String {
        let filters = params.conditions::<Postgres>();
        format!(
            "SELECT actor_id, {EVENT_COLUMNS}, commit_tx FROM events
             WHERE (commit_tx, position) > ($1, $2) AND (commit_tx, position) <= ($3, $4){filters}
             ORDER BY commit_tx, position LIMIT $5"
        )
    }

    /// One backward probe of the `(commit_tx, position)` index, below the horizon.
    fn stream_head_sql() -> &'static str {
        "SELECT commit_tx, position FROM events
         WHERE commit_tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
         ORDER BY commit_tx DESC, position DESC LIMIT 1"
    }

    /// One pool serves reads and writes: the server arbitrates.
    fn reader(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn writer(&self) -> &Pool<Postgres> {
        &self.pool
    }

    async fn append_batch(&self, requests: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        self.append_in_rounds(requests).await
    }

    async fn read(&self, page: Page<'_>) -> Result<Vec<StoredEvent>, StoreError> {
        self.page_streamed(page).await
    }

    /// Each actor's tail is an index range scan of one joined query.
    async fn read_after_many(
        &self,
        tails: &[(ActorId, u64)],
    ) -> Result<Vec<RowResult<Vec<StoredEvent>>>, StoreError> {
        self.tails_joined(tails).await
    }

    /// One lateral index probe per actor.
    async fn load_latest_many(
        &self,
        actor_ids: &[ActorId],
    ) -> Result<Vec<RowResult<Option<StoredSnapshot>>>, StoreError> {
        snapshots::load_latest_many(&self.pool, actor_ids).await
    }

    /// An event a registered projection has not passed stays.
    fn delete_events_sql() -> Vec<String> {
        vec!["DELETE FROM events WHERE actor_id = $1 AND version <= $2
              AND NOT EXISTS (SELECT 1 FROM projection_checkpoints AS c
                              WHERE (c.commit_tx, c.position) < (events.commit_tx, events.position))"
            .into()]
    }

    /// The registry row first: deleting it locks the actor against concurrent appends.
    fn delete_actor_sql() -> Vec<String> {
        vec![
            "DELETE FROM actors WHERE actor_id = $1".into(),
            "DELETE FROM events WHERE actor_id = $1".into(),
            "DELETE FROM snapshots WHERE actor_id = $1".into(),
            "DELETE FROM durable_actions WHERE actor_id = $1".into(),
            "DELETE FROM commands WHERE actor_id = $1".into(),
        ]
    }
}

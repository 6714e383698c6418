//! The group-commit append: one `BEGIN IMMEDIATE` transaction and a handful of statements for a
//! batch of any size.
//!
//! 1. read the heads of every actor in the batch (one statement, ids as a JSON array);
//! 2. decide every request in order ([`plan::decide`]); the write lock is held, so the heads
//!    cannot change underneath;
//! 3. insert all accepted events, upsert the registry rows, upsert the snapshots: one
//!    `INSERT ... SELECT FROM json_each(?)` each;
//! 4. commit.

use std::collections::HashMap;

use sqlx::SqliteConnection;

use super::rows::time_text;
use super::SqliteStore;
use crate::convert::version_to_sql;
use crate::model::time;
use crate::plan::{self, Found, Plan};
use crate::{id_str, ActorId, AppendRequest, BatchOutcome, EventMetadata, NewSnapshot, StoreError};

/// Heads of the batch's actors: the registry head, or a higher stored event version if one
/// exists (so an insert can never hit the unique key, even over tampered data). The answer is
/// one row holding a JSON array of `[actor_id, head_version, max_version]`: fetching one row per
/// actor would cost one hand-over from the worker thread per actor.
const SELECT_HEADS: &str = "
    SELECT json_group_array(json_array(
        ids.value,
        actors.head_version,
        (SELECT max(events.version) FROM events WHERE events.actor_id = ids.value)))
    FROM json_each(?1) AS ids
    LEFT JOIN actors ON actors.actor_id = ids.value";

/// Rows: `[actor_id, version, machine_type, tag, schema_version, payload, metadata]`.
const INSERT_EVENTS: &str = "
    INSERT INTO events
        (actor_id, version, machine_type, tag, schema_version, payload, metadata, recorded_at)
    SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4,
           e.value ->> 5, e.value -> 6, ?2
    FROM json_each(?1) AS e";

/// Rows: `[actor_id, machine_type, head_version, state_tag, entered_at]`.
const UPSERT_ACTORS: &str = "
    INSERT INTO actors
        (actor_id, machine_type, head_version, state_tag, entered_at, created_at, last_activity)
    SELECT a.value ->> 0, a.value ->> 1, a.value ->> 2, a.value ->> 3, a.value ->> 4, ?2, ?2
    FROM json_each(?1) AS a WHERE true
    ON CONFLICT (actor_id) DO UPDATE SET
        head_version = excluded.head_version,
        state_tag = excluded.state_tag,
        entered_at = excluded.entered_at,
        last_activity = excluded.last_activity";

/// Rows: `[actor_id, version, state_tag, schema_version, payload, entered_at]`.
pub(super) const UPSERT_SNAPSHOTS: &str = "
    INSERT INTO snapshots
        (actor_id, version, state_tag, schema_version, payload, entered_at, created_at)
    SELECT s.value ->> 0, s.value ->> 1, s.value ->> 2, s.value ->> 3, s.value ->> 4,
           s.value ->> 5, ?2
    FROM json_each(?1) AS s WHERE true
    ON CONFLICT (actor_id, version) DO UPDATE SET
        state_tag = excluded.state_tag,
        schema_version = excluded.schema_version,
        payload = excluded.payload,
        entered_at = excluded.entered_at,
        created_at = excluded.created_at";

type EventRow<'a> = (
    &'a str,
    i64,
    &'a str,
    &'a str,
    u32,
    &'a str,
    &'a EventMetadata,
);
type ActorRow<'a> = (&'a str, &'a str, i64, &'a str, String);
pub(super) type SnapshotRow<'a> = (&'a str, i64, &'a str, u32, &'a str, String);

impl SqliteStore {
    pub(super) async fn append_batch_impl(
        &self,
        requests: &[AppendRequest],
    ) -> Result<BatchOutcome, StoreError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let found = read_heads(&mut tx, requests).await?;
        let plan = plan::decide(requests, |id| {
            found.get(id_str(id)).copied().unwrap_or_default()
        });
        let now = time_text(time::now());
        write_accepted(&mut tx, requests, &plan, &now).await?;
        tx.commit().await?;
        Ok(plan.outcome)
    }
}

/// What the store holds for each actor of the batch.
async fn read_heads(
    conn: &mut SqliteConnection,
    requests: &[AppendRequest],
) -> Result<HashMap<String, Found>, StoreError> {
    let mut ids: Vec<&str> = requests.iter().map(|r| id_str(&r.actor_id)).collect();
    ids.sort_unstable();
    ids.dedup();
    let heads: String = sqlx::query_scalar(SELECT_HEADS)
        .bind(serde_json::to_string(&ids)?)
        .fetch_one(conn)
        .await?;
    let heads: Vec<(String, Option<i64>, Option<i64>)> = serde_json::from_str(&heads)?;
    let mut found = HashMap::with_capacity(heads.len());
    for (id, head, max_version) in heads {
        let highest = head.unwrap_or(0).max(max_version.unwrap_or(0));
        found.insert(
            id,
            Found {
                exists: head.is_some(),
                // A negative stored head reads as 0; the append then conflicts or repairs it.
                head: u64::try_from(highest).unwrap_or(0),
            },
        );
    }
    Ok(found)
}

/// Inserts the accepted requests' events, registry rows and snapshots.
async fn write_accepted(
    conn: &mut SqliteConnection,
    requests: &[AppendRequest],
    plan: &Plan,
    now: &str,
) -> Result<(), StoreError> {
    let mut events: Vec<EventRow<'_>> = Vec::new();
    let mut snapshots: Vec<SnapshotRow<'_>> = Vec::new();
    for index in plan.accepted() {
        let request = &requests[index];
        let id = id_str(&request.actor_id);
        for (version, event) in (request.expected_version + 1..).zip(&request.events) {
            events.push((
                id,
                version_to_sql(&request.actor_id, version)?,
                &request.machine_type,
                &event.tag,
                event.schema_version,
                &event.payload,
                &event.metadata,
            ));
        }
        if let Some(snapshot) = &request.snapshot {
            snapshots.push(snapshot_row(id, &request.actor_id, snapshot)?);
        }
    }
    let mut actors: Vec<ActorRow<'_>> = Vec::with_capacity(plan.registry.len());
    for write in &plan.registry {
        let request = &requests[write.request];
        actors.push((
            id_str(&request.actor_id),
            &request.machine_type,
            version_to_sql(&request.actor_id, request.next_version())?,
            &request.state_tag,
            time_text(time::to_micros(request.entered_at)),
        ));
    }
    if !events.is_empty() {
        sqlx::query(INSERT_EVENTS)
            .bind(serde_json::to_string(&events)?)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    if !actors.is_empty() {
        sqlx::query(UPSERT_ACTORS)
            .bind(serde_json::to_string(&actors)?)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    if !snapshots.is_empty() {
        sqlx::query(UPSERT_SNAPSHOTS)
            .bind(serde_json::to_string(&snapshots)?)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// One snapshot as a JSON row for [`UPSERT_SNAPSHOTS`].
pub(super) fn snapshot_row<'a>(
    id: &'a str,
    actor_id: &ActorId,
    snapshot: &'a NewSnapshot,
) -> Result<SnapshotRow<'a>, StoreError> {
    Ok((
        id,
        version_to_sql(actor_id, snapshot.version)?,
        &snapshot.state_tag,
        snapshot.schema_version,
        &snapshot.payload,
        time_text(time::to_micros(snapshot.entered_at)),
    ))
}

//! The snapshot queries, the same on every SQL backend.

use chrono::{DateTime, Utc};
use sqlx::{Pool, Transaction};

use super::convert::{bound_to_sql, count_to_sql, version_to_sql};
use super::decode::{self, SNAPSHOT_COLUMNS};
use super::{execute, Dialect};
use crate::model::time;
use crate::store::RowResult;
use crate::{ActorId, NewSnapshot, StoreError, StoredSnapshot};

/// Saves one snapshot, overwriting one at the same version.
const UPSERT: &str = "
    INSERT INTO snapshots
        (actor_id, version, state_tag, schema_version, codec, payload, entered_at, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (actor_id, version) DO UPDATE SET
        state_tag = excluded.state_tag,
        schema_version = excluded.schema_version,
        codec = excluded.codec,
        payload = excluded.payload,
        entered_at = excluded.entered_at,
        created_at = excluded.created_at";

/// Saves `snapshots` in one write transaction.
pub(crate) async fn save_many<DB: Dialect>(
    pool: &Pool<DB>,
    snapshots: &[(ActorId, NewSnapshot)],
) -> Result<(), StoreError> {
    if snapshots.is_empty() {
        return Ok(());
    }
    let now = time::now();
    let mut tx = DB::begin_write(pool).await?;
    for (actor_id, snapshot) in snapshots {
        save_in(&mut tx, actor_id, snapshot, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Saves one snapshot inside `tx`.
pub(crate) async fn save_in<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    actor_id: &ActorId,
    snapshot: &NewSnapshot,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut query = sqlx::query(UPSERT);
    query = DB::bind_text(query, actor_id.as_str());
    query = DB::bind_int(query, version_to_sql(actor_id, snapshot.version)?);
    query = DB::bind_text(query, &snapshot.state_tag);
    query = DB::bind_int(query, i64::from(snapshot.schema_version));
    query = DB::bind_text(query, &snapshot.codec);
    query = DB::bind_payload(query, &snapshot.payload);
    query = query.bind(DB::time_param(time::to_micros(snapshot.entered_at)));
    query = query.bind(DB::time_param(now));
    DB::execute_in(tx, query).await?;
    Ok(())
}

/// The snapshot of `actor_id` with the greatest version `<= at_most`.
pub(crate) async fn load_latest<DB: Dialect>(
    pool: &Pool<DB>,
    actor_id: &ActorId,
    at_most: Option<u64>,
) -> Result<Option<StoredSnapshot>, StoreError> {
    let sql = format!(
        "SELECT {SNAPSHOT_COLUMNS} FROM snapshots
         WHERE actor_id = $1 AND version <= $2
         ORDER BY version DESC LIMIT 1"
    );
    let mut query = sqlx::query(&sql);
    query = DB::bind_text(query, actor_id.as_str());
    query = DB::bind_int(query, bound_to_sql(at_most.unwrap_or(u64::MAX)));
    let rows = DB::fetch_all(query, pool).await?;
    rows.first()
        .map(|row| decode::snapshot::<DB>(row, actor_id, 0))
        .transpose()
}

/// The latest snapshot of each of `actor_ids` in one query: one result per actor, a bad row
/// failing its actor alone.
pub(crate) async fn load_latest_many<DB: Dialect>(
    pool: &Pool<DB>,
    actor_ids: &[ActorId],
) -> Result<Vec<RowResult<Option<StoredSnapshot>>>, StoreError> {
    let sql = DB::latest_snapshots_sql();
    let ids = actor_ids.iter().map(ActorId::as_str).collect();
    let rows = DB::fetch_all(DB::bind_list(sqlx::query(&sql), ids)?, pool).await?;
    let mut found: Vec<RowResult<Option<StoredSnapshot>>> =
        actor_ids.iter().map(|_| Ok(None)).collect();
    for row in &rows {
        let at = decode::ordinal::<DB>(row, decode::SNAPSHOT_COLUMN_COUNT, actor_ids.len())?;
        found[at] = decode::snapshot::<DB>(row, &actor_ids[at], 0).map(Some);
    }
    Ok(found)
}

/// Deletes the snapshots of `actor_id` with `from <= version <= to`.
pub(crate) async fn delete_range<DB: Dialect>(
    pool: &Pool<DB>,
    actor_id: &ActorId,
    from: u64,
    to: u64,
) -> Result<u64, StoreError> {
    if from > to {
        return Ok(0);
    }
    let mut query = sqlx::query(
        "DELETE FROM snapshots WHERE actor_id = $1 AND version >= $2 AND version <= $3",
    );
    query = DB::bind_text(query, actor_id.as_str());
    query = DB::bind_int(query, bound_to_sql(from));
    query = DB::bind_int(query, bound_to_sql(to));
    Ok(execute(query, pool).await?)
}

/// Keeps the `keep` snapshots of `actor_id` with the greatest versions.
pub(crate) async fn keep_last<DB: Dialect>(
    pool: &Pool<DB>,
    actor_id: &ActorId,
    keep: usize,
) -> Result<u64, StoreError> {
    let mut query = sqlx::query(
        "DELETE FROM snapshots WHERE actor_id = $1 AND version NOT IN (
             SELECT version FROM snapshots WHERE actor_id = $1
             ORDER BY version DESC LIMIT $2)",
    );
    query = DB::bind_text(query, actor_id.as_str());
    query = DB::bind_int(query, count_to_sql(keep));
    Ok(execute(query, pool).await?)
}

//! Recording a failed plain effect in the outbox, shared by the SQL backends: one insert of a
//! `failed` row into the keyed table, which no claim ever takes (claims take `pending` rows
//! only), unless a row with its key is in any outbox table.

use sqlx::Pool;

use super::convert::version_to_sql;
use super::outbox::KEYED_OUTBOX;
use super::{execute, Dialect};
use crate::model::time;
use crate::store::{ActionStatus, FailedEffect};
use crate::StoreError;

/// Inserts a failed effect, unless a row with its key exists in any outbox table: `$1..$3` the
/// key, `$4` the machine type, `$5` the (empty) payload, `$6` the status, `$7` the cause, `$8`
/// now.
fn insert_sql<DB: Dialect>() -> String {
    let absent_elsewhere: String = DB::OUTBOX_TABLES
        .iter()
        .filter(|table| table.name != KEYED_OUTBOX.name)
        .map(|table| {
            format!(
                " AND NOT EXISTS (SELECT 1 FROM {} WHERE actor_id = $1 AND version = $2 AND name = $3)",
                table.name
            )
        })
        .collect();
    format!(
        "INSERT INTO {}
             (actor_id, version, name, machine_type, codec, payload, status, attempts, claimed_by,
              claimed_until, last_cause, created_at, updated_at)
         SELECT $1, $2, $3, $4, '', $5, $6, 1, '', $8, $7, $8, $8 WHERE true{absent_elsewhere}
         ON CONFLICT (actor_id, version, name) DO NOTHING",
        KEYED_OUTBOX.name
    )
}

/// Records `failure`; whether a row was written.
pub(crate) async fn record<DB: Dialect>(
    pool: &Pool<DB>,
    failure: &FailedEffect,
) -> Result<bool, StoreError> {
    let cause = serde_json::to_string(&failure.cause)?;
    let key = &failure.key;
    let sql = insert_sql::<DB>();
    let query = DB::bind_text(sqlx::query(&sql), key.actor_id.as_str());
    let query = DB::bind_int(query, version_to_sql(&key.actor_id, key.version)?);
    let query = DB::bind_text(query, &key.action);
    let query = DB::bind_text(query, &failure.machine_type);
    let query = DB::bind_payload(query, &[]);
    let query = DB::bind_text(query, ActionStatus::Failed.as_str());
    let query = DB::bind_text(query, &cause).bind(DB::time_param(time::now()));
    Ok(execute(query, pool).await? > 0)
}

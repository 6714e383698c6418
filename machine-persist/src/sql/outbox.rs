//! The outbox queries, shared by the SQL backends: claiming due actions, recording attempts,
//! listing an actor's actions. Only the claim differs per driver ([`Dialect::claim_actions_sql`]:
//! Postgres locks the rows it claims and skips rows another claimer holds).

use sqlx::Pool;

use super::convert::{count_to_sql, version_to_sql};
use super::decode::{self, ACTION_COLUMNS};
use super::{execute, execute_in, Dialect};
use crate::model::time;
use crate::store::{
    ActionOutcome, ActionStatus, ActionUpdate, ClaimRequest, RowResult, StoredAction,
};
use crate::{ActorId, StoreError};

/// Records an ended attempt, only while the recording dispatcher holds the claim of a pending
/// action: `$1..$3` the key, `$4` the dispatcher, `$5` attempts, `$6` the new status, `$7` the
/// new end of the claim, `$8` the cause (`''` keeps the last one), `$9` now.
const RECORD: &str = "
    UPDATE durable_actions
    SET attempts = $5, status = $6, claimed_until = $7,
        last_cause = CASE WHEN $8 = '' THEN last_cause ELSE $8 END, updated_at = $9
    WHERE actor_id = $1 AND version = $2 AND name = $3 AND claimed_by = $4
      AND status = 'pending'";

/// Claims due actions (see [`Dialect::claim_actions_sql`]).
pub(crate) async fn claim_due<DB: Dialect>(
    pool: &Pool<DB>,
    request: &ClaimRequest,
) -> Result<Vec<RowResult<StoredAction>>, StoreError> {
    if request.machine_types.is_empty() || request.limit == 0 {
        return Ok(Vec::new());
    }
    let sql = DB::claim_actions_sql();
    let query = DB::bind_text(sqlx::query(&sql), &request.claim.owner)
        .bind(DB::time_param(time::to_micros(request.claim.until)))
        .bind(DB::time_param(time::to_micros(request.now)));
    let types = request.machine_types.iter().map(String::as_str).collect();
    let query = DB::bind_int(DB::bind_list(query, types)?, count_to_sql(request.limit));
    let query = DB::bind_int(query, i64::from(request.include_own));
    let rows = DB::fetch_all(query, pool).await?;
    Ok(rows
        .iter()
        .map(|row| decode::action::<DB>(row, 0))
        .collect())
}

/// Records ended attempts in one write transaction; whether each applied.
pub(crate) async fn record_many<DB: Dialect>(
    pool: &Pool<DB>,
    updates: &[ActionUpdate],
) -> Result<Vec<bool>, StoreError> {
    let mut tx = DB::begin_write(pool).await?;
    let mut applied = Vec::with_capacity(updates.len());
    for update in updates {
        let cause = cause_text(update)?;
        let query = record_query::<DB>(update, &cause)?;
        applied.push(execute_in(&mut tx, query).await? > 0);
    }
    tx.commit().await?;
    Ok(applied)
}

/// The cause of an update as stored (`''` for none).
fn cause_text(update: &ActionUpdate) -> Result<String, StoreError> {
    Ok(match &update.cause {
        Some(cause) => serde_json::to_string(cause)?,
        None => String::new(),
    })
}

/// Records an ended attempt; whether it applied.
pub(crate) async fn record<DB: Dialect>(
    pool: &Pool<DB>,
    update: &ActionUpdate,
) -> Result<bool, StoreError> {
    let cause = cause_text(update)?;
    let query = record_query::<DB>(update, &cause)?;
    Ok(execute(query, pool).await? > 0)
}

/// The [`RECORD`] statement of `update`, its cause as stored in `cause`.
fn record_query<'q, DB: Dialect>(
    update: &'q ActionUpdate,
    cause: &'q str,
) -> Result<super::SqlQuery<'q, DB>, StoreError> {
    let now = time::now();
    let (status, claim_until) = match &update.outcome {
        ActionOutcome::Succeeded => (ActionStatus::Succeeded, now),
        ActionOutcome::DeadLettered => (ActionStatus::DeadLettered, now),
        ActionOutcome::Retry { claim_until } => {
            (ActionStatus::Pending, time::to_micros(*claim_until))
        }
    };
    let key = &update.key;
    let query = DB::bind_text(sqlx::query(RECORD), key.actor_id.as_str());
    let query = DB::bind_int(query, version_to_sql(&key.actor_id, key.version)?);
    let query = DB::bind_text(query, &key.action);
    let query = DB::bind_text(query, &update.owner);
    let query = DB::bind_int(query, i64::from(update.attempts));
    let query = DB::bind_text(query, status.as_str()).bind(DB::time_param(claim_until));
    Ok(DB::bind_text(query, cause).bind(DB::time_param(now)))
}

/// Every action of `actor_id`, by version then name.
pub(crate) async fn of_actor<DB: Dialect>(
    pool: &Pool<DB>,
    actor_id: &ActorId,
) -> Result<Vec<RowResult<StoredAction>>, StoreError> {
    let sql = format!(
        "SELECT {ACTION_COLUMNS} FROM durable_actions WHERE actor_id = $1 ORDER BY version, name"
    );
    let query = DB::bind_text(sqlx::query(&sql), actor_id.as_str());
    let rows = DB::fetch_all(query, pool).await?;
    Ok(rows
        .iter()
        .map(|row| decode::action::<DB>(row, 0))
        .collect())
}

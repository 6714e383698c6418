//! The outbox queries, shared by the SQL backends: claiming due actions, recording attempts,
//! listing an actor's actions. The claim differs per driver ([`Dialect::claim_actions_sql`]:
//! Postgres locks the rows it claims and skips rows another claimer holds), and so does the
//! one statement that records a round of attempts ([`Dialect::record_actions_sql`]).

use std::collections::{HashMap, HashSet};

use chrono::SecondsFormat;
use machine_core::IdempotencyKey;
use serde::Serialize;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Pool};

use super::convert::{count_to_sql, version_to_sql};
use super::decode::{self, ACTION_COLUMNS};
use super::Dialect;
use crate::error::BoxError;
use crate::model::time;
use crate::store::{
    ActionOutcome, ActionStatus, ActionUpdate, ClaimRequest, RowResult, StoredAction,
};
use crate::{ActorId, StoreError};

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

/// The ended attempts of one recorder round, as the one statement of
/// [`Dialect::record_actions_sql`] reads them (its `$1`).
#[derive(Serialize)]
struct RecordRow<'a> {
    actor_id: &'a str,
    version: i64,
    name: &'a str,
    owner: &'a str,
    attempts: u32,
    status: &'static str,
    /// Fixed-width RFC 3339 with microseconds, which both backends read as their timestamp.
    claimed_until: String,
    /// `''` keeps the last cause.
    cause: String,
}

/// Records ended attempts with one statement in one write transaction whose commit need not be
/// durable by itself (see [`RelaxedWrite`]); whether each applied. A key recorded twice in one
/// call is applied in order, one statement per occurrence.
pub(crate) async fn record_many<DB: Dialect>(
    pool: &Pool<DB>,
    relaxed: RelaxedWrite,
    updates: &[ActionUpdate],
) -> Result<Vec<bool>, StoreError> {
    let mut connection = RestoreGuard::new(pool.acquire().await?);
    let mut tx = connection.begin_with(relaxed.begin).await?;
    let mut applied = vec![false; updates.len()];
    for round in distinct_rounds(updates) {
        let rows = round
            .iter()
            .map(|&at| record_row(&updates[at]))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let rows = serde_json::to_string(&rows)?;
        let query = DB::bind_text(sqlx::query(DB::record_actions_sql()), &rows)
            .bind(DB::time_param(time::now()));
        let done = DB::fetch_all_in(&mut tx, query)
            .await?
            .iter()
            .map(returned_key::<DB>)
            .collect::<Result<HashSet<_>, StoreError>>()?;
        for at in round {
            let key = &updates[at].key;
            let version = version_to_sql(&key.actor_id, key.version)?;
            applied[at] = done.contains(&(
                key.actor_id.as_str().to_owned(),
                version,
                key.action.to_string(),
            ));
        }
    }
    tx.commit().await?;
    if let Some(restore) = relaxed.restore {
        DB::execute_raw(&mut connection, restore).await?;
    }
    connection.release();
    Ok(applied)
}

/// The key of a row the record statement changed.
fn returned_key<DB: Dialect>(row: &DB::Row) -> Result<(String, i64, String), StoreError> {
    let read = || -> Result<_, BoxError> {
        let version = DB::int(row, 1)?.ok_or("the version is null")?;
        Ok((
            DB::text(row, 0)?.to_owned(),
            version,
            DB::text(row, 2)?.to_owned(),
        ))
    };
    read().map_err(|error| {
        StoreError::Contract(format!(
            "a recorded action's key does not read back: {error}"
        ))
    })
}

/// Splits `updates` (by index) into rounds in which every key appears once, keeping each key's
/// updates in order: one statement cannot apply two updates of the same row.
fn distinct_rounds(updates: &[ActionUpdate]) -> Vec<Vec<usize>> {
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    let mut seen: HashMap<&IdempotencyKey, usize> = HashMap::new();
    for (at, update) in updates.iter().enumerate() {
        let round = seen.entry(&update.key).and_modify(|n| *n += 1).or_insert(0);
        if rounds.len() <= *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(at);
    }
    rounds
}

/// How a write transaction whose commit need not reach the disk by itself is opened, and what
/// restores the connection after its commit. The recorder's transactions are such: a record lost
/// in a crash runs its action again, which at-least-once delivery allows, and any later durable
/// commit on the same database makes it durable too (WAL order).
#[derive(Clone, Copy, Debug)]
pub struct RelaxedWrite {
    /// Opens the transaction (it may set the connection's durability first).
    pub begin: &'static str,
    /// Run on the connection after the commit, to give it back its durability; should it not run
    /// (an error, a deadline), the connection is closed rather than returned to the pool.
    pub restore: Option<&'static str>,
}

/// A pooled connection that is closed, not returned to the pool, unless [released](Self::release):
/// it may still have the relaxed durability of a [`RelaxedWrite`].
struct RestoreGuard<DB: Dialect>(Option<PoolConnection<DB>>);

impl<DB: Dialect> RestoreGuard<DB> {
    fn new(connection: PoolConnection<DB>) -> Self {
        Self(Some(connection))
    }

    /// Returns the connection to the pool as it is.
    fn release(mut self) {
        self.0 = None;
    }
}

impl<DB: Dialect> std::ops::Deref for RestoreGuard<DB> {
    type Target = PoolConnection<DB>;

    fn deref(&self) -> &PoolConnection<DB> {
        self.0
            .as_ref()
            .expect("a guarded connection is present until released")
    }
}

impl<DB: Dialect> std::ops::DerefMut for RestoreGuard<DB> {
    fn deref_mut(&mut self) -> &mut PoolConnection<DB> {
        self.0
            .as_mut()
            .expect("a guarded connection is present until released")
    }
}

impl<DB: Dialect> Drop for RestoreGuard<DB> {
    fn drop(&mut self) {
        if let Some(connection) = &mut self.0 {
            connection.close_on_drop();
        }
    }
}

/// The [`RecordRow`] of `update`.
fn record_row(update: &ActionUpdate) -> Result<RecordRow<'_>, StoreError> {
    let now = time::now();
    let (status, claim_until) = match &update.outcome {
        ActionOutcome::Succeeded => (ActionStatus::Succeeded, now),
        ActionOutcome::DeadLettered => (ActionStatus::DeadLettered, now),
        ActionOutcome::Retry { claim_until } => {
            (ActionStatus::Pending, time::to_micros(*claim_until))
        }
    };
    let key = &update.key;
    Ok(RecordRow {
        actor_id: key.actor_id.as_str(),
        version: version_to_sql(&key.actor_id, key.version)?,
        name: &key.action,
        owner: &update.owner,
        attempts: update.attempts,
        status: status.as_str(),
        claimed_until: claim_until.to_rfc3339_opts(SecondsFormat::Micros, true),
        cause: cause_text(update)?,
    })
}

/// The cause of an update as stored (`''` for none).
fn cause_text(update: &ActionUpdate) -> Result<String, StoreError> {
    Ok(match &update.cause {
        Some(cause) => serde_json::to_string(cause)?,
        None => String::new(),
    })
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

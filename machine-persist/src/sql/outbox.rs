//! The outbox queries, shared by the SQL backends: claiming due actions, recording attempts,
//! listing an actor's actions. The claim differs per driver ([`Dialect::claim_actions_sql`]:
//! Postgres locks the rows it claims and skips rows another claimer holds), and so does the
//! one statement that records a round of attempts ([`Dialect::record_actions_sql`]).
//!
//! A backend keeps its outbox rows in one or more tables ([`Dialect::OUTBOX_TABLES`]), each row
//! in one of them: SQLite appends new rows to an insertion-ordered level that its merge moves
//! into the table keyed by actor, as it does with events. Every query here runs on each table in
//! turn.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use machine_core::IdempotencyKey;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Pool, Transaction};

use super::convert::{count_to_sql, version_to_sql};
use super::decode::{self, ACTION_COLUMNS};
use super::Dialect;
use crate::error::BoxError;
use crate::model::time;
use crate::store::{
    ActionOutcome, ActionStatus, ActionUpdate, ClaimRequest, RowResult, StoredAction,
};
use crate::{ActorId, StoreError};

/// A table that holds outbox rows (all with the [action columns](decode::ACTION_COLUMNS)).
#[derive(Clone, Copy, Debug)]
pub struct OutboxTable {
    /// Its name.
    pub name: &'static str,
    /// The columns that pick out one row, as in `(row) IN (SELECT row ...)`: its primary key,
    /// or `rowid`.
    pub row: &'static str,
}

/// The table keyed by action (actor, version, name) that every backend has.
pub const KEYED_OUTBOX: OutboxTable = OutboxTable {
    name: "durable_actions",
    row: "actor_id, version, name",
};

/// Claims due actions (see [`Dialect::claim_actions_sql`]), from each table in turn until the
/// limit is reached. Each statement claims atomically; a row that moves between tables while
/// this runs is left for the next poll.
pub(crate) async fn claim_due<DB: Dialect>(
    pool: &Pool<DB>,
    request: &ClaimRequest,
) -> Result<Vec<RowResult<StoredAction>>, StoreError> {
    let mut claimed = Vec::new();
    if request.machine_types.is_empty() {
        return Ok(claimed);
    }
    let reclaim_before = request.reclaim_own_before.map(time::to_micros);
    for table in DB::OUTBOX_TABLES {
        let limit = request.limit.saturating_sub(claimed.len());
        if limit == 0 {
            break;
        }
        let sql = DB::claim_actions_sql(table);
        let query = DB::bind_text(sqlx::query(&sql), &request.claim.owner)
            .bind(DB::time_param(time::to_micros(request.claim.until)))
            .bind(DB::time_param(time::to_micros(request.now)));
        let types = request.machine_types.iter().map(String::as_str).collect();
        let query = DB::bind_int(DB::bind_list(query, types)?, count_to_sql(limit));
        // Without a reclaim, "before the epoch" takes no own claim that has not ended.
        let query = query.bind(DB::time_param(reclaim_before.unwrap_or_default()));
        let rows = DB::fetch_all(query, pool).await?;
        claimed.extend(rows.iter().map(|row| decode::action::<DB>(row, 0)));
    }
    Ok(claimed)
}

/// One ended attempt as the record statements bind it: the key, the claim the attempt ran
/// under, and what it sets (which [`Dialect::bind_record_keys`] leaves out: its group binds it
/// once).
#[derive(Debug)]
pub struct RecordRow<'a> {
    /// The actor.
    pub actor_id: &'a str,
    /// The version of the declaring event.
    pub version: i64,
    /// The action's name.
    pub name: &'a str,
    /// The end of the claim, truncated to microseconds as stored.
    pub held_until: DateTime<Utc>,
    /// The holder of the claim.
    pub owner: &'a str,
    /// How many attempts have ended.
    pub attempts: u32,
    /// The new status.
    pub status: &'static str,
    /// The new end of the claim, in microseconds.
    pub claimed_until: DateTime<Utc>,
    /// The new cause as stored (`''` keeps the last one).
    pub cause: &'a str,
}

/// What a group of ended attempts sets: every update of a group sets the same values (in the
/// common case, every first attempt that succeeded in a round), so one statement records them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Outcome {
    attempts: u32,
    status: ActionStatus,
    /// The new end of the claim (for an ended action, when it ended), in microseconds.
    claimed_until: DateTime<Utc>,
    /// `''` keeps the last cause.
    cause: String,
}

/// Records ended attempts in one write transaction whose commit need not be durable by itself
/// (see [`RelaxedWrite`]); whether each applied (see [`record_in`]).
pub(crate) async fn record_many<DB: Dialect>(
    pool: &Pool<DB>,
    relaxed: RelaxedWrite,
    updates: &[ActionUpdate],
) -> Result<Vec<bool>, StoreError> {
    let mut connection = RestoreGuard::new(pool.acquire().await?);
    let mut tx = connection.begin_with(relaxed.begin).await?;
    let applied = record_in(&mut tx, updates).await?;
    tx.commit().await?;
    if let Some(restore) = relaxed.restore {
        DB::execute_raw(&mut connection, restore).await?;
    }
    connection.release();
    Ok(applied)
}

/// Records ended attempts inside `tx`; whether each applied. The updates that set the same
/// values are recorded together, one statement per outbox table (and per chunk of
/// [`Dialect::record_chunks`]), each table given only what the tables before it did not apply.
/// A key recorded twice in one call is applied in order, one round of statements per occurrence.
///
/// The statements return nothing: handing each changed row back costs more than writing it (on
/// SQLite, a hop from the connection's worker thread per row). A statement that changed as many
/// rows as it was given applied every one of them: each key is in a round once, and each
/// matches at most one row, the one pending under the claim the attempt ran under (an append
/// never stores one key twice, and a key written twice behind its back carries another
/// writer's claim). A statement that changed fewer is followed by a query for the rows it
/// wrote, told by their owner and the round's own time of writing
/// ([`Dialect::recorded_keys_sql`]): every round of a call writes at a microsecond of its own.
pub(crate) async fn record_in<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    updates: &[ActionUpdate],
) -> Result<Vec<bool>, StoreError> {
    let now = time::to_micros(time::now());
    let outcomes = updates
        .iter()
        .map(|update| outcome_of(update, now))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let rows = updates
        .iter()
        .zip(&outcomes)
        .map(|(update, outcome)| record_row(update, outcome))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut applied = vec![false; updates.len()];
    for (index, round) in distinct_rounds(updates).into_iter().enumerate() {
        let now = now + chrono::Duration::microseconds(i64::try_from(index).unwrap_or(i64::MAX));
        // Groups of two or more take one statement each; the rest (retries, whose claims end at
        // distinct times; dead letters) share one statement that binds every row's values.
        let mut singles = Vec::new();
        for (outcome, members) in groups(&round, &outcomes) {
            if members.len() < 2 {
                singles.extend(members);
                continue;
            }
            let shape = Shape::Group(outcome);
            record_members::<DB>(tx, updates, &rows, &members, shape, now, &mut applied).await?;
        }
        if !singles.is_empty() {
            let shape = Shape::Rows;
            record_members::<DB>(tx, updates, &rows, &singles, shape, now, &mut applied).await?;
        }
    }
    Ok(applied)
}

/// How a set of records is written.
#[derive(Clone, Copy)]
enum Shape<'o> {
    /// Every member sets this outcome: bound once, with the keys
    /// ([`Dialect::record_actions_sql`]).
    Group(&'o Outcome),
    /// Each member's values bound with it ([`Dialect::record_rows_sql`]).
    Rows,
}

/// Records the `members` of `updates` (their `rows`) as `shape` says, at `now`, in each outbox
/// table in turn (each given what the tables before it did not apply), marking in `applied` what
/// applied.
async fn record_members<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    updates: &[ActionUpdate],
    rows: &[RecordRow<'_>],
    members: &[usize],
    shape: Shape<'_>,
    now: DateTime<Utc>,
    applied: &mut [bool],
) -> Result<(), StoreError> {
    for table in DB::OUTBOX_TABLES {
        let remaining: Vec<usize> = members.iter().copied().filter(|&at| !applied[at]).collect();
        if remaining.is_empty() {
            break;
        }
        let chunks = match shape {
            Shape::Group(_) => DB::record_chunks(&remaining),
            Shape::Rows => vec![&remaining[..]],
        };
        for chunk in chunks {
            let chunk_rows: Vec<&RecordRow<'_>> = chunk.iter().map(|&at| &rows[at]).collect();
            let sql;
            let query = match shape {
                Shape::Group(outcome) => {
                    sql = DB::record_actions_sql(table, chunk_rows.len());
                    let query = DB::bind_int(sqlx::query(&sql), i64::from(outcome.attempts));
                    let query = DB::bind_text(query, outcome.status.as_str())
                        .bind(DB::time_param(outcome.claimed_until));
                    let query = DB::bind_text(query, &outcome.cause).bind(DB::time_param(now));
                    DB::bind_record_keys(query, &chunk_rows)
                }
                Shape::Rows => {
                    sql = DB::record_rows_sql(table);
                    DB::bind_record_rows(sqlx::query(&sql), &chunk_rows)?.bind(DB::time_param(now))
                }
            };
            let changed = DB::rows_affected(&DB::execute_in(tx, query).await?);
            if changed == 0 {
                continue;
            }
            if usize::try_from(changed).is_ok_and(|changed| changed == chunk.len()) {
                for &at in chunk {
                    applied[at] = true;
                }
                continue;
            }
            let sql = DB::recorded_keys_sql(table, chunk_rows.len());
            let query = DB::bind_record_keys(sqlx::query(&sql), &chunk_rows);
            let written = DB::fetch_all_in(tx, query.bind(DB::time_param(now))).await?;
            for row in &written {
                let (actor_id, version, name) = returned_key::<DB>(row)?;
                let at = chunk
                    .iter()
                    .copied()
                    .find(|&at| {
                        let key = &updates[at].key;
                        key.actor_id.as_str() == actor_id
                            && key.version == version
                            && *key.action == *name
                    })
                    .ok_or_else(|| {
                        StoreError::Contract(format!(
                            "a record changed action {actor_id}/{version}/{name}, which it was not given"
                        ))
                    })?;
                applied[at] = true;
            }
        }
    }
    Ok(())
}

/// The key of a row a record wrote, as [`Dialect::recorded_keys_sql`] returns it.
fn returned_key<DB: Dialect>(row: &DB::Row) -> Result<(&str, u64, &str), StoreError> {
    let read = || -> Result<_, BoxError> {
        let version = DB::int(row, 1)?.ok_or("the version is null")?;
        Ok((
            DB::text(row, 0)?,
            u64::try_from(version)?,
            DB::text(row, 2)?,
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

/// What `update` sets, recorded at `now`.
fn outcome_of(update: &ActionUpdate, now: DateTime<Utc>) -> Result<Outcome, StoreError> {
    let (status, claimed_until) = match &update.outcome {
        ActionOutcome::Succeeded => (ActionStatus::Succeeded, now),
        ActionOutcome::DeadLettered => (ActionStatus::DeadLettered, now),
        ActionOutcome::Retry { claim_until } => (ActionStatus::Pending, *claim_until),
    };
    Ok(Outcome {
        attempts: update.attempts,
        status,
        claimed_until: time::to_micros(claimed_until),
        cause: match &update.cause {
            Some(cause) => serde_json::to_string(cause)?,
            None => String::new(),
        },
    })
}

/// The [`RecordRow`] of `update`, which sets `outcome`.
fn record_row<'a>(
    update: &'a ActionUpdate,
    outcome: &'a Outcome,
) -> Result<RecordRow<'a>, StoreError> {
    let key = &update.key;
    Ok(RecordRow {
        actor_id: key.actor_id.as_str(),
        version: version_to_sql(&key.actor_id, key.version)?,
        name: &key.action,
        held_until: time::to_micros(update.claim.until),
        owner: &update.claim.owner,
        attempts: outcome.attempts,
        status: outcome.status.as_str(),
        claimed_until: outcome.claimed_until,
        cause: &outcome.cause,
    })
}

/// The members of `round` (indices into `outcomes`) grouped by what they set, in order of
/// first appearance.
fn groups<'a>(round: &[usize], outcomes: &'a [Outcome]) -> Vec<(&'a Outcome, Vec<usize>)> {
    let mut groups: Vec<(&Outcome, Vec<usize>)> = Vec::new();
    let mut index: HashMap<&Outcome, usize> = HashMap::new();
    for &at in round {
        let outcome = &outcomes[at];
        let group = *index.entry(outcome).or_insert_with(|| {
            groups.push((outcome, Vec::new()));
            groups.len() - 1
        });
        groups[group].1.push(at);
    }
    groups
}

/// Every action of `actor_id`, from every outbox table, by version then name.
pub(crate) async fn of_actor<DB: Dialect>(
    pool: &Pool<DB>,
    actor_id: &ActorId,
) -> Result<Vec<RowResult<StoredAction>>, StoreError> {
    let sql = DB::OUTBOX_TABLES
        .iter()
        .map(|table| {
            format!(
                "SELECT {ACTION_COLUMNS} FROM {} WHERE actor_id = $1",
                table.name
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
        + " ORDER BY version, name";
    let query = DB::bind_text(sqlx::query(&sql), actor_id.as_str());
    let rows = DB::fetch_all(query, pool).await?;
    Ok(rows
        .iter()
        .map(|row| decode::action::<DB>(row, 0))
        .collect())
}

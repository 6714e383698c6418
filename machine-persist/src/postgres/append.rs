//! The group-commit append: one statement per batch (see the module docs of
//! [`postgres`](super)).
//!
//! The registry head is the lock; the `(actor_id, version)` primary key is the backstop. Rows
//! written around the registry (by hand, or by a foreign writer) make the batch's insert hit the
//! key; the batch is then re-applied with one savepoint per request, so only the affected request
//! is refused (with the highest stored version as the actual head) and the rest commit.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection, Row};

use super::rows::{self, EMPTY_METADATA};
use super::PostgresStore;
use crate::convert::version_to_sql;
use crate::model::time;
use crate::{id_str, ActorId, AppendError, AppendRequest, BatchOutcome, EventMetadata, StoreError};

/// Applies one round (at most one request per actor) and returns one row per REFUSED request:
/// its 1-based position in the round, the registry head and the highest stored version as of the
/// statement's snapshot. Accepted requests return nothing, so the common case reads no rows and
/// touches no row twice.
const APPEND_ROUND: &str = r#"
WITH req AS MATERIALIZED (
    SELECT *
    FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bool[], $5::text[], $6::text[],
                $7::timestamptz[])
        WITH ORDINALITY AS r(actor_id, expected, next, is_create, machine_type, state_tag,
                             entered_at, ord)
),
inserted AS (
    INSERT INTO actors AS a
        (actor_id, machine_type, head_version, state_tag, entered_at, created_at, last_activity)
    SELECT req.actor_id, req.machine_type, req.next, req.state_tag, req.entered_at, now(), now()
    FROM req
    WHERE req.expected = 0
    ON CONFLICT (actor_id) DO NOTHING
    RETURNING a.actor_id
),
updated AS (
    UPDATE actors AS a
    SET head_version = req.next,
        state_tag = req.state_tag,
        entered_at = req.entered_at,
        last_activity = now()
    FROM req
    WHERE a.actor_id = req.actor_id
      AND NOT req.is_create
      AND a.head_version = req.expected
    RETURNING a.actor_id
),
accepted AS MATERIALIZED (
    SELECT actor_id FROM inserted UNION ALL SELECT actor_id FROM updated
),
new_events AS (
    INSERT INTO events
        (actor_id, version, machine_type, tag, schema_version, payload, metadata, recorded_at)
    SELECT ev.actor_id, ev.version, ev.machine_type, ev.tag, ev.schema_version, ev.payload,
           ev.metadata, now()
    FROM unnest($8::text[], $9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::text[],
                $14::text[])
        WITH ORDINALITY AS ev(actor_id, version, machine_type, tag, schema_version, payload,
                              metadata, ord)
    WHERE ev.actor_id IN (SELECT actor_id FROM accepted)
    ORDER BY ev.ord
),
new_snapshots AS (
    INSERT INTO snapshots AS s
        (actor_id, version, state_tag, schema_version, payload, entered_at, created_at)
    SELECT sn.actor_id, sn.version, sn.state_tag, sn.schema_version, sn.payload, sn.entered_at,
           now()
    FROM unnest($15::text[], $16::bigint[], $17::text[], $18::bigint[], $19::text[],
                $20::timestamptz[])
        AS sn(actor_id, version, state_tag, schema_version, payload, entered_at)
    WHERE sn.actor_id IN (SELECT actor_id FROM accepted)
    ON CONFLICT (actor_id, version) DO UPDATE SET
        state_tag = excluded.state_tag,
        schema_version = excluded.schema_version,
        payload = excluded.payload,
        entered_at = excluded.entered_at,
        created_at = excluded.created_at
)
SELECT req.ord,
       (SELECT a.head_version FROM actors a WHERE a.actor_id = req.actor_id) AS head,
       (SELECT max(e.version) FROM events e WHERE e.actor_id = req.actor_id) AS max_version
FROM req
WHERE NOT EXISTS (SELECT 1 FROM accepted WHERE accepted.actor_id = req.actor_id)
ORDER BY req.ord
"#;

/// The head of one actor, read afresh.
const CURRENT_HEAD: &str = "
    SELECT (SELECT head_version FROM actors WHERE actor_id = $1) AS head,
           (SELECT max(version) FROM events WHERE actor_id = $1) AS max_version";

/// Postgres' code for a unique violation.
const UNIQUE_VIOLATION: &str = "23505";

impl PostgresStore {
    pub(super) async fn append_batch_impl(
        &self,
        requests: &[AppendRequest],
    ) -> Result<BatchOutcome, StoreError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let rounds = rounds(requests);
        let mut outcome = Vec::with_capacity(requests.len());
        outcome.resize(requests.len(), Ok(()));
        let mut conn = self.pool.acquire().await?;
        let applied = if let [round] = rounds.as_slice() {
            // One statement is its own transaction: one round trip for the whole batch.
            run_round(&mut conn, requests, round, &mut outcome).await
        } else {
            run_in_transaction(&mut conn, requests, &rounds, &mut outcome).await
        };
        match applied {
            Ok(()) => Ok(outcome),
            Err(error) if is_unique_violation(&error) => {
                tracing::warn!(%error, "batch hit the unique key; applying it request by request");
                one_by_one(&mut conn, requests).await
            }
            Err(error) => Err(error),
        }
    }
}

/// Splits the batch so that each round holds at most one request per actor, keeping order.
fn rounds(requests: &[AppendRequest]) -> Vec<Vec<usize>> {
    let mut seen: HashMap<&ActorId, usize> = HashMap::with_capacity(requests.len());
    let mut rounds: Vec<Vec<usize>> = vec![Vec::with_capacity(requests.len())];
    for (index, request) in requests.iter().enumerate() {
        let round = seen.entry(&request.actor_id).or_insert(0);
        if *round == rounds.len() {
            rounds.push(Vec::new());
        }
        rounds[*round].push(index);
        *round += 1;
    }
    rounds
}

async fn run_in_transaction(
    conn: &mut PgConnection,
    requests: &[AppendRequest],
    rounds: &[Vec<usize>],
    outcome: &mut BatchOutcome,
) -> Result<(), StoreError> {
    // Dropping the transaction on an error rolls it back.
    let mut tx = conn.begin().await?;
    for round in rounds {
        run_round(&mut tx, requests, round, outcome).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Applies each request under its own savepoint, so a unique violation refuses only its request.
async fn one_by_one(
    conn: &mut PgConnection,
    requests: &[AppendRequest],
) -> Result<BatchOutcome, StoreError> {
    let mut outcome = Vec::with_capacity(requests.len());
    outcome.resize(requests.len(), Ok(()));
    let mut tx = conn.begin().await?;
    for index in 0..requests.len() {
        let mut savepoint = tx.begin().await?;
        match run_round(&mut savepoint, requests, &[index], &mut outcome).await {
            Ok(()) => savepoint.commit().await?,
            Err(error) if is_unique_violation(&error) => {
                savepoint.rollback().await?;
                let request = &requests[index];
                outcome[index] = Err(conflict(
                    request,
                    current_head(&mut tx, &request.actor_id).await?,
                ));
            }
            Err(error) => return Err(error),
        }
    }
    tx.commit().await?;
    Ok(outcome)
}

fn is_unique_violation(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(sqlx::Error::Database(db))
        if db.code().as_deref() == Some(UNIQUE_VIOLATION))
}

/// The arrays bound to [`APPEND_ROUND`].
#[derive(Default)]
struct RoundArrays<'a> {
    actor_ids: Vec<&'a str>,
    expected: Vec<i64>,
    next: Vec<i64>,
    create: Vec<bool>,
    machine_types: Vec<&'a str>,
    state_tags: Vec<&'a str>,
    entered_at: Vec<DateTime<Utc>>,
    event_actor_ids: Vec<&'a str>,
    event_versions: Vec<i64>,
    event_machine_types: Vec<&'a str>,
    event_tags: Vec<&'a str>,
    event_schemas: Vec<i64>,
    event_payloads: Vec<&'a str>,
    event_metadata: Vec<Cow<'a, str>>,
    snapshot_actor_ids: Vec<&'a str>,
    snapshot_versions: Vec<i64>,
    snapshot_tags: Vec<&'a str>,
    snapshot_schemas: Vec<i64>,
    snapshot_payloads: Vec<&'a str>,
    snapshot_entered_at: Vec<DateTime<Utc>>,
}

impl<'a> RoundArrays<'a> {
    fn push(&mut self, request: &'a AppendRequest) -> Result<(), StoreError> {
        let id = id_str(&request.actor_id);
        let actor_id = &request.actor_id;
        self.actor_ids.push(id);
        self.expected
            .push(version_to_sql(actor_id, request.expected_version)?);
        self.next
            .push(version_to_sql(actor_id, request.next_version())?);
        self.create.push(request.create);
        self.machine_types.push(&request.machine_type);
        self.state_tags.push(&request.state_tag);
        self.entered_at.push(time::to_micros(request.entered_at));
        for (version, event) in (request.expected_version + 1..).zip(&request.events) {
            self.event_actor_ids.push(id);
            self.event_versions.push(version_to_sql(actor_id, version)?);
            self.event_machine_types.push(&request.machine_type);
            self.event_tags.push(&event.tag);
            self.event_schemas.push(i64::from(event.schema_version));
            self.event_payloads.push(&event.payload);
            self.event_metadata.push(metadata_text(&event.metadata)?);
        }
        if let Some(snapshot) = &request.snapshot {
            self.snapshot_actor_ids.push(id);
            self.snapshot_versions
                .push(version_to_sql(actor_id, snapshot.version)?);
            self.snapshot_tags.push(&snapshot.state_tag);
            self.snapshot_schemas
                .push(i64::from(snapshot.schema_version));
            self.snapshot_payloads.push(&snapshot.payload);
            self.snapshot_entered_at
                .push(time::to_micros(snapshot.entered_at));
        }
        Ok(())
    }
}

/// Runs one round and records each of its requests' results in `outcome`.
async fn run_round(
    conn: &mut PgConnection,
    requests: &[AppendRequest],
    round: &[usize],
    outcome: &mut BatchOutcome,
) -> Result<(), StoreError> {
    let mut arrays = RoundArrays::default();
    for &index in round {
        arrays.push(&requests[index])?;
    }
    let refused = sqlx::query(APPEND_ROUND)
        .bind(&arrays.actor_ids)
        .bind(&arrays.expected)
        .bind(&arrays.next)
        .bind(&arrays.create)
        .bind(&arrays.machine_types)
        .bind(&arrays.state_tags)
        .bind(&arrays.entered_at)
        .bind(&arrays.event_actor_ids)
        .bind(&arrays.event_versions)
        .bind(&arrays.event_machine_types)
        .bind(&arrays.event_tags)
        .bind(&arrays.event_schemas)
        .bind(&arrays.event_payloads)
        .bind(&arrays.event_metadata)
        .bind(&arrays.snapshot_actor_ids)
        .bind(&arrays.snapshot_versions)
        .bind(&arrays.snapshot_tags)
        .bind(&arrays.snapshot_schemas)
        .bind(&arrays.snapshot_payloads)
        .bind(&arrays.snapshot_entered_at)
        .fetch_all(&mut *conn)
        .await?;
    let mut recheck = Vec::new();
    for row in &refused {
        let index = *rows::ordinal(row, 0, round)?;
        let request = &requests[index];
        let head: Option<i64> = row.try_get("head")?;
        let max_version: Option<i64> = row.try_get("max_version")?;
        let actual = highest(head, max_version);
        outcome[index] = if request.create && head.is_some() {
            Err(AppendError::AlreadyExists {
                actor_id: request.actor_id.clone(),
            })
        } else if actual != request.expected_version {
            Err(conflict(request, actual))
        } else if request.create {
            // Created by a concurrent writer after this statement's snapshot was taken.
            Err(AppendError::AlreadyExists {
                actor_id: request.actor_id.clone(),
            })
        } else {
            // Advanced by a concurrent writer after this statement's snapshot was taken.
            recheck.push(index);
            Err(conflict(request, actual))
        };
    }
    for index in recheck {
        let request = &requests[index];
        outcome[index] = Err(conflict(
            request,
            current_head(conn, &request.actor_id).await?,
        ));
    }
    Ok(())
}

/// The stored text of `metadata`; the common empty metadata costs no encoding.
fn metadata_text(metadata: &EventMetadata) -> Result<Cow<'static, str>, StoreError> {
    if *metadata == EventMetadata::default() {
        Ok(Cow::Borrowed(EMPTY_METADATA))
    } else {
        Ok(Cow::Owned(serde_json::to_string(metadata)?))
    }
}

fn conflict(request: &AppendRequest, actual: u64) -> AppendError {
    AppendError::VersionConflict {
        actor_id: request.actor_id.clone(),
        expected: request.expected_version,
        actual,
    }
}

/// The greater of the registry head and the highest stored version (negative values read as 0).
fn highest(head: Option<i64>, max_version: Option<i64>) -> u64 {
    u64::try_from(head.unwrap_or(0).max(max_version.unwrap_or(0))).unwrap_or(0)
}

async fn current_head(conn: &mut PgConnection, actor_id: &ActorId) -> Result<u64, StoreError> {
    let row = sqlx::query(CURRENT_HEAD)
        .bind(id_str(actor_id))
        .fetch_one(&mut *conn)
        .await?;
    Ok(highest(row.try_get("head")?, row.try_get("max_version")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_hold_each_actor_once_and_keep_order() {
        let request = |id: &str| AppendRequest::new(id, "M", 0, "S", Utc::now());
        let batch = [
            request("a"),
            request("b"),
            request("a"),
            request("a"),
            request("c"),
        ];
        assert_eq!(rounds(&batch), vec![vec![0, 1, 4], vec![2], vec![3]]);
    }
}

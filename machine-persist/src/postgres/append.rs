//! The group-commit append: one statement per batch (see the module docs of
//! [`postgres`](super)).
//!
//! The registry head is the lock; the `(actor_id, version)` primary key is the backstop.
//!
//! **Isolation.** A request whose id or machine type breaks the storage rule never reaches the
//! statement. A request the database refuses for its own data (a value an index cannot hold, a
//! row written around the registry that makes the insert hit the key) fails the whole statement;
//! the batch is then re-applied with one savepoint per request, so only the offending request is
//! refused and the rest commit. Only a failure of the connection or the server fails the batch.
//!
//! **Fencing.** A request with a [`Fence`](crate::store::Fence) is applied only if its shard's
//! lease row holds the same epoch and has not expired, checked in the statement that checks the
//! expected version. The statement share-locks the lease rows it relies on, so a takeover either
//! commits first (and the request is refused) or waits for the statement (and its restore of the
//! actor sees the events).
//!
//! **Idempotency.** Every accepted request leaves its id in its actor's registry row (updated
//! anyway, so it costs nothing). Each refused request comes back with that id; a retry of the
//! request that was stored last (its answer lost with the connection) finds its own id there and
//! reports success.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use machine_core::VersionConflict;
use sqlx::{Acquire, PgConnection, Row};

use super::PostgresStore;
use crate::model::time;
use crate::plan;
use crate::sql::convert::version_to_sql;
use crate::sql::decode;
use crate::sql::text::metadata_text;
use crate::{ActorId, AppendError, AppendRequest, BatchOutcome, StoreError};

/// Applies one round (at most one request per actor) and returns one row per REFUSED request:
/// its 1-based position in the round, the registry head, the highest stored version, the id
/// of the last request applied to the actor, as of the statement's snapshot, and whether its
/// fence (shard, epoch) named a lease that is not current. Accepted requests return nothing, so the common case reads no rows and touches no
/// row twice.
const APPEND_ROUND: &str = r#"
WITH req AS MATERIALIZED (
    SELECT *
    FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bool[], $5::text[], $6::text[],
                $7::timestamptz[], $8::bigint[], $37::timestamptz[], $38::bigint[], $39::bigint[])
        WITH ORDINALITY AS r(actor_id, expected, next, is_create, machine_type, state_tag,
                             entered_at, request_id, timeout_at, shard, epoch, ord)
),
current_leases AS MATERIALIZED (
    -- The current leases that fenced requests name, share-locked: a takeover of one of them
    -- waits until this statement commits, and a takeover that committed first is seen here.
    SELECT l.shard, l.epoch
    FROM shard_leases l
    WHERE l.shard IN (SELECT req.shard FROM req WHERE req.shard IS NOT NULL)
      AND l.expires_at > now()
    FOR SHARE
),
fenced AS MATERIALIZED (
    SELECT req.ord
    FROM req
    WHERE req.shard IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM current_leases c
                      WHERE c.shard = req.shard AND c.epoch = req.epoch)
),
repeated AS MATERIALIZED (
    SELECT nc.actor_id, min(nc.command_id) AS command_id
    FROM unnest($32::text[], $33::text[], $36::timestamptz[])
        AS nc(actor_id, command_id, expired_before)
    JOIN commands c ON c.actor_id = nc.actor_id AND c.command_id = nc.command_id
                   AND c.recorded_at >= nc.expired_before
    GROUP BY nc.actor_id
),
inserted AS (
    INSERT INTO actors AS a
        (actor_id, machine_type, head_version, state_tag, entered_at, last_request, timeout_at,
         created_at, last_activity)
    SELECT req.actor_id, req.machine_type, req.next, req.state_tag, req.entered_at,
           req.request_id, req.timeout_at, now(), now()
    FROM req
    WHERE req.expected = 0
      AND req.actor_id NOT IN (SELECT actor_id FROM repeated)
      AND req.ord NOT IN (SELECT ord FROM fenced)
    ON CONFLICT (actor_id) DO NOTHING
    RETURNING a.actor_id
),
updated AS (
    UPDATE actors AS a
    SET head_version = req.next,
        state_tag = req.state_tag,
        entered_at = req.entered_at,
        last_request = req.request_id,
        timeout_at = req.timeout_at,
        last_activity = now()
    FROM req
    WHERE a.actor_id = req.actor_id
      AND NOT req.is_create
      AND a.head_version = req.expected
      AND a.actor_id NOT IN (SELECT actor_id FROM repeated)
      AND req.ord NOT IN (SELECT ord FROM fenced)
    RETURNING a.actor_id
),
accepted AS MATERIALIZED (
    SELECT actor_id FROM inserted UNION ALL SELECT actor_id FROM updated
),
new_events AS (
    INSERT INTO events
        (actor_id, version, machine_type, tag, schema_version, codec, payload, metadata,
         recorded_at)
    SELECT ev.actor_id, ev.version, ev.machine_type, ev.tag, ev.schema_version, ev.codec,
           ev.payload, ev.metadata, now()
    FROM unnest($9::text[], $10::bigint[], $11::text[], $12::text[], $13::bigint[], $14::text[],
                $15::bytea[], $16::text[])
        WITH ORDINALITY AS ev(actor_id, version, machine_type, tag, schema_version, codec,
                              payload, metadata, ord)
    WHERE ev.actor_id IN (SELECT actor_id FROM accepted)
    ORDER BY ev.ord
),
new_snapshots AS (
    INSERT INTO snapshots AS s
        (actor_id, version, state_tag, schema_version, codec, payload, entered_at, created_at)
    SELECT sn.actor_id, sn.version, sn.state_tag, sn.schema_version, sn.codec, sn.payload,
           sn.entered_at, now()
    FROM unnest($17::text[], $18::bigint[], $19::text[], $20::bigint[], $21::text[],
                $22::bytea[], $23::timestamptz[])
        AS sn(actor_id, version, state_tag, schema_version, codec, payload, entered_at)
    WHERE sn.actor_id IN (SELECT actor_id FROM accepted)
    ON CONFLICT (actor_id, version) DO UPDATE SET
        state_tag = excluded.state_tag,
        schema_version = excluded.schema_version,
        codec = excluded.codec,
        payload = excluded.payload,
        entered_at = excluded.entered_at,
        created_at = excluded.created_at
),
new_actions AS (
    INSERT INTO durable_actions
        (actor_id, version, name, machine_type, codec, payload, claimed_by, claimed_until,
         created_at, updated_at)
    SELECT ac.actor_id, ac.version, ac.name, ac.machine_type, ac.codec, ac.payload, ac.owner,
           ac.claimed_until, now(), now()
    FROM unnest($24::text[], $25::bigint[], $26::text[], $27::text[], $28::text[],
                $29::bytea[], $30::text[], $31::timestamptz[])
        AS ac(actor_id, version, name, machine_type, codec, payload, owner, claimed_until)
    WHERE ac.actor_id IN (SELECT actor_id FROM accepted)
),
new_commands AS (
    INSERT INTO commands AS c (actor_id, command_id, version, fingerprint, recorded_at)
    SELECT nc.actor_id, nc.command_id, nc.version, nc.fingerprint, now()
    FROM unnest($32::text[], $33::text[], $34::bigint[], $35::text[])
        AS nc(actor_id, command_id, version, fingerprint)
    WHERE nc.actor_id IN (SELECT actor_id FROM accepted)
    ON CONFLICT (actor_id, command_id) DO UPDATE SET
        version = excluded.version,
        fingerprint = excluded.fingerprint,
        recorded_at = excluded.recorded_at
)
SELECT req.ord,
       (SELECT a.head_version FROM actors a WHERE a.actor_id = req.actor_id) AS head,
       (SELECT max(e.version) FROM events e WHERE e.actor_id = req.actor_id) AS max_version,
       (SELECT a.last_request FROM actors a WHERE a.actor_id = req.actor_id) AS last_request,
       (SELECT r.command_id FROM repeated r WHERE r.actor_id = req.actor_id) AS repeated,
       req.ord IN (SELECT ord FROM fenced) AS fenced
FROM req
WHERE NOT EXISTS (SELECT 1 FROM accepted WHERE accepted.actor_id = req.actor_id)
ORDER BY req.ord
"#;

/// The head and the last request id of one actor, read afresh.
const CURRENT_HEAD: &str = "
    SELECT (SELECT head_version FROM actors WHERE actor_id = $1) AS head,
           (SELECT max(version) FROM events WHERE actor_id = $1) AS max_version,
           (SELECT last_request FROM actors WHERE actor_id = $1) AS last_request";

impl PostgresStore {
    /// Appends a batch in rounds of at most one request per actor, one statement each.
    pub(super) async fn append_in_rounds(
        &self,
        requests: &[AppendRequest],
    ) -> Result<BatchOutcome, StoreError> {
        let mut outcome: BatchOutcome = requests.iter().map(plan::validate).collect();
        let valid: Vec<usize> = (0..requests.len())
            .filter(|&index| outcome[index].is_ok())
            .collect();
        if valid.is_empty() {
            return Ok(outcome);
        }
        let rounds = rounds(requests, &valid);
        let mut conn = self.pool.acquire().await?;
        let applied = if let [round] = rounds.as_slice() {
            // One statement is its own transaction: one round trip for the whole batch.
            run_round(&mut conn, requests, round, &mut outcome).await
        } else {
            run_in_transaction(&mut conn, requests, &rounds, &mut outcome).await
        };
        match applied {
            Ok(()) => Ok(outcome),
            // Something in the batch's data was refused (nothing was applied): find out whose.
            Err(error) if !error.is_transient() => {
                tracing::warn!(%error, "a batch was refused; applying it request by request");
                one_by_one(&mut conn, requests, &valid, &mut outcome).await?;
                Ok(outcome)
            }
            Err(error) => Err(error),
        }
    }
}

/// Splits the valid requests so that each round holds at most one request per actor, keeping
/// order.
fn rounds(requests: &[AppendRequest], valid: &[usize]) -> Vec<Vec<usize>> {
    let mut seen: HashMap<&ActorId, usize> = HashMap::with_capacity(valid.len());
    let mut rounds: Vec<Vec<usize>> = vec![Vec::with_capacity(valid.len())];
    for &index in valid {
        let round = seen.entry(&requests[index].actor_id).or_insert(0);
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

/// Applies each valid request under its own savepoint, so a request the database refuses fails
/// alone.
async fn one_by_one(
    conn: &mut PgConnection,
    requests: &[AppendRequest],
    valid: &[usize],
    outcome: &mut BatchOutcome,
) -> Result<(), StoreError> {
    let mut tx = conn.begin().await?;
    for &index in valid {
        let request = &requests[index];
        // Forget what a rolled-back first attempt may have recorded.
        outcome[index] = Ok(());
        let mut savepoint = tx.begin().await?;
        match run_round(&mut savepoint, requests, &[index], outcome).await {
            Ok(()) => savepoint.commit().await?,
            Err(error) if is_unique_violation(&error) => {
                // Rows written around the registry: the highest stored version is the head.
                savepoint.rollback().await?;
                let found = current_head(&mut tx, request).await?;
                outcome[index] = Err(conflict(request, found.actual()));
            }
            Err(error) if !error.is_transient() => {
                savepoint.rollback().await?;
                outcome[index] = Err(AppendError::Refused {
                    actor_id: request.actor_id.clone(),
                    source: error.into(),
                });
            }
            Err(error) => return Err(error),
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Postgres' code for a unique violation.
const UNIQUE_VIOLATION: &str = "23505";

fn is_unique_violation(error: &StoreError) -> bool {
    let source = match error {
        StoreError::Backend { source, .. } => source,
        _ => return false,
    };
    matches!(source.downcast_ref::<sqlx::Error>(), Some(sqlx::Error::Database(db))
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
    request_ids: Vec<i64>,
    timeouts: Vec<Option<DateTime<Utc>>>,
    shards: Vec<Option<i64>>,
    epochs: Vec<Option<i64>>,
    event_actor_ids: Vec<&'a str>,
    event_versions: Vec<i64>,
    event_machine_types: Vec<&'a str>,
    event_tags: Vec<&'a str>,
    event_schemas: Vec<i64>,
    event_codecs: Vec<&'a str>,
    event_payloads: Vec<&'a [u8]>,
    event_metadata: Vec<std::borrow::Cow<'a, str>>,
    snapshot_actor_ids: Vec<&'a str>,
    snapshot_versions: Vec<i64>,
    snapshot_tags: Vec<&'a str>,
    snapshot_schemas: Vec<i64>,
    snapshot_codecs: Vec<&'a str>,
    snapshot_payloads: Vec<&'a [u8]>,
    snapshot_entered_at: Vec<DateTime<Utc>>,
    action_actor_ids: Vec<&'a str>,
    action_versions: Vec<i64>,
    action_names: Vec<&'a str>,
    action_machine_types: Vec<&'a str>,
    action_codecs: Vec<&'a str>,
    action_payloads: Vec<&'a [u8]>,
    action_owners: Vec<&'a str>,
    action_claims: Vec<DateTime<Utc>>,
    command_actor_ids: Vec<&'a str>,
    command_ids: Vec<&'a str>,
    command_versions: Vec<i64>,
    command_fingerprints: Vec<&'a str>,
    command_expired_before: Vec<DateTime<Utc>>,
}

impl<'a> RoundArrays<'a> {
    fn push(&mut self, request: &'a AppendRequest) -> Result<(), StoreError> {
        let id = request.actor_id.as_str();
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
        self.request_ids.push(request.request_id);
        self.timeouts.push(request.timeout_at.map(time::to_micros));
        self.shards
            .push(request.fence.map(|fence| i64::from(fence.shard)));
        // An epoch past i64 was never stored (epochs are positive bigints): -1 matches no lease.
        self.epochs.push(
            request
                .fence
                .map(|fence| i64::try_from(fence.epoch).unwrap_or(-1)),
        );
        for (version, event) in (request.expected_version + 1..).zip(&request.events) {
            self.event_actor_ids.push(id);
            self.event_versions.push(version_to_sql(actor_id, version)?);
            self.event_machine_types.push(&request.machine_type);
            self.event_tags.push(&event.tag);
            self.event_schemas.push(i64::from(event.schema_version));
            self.event_codecs.push(&event.codec);
            self.event_payloads.push(&event.payload);
            self.event_metadata.push(metadata_text(&event.metadata)?);
        }
        for command in &request.commands {
            self.command_actor_ids.push(id);
            self.command_ids.push(&command.id);
            self.command_versions
                .push(version_to_sql(actor_id, command.version)?);
            self.command_fingerprints.push(&command.fingerprint);
            self.command_expired_before
                .push(time::to_micros(command.expired_before));
        }
        for action in &request.actions {
            self.action_actor_ids.push(id);
            self.action_versions
                .push(version_to_sql(actor_id, action.version)?);
            self.action_names.push(&action.name);
            self.action_machine_types.push(&request.machine_type);
            self.action_codecs.push(&action.codec);
            self.action_payloads.push(&action.payload);
            self.action_owners.push(&action.claim.owner);
            self.action_claims.push(time::to_micros(action.claim.until));
        }
        if let Some(snapshot) = &request.snapshot {
            self.snapshot_actor_ids.push(id);
            self.snapshot_versions
                .push(version_to_sql(actor_id, snapshot.version)?);
            self.snapshot_tags.push(&snapshot.state_tag);
            self.snapshot_schemas
                .push(i64::from(snapshot.schema_version));
            self.snapshot_codecs.push(&snapshot.codec);
            self.snapshot_payloads.push(&snapshot.payload);
            self.snapshot_entered_at
                .push(time::to_micros(snapshot.entered_at));
        }
        Ok(())
    }
}

/// What the store held for a refused request.
struct Refusal {
    head: Option<i64>,
    max_version: Option<i64>,
    last_request: Option<i64>,
}

/// A refused request's row: what the store held, the command id it repeats, if any, and whether
/// its fence failed.
struct RefusedRow {
    found: Refusal,
    repeated: Option<String>,
    fenced: bool,
}

impl RefusedRow {
    fn read(row: &sqlx::postgres::PgRow) -> Result<Self, StoreError> {
        Ok(Self {
            found: Refusal::read(row, 1)?,
            repeated: row.try_get(4)?,
            fenced: row.try_get::<Option<bool>, _>(5)?.unwrap_or(false),
        })
    }
}

impl Refusal {
    fn read(row: &sqlx::postgres::PgRow, first: usize) -> Result<Self, StoreError> {
        Ok(Self {
            head: row.try_get(first)?,
            max_version: row.try_get(first + 1)?,
            last_request: row.try_get(first + 2)?,
        })
    }

    /// The greater of the registry head and the highest stored version; a negative value is
    /// damaged data that no expected version matches.
    fn actual(&self) -> u64 {
        let highest = self.head.unwrap_or(0).max(self.max_version.unwrap_or(0));
        u64::try_from(highest).unwrap_or(u64::MAX)
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
        .bind(&arrays.request_ids)
        .bind(&arrays.event_actor_ids)
        .bind(&arrays.event_versions)
        .bind(&arrays.event_machine_types)
        .bind(&arrays.event_tags)
        .bind(&arrays.event_schemas)
        .bind(&arrays.event_codecs)
        .bind(&arrays.event_payloads)
        .bind(&arrays.event_metadata)
        .bind(&arrays.snapshot_actor_ids)
        .bind(&arrays.snapshot_versions)
        .bind(&arrays.snapshot_tags)
        .bind(&arrays.snapshot_schemas)
        .bind(&arrays.snapshot_codecs)
        .bind(&arrays.snapshot_payloads)
        .bind(&arrays.snapshot_entered_at)
        .bind(&arrays.action_actor_ids)
        .bind(&arrays.action_versions)
        .bind(&arrays.action_names)
        .bind(&arrays.action_machine_types)
        .bind(&arrays.action_codecs)
        .bind(&arrays.action_payloads)
        .bind(&arrays.action_owners)
        .bind(&arrays.action_claims)
        .bind(&arrays.command_actor_ids)
        .bind(&arrays.command_ids)
        .bind(&arrays.command_versions)
        .bind(&arrays.command_fingerprints)
        .bind(&arrays.command_expired_before)
        .bind(&arrays.timeouts)
        .bind(&arrays.shards)
        .bind(&arrays.epochs)
        .fetch_all(&mut *conn)
        .await?;
    let mut recheck = Vec::new();
    for row in &refused {
        let index = round[decode::ordinal::<sqlx::Postgres>(row, 0, round.len())?];
        let request = &requests[index];
        let RefusedRow {
            found,
            repeated,
            fenced,
        } = RefusedRow::read(row)?;
        outcome[index] = if found.last_request == Some(request.request_id) {
            // A retry of this very request, stored by an earlier attempt.
            Ok(())
        } else if let (true, Some(fence)) = (fenced, request.fence) {
            Err(AppendError::Fenced {
                actor_id: request.actor_id.clone(),
                fence,
            })
        } else if let Some(command_id) = repeated {
            Err(AppendError::DuplicateCommand {
                actor_id: request.actor_id.clone(),
                command_id,
            })
        } else if request.create && found.head.is_some() {
            Err(AppendError::AlreadyExists {
                actor_id: request.actor_id.clone(),
            })
        } else if found.actual() != request.expected_version {
            Err(conflict(request, found.actual()))
        } else if request.create {
            // Created by a concurrent writer after this statement's snapshot was taken.
            Err(AppendError::AlreadyExists {
                actor_id: request.actor_id.clone(),
            })
        } else {
            // Advanced by a concurrent writer after this statement's snapshot was taken.
            recheck.push(index);
            Err(conflict(request, found.actual()))
        };
    }
    for index in recheck {
        let request = &requests[index];
        let found = current_head(conn, request).await?;
        outcome[index] = if found.last_request == Some(request.request_id) {
            Ok(())
        } else {
            Err(conflict(request, found.actual()))
        };
    }
    Ok(())
}

fn conflict(request: &AppendRequest, actual: u64) -> AppendError {
    AppendError::Conflict(VersionConflict {
        actor_id: request.actor_id.clone(),
        expected: request.expected_version,
        actual,
    })
}

async fn current_head(
    conn: &mut PgConnection,
    request: &AppendRequest,
) -> Result<Refusal, StoreError> {
    let row = sqlx::query(CURRENT_HEAD)
        .bind(request.actor_id.as_str())
        .fetch_one(&mut *conn)
        .await?;
    Refusal::read(&row, 0)
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
        assert_eq!(
            rounds(&batch, &[0, 1, 2, 3, 4]),
            vec![vec![0, 1, 4], vec![2], vec![3]]
        );
        assert_eq!(rounds(&batch, &[1, 3]), vec![vec![1, 3]]);
    }
}

//! The group-commit append: one `BEGIN IMMEDIATE` transaction and a handful of statements for a
//! batch of any size.
//!
//! 1. read the registry heads of every actor in the batch, and the journal's position counter
//!    (one statement, ids as a JSON array);
//! 2. decide every request in order ([`plan::decide`]); the write lock is held, so the heads
//!    cannot change underneath, in this process or another; a request whose id is the last one
//!    applied to its actor (a retry of a stored request) succeeds and writes nothing;
//! 3. insert all accepted events at fresh positions, into `recent_events` or, for a narrow batch
//!    when nothing waits to be merged, straight into `events` (the [`MergePolicy`] decides), and
//!    upsert the registry rows and the snapshots, with multi-row `VALUES` statements (see
//!    [`values`]);
//!    and insert the durable actions of the accepted requests into the outbox, so each exists
//!    exactly when its event does: into `recent_actions` along with the events, or straight
//!    into `durable_actions` when the events go straight into `events`;
//! 4. advance the position counter and, when due, [merge](super::merge) `recent_events` into
//!    `events`;
//! 5. apply the attempt records of durable actions waiting for an append ([`records`]);
//! 6. commit, then answer those records.
//!
//! [`records`]: super::records
//!
//! The registry head is the authority for the optimistic lock: events are not probed, because
//! `recent_events` has no index by actor (that is what makes appends cheap). Every writer through
//! this crate, in any process, decides under the write lock against the head the last commit
//! left, so it cannot create a duplicate or a gap. The primary key of `events` stays the backstop
//! for a duplicate version written behind the registry's back: a direct insert into `events`
//! then fails its batch, and a merge leaves the duplicate in `recent_events`, where reads report
//! it (see [`merge`](super::merge)).
//!
//! Inserts are `OR FAIL`: a failing statement leaves its earlier rows in place instead of being
//! undone on its own, so SQLite keeps no statement journal for it; the whole transaction is rolled
//! back anyway when a statement fails.
//!
//! [`MergePolicy`]: super::merge::MergePolicy

use std::borrow::Cow;
use std::collections::HashMap;

use sqlx::{Sqlite, SqliteConnection};

use super::dialect::time_text;
use super::merge::{self, BatchShape, Route};
use super::values::{self, Statement};
use super::SqliteStore;
use crate::model::time;
use crate::plan::{self, Found, Plan};
use crate::sql::convert::version_to_sql;
use crate::sql::text::metadata_text;
use crate::sql::Dialect;
use crate::store::{NewAction, NewCommand};
use crate::{ActorId, AppendRequest, BatchOutcome, NewSnapshot, StoreError};

/// The position counter, the merge watermark, and the registry heads and last request ids of the
/// batch's actors as one JSON array of `[actor_id, head_version, last_request]` (`null`s for an
/// unknown actor): fetching one row per actor would cost one hand-over from the worker thread per
/// actor.
const SELECT_STATE: &str = "
    SELECT (SELECT last_position FROM journal_state),
           (SELECT merged_through FROM journal_state),
           json_group_array(json_array(ids.value, actors.head_version, actors.last_request))
    FROM json_each(?1) AS ids
    LEFT JOIN actors ON actors.actor_id = ids.value";

/// The insert of a batch's events into `$table`, in the column order of [`EventRow`] then the
/// commit time.
macro_rules! insert_events {
    ($table:literal) => {
        Statement {
            head: concat!(
                "INSERT OR FAIL INTO ",
                $table,
                " (position, actor_id, version, machine_type, tag, schema_version, codec, \
                 payload, metadata, recorded_at)"
            ),
            columns: 10,
            tail: "",
        }
    };
}

/// The insert of a batch's durable actions into `$table` (the outbox), in the column order of
/// [`ActionRow`] then the commit time (as creation and last change).
macro_rules! insert_actions {
    ($table:literal) => {
        Statement {
            head: concat!(
                "INSERT OR FAIL INTO ",
                $table,
                " (actor_id, version, name, machine_type, codec, payload, claimed_by, \
                 claimed_until, created_at, updated_at)"
            ),
            columns: 10,
            tail: "",
        }
    };
}

/// The events of a batch, into the insertion-ordered level.
const INSERT_RECENT: Statement = insert_events!("recent_events");

/// As [`INSERT_RECENT`], straight into the merged level (for a narrow batch with nothing
/// waiting to be merged).
const INSERT_MERGED: Statement = insert_events!("events");

/// The registry rows of a batch, in the column order of [`ActorRow`] then the commit time (as
/// creation and last activity); the last parameter is the merge watermark. `recent_from` is the
/// position of the actor's first event in this batch (`NULL` if none), except that an actor whose
/// `recent_from` is still current (above the watermark) keeps it: its older events are still in
/// `recent_events`.
const UPSERT_ACTORS: Statement = Statement {
    head: "INSERT INTO actors
               (actor_id, machine_type, head_version, state_tag, entered_at, last_request,
                timeout_at, recent_from, created_at, last_activity)",
    columns: 10,
    tail: " ON CONFLICT (actor_id) DO UPDATE SET
        head_version = excluded.head_version,
        last_request = excluded.last_request,
        timeout_at = excluded.timeout_at,
        state_tag = excluded.state_tag,
        entered_at = excluded.entered_at,
        last_activity = excluded.last_activity,
        recent_from = CASE
            WHEN excluded.recent_from IS NULL OR actors.recent_from > ? THEN actors.recent_from
            ELSE excluded.recent_from
        END",
};

/// The snapshots of a batch, in the column order of [`SnapshotRow`] then the commit time.
const UPSERT_SNAPSHOTS: Statement = Statement {
    head: "INSERT INTO snapshots
               (actor_id, version, state_tag, schema_version, codec, payload, entered_at,
                created_at)",
    columns: 8,
    tail: " ON CONFLICT (actor_id, version) DO UPDATE SET
        state_tag = excluded.state_tag,
        schema_version = excluded.schema_version,
        codec = excluded.codec,
        payload = excluded.payload,
        entered_at = excluded.entered_at,
        created_at = excluded.created_at",
};

/// The durable actions of a batch, into the outbox's insertion-ordered level.
const INSERT_RECENT_ACTIONS: Statement = insert_actions!("recent_actions");

/// As [`INSERT_RECENT_ACTIONS`], straight into the keyed level (with the events of a narrow
/// batch written straight into `events`).
const INSERT_MERGED_ACTIONS: Statement = insert_actions!("durable_actions");

/// The command ids of a batch, in the column order of [`CommandRow`] then the commit time. An
/// expired record of the same id is replaced (a live one was refused by the plan).
const UPSERT_COMMANDS: Statement = Statement {
    head: "INSERT INTO commands (actor_id, command_id, version, fingerprint, recorded_at)",
    columns: 5,
    tail: " ON CONFLICT (actor_id, command_id) DO UPDATE SET
        version = excluded.version,
        fingerprint = excluded.fingerprint,
        recorded_at = excluded.recorded_at",
};

/// The recorded commands among the `[actor_id, command_id]` pairs of the JSON array `?1`.
const SELECT_COMMANDS: &str = "
    SELECT commands.actor_id, commands.command_id, commands.recorded_at
    FROM json_each(?1) AS wanted
    JOIN commands ON commands.actor_id = json_extract(wanted.value, '$[0]')
                 AND commands.command_id = json_extract(wanted.value, '$[1]')";

/// Records the last position assigned.
const ADVANCE_POSITION: &str = "UPDATE journal_state SET last_position = ?1";
/// Records the last position assigned, by a batch written straight into `events` while nothing
/// waited: everything is merged up to it.
const ADVANCE_POSITION_AND_WATERMARK: &str =
    "UPDATE journal_state SET last_position = ?1, merged_through = ?1";

/// An event row, in the column order of [`INSERT_RECENT`].
struct EventRow<'a> {
    position: i64,
    actor_id: &'a str,
    version: i64,
    machine_type: &'a str,
    tag: &'a str,
    schema_version: u32,
    codec: &'a str,
    payload: &'a [u8],
    metadata: Cow<'a, str>,
}

/// A registry row, in the column order of [`UPSERT_ACTORS`].
struct ActorRow<'a> {
    actor_id: &'a str,
    machine_type: &'a str,
    head_version: i64,
    state_tag: &'a str,
    entered_at: String,
    last_request: i64,
    timeout_at: Option<String>,
    first_position: Option<i64>,
}

/// An outbox row, in the column order of [`INSERT_ACTIONS`].
struct ActionRow<'a> {
    actor_id: &'a str,
    version: i64,
    action: &'a NewAction,
    machine_type: &'a str,
    claimed_until: String,
}

/// A command row, in the column order of [`UPSERT_COMMANDS`].
struct CommandRow<'a> {
    actor_id: &'a str,
    command: &'a NewCommand,
    version: i64,
}

/// A snapshot row, in the column order of [`UPSERT_SNAPSHOTS`].
struct SnapshotRow<'a> {
    actor_id: &'a str,
    version: i64,
    snapshot: &'a NewSnapshot,
    entered_at: String,
}

/// The journal's counters as the batch found them.
#[derive(Clone, Copy, Debug)]
struct Counters {
    last_position: i64,
    merged_through: i64,
}

impl SqliteStore {
    /// Appends a batch: decides it under the write lock, writes its rows, merges when due.
    pub(super) async fn decide_and_write(
        &self,
        requests: &[AppendRequest],
    ) -> Result<BatchOutcome, StoreError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let _appending = self.records.append_started();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let (counters, found) = read_state(&mut tx, requests).await?;
        let recorded = read_commands(&mut tx, requests).await?;
        let plan = plan::decide(
            requests,
            |id| found.get(id.as_str()).copied().unwrap_or_default(),
            |id, command| {
                recorded
                    .get(&(id.to_string(), command.id.clone()))
                    .is_some_and(|at| *at >= time_text(command.expired_before))
            },
        );
        let now = time_text(time::now());
        let rows = Rows::collect(requests, &plan, counters)?;
        let route = self.merge_policy.route(
            BatchShape {
                waiting_before: counters.last_position - counters.merged_through,
                waiting_after: rows.last_position - counters.merged_through,
                actors: rows.actors_with_events,
            },
            &self.narrow_streak,
        );
        rows.write(&mut tx, route, counters, &now).await?;
        let riding = self.record_riding(&mut tx).await;
        tx.commit().await?;
        if let Some(riding) = riding {
            riding.answer();
        }
        Ok(plan.outcome)
    }
}

/// The counters, and what the registry holds for each actor of the batch.
async fn read_state(
    conn: &mut SqliteConnection,
    requests: &[AppendRequest],
) -> Result<(Counters, HashMap<String, Found>), StoreError> {
    let mut ids: Vec<&str> = requests.iter().map(|r| r.actor_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let (last_position, merged_through, heads): (Option<i64>, Option<i64>, String) =
        sqlx::query_as(SELECT_STATE)
            .bind(serde_json::to_string(&ids)?)
            .fetch_one(conn)
            .await?;
    let heads: Vec<(String, Option<i64>, Option<i64>)> = serde_json::from_str(&heads)?;
    let mut found = HashMap::with_capacity(heads.len());
    for (id, head, last_request) in heads {
        found.insert(
            id,
            Found {
                exists: head.is_some(),
                // A negative stored head is damaged data: no expected version can match it.
                head: head.map_or(0, |head| u64::try_from(head).unwrap_or(u64::MAX)),
                last_request: last_request.unwrap_or(0),
            },
        );
    }
    let counters = Counters {
        last_position: last_position.unwrap_or(0),
        merged_through: merged_through.unwrap_or(0),
    };
    Ok((counters, found))
}

/// When each command of the batch that is already recorded was recorded (as stored text, which
/// sorts in time order), by actor and command id. Reads nothing for a batch without commands.
async fn read_commands(
    conn: &mut SqliteConnection,
    requests: &[AppendRequest],
) -> Result<HashMap<(String, String), String>, StoreError> {
    let pairs: Vec<(&str, &str)> = requests
        .iter()
        .flat_map(|request| {
            request
                .commands
                .iter()
                .map(|command| (request.actor_id.as_str(), command.id.as_str()))
        })
        .collect();
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String, String)> = sqlx::query_as(SELECT_COMMANDS)
        .bind(serde_json::to_string(&pairs)?)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(actor, command, at)| ((actor, command), at))
        .collect())
}

/// The rows a batch writes.
struct Rows<'a> {
    events: Vec<EventRow<'a>>,
    actors: Vec<ActorRow<'a>>,
    snapshots: Vec<SnapshotRow<'a>>,
    actions: Vec<ActionRow<'a>>,
    commands: Vec<CommandRow<'a>>,
    /// The last position assigned (unchanged if the batch has no accepted event).
    last_position: i64,
    /// How many distinct actors receive events.
    actors_with_events: usize,
}

impl<'a> Rows<'a> {
    /// The events, registry rows and snapshots of the accepted requests.
    fn collect(
        requests: &'a [AppendRequest],
        plan: &Plan,
        counters: Counters,
    ) -> Result<Self, StoreError> {
        let mut events: Vec<EventRow<'_>> = Vec::new();
        let mut snapshots: Vec<SnapshotRow<'_>> = Vec::new();
        let mut actions: Vec<ActionRow<'_>> = Vec::new();
        let mut commands: Vec<CommandRow<'_>> = Vec::new();
        let mut first_positions: HashMap<&ActorId, i64> = HashMap::new();
        let mut position = counters.last_position;
        for index in plan.accepted() {
            let request = &requests[index];
            let id = request.actor_id.as_str();
            if !request.events.is_empty() {
                first_positions
                    .entry(&request.actor_id)
                    .or_insert(position + 1);
            }
            for (version, event) in (request.expected_version + 1..).zip(&request.events) {
                position += 1;
                events.push(EventRow {
                    position,
                    actor_id: id,
                    version: version_to_sql(&request.actor_id, version)?,
                    machine_type: &request.machine_type,
                    tag: &event.tag,
                    schema_version: event.schema_version,
                    codec: &event.codec,
                    payload: &event.payload,
                    metadata: metadata_text(&event.metadata)?,
                });
            }
            for command in &request.commands {
                commands.push(CommandRow {
                    actor_id: id,
                    command,
                    version: version_to_sql(&request.actor_id, command.version)?,
                });
            }
            for action in &request.actions {
                actions.push(ActionRow {
                    actor_id: id,
                    version: version_to_sql(&request.actor_id, action.version)?,
                    action,
                    machine_type: &request.machine_type,
                    claimed_until: time_text(time::to_micros(action.claim.until)),
                });
            }
            if let Some(snapshot) = &request.snapshot {
                snapshots.push(SnapshotRow {
                    actor_id: id,
                    version: version_to_sql(&request.actor_id, snapshot.version)?,
                    snapshot,
                    entered_at: time_text(time::to_micros(snapshot.entered_at)),
                });
            }
        }
        let mut actors: Vec<ActorRow<'_>> = Vec::with_capacity(plan.registry.len());
        for write in &plan.registry {
            let request = &requests[write.request];
            actors.push(ActorRow {
                actor_id: request.actor_id.as_str(),
                machine_type: &request.machine_type,
                head_version: version_to_sql(&request.actor_id, request.next_version())?,
                state_tag: &request.state_tag,
                entered_at: time_text(time::to_micros(request.entered_at)),
                last_request: request.request_id,
                timeout_at: request.timeout_at.map(|at| time_text(time::to_micros(at))),
                first_position: first_positions.get(&request.actor_id).copied(),
            });
        }
        Ok(Self {
            events,
            actors,
            snapshots,
            actions,
            commands,
            last_position: position,
            actors_with_events: first_positions.len(),
        })
    }

    /// Writes the rows along `route`, then advances the counters and merges as it says.
    async fn write(
        &self,
        conn: &mut SqliteConnection,
        route: Route,
        counters: Counters,
        now: &str,
    ) -> Result<(), StoreError> {
        let (insert, insert_actions) = match route {
            Route::Merged => (INSERT_MERGED, INSERT_MERGED_ACTIONS),
            Route::Recent { .. } => (INSERT_RECENT, INSERT_RECENT_ACTIONS),
        };
        for chunk in values::chunks(&self.events) {
            let sql = insert.sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for row in chunk {
                query = query
                    .bind(row.position)
                    .bind(row.actor_id)
                    .bind(row.version)
                    .bind(row.machine_type)
                    .bind(row.tag)
                    .bind(row.schema_version)
                    .bind(row.codec);
                query = Sqlite::bind_payload(query, row.payload)
                    .bind(row.metadata.as_ref())
                    .bind(now);
            }
            values::pad(query, chunk.len(), insert.columns)
                .execute(&mut *conn)
                .await?;
        }
        for chunk in values::chunks(&self.actors) {
            let sql = UPSERT_ACTORS.sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for row in chunk {
                query = query
                    .bind(row.actor_id)
                    .bind(row.machine_type)
                    .bind(row.head_version)
                    .bind(row.state_tag)
                    .bind(row.entered_at.as_str())
                    .bind(row.last_request)
                    .bind(row.timeout_at.as_deref())
                    .bind(row.first_position)
                    .bind(now)
                    .bind(now);
            }
            values::pad(query, chunk.len(), UPSERT_ACTORS.columns)
                .bind(counters.merged_through)
                .execute(&mut *conn)
                .await?;
        }
        for chunk in values::chunks(&self.snapshots) {
            let sql = UPSERT_SNAPSHOTS.sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for row in chunk {
                query = query
                    .bind(row.actor_id)
                    .bind(row.version)
                    .bind(row.snapshot.state_tag.as_ref())
                    .bind(row.snapshot.schema_version)
                    .bind(row.snapshot.codec.as_ref());
                query = Sqlite::bind_payload(query, &row.snapshot.payload)
                    .bind(row.entered_at.as_str())
                    .bind(now);
            }
            values::pad(query, chunk.len(), UPSERT_SNAPSHOTS.columns)
                .execute(&mut *conn)
                .await?;
        }
        for chunk in values::chunks(&self.commands) {
            let sql = UPSERT_COMMANDS.sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for row in chunk {
                query = query
                    .bind(row.actor_id)
                    .bind(row.command.id.as_str())
                    .bind(row.version)
                    .bind(row.command.fingerprint.as_str())
                    .bind(now);
            }
            values::pad(query, chunk.len(), UPSERT_COMMANDS.columns)
                .execute(&mut *conn)
                .await?;
        }
        for chunk in values::chunks(&self.actions) {
            let sql = insert_actions.sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for row in chunk {
                query = query
                    .bind(row.actor_id)
                    .bind(row.version)
                    .bind(row.action.name.as_ref())
                    .bind(row.machine_type)
                    .bind(row.action.codec.as_ref());
                query = Sqlite::bind_payload(query, &row.action.payload)
                    .bind(row.action.claim.owner.as_ref())
                    .bind(row.claimed_until.as_str())
                    .bind(now)
                    .bind(now);
            }
            values::pad(query, chunk.len(), insert_actions.columns)
                .execute(&mut *conn)
                .await?;
        }
        if self.events.is_empty() {
            return Ok(());
        }
        let advance = match route {
            Route::Merged => ADVANCE_POSITION_AND_WATERMARK,
            Route::Recent { .. } => ADVANCE_POSITION,
        };
        sqlx::query(advance)
            .bind(self.last_position)
            .execute(&mut *conn)
            .await?;
        if route == (Route::Recent { merge: true }) {
            merge::merge(conn).await?;
        }
        Ok(())
    }
}

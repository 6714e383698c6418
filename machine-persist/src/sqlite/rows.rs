//! Decoding SQLite rows into the model, reporting bad values as [`StoreError::Corrupt`].

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Row, Sqlite, Type};

use crate::convert::{schema_from_sql, version_from_sql};
use crate::{
    id_from, ActorId, ActorMetadata, EventMetadata, StoreError, StoredEvent, StoredSnapshot,
};

/// Formats a timestamp the way this backend stores it: fixed-width RFC 3339 in UTC with
/// microseconds (`2024-05-01T12:00:00.000000Z`), which sorts lexicographically in time order.
pub(super) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads one column, naming the row's actor and version if the value has the wrong type.
fn column<'r, T>(
    row: &'r SqliteRow,
    actor_id: &ActorId,
    version: Option<u64>,
    column: &'static str,
) -> Result<T, StoreError>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(column)
        .map_err(|error| StoreError::corrupt(actor_id, version, column, error))
}

fn time(
    row: &SqliteRow,
    actor_id: &ActorId,
    version: Option<u64>,
    name: &'static str,
) -> Result<DateTime<Utc>, StoreError> {
    let text: &str = column(row, actor_id, version, name)?;
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| StoreError::corrupt(actor_id, version, name, error))
}

fn version(row: &SqliteRow, actor_id: &ActorId, name: &'static str) -> Result<u64, StoreError> {
    let raw: i64 = column(row, actor_id, None, name)?;
    version_from_sql(actor_id, None, name, raw)
}

/// An event row of `actor_id` (columns as selected by `EVENT_COLUMNS`).
pub(super) fn event(row: &SqliteRow, actor_id: &ActorId) -> Result<StoredEvent, StoreError> {
    let version = version(row, actor_id, "version")?;
    let at = Some(version);
    let metadata: &str = column(row, actor_id, at, "metadata")?;
    let metadata: EventMetadata = serde_json::from_str(metadata)
        .map_err(|error| StoreError::corrupt(actor_id, at, "metadata", error))?;
    Ok(StoredEvent {
        actor_id: actor_id.clone(),
        version,
        machine_type: column(row, actor_id, at, "machine_type")?,
        tag: column(row, actor_id, at, "tag")?,
        schema_version: schema_from_sql(
            actor_id,
            at,
            column(row, actor_id, at, "schema_version")?,
        )?,
        payload: column(row, actor_id, at, "payload")?,
        metadata,
        recorded_at: time(row, actor_id, at, "recorded_at")?,
        position: column(row, actor_id, at, "position")?,
    })
}

/// The columns [`event`] reads.
pub(super) const EVENT_COLUMNS: &str =
    "version, machine_type, tag, schema_version, payload, metadata, recorded_at, position";

/// A snapshot row of `actor_id` (columns as selected by `SNAPSHOT_COLUMNS`).
pub(super) fn snapshot(row: &SqliteRow, actor_id: &ActorId) -> Result<StoredSnapshot, StoreError> {
    let version = version(row, actor_id, "version")?;
    let at = Some(version);
    Ok(StoredSnapshot {
        actor_id: actor_id.clone(),
        version,
        state_tag: column(row, actor_id, at, "state_tag")?,
        schema_version: schema_from_sql(
            actor_id,
            at,
            column(row, actor_id, at, "schema_version")?,
        )?,
        payload: column(row, actor_id, at, "payload")?,
        entered_at: time(row, actor_id, at, "entered_at")?,
        created_at: time(row, actor_id, at, "created_at")?,
    })
}

/// The columns [`snapshot`] reads.
pub(super) const SNAPSHOT_COLUMNS: &str =
    "version, state_tag, schema_version, payload, entered_at, created_at";

/// A registry row (columns as selected by `ACTOR_COLUMNS`).
pub(super) fn actor(row: &SqliteRow) -> Result<ActorMetadata, StoreError> {
    let id: &str = row.try_get("actor_id")?;
    let actor_id = id_from(id);
    let version = version(row, &actor_id, "head_version")?;
    let at = Some(version);
    Ok(ActorMetadata {
        machine_type: column(row, &actor_id, at, "machine_type")?,
        version,
        state_tag: column(row, &actor_id, at, "state_tag")?,
        entered_at: time(row, &actor_id, at, "entered_at")?,
        created_at: time(row, &actor_id, at, "created_at")?,
        last_activity: time(row, &actor_id, at, "last_activity")?,
        actor_id,
    })
}

/// The columns [`actor`] reads.
pub(super) const ACTOR_COLUMNS: &str =
    "actor_id, machine_type, head_version, state_tag, entered_at, created_at, last_activity";

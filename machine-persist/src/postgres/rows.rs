//! Decoding Postgres rows into the model, reporting bad values as [`StoreError::Corrupt`].

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Decode, Postgres, Row, Type};

use crate::convert::{schema_from_sql, version_from_sql};
use crate::{
    id_from, ActorId, ActorMetadata, EventMetadata, StoreError, StoredEvent, StoredSnapshot,
};

/// Reads one column, naming the row's actor and version if the value cannot be decoded.
fn column<'r, T>(
    row: &'r PgRow,
    actor_id: &ActorId,
    version: Option<u64>,
    column: &'static str,
) -> Result<T, StoreError>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(column)
        .map_err(|error| StoreError::corrupt(actor_id, version, column, error))
}

/// Reads column number `index` (named `name` in errors) of a row whose column types this module
/// chose, skipping the driver's per-value type check (a mismatch still fails to decode).
fn column_at<'r, T>(
    row: &'r PgRow,
    actor_id: &ActorId,
    version: Option<u64>,
    index: usize,
    name: &'static str,
) -> Result<T, StoreError>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get_unchecked(index)
        .map_err(|error| StoreError::corrupt(actor_id, version, name, error))
}

fn version(row: &PgRow, actor_id: &ActorId, name: &'static str) -> Result<u64, StoreError> {
    let raw: i64 = column(row, actor_id, None, name)?;
    version_from_sql(actor_id, None, name, raw)
}

/// The columns [`event`] reads, in the order it reads them (by position: restore decodes many
/// rows, and a lookup by name per column would cost more than the decoding).
pub(super) const EVENT_COLUMNS: &str =
    "version, machine_type, tag, schema_version, payload, metadata, recorded_at, position";

/// How many columns [`EVENT_COLUMNS`] has.
pub(super) const EVENT_COLUMN_COUNT: usize = 8;

/// The stored text of empty metadata (what almost every event has), decoded without parsing.
pub(super) const EMPTY_METADATA: &str = "{}";

/// An event row of `actor_id`, with the columns of [`EVENT_COLUMNS`].
pub(super) fn event(row: &PgRow, actor_id: &ActorId) -> Result<StoredEvent, StoreError> {
    let raw: i64 = column_at(row, actor_id, None, 0, "version")?;
    let version = version_from_sql(actor_id, None, "version", raw)?;
    let at = Some(version);
    let metadata: &str = column_at(row, actor_id, at, 5, "metadata")?;
    let metadata = if metadata == EMPTY_METADATA {
        EventMetadata::default()
    } else {
        serde_json::from_str(metadata)
            .map_err(|error| StoreError::corrupt(actor_id, at, "metadata", error))?
    };
    Ok(StoredEvent {
        actor_id: actor_id.clone(),
        version,
        machine_type: column_at(row, actor_id, at, 1, "machine_type")?,
        tag: column_at(row, actor_id, at, 2, "tag")?,
        schema_version: schema_from_sql(
            actor_id,
            at,
            column_at(row, actor_id, at, 3, "schema_version")?,
        )?,
        payload: column_at(row, actor_id, at, 4, "payload")?,
        metadata,
        recorded_at: column_at::<DateTime<Utc>>(row, actor_id, at, 6, "recorded_at")?,
        position: column_at(row, actor_id, at, 7, "position")?,
    })
}

/// The input item a bulk-query row belongs to: column `index` holds its 1-based position in
/// `items` (the `WITH ORDINALITY` of the `UNNEST` the query joined).
pub(super) fn ordinal<'a, T>(
    row: &PgRow,
    index: usize,
    items: &'a [T],
) -> Result<&'a T, StoreError> {
    let ord: i64 = row.try_get(index)?;
    usize::try_from(ord - 1)
        .ok()
        .and_then(|at| items.get(at))
        .ok_or_else(|| {
            StoreError::Database(sqlx::Error::Protocol(format!(
                "a bulk query returned item {ord} of {}",
                items.len()
            )))
        })
}

/// The columns [`snapshot`] reads.
pub(super) const SNAPSHOT_COLUMNS: &str =
    "version, state_tag, schema_version, payload, entered_at, created_at";

/// How many columns [`SNAPSHOT_COLUMNS`] has.
pub(super) const SNAPSHOT_COLUMN_COUNT: usize = 6;

/// A snapshot row of `actor_id`.
pub(super) fn snapshot(row: &PgRow, actor_id: &ActorId) -> Result<StoredSnapshot, StoreError> {
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
        entered_at: column(row, actor_id, at, "entered_at")?,
        created_at: column(row, actor_id, at, "created_at")?,
    })
}

/// The columns [`actor`] reads.
pub(super) const ACTOR_COLUMNS: &str =
    "actor_id, machine_type, head_version, state_tag, entered_at, created_at, last_activity";

/// A registry row.
pub(super) fn actor(row: &PgRow) -> Result<ActorMetadata, StoreError> {
    let id: &str = row.try_get("actor_id")?;
    let actor_id = id_from(id);
    let version = version(row, &actor_id, "head_version")?;
    let at = Some(version);
    Ok(ActorMetadata {
        machine_type: column(row, &actor_id, at, "machine_type")?,
        version,
        state_tag: column(row, &actor_id, at, "state_tag")?,
        entered_at: column(row, &actor_id, at, "entered_at")?,
        created_at: column(row, &actor_id, at, "created_at")?,
        last_activity: column(row, &actor_id, at, "last_activity")?,
        actor_id,
    })
}

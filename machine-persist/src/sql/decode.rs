//! Decoding rows into the model, by column position, reporting every bad value as a
//! [`StoreError::Corrupt`] naming the actor, the version and the column.
//!
//! Columns are read by position, in the order of the `*_COLUMNS` lists below: bulk reads decode
//! many rows, and a lookup by name per column would cost more than the decoding. A bad value fails
//! its row alone; what the caller does with that (fail one actor of a bulk restore, skip one row
//! of a listing) is the caller's choice.

use super::convert::{schema_from_sql, version_from_sql};
use super::Dialect;
use crate::error::BoxError;
use crate::model::action_key;
use crate::sql::text::{codec_name, metadata_from_text};
use crate::store::{ActionStatus, StoredAction};
use crate::{ActorId, ActorMetadata, DueTimer, StoreError, StoredEvent, StoredSnapshot};

/// The columns [`event`] reads, in order.
pub(crate) const EVENT_COLUMNS: &str =
    "version, machine_type, tag, schema_version, codec, payload, metadata, recorded_at, position";

/// [`EVENT_COLUMNS`], each qualified with `table` (for queries joining tables that share names).
#[cfg(feature = "sqlite")]
pub(crate) fn event_columns_of(table: &str) -> String {
    qualified(EVENT_COLUMNS, table)
}

/// [`ACTION_COLUMNS`], each qualified with `table`.
#[cfg(feature = "postgres")]
pub(crate) fn action_columns_of(table: &str) -> String {
    qualified(ACTION_COLUMNS, table)
}

/// Each column of a `, `-separated list, qualified with `table`.
fn qualified(columns: &str, table: &str) -> String {
    columns
        .split(", ")
        .map(|column| format!("{table}.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many columns [`EVENT_COLUMNS`] has.
pub(crate) const EVENT_COLUMN_COUNT: usize = 9;

/// The columns [`snapshot`] reads, in order.
pub(crate) const SNAPSHOT_COLUMNS: &str =
    "version, state_tag, schema_version, codec, payload, entered_at, created_at";

/// How many columns [`SNAPSHOT_COLUMNS`] has.
pub(crate) const SNAPSHOT_COLUMN_COUNT: usize = 7;

/// The columns [`actor`] reads, in order.
pub(crate) const ACTOR_COLUMNS: &str =
    "actor_id, machine_type, head_version, state_tag, entered_at, created_at, last_activity, \
     timeout_at";

/// How many columns [`ACTOR_COLUMNS`] has.
pub(crate) const ACTOR_COLUMN_COUNT: usize = 8;

/// One row being decoded, for the error of a bad column.
struct Columns<'r, DB: Dialect> {
    row: &'r DB::Row,
    actor_id: &'r ActorId,
    version: Option<u64>,
    /// The position of the row's first column.
    first: usize,
}

impl<'r, DB: Dialect> Columns<'r, DB> {
    fn corrupt(&self, name: &'static str) -> impl FnOnce(BoxError) -> StoreError + '_ {
        move |error| StoreError::corrupt(self.actor_id, self.version, name, error)
    }

    fn int(&self, index: usize, name: &'static str) -> Result<i64, StoreError> {
        DB::int(self.row, self.first + index)
            .and_then(|value| value.ok_or_else(|| "unexpected NULL".into()))
            .map_err(self.corrupt(name))
    }

    fn version(&self, index: usize, name: &'static str) -> Result<u64, StoreError> {
        version_from_sql(self.actor_id, self.version, name, self.int(index, name)?)
    }

    fn schema(&self, index: usize) -> Result<u32, StoreError> {
        schema_from_sql(
            self.actor_id,
            self.version,
            self.int(index, "schema_version")?,
        )
    }

    fn text(&self, index: usize, name: &'static str) -> Result<&'r str, StoreError> {
        DB::text(self.row, self.first + index).map_err(self.corrupt(name))
    }

    fn bytes(&self, index: usize, name: &'static str) -> Result<Vec<u8>, StoreError> {
        DB::bytes(self.row, self.first + index).map_err(self.corrupt(name))
    }

    fn time(
        &self,
        index: usize,
        name: &'static str,
    ) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
        DB::time(self.row, self.first + index).map_err(self.corrupt(name))
    }

    fn optional_time(
        &self,
        index: usize,
        name: &'static str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        if DB::is_null(self.row, self.first + index).map_err(self.corrupt(name))? {
            return Ok(None);
        }
        self.time(index, name).map(Some)
    }
}

/// An event row of `actor_id` whose [`EVENT_COLUMNS`] start at column `first`.
pub(crate) fn event<DB: Dialect>(
    row: &DB::Row,
    actor_id: &ActorId,
    first: usize,
) -> Result<StoredEvent, StoreError> {
    let mut columns = Columns::<DB> {
        row,
        actor_id,
        version: None,
        first,
    };
    let version = columns.version(0, "version")?;
    columns.version = Some(version);
    let metadata = metadata_from_text(columns.text(6, "metadata")?)
        .map_err(|error| StoreError::corrupt(actor_id, Some(version), "metadata", error))?;
    Ok(StoredEvent {
        actor_id: actor_id.clone(),
        version,
        machine_type: columns.text(1, "machine_type")?.to_owned(),
        tag: columns.text(2, "tag")?.to_owned(),
        schema_version: columns.schema(3)?,
        codec: codec_name(columns.text(4, "codec")?),
        payload: columns.bytes(5, "payload")?,
        metadata,
        recorded_at: columns.time(7, "recorded_at")?,
        position: columns.int(8, "position")?,
    })
}

/// A snapshot row of `actor_id` whose [`SNAPSHOT_COLUMNS`] start at column `first`.
pub(crate) fn snapshot<DB: Dialect>(
    row: &DB::Row,
    actor_id: &ActorId,
    first: usize,
) -> Result<StoredSnapshot, StoreError> {
    let mut columns = Columns::<DB> {
        row,
        actor_id,
        version: None,
        first,
    };
    let version = columns.version(0, "version")?;
    columns.version = Some(version);
    Ok(StoredSnapshot {
        actor_id: actor_id.clone(),
        version,
        state_tag: columns.text(1, "state_tag")?.to_owned(),
        schema_version: columns.schema(2)?,
        codec: codec_name(columns.text(3, "codec")?),
        payload: columns.bytes(4, "payload")?,
        entered_at: columns.time(5, "entered_at")?,
        created_at: columns.time(6, "created_at")?,
    })
}

/// The id of a registry row whose [`ACTOR_COLUMNS`] start at column `first`. An id that is not
/// text is reported under its lossy rendering, so the row can still be named.
pub(crate) fn actor_id<DB: Dialect>(row: &DB::Row, first: usize) -> Result<ActorId, StoreError> {
    match DB::text(row, first) {
        Ok(id) => Ok(ActorId::from(id)),
        Err(error) => {
            let lossy = DB::bytes(row, first)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default();
            Err(StoreError::corrupt(
                &ActorId::from(lossy),
                None,
                "actor_id",
                error,
            ))
        }
    }
}

/// A registry row whose [`ACTOR_COLUMNS`] start at column `first`.
pub(crate) fn actor<DB: Dialect>(row: &DB::Row, first: usize) -> Result<ActorMetadata, StoreError> {
    let actor_id = actor_id::<DB>(row, first)?;
    let mut columns = Columns::<DB> {
        row,
        actor_id: &actor_id,
        version: None,
        first,
    };
    let version = columns.version(2, "head_version")?;
    columns.version = Some(version);
    Ok(ActorMetadata {
        machine_type: columns.text(1, "machine_type")?.to_owned(),
        version,
        state_tag: columns.text(3, "state_tag")?.to_owned(),
        entered_at: columns.time(4, "entered_at")?,
        created_at: columns.time(5, "created_at")?,
        last_activity: columns.time(6, "last_activity")?,
        timeout_at: columns.optional_time(7, "timeout_at")?,
        actor_id: actor_id.clone(),
    })
}

/// A pending timer whose `actor_id, timeout_at` start at column `first`.
pub(crate) fn timer<DB: Dialect>(row: &DB::Row, first: usize) -> Result<DueTimer, StoreError> {
    let actor_id = actor_id::<DB>(row, first)?;
    let columns = Columns::<DB> {
        row,
        actor_id: &actor_id,
        version: None,
        first,
    };
    let due = columns.time(1, "timeout_at")?;
    Ok(DueTimer { actor_id, due })
}

/// The item of `items` a row of a bulk query belongs to: column `index` holds its 1-based
/// position (the `WITH ORDINALITY` / `json_each` key the query joined).
pub(crate) fn ordinal<DB: Dialect>(
    row: &DB::Row,
    index: usize,
    items: usize,
) -> Result<usize, StoreError> {
    let ord = DB::int(row, index)
        .ok()
        .flatten()
        .ok_or_else(|| StoreError::Contract("a bulk query row without its ordinal".into()))?;
    usize::try_from(ord)
        .ok()
        .and_then(|ord| ord.checked_sub(1))
        .filter(|at| *at < items)
        .ok_or_else(|| StoreError::Contract(format!("a bulk query returned item {ord} of {items}")))
}

/// The columns [`action`] reads, in order.
pub(crate) const ACTION_COLUMNS: &str = "actor_id, version, name, machine_type, codec, payload, \
     status, attempts, claimed_by, claimed_until, last_cause, created_at, updated_at";

/// An outbox row whose [`ACTION_COLUMNS`] start at column `first`.
pub(crate) fn action<DB: Dialect>(row: &DB::Row, first: usize) -> Result<StoredAction, StoreError> {
    let actor_id = actor_id::<DB>(row, first)?;
    let mut columns = Columns::<DB> {
        row,
        actor_id: &actor_id,
        version: None,
        first,
    };
    let version = columns.version(1, "version")?;
    columns.version = Some(version);
    let status = columns.text(6, "status")?;
    let status = ActionStatus::parse(status).ok_or_else(|| {
        StoreError::corrupt(
            &actor_id,
            Some(version),
            "status",
            format!("unknown status `{status}`"),
        )
    })?;
    let attempts = columns.int(7, "attempts")?;
    let attempts = u32::try_from(attempts)
        .map_err(|error| StoreError::corrupt(&actor_id, Some(version), "attempts", error))?;
    let last_cause =
        match columns.text(10, "last_cause")? {
            "" => None,
            text => Some(serde_json::from_str(text).map_err(|error| {
                StoreError::corrupt(&actor_id, Some(version), "last_cause", error)
            })?),
        };
    Ok(StoredAction {
        key: action_key(actor_id.clone(), version, columns.text(2, "name")?),
        machine_type: columns.text(3, "machine_type")?.to_owned(),
        codec: columns.text(4, "codec")?.to_owned(),
        payload: columns.bytes(5, "payload")?,
        status,
        attempts,
        claimed_by: columns.text(8, "claimed_by")?.to_owned(),
        claimed_until: columns.time(9, "claimed_until")?,
        last_cause,
        created_at: columns.time(11, "created_at")?,
        updated_at: columns.time(12, "updated_at")?,
    })
}

//! The global stream and its head, read the same way on every SQL backend.
//!
//! A read is two statements. The first finds the backend's *horizon*: a position such that
//! every event at or before it is final (committed, and nothing will ever commit before it).
//! The second reads the events after the reader's position and at or before that horizon, in
//! stream order. Because the horizon is taken first, a page that is not full proves the stream
//! holds nothing else (that passes the filter) up to the horizon, and the reader may resume
//! after it; a full page ends at its last event. What makes a horizon final is the backend's
//! business (its [`SqlBackend::stream_horizon_sql`]); the statements here are identical.
//!
//! Statements bind: `$1`, `$2` the reader's position (commit group, position); `$3`, `$4` the
//! horizon; `$5` the limit; then the machine-type list and the tag list, when filtered.

use super::backend::{SqlBackend, StreamBounds};
use super::convert::count_to_sql;
use super::decode::{self, EVENT_COLUMN_COUNT};
use super::{Dialect, SqlDatabase};
use crate::store::{GlobalPosition, StreamEntry, StreamFilter, StreamPage};
use crate::{ActorId, StoreError};

// A stream row is `actor_id`, the event columns (`decode::EVENT_COLUMNS`, whose last is the
// position), then the commit group.

/// Column of the event's position in a stream row.
const POSITION_COLUMN: usize = EVENT_COLUMN_COUNT;
/// Column of the commit group in a stream row.
const COMMIT_COLUMN: usize = EVENT_COLUMN_COUNT + 1;

/// The parameter numbers of a stream query's filters, `None` where unfiltered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterParams {
    /// The machine-type list.
    pub machine_types: Option<usize>,
    /// The tag list.
    pub tags: Option<usize>,
}

impl FilterParams {
    pub(crate) fn of(filter: &StreamFilter) -> Self {
        let machine_types = (!filter.machine_types().is_empty()).then_some(6);
        let next = if machine_types.is_some() { 7 } else { 6 };
        Self {
            machine_types,
            tags: (!filter.tags().is_empty()).then_some(next),
        }
    }

    /// The `AND ...` conditions of these filters, in `DB`'s syntax.
    pub fn conditions<DB: Dialect>(self) -> String {
        let mut sql = String::new();
        if let Some(n) = self.machine_types {
            sql.push_str(&DB::in_list("machine_type", n, false));
        }
        if let Some(n) = self.tags {
            sql.push_str(&DB::in_list("tag", n, false));
        }
        sql
    }
}

/// The position in columns `commit` and `position` of `row`. A row whose place in the stream
/// cannot be read cannot be passed without possibly skipping it, so it fails the read.
fn position<DB: SqlDatabase>(
    row: &DB::Row,
    commit: usize,
    position: usize,
) -> Result<GlobalPosition, StoreError> {
    let part = |index| {
        DB::int(row, index)
            .ok()
            .flatten()
            .ok_or_else(|| StoreError::Contract("a stream position without a value".into()))
    };
    let (commit, position) = (part(commit)?, part(position)?);
    GlobalPosition::from_parts(commit, position).ok_or_else(|| {
        StoreError::Contract(format!("a negative stream position {commit}.{position}"))
    })
}

async fn horizon<B: SqlBackend>(backend: &B) -> Result<GlobalPosition, StoreError> {
    let rows = B::Db::fetch_all(sqlx::query(B::stream_horizon_sql()), backend.reader()).await?;
    match rows.first() {
        Some(row) => position::<B::Db>(row, 0, 1),
        None => Err(StoreError::Contract(
            "the stream horizon query returned no row".into(),
        )),
    }
}

/// The page after `after` (see [`EventStream::read_all`](crate::store::EventStream::read_all)).
pub(crate) async fn read_all<B: SqlBackend>(
    backend: &B,
    after: GlobalPosition,
    max: usize,
    filter: &StreamFilter,
) -> Result<StreamPage, StoreError> {
    if max == 0 {
        return Ok(StreamPage {
            entries: Vec::new(),
            through: after,
        });
    }
    let horizon = horizon(backend).await?;
    if horizon <= after {
        return Ok(StreamPage {
            entries: Vec::new(),
            through: after,
        });
    }
    let params = FilterParams::of(filter);
    let bounds = StreamBounds {
        after,
        through: horizon,
        max,
        filter,
        params,
    };
    let entries = match backend.stream_page_fast(bounds).await? {
        Some(entries) => entries,
        None => rows(backend, bounds).await?,
    };
    let through = match entries.last() {
        Some(last) if entries.len() == max => last.at,
        _ => horizon,
    };
    Ok(StreamPage { entries, through })
}

/// The page read row by row, each decoded on its own.
async fn rows<B: SqlBackend>(
    backend: &B,
    bounds: StreamBounds<'_>,
) -> Result<Vec<StreamEntry>, StoreError> {
    let sql = B::stream_page_sql(bounds.params);
    let rows = B::Db::fetch_all(bind_page::<B::Db>(&sql, bounds)?, backend.reader()).await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in &rows {
        let at = position::<B::Db>(row, COMMIT_COLUMN, POSITION_COLUMN)?;
        let event = decode::actor_id::<B::Db>(row, 0)
            .and_then(|actor_id: ActorId| decode::event::<B::Db>(row, &actor_id, 1));
        entries.push(StreamEntry { at, event });
    }
    Ok(entries)
}

/// Binds a page's parameters to `sql` (see the module docs for their order).
pub(crate) fn bind_page<'q, DB: Dialect>(
    sql: &'q str,
    bounds: StreamBounds<'q>,
) -> Result<super::SqlQuery<'q, DB>, StoreError> {
    let StreamBounds {
        after,
        through,
        max,
        filter,
        ..
    } = bounds;
    let (after_commit, after_position) = after.to_parts();
    let (horizon_commit, horizon_position) = through.to_parts();
    let limit = count_to_sql(max);
    let mut query = sqlx::query(sql);
    for value in [
        after_commit,
        after_position,
        horizon_commit,
        horizon_position,
        limit,
    ] {
        query = DB::bind_int(query, value);
    }
    if !filter.machine_types().is_empty() {
        query = DB::bind_list(
            query,
            filter.machine_types().iter().map(String::as_str).collect(),
        )?;
    }
    if !filter.tags().is_empty() {
        query = DB::bind_list(query, filter.tags().iter().map(String::as_str).collect())?;
    }
    Ok(query)
}

/// The last event a reader can see now, or [`GlobalPosition::START`].
pub(crate) async fn head<B: SqlBackend>(backend: &B) -> Result<GlobalPosition, StoreError> {
    let rows = B::Db::fetch_all(sqlx::query(B::stream_head_sql()), backend.reader()).await?;
    match rows.first() {
        Some(row) => position::<B::Db>(row, 0, 1),
        None => Ok(GlobalPosition::START),
    }
}

//! The global stream of [`SqliteStore`] as one JSON value per page.
//!
//! A catch-up reads millions of rows; handed over from the driver's worker thread one at a time
//! they would cost more than the read itself, so a page comes back as one `json_group_array`
//! (see [`json_rows`](super::json_rows)). Anything that does not decode sends the caller back to
//! the row-by-row read, which names the bad row's actor, version and column in its place.

use std::borrow::Cow;

use sqlx::Sqlite;

use super::json_rows::{Decoder, EventRow, EVENT_JSON};
use super::SqliteStore;
use crate::sql::backend::{SqlBackend, StreamBounds};
use crate::sql::stream::bind_page;
use crate::sql::SqlDatabase;
use crate::store::{GlobalPosition, StreamEntry};
use crate::{ActorId, StoreError};

impl SqliteStore {
    /// The page of `bounds` as one JSON value; `None` if any of it does not decode.
    pub(super) async fn stream_page_as_json(
        &self,
        bounds: StreamBounds<'_>,
    ) -> Result<Option<Vec<StreamEntry>>, StoreError> {
        let sql = format!(
            "SELECT json_group_array(json_array(actor_id, {EVENT_JSON})) FROM ({})",
            <Self as SqlBackend>::stream_page_sql(bounds.params)
        );
        let rows = Sqlite::fetch_all(bind_page::<Sqlite>(&sql, bounds)?, &self.reader).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let json = Sqlite::text(row, 0).map_err(|source| StoreError::Backend {
            transient: false,
            source,
        })?;
        Ok(decode(json))
    }
}

fn decode(json: &str) -> Option<Vec<StreamEntry>> {
    let rows: Vec<(Cow<'_, str>, EventRow<'_>)> = serde_json::from_str(json).ok()?;
    let mut decoder = Decoder::default();
    let mut entries = Vec::with_capacity(rows.len());
    for (actor_id, row) in rows {
        let event = decoder.event(row, &ActorId::from(actor_id.as_ref()))?;
        let at = GlobalPosition::from_parts(0, event.position)?;
        entries.push(StreamEntry {
            at,
            event: Ok(event),
        });
    }
    Some(entries)
}

//! The global stream of [`SqliteStore`] as one packed value per page.
//!
//! A catch-up reads millions of rows; handed over from the driver's worker thread one at a time
//! they would cost more than the read itself, so a page comes back packed into one value (see
//! [`packed_rows`](super::packed_rows)). Anything that does not decode sends the caller back to
//! the row-by-row read, which names the bad row's actor, version and column in its place.

use sqlx::{Row, Sqlite};

use super::packed_rows::{packed_events, Lead, Packed};
use super::SqliteStore;
use crate::sql::backend::{SqlBackend, StreamBounds};
use crate::sql::stream::bind_page;
use crate::sql::SqlDatabase;
use crate::store::{GlobalPosition, StreamEntry};
use crate::StoreError;

impl SqliteStore {
    /// The page of `bounds` as one packed value; `None` if any of it does not decode.
    pub(super) async fn stream_page_packed(
        &self,
        bounds: StreamBounds<'_>,
    ) -> Result<Option<Vec<StreamEntry>>, StoreError> {
        let sql = packed_events(
            &<Self as SqlBackend>::stream_page_sql(bounds.params),
            Lead::ActorId,
        );
        let rows = Sqlite::fetch_all(bind_page::<Sqlite>(&sql, bounds)?, &self.reader).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let (Ok(count), Ok(packed)) = (
            row.try_get::<i64, _>(0),
            row.try_get::<Option<Vec<u8>>, _>(1),
        ) else {
            return Ok(None);
        };
        Ok(decode(count, packed.as_deref().unwrap_or_default()))
    }
}

/// Decodes the `count` packed `actor_id, event` rows of a page; `None` if anything does not
/// decode or a row is missing.
fn decode(count: i64, packed: &[u8]) -> Option<Vec<StreamEntry>> {
    let mut rows = Packed::new(packed);
    let mut entries = Vec::with_capacity(usize::try_from(count).ok()?);
    while !rows.is_done() {
        let actor_id = rows.actor_id()?;
        let event = rows.event(&actor_id)?;
        let at = GlobalPosition::from_parts(0, event.position)?;
        entries.push(StreamEntry {
            at,
            event: Ok(event),
        });
    }
    (i64::try_from(entries.len()).ok()? == count).then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::stream::FilterParams;
    use crate::store::{AppendRequest, Journal, NewEvent, StreamFilter};

    /// The fast path must decode what SQLite packs (a page that falls back to the row path is
    /// correct but several times slower, which no functional test would notice).
    #[tokio::test]
    async fn a_stream_page_decodes_packed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("stream.db"))
            .await
            .unwrap();
        for id in ["a", "b"] {
            let request = AppendRequest::new(id, "M", 0, "S", chrono::Utc::now())
                .create()
                .with_events(vec![
                    NewEvent::new("One", 1, "json", b"1".to_vec()),
                    NewEvent::new("Two", 1, "msgpack", vec![0, 0xff]),
                ]);
            store.append(request).await.unwrap();
        }
        let filter = StreamFilter::all();
        let bounds = StreamBounds {
            after: GlobalPosition::START,
            through: GlobalPosition::from_parts(0, i64::MAX).unwrap(),
            max: 10,
            filter: &filter,
            params: FilterParams::of(&filter),
        };
        let entries = store
            .stream_page_packed(bounds)
            .await
            .unwrap()
            .expect("a page decoded packed");
        let seen: Vec<(String, u64)> = entries
            .iter()
            .map(|entry| {
                let event = entry.event.as_ref().unwrap();
                (event.actor_id.to_string(), event.version)
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a".into(), 1),
                ("a".into(), 2),
                ("b".into(), 1),
                ("b".into(), 2)
            ]
        );
        assert_eq!(entries[1].event.as_ref().unwrap().payload, [0, 0xff]);
        store.close().await;
    }
}

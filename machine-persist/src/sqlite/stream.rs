//! The global stream of [`SqliteStore`] as one packed value per page.
//!
//! A catch-up reads millions of rows; handed over from the driver's worker thread one at a time
//! they would cost more than the read itself, so a page comes back packed into one value (see
//! [`packed_rows`](super::packed_rows)). Anything that does not decode sends the caller back to
//! the row-by-row read, which names the bad row's actor, version and column in its place.
//!
//! A large page is read as two halves at once, on two reader connections: the work of a read is
//! almost all SQLite's (walking the position index, fetching each row from the table ordered by
//! actor, packing it), on the driver's worker thread of its connection, so one read keeps one
//! core busy however many there are. SQLite's positions are dense (one commit group, each event
//! the next number), so a window of *n* positions holds at most *n* events: the page's window
//! is split in the middle of its positions, both halves are read at once and joined in order.
//! Where a filter leaves the window short of a full page, the next window after it is read the
//! same way, twice as wide while windows come back sparse, until the page is full or the horizon
//! is reached; so a page is still exactly the first `max` events after its start.

use sqlx::{Row, Sqlite};

use super::packed_rows::{packed_events, Lead, Packed};
use super::SqliteStore;
use crate::sql::backend::{SqlBackend, StreamBounds};
use crate::sql::stream::bind_page;
use crate::sql::SqlDatabase;
use crate::store::{GlobalPosition, StreamEntry};
use crate::StoreError;

/// Pages of at least this many events are read in halves at once.
const SPLIT_PAGES_FROM: usize = 1_024;
/// How much wider than a page a window may grow while windows come back sparse.
const WIDEST_WINDOW: i64 = 64;

impl SqliteStore {
    /// The page of `bounds`, large ones read in halves at once (see the module docs); `None` if
    /// any of it does not decode.
    pub(super) async fn stream_page_split(
        &self,
        bounds: StreamBounds<'_>,
    ) -> Result<Option<Vec<StreamEntry>>, StoreError> {
        if bounds.max < SPLIT_PAGES_FROM || self.reader.options().get_max_connections() < 2 {
            return self.stream_page_packed(bounds).await;
        }
        let page = i64::try_from(bounds.max).unwrap_or(i64::MAX);
        let end = bounds.through.position();
        let mut after = bounds.after.position();
        let mut width = page;
        let mut entries: Vec<StreamEntry> = Vec::with_capacity(bounds.max);
        while entries.len() < bounds.max && after < end {
            let through = after.saturating_add(width).min(end);
            let middle = after + (through - after) / 2;
            let max = bounds.max - entries.len();
            let window = |from: i64, to: i64| StreamBounds {
                after: GlobalPosition::from_parts(0, from).unwrap_or(GlobalPosition::START),
                through: GlobalPosition::from_parts(0, to).unwrap_or(GlobalPosition::START),
                max,
                ..bounds
            };
            let (left, right) = tokio::try_join!(
                self.stream_page_packed(window(after, middle)),
                self.stream_page_packed(window(middle, through)),
            )?;
            let (Some(left), Some(right)) = (left, right) else {
                return Ok(None);
            };
            let found = left.len() + right.len();
            entries.extend(left);
            entries.extend(right);
            if found < max / 2 {
                width = width
                    .saturating_mul(2)
                    .min(page.saturating_mul(WIDEST_WINDOW));
            }
            after = through;
        }
        entries.truncate(bounds.max);
        Ok(Some(entries))
    }

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

    /// A page read in halves (and, filtered, in widening windows) is exactly the page read
    /// whole: the first `max` events after its start, in order.
    #[tokio::test]
    async fn a_page_read_in_halves_is_the_page_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("split.db"))
            .await
            .unwrap();
        // Runs of 100 events of `M` between runs of 700 of `N`: a filter on `M` leaves most
        // windows sparse.
        for round in 0..6u64 {
            for (id, machine, count) in [("a", "M", 100u64), ("b", "N", 700)] {
                let expected = round * count;
                let request = AppendRequest::new(id, machine, expected, "S", chrono::Utc::now())
                    .with_events(
                        (0..count)
                            .map(|_| NewEvent::new("E", 1, "json", b"1".to_vec()))
                            .collect(),
                    );
                let request = if round == 0 {
                    request.create()
                } else {
                    request
                };
                store.append(request).await.unwrap();
            }
        }
        let positions = |entries: Vec<StreamEntry>| -> Vec<i64> {
            entries.iter().map(|entry| entry.at.position()).collect()
        };
        let mut seen = 0;
        for filter in [StreamFilter::all(), StreamFilter::all().machine_type("M")] {
            for (after, max) in [(0, 1_024), (50, 1_500), (3_000, 4_096), (4_790, 2_000)] {
                let bounds = StreamBounds {
                    after: GlobalPosition::from_parts(0, after).unwrap(),
                    through: GlobalPosition::from_parts(0, 4_800).unwrap(),
                    max,
                    filter: &filter,
                    params: FilterParams::of(&filter),
                };
                let whole = store.stream_page_packed(bounds).await.unwrap().unwrap();
                let halves = store.stream_page_split(bounds).await.unwrap().unwrap();
                seen += whole.len();
                assert_eq!(
                    positions(halves),
                    positions(whole),
                    "{filter:?} after {after}, {max}"
                );
            }
        }
        // Unfiltered 1,024 + 1,500 + 1,800 + 10; of `M`: all 600, the 550 after position 50,
        // the 200 after 3,000, none after 4,790.
        assert_eq!(seen, 1_024 + 1_500 + 1_800 + 10 + 600 + 550 + 200);
        store.close().await;
    }

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

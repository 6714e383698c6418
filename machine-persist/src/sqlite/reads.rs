//! Reading the journal of [`SqliteStore`]: pages of one actor, and the tails of many.
//!
//! Reads see both levels of the journal in one statement (one consistent snapshot): the merged
//! `events`, clustered by `(actor_id, version)`, and the actor's rows still in `recent_events`,
//! found from the registry's `recent_from` bound (nothing to scan for an actor whose events are
//! all merged).
//!
//! A page is fetched as one JSON array built by SQLite and decoded in one pass: handing rows over
//! from the driver's worker thread one at a time costs more than everything else a read does. If
//! anything in the page does not decode (or SQLite cannot put a damaged value into JSON), the page
//! is read again row by row, which names the actor, version and column of the bad value.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::Sqlite;

use super::dialect::parse_time;
use super::SqliteStore;
use crate::sql::backend::Page;
use crate::sql::convert::{bound_to_sql, count_to_sql};
use crate::sql::decode::{self, event_columns_of, EVENT_COLUMNS, EVENT_COLUMN_COUNT};
use crate::sql::text::codec_name;
use crate::store::RowResult;
use crate::{ActorId, EventMetadata, StoreError, StoredEvent};

/// Restricts `recent_events` to the rows of actor `$1` that can still be there: from the actor's
/// `recent_from` on, if that is above the merge watermark (otherwise there are none).
pub(super) const RECENT_OF_ACTOR: &str = "
    position >= (
        SELECT a.recent_from FROM actors AS a
        WHERE a.actor_id = $1 AND a.recent_from > (SELECT merged_through FROM journal_state))
    AND actor_id = $1";

/// The events of actor `$1` with `$2 <= version <= $3`, both levels, ascending, at most `$4`,
/// sorted by SQLite: the reference the fast path falls back on.
fn select_page(columns: &str) -> String {
    format!(
        "SELECT {columns} FROM events
         WHERE actor_id = $1 AND version >= $2 AND version <= $3
         UNION ALL
         SELECT {columns} FROM recent_events
         WHERE {RECENT_OF_ACTOR} AND version >= $2 AND version <= $3
         ORDER BY version LIMIT $4"
    )
}

/// As [`select_page`], without sorting: an actor's events in `events` all precede (have lower
/// versions than) its events in `recent_events`, because a merge moves everything waiting and
/// appends go after the head; so the merged level is read first, in key order, and the recent one
/// only if the page is not full yet, in position order (which is version order for one actor).
/// Sorting the union instead would sort all of a busy actor's unmerged events for every page.
/// The caller checks that versions strictly increase (rows duplicated behind the registry's back
/// break the rule) and otherwise falls back on [`select_page`].
fn select_page_in_level_order(columns: &str) -> String {
    format!(
        "SELECT * FROM (
             SELECT {columns} FROM events
             WHERE actor_id = $1 AND version >= $2 AND version <= $3
             ORDER BY version LIMIT $4)
         UNION ALL
         SELECT * FROM (
             SELECT {columns} FROM recent_events
             WHERE {RECENT_OF_ACTOR} AND version >= $2 AND version <= $3
             ORDER BY position LIMIT $4)
         LIMIT $4"
    )
}

/// The tails of a JSON array of `[actor_id, after]`: every event after `after`, in both levels,
/// with the 1-based position of its pair last.
fn select_tails() -> String {
    let merged = event_columns_of("events");
    let recent = event_columns_of("recent_events");
    format!(
        "WITH tails AS (
             SELECT key + 1 AS ord, value ->> 0 AS actor_id, value ->> 1 AS after
             FROM json_each($1))
         SELECT {merged}, tails.ord FROM tails
         JOIN events ON events.actor_id = tails.actor_id AND events.version > tails.after
         UNION ALL
         SELECT {recent}, tails.ord FROM tails
         JOIN actors AS a ON a.actor_id = tails.actor_id
             AND a.recent_from > (SELECT merged_through FROM journal_state)
         JOIN recent_events ON recent_events.position >= a.recent_from
             AND recent_events.actor_id = tails.actor_id AND recent_events.version > tails.after
         ORDER BY ord, version"
    )
}

/// One event of a page fetched as JSON: `[version, machine_type, tag, schema_version, codec,
/// payload_is_blob (0 or 1), payload (text, or hex for a blob), metadata, recorded_at, position]`.
#[derive(Deserialize)]
struct PageRow<'a>(
    i64,
    String,
    String,
    i64,
    #[serde(borrow)] Cow<'a, str>,
    u8,
    #[serde(borrow)] Cow<'a, str>,
    EventMetadata,
    #[serde(borrow)] Cow<'a, str>,
    i64,
);

impl SqliteStore {
    /// Every event after `after` of each actor, one result per tail.
    pub(super) async fn tails_of(
        &self,
        tails: &[(ActorId, u64)],
    ) -> Result<Vec<RowResult<Vec<StoredEvent>>>, StoreError> {
        let pairs: Vec<(&str, i64)> = tails
            .iter()
            .map(|(actor_id, after)| (actor_id.as_str(), bound_to_sql(*after)))
            .collect();
        let sql = select_tails();
        let rows = sqlx::query(&sql)
            .bind(serde_json::to_string(&pairs)?)
            .fetch_all(&self.reader)
            .await?;
        let mut found: Vec<RowResult<Vec<StoredEvent>>> =
            tails.iter().map(|_| Ok(Vec::new())).collect();
        for row in &rows {
            let at = decode::ordinal::<Sqlite>(row, EVENT_COLUMN_COUNT, tails.len())?;
            let Ok(events) = &mut found[at] else {
                continue;
            };
            match decode::event::<Sqlite>(row, &tails[at].0, 0) {
                Ok(event) => events.push(event),
                Err(error) => found[at] = Err(error),
            }
        }
        Ok(found)
    }

    /// Reads a page as one JSON value; `None` if any of it does not decode.
    pub(super) async fn page_as_json(
        &self,
        Page {
            actor_id,
            from,
            to,
            max,
        }: Page<'_>,
    ) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        let page = select_page_in_level_order(EVENT_COLUMNS);
        let sql = format!(
            "SELECT json_group_array(json_array(
                 version, machine_type, tag, schema_version, codec, typeof(payload) = 'blob',
                 iif(typeof(payload) = 'blob', hex(payload), payload), json(metadata),
                 recorded_at, position))
             FROM ({page})"
        );
        let json: String = sqlx::query_scalar(&sql)
            .bind(actor_id.as_str())
            .bind(bound_to_sql(from))
            .bind(bound_to_sql(to))
            .bind(count_to_sql(max))
            .fetch_one(&self.reader)
            .await?;
        Ok(decode_page(&json, actor_id))
    }

    /// Reads a page row by row, reporting the first bad value as [`StoreError::Corrupt`].
    pub(super) async fn page_by_rows(
        &self,
        Page {
            actor_id,
            from,
            to,
            max,
        }: Page<'_>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = select_page(EVENT_COLUMNS);
        let rows = sqlx::query(&sql)
            .bind(actor_id.as_str())
            .bind(bound_to_sql(from))
            .bind(bound_to_sql(to))
            .bind(count_to_sql(max))
            .fetch_all(&self.reader)
            .await?;
        let events = rows
            .iter()
            .map(|row| decode::event::<Sqlite>(row, actor_id, 0))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(pair) = events
            .windows(2)
            .find(|pair| pair[0].version >= pair[1].version)
        {
            return Err(StoreError::corrupt(
                actor_id,
                Some(pair[1].version),
                "version",
                "the journal holds this version twice",
            ));
        }
        Ok(events)
    }
}

/// Decodes a page fetched as JSON; `None` if any value is malformed or versions do not strictly
/// increase.
fn decode_page(json: &str, actor_id: &ActorId) -> Option<Vec<StoredEvent>> {
    let rows: Vec<PageRow<'_>> = serde_json::from_str(json).ok()?;
    let mut events = Vec::with_capacity(rows.len());
    // Events appended together share their timestamp: parse each distinct text once.
    let mut last_time: Option<(Cow<'_, str>, DateTime<Utc>)> = None;
    let mut previous: Option<u64> = None;
    for PageRow(
        version,
        machine_type,
        tag,
        schema_version,
        codec,
        is_blob,
        payload,
        metadata,
        at,
        position,
    ) in rows
    {
        let version = u64::try_from(version).ok()?;
        if previous.is_some_and(|previous| previous >= version) {
            return None;
        }
        previous = Some(version);
        let recorded_at = match &last_time {
            Some((text, parsed)) if *text == at => *parsed,
            _ => {
                let parsed = parse_time(&at).ok()?;
                last_time = Some((at, parsed));
                parsed
            }
        };
        let payload = if is_blob != 0 {
            from_hex(&payload)?
        } else {
            payload.into_owned().into_bytes()
        };
        events.push(StoredEvent {
            actor_id: actor_id.clone(),
            version,
            machine_type,
            tag,
            schema_version: u32::try_from(schema_version).ok()?,
            codec: codec_name(&codec),
            payload,
            metadata,
            recorded_at,
            position,
        });
    }
    Some(events)
}

/// Decodes SQLite's `hex()` of a blob.
fn from_hex(hex: &str) -> Option<Vec<u8>> {
    let digit = |byte: u8| char::from(byte).to_digit(16);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some((digit(*high)? * 16 + digit(*low)?) as u8),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppendRequest, Journal, NewEvent};

    /// The fast path must decode what SQLite builds (a page that falls back to the row path is
    /// correct but several times slower, which no functional test would notice).
    #[tokio::test]
    async fn a_page_of_text_and_blob_payloads_decodes_on_the_fast_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("page.db")).await.unwrap();
        let request = AppendRequest::new("a", "M", 0, "S", chrono::Utc::now())
            .create()
            .with_events(vec![
                NewEvent::new("Text", 1, "json", br#"{"n":1}"#.to_vec()),
                NewEvent::new("Blob", 1, "msgpack", vec![0x81, 0xa1, b'n', 0xff]),
            ]);
        store.append(request).await.unwrap();
        let page = Page {
            actor_id: &"a".into(),
            from: 1,
            to: 2,
            max: 10,
        };
        let events = store
            .page_as_json(page)
            .await
            .unwrap()
            .expect("decoded as JSON");
        assert_eq!(events[0].payload, br#"{"n":1}"#);
        assert_eq!(events[1].payload, [0x81, 0xa1, b'n', 0xff]);
        assert_eq!(events[1].codec, "msgpack");
        store.close().await;
    }

    #[test]
    fn hex_decodes_what_sqlite_encodes() {
        assert_eq!(from_hex("00FF7a").unwrap(), [0, 255, 122]);
        assert!(from_hex("0").is_none());
        assert!(from_hex("zz").is_none());
    }
}

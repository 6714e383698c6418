//! Reading [`SqliteStore`]: pages of one actor's journal, the tails of many, and the latest
//! snapshots of many.
//!
//! Reads see both levels of the journal in one statement (one consistent snapshot): the merged
//! `events`, clustered by `(actor_id, version)`, and the actor's rows still in `recent_events`,
//! found from the registry's `recent_from` bound (nothing to scan for an actor whose events are
//! all merged).
//!
//! Each read is fetched as one value packed by SQLite and decoded in one pass
//! ([`super::packed_rows`]). If anything in it does not decode, the same rows are read again
//! through the row API, which names the actor, version and column of the bad value and, in a bulk
//! read, fails that actor alone.

use sqlx::Sqlite;

use super::packed_rows::{packed_events, packed_snapshots, Lead, Packed};
use super::SqliteStore;
use crate::sql::backend::Page;
use crate::sql::convert::{bound_to_sql, count_to_sql};
use crate::sql::decode::{self, event_columns_of, EVENT_COLUMNS, EVENT_COLUMN_COUNT};
use crate::sql::{snapshots, Dialect};
use crate::store::RowResult;
use crate::{ActorId, StoreError, StoredEvent, StoredSnapshot};

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
/// with the 1-based position of its pair last (as `ord`), unordered.
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
             AND recent_events.actor_id = tails.actor_id AND recent_events.version > tails.after"
    )
}

impl SqliteStore {
    /// Every event after `after` of each actor, one result per tail: fast as one packed value; if
    /// anything in it does not decode, read again row by row, so that a bad row fails its own
    /// actor alone.
    pub(super) async fn tails_of(
        &self,
        tails: &[(ActorId, u64)],
    ) -> Result<Vec<RowResult<Vec<StoredEvent>>>, StoreError> {
        let pairs: Vec<(&str, i64)> = tails
            .iter()
            .map(|(actor_id, after)| (actor_id.as_str(), bound_to_sql(*after)))
            .collect();
        let pairs = serde_json::to_string(&pairs)?;
        match self.tails_packed(tails, &pairs).await {
            Some(found) => Ok(found),
            None => self.tails_by_rows(tails, &pairs).await,
        }
    }

    /// [`Self::tails_of`] as one packed value; `None` if any of it does not decode.
    async fn tails_packed(
        &self,
        tails: &[(ActorId, u64)],
        pairs: &str,
    ) -> Option<Vec<RowResult<Vec<StoredEvent>>>> {
        let (count, packed): (i64, Option<Vec<u8>>) =
            sqlx::query_as(&packed_events(&select_tails(), Lead::Ord))
                .bind(pairs)
                .fetch_one(&self.reader)
                .await
                .ok()?;
        decode_tails(count, packed.as_deref().unwrap_or_default(), tails)
    }

    /// [`Self::tails_of`] through the row API.
    async fn tails_by_rows(
        &self,
        tails: &[(ActorId, u64)],
        pairs: &str,
    ) -> Result<Vec<RowResult<Vec<StoredEvent>>>, StoreError> {
        let sql = format!("{} ORDER BY ord, version", select_tails());
        let rows = sqlx::query(&sql)
            .bind(pairs)
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
        for (at, events) in found.iter_mut().enumerate() {
            if let Ok(list) = events {
                if let Err(error) = check_increasing(&tails[at].0, list) {
                    *events = Err(error);
                }
            }
        }
        Ok(found)
    }

    /// The latest snapshot of each of `actor_ids`: fast as one packed value, otherwise through
    /// the row API (a bad row failing its own actor alone).
    pub(super) async fn latest_snapshots_of(
        &self,
        actor_ids: &[ActorId],
    ) -> Result<Vec<RowResult<Option<StoredSnapshot>>>, StoreError> {
        let ids: Vec<&str> = actor_ids.iter().map(ActorId::as_str).collect();
        match self
            .snapshots_packed(actor_ids, &serde_json::to_string(&ids)?)
            .await
        {
            Some(found) => Ok(found),
            None => snapshots::load_latest_many(&self.reader, actor_ids).await,
        }
    }

    /// [`Self::latest_snapshots_of`] as one packed value; `None` if any of it does not decode.
    async fn snapshots_packed(
        &self,
        actor_ids: &[ActorId],
        ids: &str,
    ) -> Option<Vec<RowResult<Option<StoredSnapshot>>>> {
        let sql = packed_snapshots(&<Sqlite as Dialect>::latest_snapshots_sql(), Lead::Ord);
        let (count, packed): (i64, Option<Vec<u8>>) = sqlx::query_as(&sql)
            .bind(ids)
            .fetch_one(&self.reader)
            .await
            .ok()?;
        decode_snapshots(count, packed.as_deref().unwrap_or_default(), actor_ids)
    }

    /// Reads a page as one packed value; `None` if any of it does not decode.
    pub(super) async fn page_packed(
        &self,
        Page {
            actor_id,
            from,
            to,
            max,
        }: Page<'_>,
    ) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        let sql = packed_events(&select_page_in_level_order(EVENT_COLUMNS), Lead::Nothing);
        let (count, packed): (i64, Option<Vec<u8>>) = sqlx::query_as(&sql)
            .bind(actor_id.as_str())
            .bind(bound_to_sql(from))
            .bind(bound_to_sql(to))
            .bind(count_to_sql(max))
            .fetch_one(&self.reader)
            .await?;
        Ok(decode_page(
            count,
            packed.as_deref().unwrap_or_default(),
            actor_id,
        ))
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
        check_increasing(actor_id, &events)?;
        Ok(events)
    }
}

/// Fails with [`StoreError::Corrupt`] if a version of `events` is not above the one before.
fn check_increasing(actor_id: &ActorId, events: &[StoredEvent]) -> Result<(), StoreError> {
    match events
        .windows(2)
        .find(|pair| pair[0].version >= pair[1].version)
    {
        Some(pair) => Err(StoreError::corrupt(
            actor_id,
            Some(pair[1].version),
            "version",
            "the journal holds this version twice",
        )),
        None => Ok(()),
    }
}

/// Decodes the `count` rows of a packed page; `None` if any value is malformed, a row is missing
/// or versions do not strictly increase.
fn decode_page(count: i64, packed: &[u8], actor_id: &ActorId) -> Option<Vec<StoredEvent>> {
    let mut rows = Packed::new(packed);
    let mut events = Vec::with_capacity(usize::try_from(count).ok()?);
    while !rows.is_done() {
        push_next(&mut events, rows.event(actor_id)?)?;
    }
    (i64::try_from(events.len()).ok()? == count).then_some(events)
}

/// Decodes the `count` packed `ord, event` rows of tails; `None` if anything does not decode or a
/// row is missing.
fn decode_tails(
    count: i64,
    packed: &[u8],
    tails: &[(ActorId, u64)],
) -> Option<Vec<RowResult<Vec<StoredEvent>>>> {
    let mut rows = Packed::new(packed);
    let mut found: Vec<Vec<StoredEvent>> = tails.iter().map(|_| Vec::new()).collect();
    let mut decoded = 0_i64;
    while !rows.is_done() {
        let at = rows.ord()?.checked_sub(1).filter(|at| *at < tails.len())?;
        push_next(&mut found[at], rows.event(&tails[at].0)?)?;
        decoded += 1;
    }
    (decoded == count).then(|| found.into_iter().map(Ok).collect())
}

/// Appends `event` if its version is above the last one's: SQLite hands over each actor's rows
/// in version order (its merged events by key, then its recent ones by position), so anything
/// else means rows duplicated behind the registry's back, or a plan that changed.
fn push_next(events: &mut Vec<StoredEvent>, event: StoredEvent) -> Option<()> {
    if events
        .last()
        .is_some_and(|last| last.version >= event.version)
    {
        return None;
    }
    events.push(event);
    Some(())
}

/// Decodes the `count` packed `ord, snapshot` rows of latest snapshots; `None` if anything does
/// not decode, a row is missing or an actor has two.
fn decode_snapshots(
    count: i64,
    packed: &[u8],
    actor_ids: &[ActorId],
) -> Option<Vec<RowResult<Option<StoredSnapshot>>>> {
    let mut rows = Packed::new(packed);
    let mut found: Vec<Option<StoredSnapshot>> = actor_ids.iter().map(|_| None).collect();
    let mut decoded = 0_i64;
    while !rows.is_done() {
        let at = rows
            .ord()?
            .checked_sub(1)
            .filter(|at| *at < actor_ids.len())?;
        if found[at].replace(rows.snapshot(&actor_ids[at])?).is_some() {
            return None;
        }
        decoded += 1;
    }
    (decoded == count).then(|| found.into_iter().map(Ok).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppendRequest, Journal, NewEvent, NewSnapshot};

    /// The fast paths must decode what SQLite builds (a read that falls back to the row path is
    /// correct but several times slower, which no functional test would notice).
    #[tokio::test]
    async fn text_and_blob_payloads_decode_on_the_fast_paths() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("page.db")).await.unwrap();
        // Blobs travel as they are: every byte value, NUL included, must come back.
        let every_byte: Vec<u8> = (0..=255).collect();
        let request = AppendRequest::new("a", "M", 0, "S", chrono::Utc::now())
            .create()
            .with_snapshot(NewSnapshot::new(
                0,
                "S",
                1,
                "msgpack",
                vec![0x80, 0, 0xff],
                chrono::Utc::now(),
            ))
            .with_events(vec![
                NewEvent::new("Text", 1, "json", br#"{"n":"\"q\""}"#.to_vec()),
                NewEvent::new("Blob", 1, "msgpack", every_byte.clone()),
            ]);
        store.append(request).await.unwrap();
        let a: ActorId = "a".into();
        let page = Page {
            actor_id: &a,
            from: 1,
            to: 2,
            max: 10,
        };
        let events = store
            .page_packed(page)
            .await
            .unwrap()
            .expect("a page decoded packed");
        assert_eq!(events[0].payload, br#"{"n":"\"q\""}"#);
        assert_eq!(events[1].payload, every_byte);
        assert_eq!(events[1].codec, "msgpack");

        let tails = [(a.clone(), 1), ("nobody".into(), 0)];
        let found = store
            .tails_packed(&tails, r#"[["a",1],["nobody",0]]"#)
            .await
            .expect("tails decoded packed");
        let tail = found[0].as_ref().unwrap();
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0].payload, every_byte);
        assert!(found[1].as_ref().unwrap().is_empty());

        let ids = [a.clone(), "nobody".into()];
        let found = store
            .snapshots_packed(&ids, r#"["a","nobody"]"#)
            .await
            .expect("snapshots decoded packed");
        let snapshot = found[0].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(
            (snapshot.version, snapshot.payload.as_slice()),
            (0, &[0x80, 0, 0xff][..])
        );
        assert!(found[1].as_ref().unwrap().is_none());
        store.close().await;
    }

    /// A value of the wrong type is packed as nothing; the row count sends the read to the row
    /// path, which names it.
    #[tokio::test]
    async fn a_damaged_row_is_not_left_out_silently() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("damaged.db"))
            .await
            .unwrap();
        let request = AppendRequest::new("a", "M", 0, "S", chrono::Utc::now())
            .create()
            .with_events(vec![
                NewEvent::new("One", 1, "json", b"1".to_vec()),
                NewEvent::new("Two", 1, "json", b"2".to_vec()),
            ]);
        store.append(request).await.unwrap();
        for table in ["events", "recent_events"] {
            sqlx::query(&format!(
                "UPDATE {table} SET schema_version = 1.5 WHERE version = 2"
            ))
            .execute(&store.writer)
            .await
            .unwrap();
        }
        let a: ActorId = "a".into();
        let page = Page {
            actor_id: &a,
            from: 1,
            to: 2,
            max: 10,
        };
        assert!(store.page_packed(page).await.unwrap().is_none());
        assert!(store
            .tails_packed(&[(a.clone(), 0)], r#"[["a",0]]"#)
            .await
            .is_none());
        let error = store.read(&a, 1, 2, 10).await.unwrap_err();
        assert!(error.to_string().contains("schema_version"), "{error}");
        store.close().await;
    }
}

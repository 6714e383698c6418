//! [`Journal`] for [`SqliteStore`].
//!
//! Reads see both levels of the journal in one statement (one consistent snapshot): the merged
//! `events`, clustered by `(actor_id, version)`, and the actor's rows still in `recent_events`,
//! found from the registry's `recent_from` bound (nothing to scan for an actor whose events are
//! all merged).
//!
//! A page is fetched as one JSON array built by SQLite and decoded in one pass: handing rows over
//! from the driver's worker thread one at a time costs more than everything else a read does. If
//! anything in the page does not decode, the page is read again row by row, which names the actor,
//! version and column of the bad value.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::Row;

use super::rows::{self, EVENT_COLUMNS};
use super::SqliteStore;
use crate::convert::{bound_to_sql, count_to_sql, version_from_sql};
use crate::{
    id_str, ActorId, AppendRequest, BatchOutcome, EventMetadata, Journal, StoreError, StoredEvent,
};

/// Restricts `recent_events` to the rows of actor `?1` that can still be there: from the actor's
/// `recent_from` on, if that is above the merge watermark (otherwise there are none).
pub(super) const RECENT_OF_ACTOR: &str = "
    position >= (
        SELECT a.recent_from FROM actors AS a
        WHERE a.actor_id = ?1 AND a.recent_from > (SELECT merged_through FROM journal_state))
    AND actor_id = ?1";

/// The events of actor `?1` with `?2 <= version <= ?3`, both levels, ascending, at most `?4`,
/// sorted by SQLite: the reference the fast path falls back on.
fn select_page(columns: &str) -> String {
    format!(
        "SELECT {columns} FROM events
         WHERE actor_id = ?1 AND version >= ?2 AND version <= ?3
         UNION ALL
         SELECT {columns} FROM recent_events
         WHERE {RECENT_OF_ACTOR} AND version >= ?2 AND version <= ?3
         ORDER BY version LIMIT ?4"
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
             WHERE actor_id = ?1 AND version >= ?2 AND version <= ?3
             ORDER BY version LIMIT ?4)
         UNION ALL
         SELECT * FROM (
             SELECT {columns} FROM recent_events
             WHERE {RECENT_OF_ACTOR} AND version >= ?2 AND version <= ?3
             ORDER BY position LIMIT ?4)
         LIMIT ?4"
    )
}

/// One event of a page fetched as JSON:
/// `[version, machine_type, tag, schema_version, payload, metadata, recorded_at, position]`.
#[derive(Deserialize)]
struct PageRow<'a>(
    i64,
    String,
    String,
    i64,
    String,
    EventMetadata,
    #[serde(borrow)] Cow<'a, str>,
    i64,
);

impl Journal for SqliteStore {
    async fn append_batch(&self, requests: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        self.append_batch_impl(requests).await
    }

    async fn read(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if from > to || max == 0 {
            return Ok(Vec::new());
        }
        match self.read_page_json(actor_id, from, to, max).await {
            Ok(Some(events)) => Ok(events),
            // Something did not decode (or the query failed): the row-by-row read says what.
            Ok(None) | Err(_) => self.read_page_rows(actor_id, from, to, max).await,
        }
    }

    async fn head(&self, actor_id: &ActorId) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT head_version FROM actors WHERE actor_id = ?1")
            .bind(id_str(actor_id))
            .fetch_optional(&self.reader)
            .await?;
        match row {
            Some(row) => version_from_sql(actor_id, None, "head_version", row.try_get(0)?),
            None => Ok(0),
        }
    }

    async fn delete_up_to(&self, actor_id: &ActorId, up_to: u64) -> Result<u64, StoreError> {
        let recent = format!("DELETE FROM recent_events WHERE {RECENT_OF_ACTOR} AND version <= ?2");
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut deleted = 0;
        for sql in [
            recent.as_str(),
            "DELETE FROM events WHERE actor_id = ?1 AND version <= ?2",
        ] {
            deleted += sqlx::query(sql)
                .bind(id_str(actor_id))
                .bind(bound_to_sql(up_to))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }
}

impl SqliteStore {
    /// Reads a page as one JSON value; `None` if any of it does not decode.
    async fn read_page_json(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        let page = select_page_in_level_order(
            "version, machine_type, tag, schema_version, payload, metadata, recorded_at, position",
        );
        let sql = format!(
            "SELECT json_group_array(json_array(version, machine_type, tag, schema_version,
                                                payload, json(metadata), recorded_at, position))
             FROM ({page})"
        );
        let json: String = sqlx::query_scalar(&sql)
            .bind(id_str(actor_id))
            .bind(bound_to_sql(from))
            .bind(bound_to_sql(to))
            .bind(count_to_sql(max))
            .fetch_one(&self.reader)
            .await?;
        Ok(decode_page(&json, actor_id))
    }

    /// Reads a page row by row, reporting the first bad value as [`StoreError::Corrupt`].
    async fn read_page_rows(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = select_page(EVENT_COLUMNS);
        let rows = sqlx::query(&sql)
            .bind(id_str(actor_id))
            .bind(bound_to_sql(from))
            .bind(bound_to_sql(to))
            .bind(count_to_sql(max))
            .fetch_all(&self.reader)
            .await?;
        let events = rows
            .iter()
            .map(|row| rows::event(row, actor_id))
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
    for PageRow(version, machine_type, tag, schema_version, payload, metadata, at, position) in rows
    {
        let version = u64::try_from(version).ok()?;
        if previous.is_some_and(|previous| previous >= version) {
            return None;
        }
        previous = Some(version);
        let recorded_at = match &last_time {
            Some((text, parsed)) if *text == at => *parsed,
            _ => {
                let parsed = DateTime::parse_from_rfc3339(&at).ok()?.with_timezone(&Utc);
                last_time = Some((at, parsed));
                parsed
            }
        };
        events.push(StoredEvent {
            actor_id: actor_id.clone(),
            version,
            machine_type,
            tag,
            schema_version: u32::try_from(schema_version).ok()?,
            payload,
            metadata,
            recorded_at,
            position,
        });
    }
    Some(events)
}

//! Rows that SQLite hands over as one JSON value.
//!
//! Handing rows over from the driver's worker thread one at a time costs more than everything
//! else a read does, so the bulk reads ask SQLite for one JSON array (`json_group_array`) and
//! decode it in one pass. Every value is checked as it is decoded; a decoder answers `None` on
//! the first thing it does not accept, and the caller reads the same rows again through the row
//! API, which names the actor, version and column of the bad value.
//!
//! Payloads travel as text when they are stored as text and as `hex()` when stored as blobs, with
//! a flag saying which.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::dialect::parse_time;
use crate::sql::text::codec_name;
use crate::{ActorId, EventMetadata, StoredEvent, StoredSnapshot};

/// One event of [`crate::sql::decode::EVENT_COLUMNS`] as a JSON array ([`EventRow`]).
pub(super) const EVENT_JSON: &str = "json_array(
    version, machine_type, tag, schema_version, codec, typeof(payload) = 'blob',
    iif(typeof(payload) = 'blob', hex(payload), payload), json(metadata), recorded_at, position)";

/// One snapshot of [`crate::sql::decode::SNAPSHOT_COLUMNS`] as a JSON array ([`SnapshotRow`]).
pub(super) const SNAPSHOT_JSON: &str = "json_array(
    version, state_tag, schema_version, codec, typeof(payload) = 'blob',
    iif(typeof(payload) = 'blob', hex(payload), payload), entered_at, created_at)";

/// An event as [`EVENT_JSON`] builds it.
#[derive(Deserialize)]
pub(super) struct EventRow<'a>(
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

/// A snapshot as [`SNAPSHOT_JSON`] builds it.
#[derive(Deserialize)]
pub(super) struct SnapshotRow<'a>(
    i64,
    String,
    i64,
    #[serde(borrow)] Cow<'a, str>,
    u8,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
);

/// Decodes the rows of one JSON value.
#[derive(Default)]
pub(super) struct Decoder<'a> {
    /// The last timestamp parsed: events appended together share their timestamp text.
    last_time: Option<(Cow<'a, str>, DateTime<Utc>)>,
}

impl<'a> Decoder<'a> {
    /// The event of `actor_id` in `row`.
    pub(super) fn event(&mut self, row: EventRow<'a>, actor_id: &ActorId) -> Option<StoredEvent> {
        let EventRow(
            version,
            machine_type,
            tag,
            schema,
            codec,
            is_blob,
            payload,
            metadata,
            at,
            position,
        ) = row;
        Some(StoredEvent {
            actor_id: actor_id.clone(),
            version: u64::try_from(version).ok()?,
            machine_type,
            tag,
            schema_version: u32::try_from(schema).ok()?,
            codec: codec_name(&codec),
            payload: bytes(is_blob, payload)?,
            metadata,
            recorded_at: self.time(at)?,
            position,
        })
    }

    /// The snapshot of `actor_id` in `row`.
    pub(super) fn snapshot(
        &mut self,
        row: SnapshotRow<'a>,
        actor_id: &ActorId,
    ) -> Option<StoredSnapshot> {
        let SnapshotRow(version, state_tag, schema, codec, is_blob, payload, entered, created) =
            row;
        Some(StoredSnapshot {
            actor_id: actor_id.clone(),
            version: u64::try_from(version).ok()?,
            state_tag,
            schema_version: u32::try_from(schema).ok()?,
            codec: codec_name(&codec),
            payload: bytes(is_blob, payload)?,
            entered_at: self.time(entered)?,
            created_at: self.time(created)?,
        })
    }

    fn time(&mut self, text: Cow<'a, str>) -> Option<DateTime<Utc>> {
        match &self.last_time {
            Some((last, parsed)) if *last == text => Some(*parsed),
            _ => {
                let parsed = parse_time(&text).ok()?;
                self.last_time = Some((text, parsed));
                Some(parsed)
            }
        }
    }
}

/// A payload as text, or as the `hex()` of a blob.
fn bytes(is_blob: u8, payload: Cow<'_, str>) -> Option<Vec<u8>> {
    match is_blob {
        0 => Some(payload.into_owned().into_bytes()),
        1 => from_hex(&payload),
        _ => None,
    }
}

/// Decodes SQLite's `hex()` of a blob.
fn from_hex(hex: &str) -> Option<Vec<u8>> {
    let digit = |byte: u8| char::from(byte).to_digit(16);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => u8::try_from(digit(*high)? * 16 + digit(*low)?).ok(),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decodes_what_sqlite_encodes() {
        assert_eq!(from_hex("00FF7a").unwrap(), [0, 255, 122]);
        assert!(from_hex("0").is_none());
        assert!(from_hex("zz").is_none());
    }

    #[test]
    fn a_payload_flag_other_than_zero_or_one_is_refused() {
        assert!(bytes(2, "00".into()).is_none());
        assert_eq!(bytes(0, "ab".into()).unwrap(), b"ab");
        assert_eq!(bytes(1, "ab".into()).unwrap(), [0xab]);
    }
}

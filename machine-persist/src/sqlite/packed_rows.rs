//! Rows that SQLite hands over packed into one value.
//!
//! Handing rows over from the driver's worker thread one at a time costs more than everything
//! else a read does, so the bulk reads ask SQLite for all the rows of a read concatenated into one
//! blob (`group_concat`) and decode it in one pass. The packing is plain concatenation, so SQLite
//! copies each value once and nothing is escaped: integers as decimal text ended by `,`, text as
//! its byte length, `:` and its bytes, and a payload as `t` (stored as text) or `b` (a blob)
//! followed by the same length-prefixed form. SQLite concatenates a blob's bytes as they are
//! (a database in UTF-8 does not convert them), and the length prefix frames them, whatever bytes
//! they hold.
//!
//! A row whose columns do not have the types the store writes (a `NULL`, a real where an integer
//! belongs, a blob where text belongs) is packed as `NULL`, which `group_concat` leaves out; the
//! read also counts its rows, so a count that differs from what decodes means "something here is
//! damaged". Every value is checked as it is decoded; a decoder answers `None` on the first thing
//! it does not accept, and the caller reads the same rows again through the row API, which names
//! the actor, version and column of the bad value.

use chrono::{DateTime, Utc};

use super::dialect::parse_time;
use crate::sql::text::{codec_name, metadata_from_text};
use crate::{ActorId, StoredEvent, StoredSnapshot};

/// How one column is packed.
#[derive(Clone, Copy)]
enum Field {
    /// An `INTEGER`, as decimal text ended by `,`.
    Int(&'static str),
    /// A `TEXT`, as its byte length, `:` and its bytes.
    Text(&'static str),
    /// A payload: `t` (text) or `b` (a blob), then its length-prefixed bytes.
    Payload(&'static str),
}

/// The columns of [`crate::sql::decode::EVENT_COLUMNS`], as they are packed.
const EVENT_FIELDS: &[Field] = &[
    Field::Int("version"),
    Field::Text("machine_type"),
    Field::Text("tag"),
    Field::Int("schema_version"),
    Field::Text("codec"),
    Field::Payload("payload"),
    Field::Text("metadata"),
    Field::Text("recorded_at"),
    Field::Int("position"),
];

/// The columns of [`crate::sql::decode::SNAPSHOT_COLUMNS`], as they are packed.
const SNAPSHOT_FIELDS: &[Field] = &[
    Field::Int("version"),
    Field::Text("state_tag"),
    Field::Int("schema_version"),
    Field::Text("codec"),
    Field::Payload("payload"),
    Field::Text("entered_at"),
    Field::Text("created_at"),
];

/// What is packed before each row's own columns.
#[derive(Clone, Copy)]
pub(super) enum Lead {
    /// Nothing: the rows are one actor's.
    Nothing,
    /// The integer column `ord`: which of the asked-for actors the row is of.
    Ord,
    /// The text column `actor_id`.
    ActorId,
}

/// `SELECT count(*), <the packed rows>` over the rows of `rows`, each packed from its event
/// columns after its `lead`.
pub(super) fn packed_events(rows: &str, lead: Lead) -> String {
    aggregate(EVENT_FIELDS, rows, lead)
}

/// As [`packed_events`], for rows of snapshot columns.
pub(super) fn packed_snapshots(rows: &str, lead: Lead) -> String {
    aggregate(SNAPSHOT_FIELDS, rows, lead)
}

fn aggregate(fields: &[Field], rows: &str, lead: Lead) -> String {
    let lead = match lead {
        Lead::Nothing => None,
        Lead::Ord => Some(Field::Int("ord")),
        Lead::ActorId => Some(Field::Text("actor_id")),
    };
    let fields: Vec<Field> = lead.into_iter().chain(fields.iter().copied()).collect();
    let checks: Vec<String> = fields
        .iter()
        .map(|field| match field {
            Field::Int(column) => format!("typeof({column}) = 'integer'"),
            Field::Text(column) => format!("typeof({column}) = 'text'"),
            Field::Payload(column) => format!("typeof({column}) IN ('text', 'blob')"),
        })
        .collect();
    let parts: Vec<String> = fields
        .iter()
        .map(|field| match field {
            Field::Int(column) => format!("{column}, ','"),
            Field::Text(column) => format!("octet_length({column}), ':', {column}"),
            Field::Payload(column) => format!(
                "iif(typeof({column}) = 'blob', 'b', 't'), octet_length({column}), ':', {column}"
            ),
        })
        .collect();
    // `concat` reads a NULL as empty text; the checks have excluded NULLs by then.
    format!(
        "SELECT count(*), CAST(group_concat(iif({}, concat({}), NULL), '') AS BLOB) FROM ({rows})",
        checks.join(" AND "),
        parts.join(", ")
    )
}

/// A cursor over packed rows.
pub(super) struct Packed<'a> {
    rest: &'a [u8],
    /// The last timestamp parsed: events appended together share their timestamp text.
    last_time: Option<(&'a [u8], DateTime<Utc>)>,
}

impl<'a> Packed<'a> {
    /// Starts at the first row of `bytes`.
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            last_time: None,
        }
    }

    /// Whether every row has been read.
    pub(super) fn is_done(&self) -> bool {
        self.rest.is_empty()
    }

    /// The `ord` column packed before a row ([`Lead::Ord`]).
    pub(super) fn ord(&mut self) -> Option<usize> {
        usize::try_from(self.int()?).ok()
    }

    /// The `actor_id` column packed before a row ([`Lead::ActorId`]).
    pub(super) fn actor_id(&mut self) -> Option<ActorId> {
        self.text().map(ActorId::from)
    }

    /// The next row, an event of `actor_id`.
    pub(super) fn event(&mut self, actor_id: &ActorId) -> Option<StoredEvent> {
        let version = u64::try_from(self.int()?).ok()?;
        let machine_type = self.text()?.to_owned();
        let tag = self.text()?.to_owned();
        let schema_version = u32::try_from(self.int()?).ok()?;
        let codec = codec_name(self.text()?);
        let payload = self.payload()?;
        let metadata = metadata_from_text(self.text()?).ok()?;
        let recorded_at = self.time()?;
        let position = self.int()?;
        Some(StoredEvent {
            actor_id: actor_id.clone(),
            version,
            machine_type,
            tag,
            schema_version,
            codec,
            payload,
            metadata,
            recorded_at,
            position,
        })
    }

    /// The next row, a snapshot of `actor_id`.
    pub(super) fn snapshot(&mut self, actor_id: &ActorId) -> Option<StoredSnapshot> {
        Some(StoredSnapshot {
            actor_id: actor_id.clone(),
            version: u64::try_from(self.int()?).ok()?,
            state_tag: self.text()?.to_owned(),
            schema_version: u32::try_from(self.int()?).ok()?,
            codec: codec_name(self.text()?),
            payload: self.payload()?,
            entered_at: self.time()?,
            created_at: self.time()?,
        })
    }

    /// Decimal digits (an optional `-` first) up to `end`, which is consumed.
    fn number_until(&mut self, end: u8) -> Option<i64> {
        let at = self.rest.iter().position(|&byte| byte == end)?;
        let (digits, rest) = (&self.rest[..at], &self.rest[at + 1..]);
        self.rest = rest;
        std::str::from_utf8(digits).ok()?.parse().ok()
    }

    fn int(&mut self) -> Option<i64> {
        self.number_until(b',')
    }

    /// A length-prefixed run of bytes.
    fn run(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.number_until(b':')?).ok()?;
        if len > self.rest.len() {
            return None;
        }
        let (run, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(run)
    }

    fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.run()?).ok()
    }

    fn payload(&mut self) -> Option<Vec<u8>> {
        let (&flag, rest) = self.rest.split_first()?;
        self.rest = rest;
        match flag {
            b't' | b'b' => Some(self.run()?.to_vec()),
            _ => None,
        }
    }

    fn time(&mut self) -> Option<DateTime<Utc>> {
        let text = self.run()?;
        match self.last_time {
            Some((last, parsed)) if last == text => Some(parsed),
            _ => {
                let parsed = parse_time(std::str::from_utf8(text).ok()?).ok()?;
                self.last_time = Some((text, parsed));
                Some(parsed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed fields restate the row API's column lists; they must not drift apart.
    #[test]
    fn the_packed_fields_are_the_row_columns_in_order() {
        let names = |fields: &[Field]| {
            fields
                .iter()
                .map(|field| match field {
                    Field::Int(column) | Field::Text(column) | Field::Payload(column) => *column,
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert_eq!(names(EVENT_FIELDS), crate::sql::decode::EVENT_COLUMNS);
        assert_eq!(names(SNAPSHOT_FIELDS), crate::sql::decode::SNAPSHOT_COLUMNS);
    }

    #[test]
    fn a_payload_flag_other_than_t_or_b_is_refused() {
        assert_eq!(Packed::new(b"t2:ab").payload().unwrap(), b"ab");
        assert_eq!(Packed::new(b"b2:\0\xff").payload().unwrap(), [0, 0xff]);
        assert!(Packed::new(b"x2:ab").payload().is_none());
    }

    #[test]
    fn a_run_longer_than_what_is_left_is_refused() {
        assert!(Packed::new(b"5:abc").text().is_none());
        assert!(Packed::new(b"-1:abc").text().is_none());
        assert!(Packed::new(b"3abc").text().is_none());
        let mut packed = Packed::new("2:é".as_bytes());
        assert_eq!(packed.text(), Some("é"));
        assert!(packed.is_done());
    }

    #[test]
    fn an_event_row_decodes_field_by_field() {
        let row = b"7,1:M3:Tag1,4:jsont2:{}2:{}27:2026-12-02T01:00:00.000000Z42,";
        let mut packed = Packed::new(row);
        let event = packed.event(&"a".into()).unwrap();
        assert!(packed.is_done());
        assert_eq!(
            (
                event.version,
                event.machine_type.as_str(),
                event.tag.as_str()
            ),
            (7, "M", "Tag")
        );
        assert_eq!((event.schema_version, event.position), (1, 42));
        assert_eq!(event.payload, b"{}");
    }
}

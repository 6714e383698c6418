//! Command rows: the command id an event was appended under ([`NewCommand`]) and what a repeat
//! of the command finds ([`StoredCommand`]).

use chrono::{DateTime, Utc};

/// The longest command id, in bytes.
pub const MAX_COMMAND_ID_BYTES: usize = 256;

/// A command id to record with the event at `version` of its request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCommand {
    /// The version of the event sent under the command.
    pub version: u64,
    /// The command id (1 to [`MAX_COMMAND_ID_BYTES`] bytes).
    pub id: String,
    /// The event's fingerprint (see [`fingerprint`]).
    pub fingerprint: String,
    /// A record of the same id stored before this time has expired: it no longer makes the
    /// command a repeat, and is replaced.
    pub expired_before: DateTime<Utc>,
}

/// A recorded command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCommand {
    /// The version of the event it was applied as.
    pub version: u64,
    /// That event's fingerprint.
    pub fingerprint: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// The fingerprint of an event: its tag and a 64-bit FNV-1a hash of its encoded payload. Stable
/// across processes and releases (unlike `std`'s hasher), so a repeat sent by another process
/// is recognised; two events with the same fingerprint are, for this purpose, the same event.
///
/// ```
/// use machine_persist::store::fingerprint;
/// assert_eq!(fingerprint("Pay", br#"{"cents":5}"#), fingerprint("Pay", br#"{"cents":5}"#));
/// assert_ne!(fingerprint("Pay", br#"{"cents":5}"#), fingerprint("Pay", br#"{"cents":6}"#));
/// ```
pub fn fingerprint(tag: &str, payload: &[u8]) -> String {
    format!("{tag}:{:016x}", fnv1a(payload))
}

/// The 64-bit FNV-1a hash of `bytes`: the same in every process and release.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}

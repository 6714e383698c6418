//! Timestamp normalisation shared by every backend.
//!
//! Backends keep timestamps at microsecond precision (Postgres `timestamptz` cannot hold more), so
//! every backend, the in-memory one included, truncates to microseconds on write. A value read back
//! is then equal to the value written, whichever backend holds it.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// Truncates a timestamp to whole microseconds.
pub(crate) fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(at)
}

/// The current wall time, truncated to microseconds.
pub(crate) fn now() -> DateTime<Utc> {
    to_micros(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn truncation_drops_sub_microsecond_digits() {
        let at = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(to_micros(at).timestamp_subsec_nanos(), 123_456_000);
    }
}

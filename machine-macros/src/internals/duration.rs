//! Human duration strings for `#[timeout(after = "...")]`: `500ms`, `30s`, `5m`, `72h`, `1d`,
//! and sums of them such as `1h30m`.
//!
//! Parsed at compile time into whole milliseconds, so a typo is a compile error instead of a
//! timeout that never fires.

/// The units a duration may use, with their length in milliseconds. `ms` comes before `m` so
/// that the longest unit wins.
const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

/// Why a duration string was refused; the message says what to write instead.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DurationError(pub(crate) String);

/// Parses `text` into milliseconds.
pub(crate) fn parse_millis(text: &str) -> Result<u64, DurationError> {
    let invalid = || {
        DurationError(format!(
            "invalid duration `{text}`: write a whole number followed by a unit \
             (`ms`, `s`, `m`, `h` or `d`), e.g. \"500ms\", \"30s\", \"72h\" or \"1h30m\""
        ))
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(invalid());
        }
        let amount: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let (unit, millis) = UNITS
            .iter()
            .find(|(unit, _)| rest.starts_with(unit))
            .ok_or_else(invalid)?;
        rest = &rest[unit.len()..];
        total = amount
            .checked_mul(*millis)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| DurationError(format!("duration `{text}` is too long")))?;
    }
    if total == 0 {
        return Err(DurationError(format!(
            "duration `{text}` is zero: a timeout needs a positive duration"
        )));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_units() {
        assert_eq!(parse_millis("500ms"), Ok(500));
        assert_eq!(parse_millis("30s"), Ok(30_000));
        assert_eq!(parse_millis("5m"), Ok(300_000));
        assert_eq!(parse_millis("72h"), Ok(72 * 3_600_000));
        assert_eq!(parse_millis("1d"), Ok(86_400_000));
    }

    #[test]
    fn sums_of_units() {
        assert_eq!(parse_millis("1h30m"), Ok(5_400_000));
        assert_eq!(parse_millis("1m500ms"), Ok(60_500));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in ["", "72", "h", "72x", "1.5h", "-1s", "72 h", "1h 30m", "0s"] {
            assert!(parse_millis(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_millis("99999999999999999999d").is_err());
        assert!(parse_millis("999999999999999d").is_err());
    }
}

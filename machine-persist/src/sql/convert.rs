//! Conversions between the model's unsigned numbers and the signed 64-bit integers SQL stores.
//!
//! Writing a number that does not fit is a [`StoreError::VersionOutOfRange`]; reading back a
//! negative or oversized number is [`StoreError::Corrupt`], never a panic.

use crate::{ActorId, StoreError};

/// A version to write, as SQL's `BIGINT`/`INTEGER`.
pub(crate) fn version_to_sql(actor_id: &ActorId, version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| StoreError::VersionOutOfRange {
        actor_id: actor_id.clone(),
        version,
    })
}

/// A bound of a read (versions beyond the storable range cannot exist, so clamping is exact).
pub(crate) fn bound_to_sql(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

/// A count (limit) for SQL, clamped.
pub(crate) fn count_to_sql(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// A version read from `column` of a row of `actor_id`.
pub(crate) fn version_from_sql(
    actor_id: &ActorId,
    row_version: Option<u64>,
    column: &'static str,
    value: i64,
) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|error| StoreError::corrupt(actor_id, row_version, column, error))
}

/// A schema version read from a row.
pub(crate) fn schema_from_sql(
    actor_id: &ActorId,
    row_version: Option<u64>,
    value: i64,
) -> Result<u32, StoreError> {
    u32::try_from(value)
        .map_err(|error| StoreError::corrupt(actor_id, row_version, "schema_version", error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_versions_are_errors() {
        let id: ActorId = "a".into();
        assert!(matches!(
            version_to_sql(&id, u64::MAX),
            Err(StoreError::VersionOutOfRange {
                version: u64::MAX,
                ..
            })
        ));
        assert!(matches!(
            version_from_sql(&id, None, "version", -1),
            Err(StoreError::Corrupt {
                column: "version",
                version: None,
                ..
            })
        ));
        assert_eq!(bound_to_sql(u64::MAX), i64::MAX);
        assert!(schema_from_sql(&id, Some(3), i64::from(u32::MAX) + 1).is_err());
    }
}

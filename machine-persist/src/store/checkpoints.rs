//! Where projections keep their checkpoints: in the same database as the events they read.
//!
//! A checkpoint is a projection's name and the [`GlobalPosition`] it has processed through.
//! Keeping it next to the events means it survives exactly what the events survive, and lets a
//! read model in that database commit its update and its checkpoint in one transaction (the
//! exactly-once mode of [`projection`](crate::projection)).

use std::future::Future;

use super::GlobalPosition;
use crate::StoreError;

/// The longest projection name, in bytes.
pub const MAX_PROJECTION_NAME_BYTES: usize = 200;

/// Stored checkpoints by projection name.
pub trait CheckpointStore: Send + Sync {
    /// The checkpoint of `name`, or `None` if it has none (it starts at the beginning).
    fn load_checkpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<GlobalPosition>, StoreError>> + Send;

    /// Records that `name` has processed everything through `at`.
    fn save_checkpoint(
        &self,
        name: &str,
        at: GlobalPosition,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets the checkpoint of `name` (it starts over); returns whether it had one.
    fn delete_checkpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Checks a projection name: 1 to [`MAX_PROJECTION_NAME_BYTES`] bytes, no NUL.
pub(crate) fn check_name(name: &str) -> Result<(), StoreError> {
    let reason = if name.is_empty() {
        "a projection name is not empty"
    } else if name.len() > MAX_PROJECTION_NAME_BYTES {
        "a projection name has at most 200 bytes"
    } else if name.contains('\0') {
        "a projection name has no NUL byte"
    } else {
        return Ok(());
    };
    Err(StoreError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        assert!(check_name("orders-by-status").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a\0b").is_err());
        assert!(check_name(&"x".repeat(MAX_PROJECTION_NAME_BYTES)).is_ok());
        assert!(check_name(&"x".repeat(MAX_PROJECTION_NAME_BYTES + 1)).is_err());
    }
}

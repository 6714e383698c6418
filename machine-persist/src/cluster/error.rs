//! The errors of cluster membership.

use thiserror::Error;

use crate::StoreError;

/// Why a node could not join, renew, rebalance or leave.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The node's settings are unusable.
    #[error("invalid cluster configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// The lease table could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ClusterError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

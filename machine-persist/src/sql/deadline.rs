//! The client-side deadline every store operation runs under.
//!
//! A server-side `statement_timeout` cannot answer when the network stalls (the server
//! unreachable, the TCP connection still open): the client would wait as long as the stall
//! lasts. So every operation of the SQL backends is also bounded on the client, and ends in a
//! transient [`StoreError::Timeout`] that retry policies handle like any other transient error.

use std::future::Future;
use std::time::Duration;

use crate::StoreError;

/// The default deadline of one store operation.
pub(crate) const DEFAULT: Duration = Duration::from_secs(30);

/// A bound on how long one store operation may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline(pub(crate) Duration);

impl Default for Deadline {
    fn default() -> Self {
        Self(DEFAULT)
    }
}

impl Deadline {
    /// Runs `work`, or fails with [`StoreError::Timeout`] naming `operation` once the deadline
    /// has passed (dropping `work`, which releases its connection).
    pub(crate) async fn run<T>(
        self,
        operation: &'static str,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.0, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout {
                operation,
                after: self.0,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stalled_operation_ends_in_a_transient_timeout() {
        let deadline = Deadline(Duration::from_secs(2));
        let stalled = deadline
            .run("read", std::future::pending::<Result<(), StoreError>>())
            .await;
        assert!(matches!(
            stalled,
            Err(StoreError::Timeout { operation: "read", after }) if after == Duration::from_secs(2)
        ));
        assert!(stalled.unwrap_err().is_transient());
        assert_eq!(deadline.run("read", async { Ok(7) }).await.unwrap(), 7);
    }
}

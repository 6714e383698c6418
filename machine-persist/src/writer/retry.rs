//! The retry hook of the writer: whether, and after how long, a failed batch is tried again.

use std::time::Duration;

use crate::StoreError;

/// Decides whether a batch that failed with a [`StoreError`] is retried.
///
/// The writer calls [`retry_after`](Self::retry_after) after each failed attempt of a batch,
/// with `attempt` counting from 1 for every new batch. Returning `Some(delay)` retries the whole
/// batch after `delay`; `None` reports the error to every request of the batch. When the writer
/// commits several batches at once ([`WriterConfig::concurrent_batches`](super::WriterConfig)),
/// the calls for different batches may interleave. Retrying is always safe: a rolled-back batch
/// is simply applied again, and after an error during the commit itself (outcome unknown) the
/// requests that did commit find their own request ids stored and report success.
///
/// ```
/// use std::time::Duration;
/// use machine_persist::store::StoreError;
/// use machine_persist::writer::RetryPolicy;
///
/// /// Retries transient errors three times, 10 ms apart.
/// struct ThreeTimes;
///
/// impl RetryPolicy for ThreeTimes {
///     fn retry_after(&mut self, attempt: u32, error: &StoreError) -> Option<Duration> {
///         (attempt <= 3 && error.is_transient()).then(|| Duration::from_millis(10))
///     }
/// }
/// ```
pub trait RetryPolicy: Send + 'static {
    /// The delay before retrying after failed attempt number `attempt`, or `None` to give up.
    fn retry_after(&mut self, attempt: u32, error: &StoreError) -> Option<Duration>;
}

/// Never retries: a failed batch is reported at once (the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoRetry;

impl RetryPolicy for NoRetry {
    fn retry_after(&mut self, _attempt: u32, _error: &StoreError) -> Option<Duration> {
        None
    }
}

//! Sizing of the group-commit writer.

/// How a [`JournalWriter`](super::JournalWriter) queues and batches appends.
///
/// ```
/// use machine_persist::writer::WriterConfig;
///
/// let config = WriterConfig::default()
///     .queue_capacity(16_384)
///     .max_batch(4_096)
///     .concurrent_batches(2);
/// assert_eq!(config.max_batch_size(), 4_096);
/// assert_eq!(config.concurrent_batches_limit(), Some(2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterConfig {
    queue_capacity: usize,
    max_batch: usize,
    concurrent_batches: Option<usize>,
}

impl Default for WriterConfig {
    /// A queue of 8,192 requests, batches of at most 2,048, as many batches at once as the
    /// journal asks for ([`Journal::concurrent_batches`](crate::Journal::concurrent_batches)).
    fn default() -> Self {
        Self {
            queue_capacity: 8_192,
            max_batch: 2_048,
            concurrent_batches: None,
        }
    }
}

impl WriterConfig {
    /// How many appends may wait in the queue; senders wait beyond that (backpressure). At
    /// least 1.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// The most requests committed in one transaction. At least 1.
    pub fn max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self
    }

    /// How many batches may be committing at once, overriding the journal's own preference
    /// ([`Journal::concurrent_batches`](crate::Journal::concurrent_batches)). At least 1.
    ///
    /// With 1, the next batch gathers while the current one commits. More lets a server database
    /// commit several transactions in parallel (and flush their commits together); requests of
    /// one actor are still never in two batches at once, so they apply in order.
    pub fn concurrent_batches(mut self, batches: usize) -> Self {
        self.concurrent_batches = Some(batches.max(1));
        self
    }

    /// The configured queue capacity.
    pub fn queue_capacity_size(&self) -> usize {
        self.queue_capacity
    }

    /// The configured batch limit.
    pub fn max_batch_size(&self) -> usize {
        self.max_batch
    }

    /// The configured number of concurrent batches; `None` leaves it to the journal.
    pub fn concurrent_batches_limit(&self) -> Option<usize> {
        self.concurrent_batches
    }
}

//! Sizing of the group-commit writer.

/// How a [`JournalWriter`](super::JournalWriter) queues and batches appends.
///
/// ```
/// use machine_persist::WriterConfig;
///
/// let config = WriterConfig::default().queue_capacity(16_384).max_batch(4_096);
/// assert_eq!(config.max_batch_size(), 4_096);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterConfig {
    queue_capacity: usize,
    max_batch: usize,
}

impl Default for WriterConfig {
    /// A queue of 8,192 requests, batches of at most 2,048.
    fn default() -> Self {
        Self {
            queue_capacity: 8_192,
            max_batch: 2_048,
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

    /// The configured queue capacity.
    pub fn queue_capacity_size(&self) -> usize {
        self.queue_capacity
    }

    /// The configured batch limit.
    pub fn max_batch_size(&self) -> usize {
        self.max_batch
    }
}

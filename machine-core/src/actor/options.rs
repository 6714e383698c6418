//! Per-actor settings.

use std::sync::Arc;

use crate::inspect::Observer;
use crate::model::Machine;

/// Settings for one actor: mailbox size, batch size, stream buffers and an observer.
///
/// ```
/// use machine_core::SpawnOptions;
/// # fn f<M: machine_core::Machine>() -> SpawnOptions<M> {
/// SpawnOptions::<M>::new().mailbox(4096).max_batch(512)
/// # }
/// ```
pub struct SpawnOptions<M: Machine> {
    pub(crate) mailbox: usize,
    pub(crate) max_batch: usize,
    pub(crate) stream_capacity: usize,
    pub(crate) observer: Option<Arc<dyn Observer<M>>>,
}

impl<M: Machine> Clone for SpawnOptions<M> {
    fn clone(&self) -> Self {
        Self {
            mailbox: self.mailbox,
            max_batch: self.max_batch,
            stream_capacity: self.stream_capacity,
            observer: self.observer.clone(),
        }
    }
}

impl<M: Machine> Default for SpawnOptions<M> {
    fn default() -> Self {
        Self {
            mailbox: 1024,
            max_batch: 1024,
            stream_capacity: 256,
            observer: None,
        }
    }
}

impl<M: Machine> SpawnOptions<M> {
    /// The defaults: a 1,024-message mailbox, batches of up to 1,024 events, 256-item stream
    /// buffers, no observer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Mailbox capacity: `send` waits (backpressure) while this many messages are queued.
    /// At least 1.
    pub fn mailbox(mut self, capacity: usize) -> Self {
        self.mailbox = capacity.max(1);
        self
    }

    /// The most events applied and committed as one batch. At least 1.
    pub fn max_batch(mut self, events: usize) -> Self {
        self.max_batch = events.max(1);
        self
    }

    /// How far a `changes()` or `transitions()` subscriber may fall behind before it skips
    /// items (it is told how many it skipped). At least 1.
    pub fn stream_capacity(mut self, items: usize) -> Self {
        self.stream_capacity = items.max(1);
        self
    }

    /// Receives inspection records for this actor.
    pub fn observer(mut self, observer: Arc<dyn Observer<M>>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The mailbox capacity.
    pub fn mailbox_capacity(&self) -> usize {
        self.mailbox
    }
}

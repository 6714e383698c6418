//! Following the journal as it grows: new events of the machine types a filter selects, in the
//! store's commit order.
//!
//! A [`JournalTail`] reads the global event stream ([`EventStream`](crate::store::EventStream)):
//! it keeps one [`GlobalPosition`] and every poll reads the pages after it, so a poll costs one
//! indexed read however many actors there are, and no event is skipped or repeated (the stream's
//! own guarantee, also under concurrent writers).
//!
//! The `machine-inspect tail` command and the web inspector's live view both follow the journal
//! through this type.

use std::sync::Arc;

use crate::erased::ErasedStore;
use crate::store::{GlobalPosition, StreamFilter};
use crate::{PersistError, Store, StoredEvent};

/// Events read per round trip.
const PAGE: usize = 1024;

/// Follows the journal of the machine types a [`StreamFilter`] selects.
///
/// ```no_run
/// # async fn follow(store: machine_persist::MemoryStore) -> Result<(), machine_persist::PersistError> {
/// use machine_persist::store::StreamFilter;
/// use machine_persist::tail::JournalTail;
///
/// let mut tail = JournalTail::new(store, StreamFilter::all().machine_type("Order"));
/// loop {
///     for event in tail.poll().await? {
///         println!("{} v{} {}", event.actor_id, event.version, event.tag);
///     }
///     tokio::time::sleep(std::time::Duration::from_millis(500)).await;
/// }
/// # }
/// ```
pub struct JournalTail {
    store: Arc<dyn ErasedStore>,
    filter: StreamFilter,
    /// Where the next poll reads from; `None` until the first poll fixes the start.
    position: Option<GlobalPosition>,
    /// Whether the first poll starts at the beginning of the stream rather than its head.
    from_start: bool,
}

impl std::fmt::Debug for JournalTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalTail")
            .field("filter", &self.filter)
            .field("position", &self.position)
            .field("from_start", &self.from_start)
            .finish()
    }
}

impl JournalTail {
    /// Follows the events committed from the first [`poll`](Self::poll) on, of the machine types
    /// `filter` selects.
    pub fn new<S: Store>(store: S, filter: StreamFilter) -> Self {
        Self::erased(Arc::new(store), filter)
    }

    pub(crate) fn erased(store: Arc<dyn ErasedStore>, filter: StreamFilter) -> Self {
        Self {
            store,
            filter,
            position: None,
            from_start: false,
        }
    }

    /// Reports the events already stored too, before the new ones.
    pub fn from_start(mut self) -> Self {
        self.from_start = true;
        self
    }

    /// The events committed since the last poll, in the stream's order. A stored event that
    /// cannot be read is passed over with a warning (it is its actor's own problem, which
    /// restore and verify report); a failing store fails the poll, and the next poll retries the
    /// same span.
    pub async fn poll(&mut self) -> Result<Vec<StoredEvent>, PersistError> {
        let mut at = match self.position {
            Some(at) => at,
            None if self.from_start => GlobalPosition::START,
            None => self.store.stream_head().await?,
        };
        let mut found = Vec::new();
        loop {
            let page = self.store.read_all(at, PAGE, &self.filter).await?;
            let full = page.entries.len() == PAGE;
            for entry in page.entries {
                match entry.event {
                    Ok(event) => found.push(event),
                    Err(error) => {
                        tracing::warn!(%error, at = %entry.at, "a stored event cannot be read")
                    }
                }
            }
            at = page.through;
            if !full {
                break;
            }
        }
        // Only now, so a failed poll leaves nothing half-advanced.
        self.position = Some(at);
        Ok(found)
    }
}

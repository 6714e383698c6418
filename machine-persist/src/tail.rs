//! Following the journal as it grows: new events of the machine types a filter selects, in the
//! store's commit order.
//!
//! A [`JournalTail`] reads the global event stream ([`EventStream`](crate::store::EventStream)):
//! it keeps one [`GlobalPosition`] and every poll reads the pages after it, so a poll costs one
//! indexed read however many actors there are, and no event is skipped or repeated (the stream's
//! own guarantee, also under concurrent writers).
//!
//! [`follow`](JournalTail::follow) waits for new events on the store's
//! [`CommitSignal`] (this process's commits, and on Postgres other
//! processes' too), with a bound as the fallback; [`poll`](JournalTail::poll) reads without
//! waiting. The `machine-inspect tail` command and the web inspector's live view both follow the
//! journal through this type.

use std::sync::Arc;
use std::time::Duration;

use crate::erased::ErasedStore;
use crate::store::{CommitSignal, GlobalPosition, StreamFilter};
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
///     for event in tail.follow(std::time::Duration::from_millis(500)).await? {
///         println!("{} v{} {}", event.actor_id, event.version, event.tag);
///     }
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

    /// The store's commit signal, listening for other processes' commits where the store can.
    /// To follow several tails at once, arm each one's
    /// [`notified`](CommitSignal::notified) before polling them.
    pub fn commit_signal(&self) -> &CommitSignal {
        let signal = self.store.commit_signal();
        signal.listen();
        signal
    }

    /// The events committed since the last poll; if there are none, waits for the store to
    /// signal a commit, for at most `within` (the fallback for commits the store does not
    /// signal), and reads once more. The result may be empty.
    pub async fn follow(&mut self, within: Duration) -> Result<Vec<StoredEvent>, PersistError> {
        let store = Arc::clone(&self.store);
        let signal = store.commit_signal();
        signal.listen();
        let woken = signal.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let found = self.poll().await?;
        if !found.is_empty() {
            return Ok(found);
        }
        let _ = tokio::time::timeout(within, woken).await;
        self.poll().await
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

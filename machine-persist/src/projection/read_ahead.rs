//! [`ReadAhead`]: the next page of the stream is read while the current one is delivered.
//!
//! A projection catching up is a chain of page reads, each starting where the previous one
//! ended. The start of the next page is known as soon as a full page arrives, before any of it
//! is decoded or handled, so the read of page *n + 1* can run while page *n* is decoded and
//! delivered: the store's side of a read (SQLite's worker thread, the Postgres server) and the
//! projection's side overlap instead of taking turns.
//!
//! Only full pages are followed by a read ahead (a page that is not full means the projection
//! caught up; live, it waits for a commit instead), and at most one read is ahead at a time, so
//! the memory held is one page. A page read ahead is used only by a read that asks for exactly
//! its start; anything else (a checkpoint reloaded after a transient error) drops it and reads
//! afresh. Dropping the reader cancels a read still running.

use tokio::task::JoinHandle;

use crate::store::{GlobalPosition, StreamFilter, StreamPage};
use crate::{Store, StoreError};

/// A page read in the background: where it starts and the read.
struct Pending {
    after: GlobalPosition,
    read: JoinHandle<Result<StreamPage, StoreError>>,
}

/// Reads pages of a store's stream, one ahead when asked to.
pub(super) struct ReadAhead<S> {
    store: S,
    filter: StreamFilter,
    batch: usize,
    pending: Option<Pending>,
}

impl<S: Store> ReadAhead<S> {
    /// A reader of the pages of at most `batch` events of `store`'s stream that pass `filter`.
    pub(super) fn new(store: S, filter: StreamFilter, batch: usize) -> Self {
        Self {
            store,
            filter,
            batch,
            pending: None,
        }
    }

    /// The page after `after`, and whether it was read ahead (before the caller's latest
    /// look at the commit signal: a page read ahead that is not full must be read again before
    /// waiting for a commit, or a commit signalled in between could be slept through).
    pub(super) async fn page(
        &mut self,
        after: GlobalPosition,
    ) -> (Result<StreamPage, StoreError>, bool) {
        if let Some(pending) = self.pending.take() {
            if pending.after == after {
                return match pending.read.await {
                    Ok(page) => (page, true),
                    // The read task panicked or was cancelled: read in the caller instead.
                    Err(_) => (self.read(after).await, false),
                };
            }
            pending.read.abort();
        }
        (self.read(after).await, false)
    }

    /// Starts reading the page after `after` in the background, for the next [`page`](Self::page).
    pub(super) fn read_next(&mut self, after: GlobalPosition) {
        if let Some(pending) = self.pending.take() {
            pending.read.abort();
        }
        let (store, filter, batch) = (self.store.clone(), self.filter.clone(), self.batch);
        let read = tokio::spawn(async move { store.read_all(after, batch, &filter).await });
        self.pending = Some(Pending { after, read });
    }

    async fn read(&self, after: GlobalPosition) -> Result<StreamPage, StoreError> {
        self.store.read_all(after, self.batch, &self.filter).await
    }
}

impl<S> Drop for ReadAhead<S> {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            pending.read.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AppendRequest, Journal, NewEvent};
    use crate::MemoryStore;

    async fn store_with(events: usize) -> MemoryStore {
        let store = MemoryStore::new();
        let request = AppendRequest::new("a", "M", 0, "S", chrono::Utc::now())
            .create()
            .with_events(
                (0..events)
                    .map(|_| NewEvent::new("E", 1, "json", b"1".to_vec()))
                    .collect(),
            );
        store.append(request).await.unwrap();
        store
    }

    fn versions(page: &StreamPage) -> Vec<u64> {
        page.entries
            .iter()
            .map(|entry| entry.event.as_ref().unwrap().version)
            .collect()
    }

    #[tokio::test]
    async fn a_page_read_ahead_is_the_page_after_the_one_before() {
        let mut reader = ReadAhead::new(store_with(5).await, StreamFilter::all(), 2);
        let (first, ahead) = reader.page(GlobalPosition::START).await;
        let first = first.unwrap();
        assert!(!ahead);
        assert_eq!(versions(&first), [1, 2]);
        reader.read_next(first.through);
        let (second, ahead) = reader.page(first.through).await;
        let second = second.unwrap();
        assert!(ahead, "the page read ahead is used");
        assert_eq!(versions(&second), [3, 4]);
    }

    #[tokio::test]
    async fn a_page_read_ahead_from_elsewhere_is_dropped() {
        let mut reader = ReadAhead::new(store_with(5).await, StreamFilter::all(), 2);
        let (first, _) = reader.page(GlobalPosition::START).await;
        let first = first.unwrap();
        reader.read_next(first.through);
        // A reloaded checkpoint asks for another start: it is read afresh from there.
        let (again, ahead) = reader.page(GlobalPosition::START).await;
        assert!(!ahead);
        assert_eq!(versions(&again.unwrap()), [1, 2]);
    }
}

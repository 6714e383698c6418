//! Following the journal as it grows: new events of every actor a query selects, in commit
//! order, by polling.
//!
//! A [`JournalTail`] finds new events through the registry: every poll lists the actors whose
//! last activity moved since the last poll and reads each one's journal after the head it last
//! saw. That costs one registry query per poll plus one journal read per changed actor.
//!
//! The store-wide stream ([`EventStream`](crate::store::EventStream)) now gives the same result
//! for one indexed read: keep a [`GlobalPosition`](crate::store::GlobalPosition) instead of the
//! per-actor heads and the activity watermark, make `poll` one
//! `read_all(position, PAGE, &filter)` (the query's machine type as a
//! [`StreamFilter`](crate::store::StreamFilter); an id prefix or state filter stays a check on
//! the returned events) and move to the page's `through`. The overlap window and the version
//! bookkeeping then go, and a live view can await the store's
//! [`commit_signal`](crate::store::EventStream::commit_signal) instead of a fixed interval.
//!
//! The `machine-inspect tail` command and the web inspector's live view both follow the journal
//! through this type.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use machine_core::ActorId;

use crate::actor::listing;
use crate::erased::ErasedStore;
use crate::{CatalogQuery, PersistError, Store, StoredEvent};

/// How far back each poll looks before the newest activity seen: rows updated in the same
/// instant as the last poll, or committed with a slightly older clock, are not missed (events
/// already reported are skipped by version).
const OVERLAP: TimeDelta = TimeDelta::seconds(2);

/// Registry rows read per page.
const PAGE: usize = 512;

/// Events read per actor per round trip.
const EVENTS_PAGE: usize = 1024;

/// Follows the journal of the actors a [`CatalogQuery`] selects.
///
/// ```no_run
/// # async fn follow(store: machine_persist::MemoryStore) -> Result<(), machine_persist::PersistError> {
/// use machine_persist::store::CatalogQuery;
/// use machine_persist::tail::JournalTail;
///
/// let mut tail = JournalTail::new(store, CatalogQuery::new().machine_type("Order"));
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
    query: CatalogQuery,
    /// Events recorded at or before this instant are history, not news (`None`: report all).
    since: Option<DateTime<Utc>>,
    /// The newest last activity seen.
    cursor: Option<DateTime<Utc>>,
    /// The last version reported per actor.
    heads: HashMap<ActorId, u64>,
}

impl std::fmt::Debug for JournalTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalTail")
            .field("query", &self.query)
            .field("since", &self.since)
            .field("cursor", &self.cursor)
            .field("actors_seen", &self.heads.len())
            .finish()
    }
}

impl JournalTail {
    /// Follows the events committed from now on, by the actors `query` selects (its page size
    /// and `after` cursor are ignored).
    pub fn new<S: Store>(store: S, query: CatalogQuery) -> Self {
        Self::erased(Arc::new(store), query)
    }

    pub(crate) fn erased(store: Arc<dyn ErasedStore>, mut query: CatalogQuery) -> Self {
        query.limit = None;
        query.after = None;
        let now = crate::model::time::now();
        Self {
            store,
            query,
            since: Some(now),
            cursor: Some(now),
            heads: HashMap::new(),
        }
    }

    /// Reports the events already stored too, actor by actor, before the new ones.
    pub fn from_start(mut self) -> Self {
        self.since = None;
        self.cursor = None;
        self
    }

    /// The events committed since the last poll, ordered by their journal position. A registry
    /// row that cannot be read is skipped (it is the actor's own problem, reported by restore
    /// and verify); a failing store fails the poll, and the next poll retries the same span.
    pub async fn poll(&mut self) -> Result<Vec<StoredEvent>, PersistError> {
        let mut query = self.query.clone().limit(PAGE);
        if let Some(cursor) = self.cursor {
            query = query.updated_after(cursor - OVERLAP);
        }
        let mut found = Vec::new();
        let mut newest = self.cursor;
        let mut heads = Vec::new();
        loop {
            let listed = listing(self.store.list(&query).await?);
            let read = listed.actors.len() + listed.unreadable.len();
            let last = listed.last_id().cloned();
            for meta in listed.actors {
                newest = newest.max(Some(meta.last_activity));
                let seen = self.heads.get(&meta.actor_id).copied().unwrap_or(0);
                if meta.version <= seen {
                    continue;
                }
                let events = self.read_after(&meta.actor_id, seen, meta.version).await?;
                found.extend(events);
                heads.push((meta.actor_id, meta.version));
            }
            match last {
                Some(last) if read == PAGE => query = query.after(last),
                _ => break,
            }
        }
        // Only now, so a failed poll leaves nothing half-advanced.
        self.heads.extend(heads);
        self.cursor = newest;
        found.sort_by_key(|event| event.position);
        Ok(found)
    }

    /// The events of `actor_id` in `seen+1..=head` recorded after `since`.
    async fn read_after(
        &self,
        actor_id: &ActorId,
        seen: u64,
        head: u64,
    ) -> Result<Vec<StoredEvent>, PersistError> {
        let mut events = Vec::new();
        let mut from = seen + 1;
        while from <= head {
            let page = self.store.read(actor_id, from, head, EVENTS_PAGE).await?;
            let Some(last) = page.last() else { break };
            from = last.version + 1;
            let complete = page.len() < EVENTS_PAGE;
            events.extend(
                page.into_iter()
                    .filter(|event| self.since.is_none_or(|since| event.recorded_at > since)),
            );
            if complete {
                break;
            }
        }
        Ok(events)
    }
}

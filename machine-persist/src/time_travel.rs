//! Time travel: the state at any version, and the history of an actor, from the journal.
//!
//! Nothing here changes stored data: the journal is never rewritten. `state_at` and `history`
//! fold stored events with the machine's handlers (no effects); `replay_to` on a
//! [`PersistentRef`](crate::PersistentRef) shows such a state in the live actor until resumed.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::Stream;
use machine_core::ActorId;

use crate::actor::Shared;
use crate::erased::ErasedStore;
use crate::restore::fold_one;
use crate::store::StoredAction;
use crate::{EventMetadata, PersistError, Persistable, StoreError};

/// Events read per round trip while streaming history.
const PAGE: usize = 1024;

/// One step of an actor's history.
#[derive(Clone, Debug)]
pub struct HistoryEntry<M: Persistable> {
    /// The version this event produced.
    pub version: u64,
    /// The event.
    pub event: M::Event,
    /// The state after it.
    pub state: M,
    /// When it was journaled.
    pub recorded_at: DateTime<Utc>,
    /// Its correlation, causation and writer ids.
    pub metadata: EventMetadata,
    /// The durable actions and the failed effects stored under this version, by name: each
    /// one's status, attempts and last cause (see [`Repository::actions`], which also reports
    /// the rows that cannot be read; they are left out here).
    ///
    /// [`Repository::actions`]: crate::Repository::actions
    pub effects: Vec<StoredAction>,
}

/// The entries of `versions` of the actor stored under `key`, in order. An event that cannot be
/// read or replayed ends the stream with its error, after every entry before it; a key that
/// could not be made is the stream's only item.
pub(crate) fn history<M: Persistable>(
    shared: Arc<Shared<M>>,
    key: Result<ActorId, PersistError>,
    versions: RangeInclusive<u64>,
) -> impl Stream<Item = Result<HistoryEntry<M>, PersistError>> + Send + 'static {
    async_stream::try_stream! {
        let actor_id = key?;
        let (first, last) = (*versions.start().max(&1), *versions.end());
        if first <= last {
            let loader = shared.loader();
            let mut effects = effects_by_version(shared.runtime.store.as_ref(), &actor_id).await?;
            let mut folded = loader.state_at(&actor_id, first - 1).await?;
            while folded.version < last {
                let from = folded.version + 1;
                let (page, bad) = match loader.store.read(&actor_id, from, last, PAGE).await {
                    Ok(page) => (page, None),
                    // A bad row fails its whole page: read the good rows before it, then stop.
                    Err(error) => match error {
                        StoreError::Corrupt { version: Some(bad), .. } if bad > from => {
                            let good = loader.store.read(&actor_id, from, bad - 1, PAGE).await?;
                            // A full page of good rows: the bad one comes in a later round.
                            let bad = (good.len() < PAGE).then_some(error);
                            (good, bad)
                        }
                        error => (Vec::new(), Some(error)),
                    },
                };
                if page.is_empty() && bad.is_none() {
                    break;
                }
                for stored in &page {
                    let mut entry = None;
                    fold_one(&shared.payloads, &mut folded, stored, &mut |stored, (event, state)| {
                        entry = Some(HistoryEntry {
                            version: stored.version,
                            event: event.clone(),
                            state: state.clone(),
                            recorded_at: stored.recorded_at,
                            metadata: stored.metadata.clone(),
                            effects: effects.remove(&stored.version).unwrap_or_default(),
                        });
                    })?;
                    if let Some(entry) = entry {
                        yield entry;
                    }
                }
                if let Some(error) = bad {
                    Err(PersistError::from(error))?;
                }
            }
        }
    }
}

/// The durable actions and failed effects of `actor_id`, by version; the rows that cannot be
/// read are logged and left out.
async fn effects_by_version(
    store: &dyn ErasedStore,
    actor_id: &ActorId,
) -> Result<BTreeMap<u64, Vec<StoredAction>>, StoreError> {
    let mut by_version: BTreeMap<u64, Vec<StoredAction>> = BTreeMap::new();
    for row in store.actions(actor_id).await? {
        match row {
            Ok(action) => by_version
                .entry(action.key.version)
                .or_default()
                .push(action),
            Err(error) => {
                tracing::warn!(actor = %actor_id, %error, "an unreadable outbox row is left out of the history");
            }
        }
    }
    Ok(by_version)
}

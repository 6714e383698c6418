//! Loading the base state and folding the journal tail onto it, and checking that what was
//! stored agrees with itself.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use machine_core::{ActorId, Machine, Outcome, Step, Tag};
use tokio::task::JoinHandle;

use crate::codec::SharedError;
use crate::erased::ErasedStore;
use crate::error::{Inconsistency, ReplayCause};
use crate::schema::Payloads;
use crate::{
    ActorMetadata, PersistConfig, PersistError, Persistable, StoreError, StoredEvent,
    StoredSnapshot,
};

/// Events read per round trip while folding.
const PAGE: usize = 4096;

/// Pages read at once while folding: two keep the store's reader threads busy on two cores.
const READ_AHEAD: usize = 2;

/// A state rebuilt from storage.
#[derive(Debug)]
pub(crate) struct Folded<M> {
    pub(crate) state: M,
    pub(crate) version: u64,
    pub(crate) entered_at: SystemTime,
    /// The version of the snapshot the fold started from.
    pub(crate) snapshot_version: u64,
}

/// What restoring one actor needs besides the store: how to decode, what to expect. Actors are
/// named by their storage keys here.
pub(crate) struct Loader<'a, M: Persistable> {
    pub(crate) store: &'a Arc<dyn ErasedStore>,
    pub(crate) payloads: &'a Payloads<M>,
    pub(crate) config: &'a PersistConfig<M>,
}

impl<M: Persistable> Loader<'_, M> {
    /// Rebuilds the state of `actor_id` at its head, or `None` when nothing at all is stored for
    /// it. The registry, the snapshots and the journal must agree (see [`check`](Self::check)).
    pub(crate) async fn restore(
        &self,
        actor_id: &ActorId,
    ) -> Result<Option<Folded<M>>, PersistError> {
        let meta = match self.store.get(actor_id).await? {
            Some(meta) => meta,
            None => {
                // No registry row: nothing is stored, unless snapshots or events say otherwise.
                let stored = self.store.load_latest(actor_id, None).await?.is_some()
                    || !self.store.read(actor_id, 1, u64::MAX, 1).await?.is_empty();
                if !stored {
                    return Ok(None);
                }
                // The actor may have been created between the two reads: its registry row is
                // written in the transaction of its first data, so it is there now if so.
                self.store
                    .get(actor_id)
                    .await?
                    .ok_or_else(|| inconsistent(actor_id, Inconsistency::Unregistered))?
            }
        };
        if self.discard_if_stale(&meta).await? {
            return Ok(None);
        }
        let mut folded = self
            .base(actor_id, Some(&meta), None)
            .await?
            .ok_or_else(|| PersistError::MissingGenesis(actor_id.clone()))?;
        self.fold_to(actor_id, &mut folded, u64::MAX).await?;
        self.check(actor_id, &meta, &folded)?;
        folded.state = self.config.admit_restored(actor_id, folded.state, &meta)?;
        Ok(Some(folded))
    }

    /// Deletes the stored data of an actor whose last activity is older than the configured
    /// limit, reporting [`PersistError::StaleState`]; returns whether it did.
    pub(crate) async fn discard_if_stale(
        &self,
        meta: &ActorMetadata,
    ) -> Result<bool, PersistError> {
        let Some(age) = self.config.stale_age(meta) else {
            return Ok(false);
        };
        let stale = PersistError::StaleState {
            actor_id: meta.actor_id.clone(),
            age,
        };
        self.config.report(&meta.actor_id, &stale);
        self.store.delete_actor(&meta.actor_id).await?;
        Ok(true)
    }

    /// The state of `actor_id` after its first `version` events (time travel).
    pub(crate) async fn state_at(
        &self,
        actor_id: &ActorId,
        version: u64,
    ) -> Result<Folded<M>, PersistError> {
        let meta = self
            .store
            .get(actor_id)
            .await?
            .ok_or_else(|| PersistError::NotFound(actor_id.clone()))?;
        if version > meta.version {
            return Err(PersistError::VersionOutOfRange {
                actor_id: actor_id.clone(),
                requested: version,
                head: meta.version,
            });
        }
        let mut folded = self
            .base(actor_id, Some(&meta), Some(version))
            .await?
            .ok_or_else(|| PersistError::MissingGenesis(actor_id.clone()))?;
        self.fold_to(actor_id, &mut folded, version).await?;
        if folded.version < version {
            return Err(inconsistent(
                actor_id,
                Inconsistency::Head {
                    registry: meta.version,
                    journal: folded.version,
                },
            ));
        }
        Ok(folded)
    }

    /// Checks what a restore found: the stored machine type is this repository's, no snapshot is
    /// above the registry's head, and the journal ends exactly at that head.
    pub(crate) fn check(
        &self,
        actor_id: &ActorId,
        meta: &ActorMetadata,
        folded: &Folded<M>,
    ) -> Result<(), PersistError> {
        self.check_type(actor_id, meta)?;
        if folded.snapshot_version > meta.version {
            return Err(inconsistent(
                actor_id,
                Inconsistency::SnapshotAhead {
                    snapshot: folded.snapshot_version,
                    registry: meta.version,
                },
            ));
        }
        if folded.version != meta.version {
            return Err(inconsistent(
                actor_id,
                Inconsistency::Head {
                    registry: meta.version,
                    journal: folded.version,
                },
            ));
        }
        Ok(())
    }

    pub(crate) fn check_type(
        &self,
        actor_id: &ActorId,
        meta: &ActorMetadata,
    ) -> Result<(), PersistError> {
        if *meta.machine_type != *self.config.machine_type {
            return Err(PersistError::WrongMachineType {
                actor_id: actor_id.clone(),
                stored: meta.machine_type.clone(),
                expected: self.config.machine_type.to_string(),
            });
        }
        Ok(())
    }

    /// Folds the journal after `folded` onto it, up to version `end`. Pages are version ranges
    /// of [`PAGE`], read [`READ_AHEAD`] at a time on their own tasks while the current one is
    /// folded, so reading, decoding and folding use every core. A page with fewer events than its
    /// range is the journal's end (or a gap, which the fold reports): no later page is asked for,
    /// and the pages already asked for are folded too, so events after a gap are reported.
    pub(crate) async fn fold_to(
        &self,
        actor_id: &ActorId,
        folded: &mut Folded<M>,
        end: u64,
    ) -> Result<(), PersistError> {
        let mut ranges = page_ranges(folded.version.saturating_add(1), end);
        let mut reading: VecDeque<_> = ranges
            .by_ref()
            .take(READ_AHEAD)
            .map(|(from, to)| (to - from + 1, self.read_ahead(actor_id, from, to)))
            .collect();
        while let Some((wanted, next)) = reading.pop_front() {
            let page = next
                .await
                .map_err(|_| StoreError::Contract("a journal read was cancelled".into()))??;
            if page.len() as u64 == wanted {
                if let Some((from, to)) = ranges.next() {
                    reading.push_back((to - from + 1, self.read_ahead(actor_id, from, to)));
                }
            }
            fold_events::<M>(self.payloads, folded, &page, |_, _| {})?;
        }
        Ok(())
    }

    /// Starts reading the events of `actor_id` with `from <= version <= to` on its own task.
    fn read_ahead(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
    ) -> JoinHandle<Result<Vec<StoredEvent>, StoreError>> {
        let store = Arc::clone(self.store);
        let actor_id = actor_id.clone();
        tokio::spawn(async move { store.read(&actor_id, from, to, PAGE).await })
    }

    /// The state the fold starts from: the latest decodable snapshot at or below `up_to` (with
    /// `replay_on_bad_snapshot`, an undecodable one is reported and an older one tried), or, for an
    /// actor with no snapshot at all, the configured initial state at version 0.
    pub(crate) async fn base(
        &self,
        actor_id: &ActorId,
        meta: Option<&ActorMetadata>,
        up_to: Option<u64>,
    ) -> Result<Option<Folded<M>>, PersistError> {
        if let Some(meta) = meta {
            self.check_type(actor_id, meta)?;
        }
        let mut at_most = up_to;
        loop {
            let Some(snapshot) = self.store.load_latest(actor_id, at_most).await? else {
                return Ok(self.initial(actor_id, meta));
            };
            match self.fold_from(&snapshot) {
                Ok(folded) => return Ok(Some(folded)),
                Err(error) if self.config.replay_on_bad_snapshot && snapshot.version > 0 => {
                    self.config.report(actor_id, &error);
                    at_most = Some(snapshot.version - 1);
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// A fold starting at `snapshot`.
    pub(crate) fn fold_from(&self, snapshot: &StoredSnapshot) -> Result<Folded<M>, PersistError> {
        Ok(Folded {
            state: self.payloads.decode_state(snapshot)?,
            version: snapshot.version,
            entered_at: snapshot.entered_at.into(),
            snapshot_version: snapshot.version,
        })
    }

    /// The configured initial state at version 0, for an actor with no snapshot (stored under
    /// `actor_id`, a key; the hook is given the application's id); the registry's creation time
    /// anchors its timeouts.
    pub(crate) fn initial(
        &self,
        actor_id: &ActorId,
        meta: Option<&ActorMetadata>,
    ) -> Option<Folded<M>> {
        let initial = self.config.initial.as_ref()?;
        Some(Folded {
            state: initial(&self.config.key.id_of(actor_id)),
            version: 0,
            entered_at: meta.map_or_else(SystemTime::now, |meta| meta.created_at.into()),
            snapshot_version: 0,
        })
    }
}

/// The version ranges of [`PAGE`] versions from `from` through `end`.
fn page_ranges(from: u64, end: u64) -> impl Iterator<Item = (u64, u64)> {
    let step = PAGE as u64;
    std::iter::successors(Some(from), move |from| from.checked_add(step))
        .take_while(move |from| *from <= end)
        .map(move |from| (from, from.saturating_add(step - 1).min(end)))
}

fn inconsistent(actor_id: &ActorId, problem: Inconsistency) -> PersistError {
    PersistError::Inconsistent {
        actor_id: actor_id.clone(),
        problem,
    }
}

/// Applies `events` (contiguous, ascending) to `folded`, calling `each` with every event and
/// the state after it.
pub(crate) fn fold_events<M: Persistable>(
    payloads: &Payloads<M>,
    folded: &mut Folded<M>,
    events: &[StoredEvent],
    mut each: impl FnMut(&StoredEvent, (&M::Event, &M)),
) -> Result<(), PersistError> {
    for stored in events {
        fold_one(payloads, folded, stored, &mut each)?;
    }
    Ok(())
}

/// Applies one event to `folded`.
pub(crate) fn fold_one<M: Persistable>(
    payloads: &Payloads<M>,
    folded: &mut Folded<M>,
    stored: &StoredEvent,
    each: &mut impl FnMut(&StoredEvent, (&M::Event, &M)),
) -> Result<(), PersistError> {
    let expected = folded.version + 1;
    if stored.version != expected {
        return Err(PersistError::VersionGap {
            actor_id: stored.actor_id.clone(),
            expected,
            found: stored.version,
        });
    }
    let event: M::Event = payloads.decode_event(stored)?;
    let next = match folded.state.transition(&event) {
        Outcome::Next(next) => next,
        Outcome::Unhandled => return Err(refused(stored, &folded.state, ReplayCause::Unhandled)),
        Outcome::Rejected(error) => {
            let cause = ReplayCause::Rejected(SharedError::from(Box::new(error) as Box<_>));
            return Err(refused(stored, &folded.state, cause));
        }
    };
    let step = Step {
        from: &folded.state,
        event: &event,
        to: &next,
    };
    if M::is_entry(&step) {
        folded.entered_at = stored.recorded_at.into();
    }
    each(stored, (&event, &next));
    folded.state = next;
    folded.version = expected;
    Ok(())
}

fn refused<M: Machine>(stored: &StoredEvent, state: &M, cause: ReplayCause) -> PersistError {
    PersistError::ReplayRefused {
        actor_id: stored.actor_id.clone(),
        version: stored.version,
        event: stored.tag.clone(),
        state: state.tag().name().to_owned(),
        cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_ranges_cover_every_version_once() {
        let ranges: Vec<_> = page_ranges(1, 2 * PAGE as u64 + 1).collect();
        assert_eq!(
            ranges,
            [
                (1, PAGE as u64),
                (PAGE as u64 + 1, 2 * PAGE as u64),
                (2 * PAGE as u64 + 1, 2 * PAGE as u64 + 1)
            ]
        );
        assert_eq!(page_ranges(5, 4).count(), 0);
        let last = page_ranges(u64::MAX - 1, u64::MAX).collect::<Vec<_>>();
        assert_eq!(last, [(u64::MAX - 1, u64::MAX)]);
        assert_eq!(
            page_ranges(1, u64::MAX).nth(1),
            Some((PAGE as u64 + 1, 2 * PAGE as u64))
        );
    }
}

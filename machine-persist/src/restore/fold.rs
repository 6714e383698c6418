//! Loading the base snapshot and folding the journal tail onto it.

use std::time::SystemTime;

use machine_core::{ActorId, Machine, Outcome, Step, Tag};

use crate::erased::ErasedStore;
use crate::schema::Payloads;
use crate::{PersistConfig, PersistError, Persistable, StoredEvent};

/// Events read per round trip while folding.
const PAGE: usize = 4096;

/// A state rebuilt from storage.
#[derive(Debug)]
pub(crate) struct Folded<M> {
    pub(crate) state: M,
    pub(crate) version: u64,
    pub(crate) entered_at: SystemTime,
    /// The version of the snapshot the fold started from.
    pub(crate) snapshot_version: u64,
}

/// Rebuilds the state of `actor_id` at version `up_to` (the head when `None`), or `None` when the
/// actor has no stored data.
pub(crate) async fn load<M: Persistable>(
    store: &dyn ErasedStore,
    payloads: &Payloads,
    config: &PersistConfig<M>,
    actor_id: &ActorId,
    up_to: Option<u64>,
) -> Result<Option<Folded<M>>, PersistError> {
    let Some(mut folded) = base_snapshot(store, payloads, config, actor_id, up_to).await? else {
        return Ok(None);
    };
    let end = up_to.unwrap_or(u64::MAX);
    loop {
        if folded.version >= end {
            break;
        }
        let page = store.read(actor_id, folded.version + 1, end, PAGE).await?;
        let complete = page.len() < PAGE;
        fold_events::<M>(payloads, &mut folded, &page, |_, _| {})?;
        if complete {
            break;
        }
    }
    if let Some(requested) = up_to {
        if folded.version < requested {
            return Err(PersistError::VersionOutOfRange {
                actor_id: actor_id.clone(),
                requested,
                head: folded.version,
            });
        }
    }
    Ok(Some(folded))
}

/// Applies `events` (contiguous, ascending) to `folded`, calling `each` with every event and
/// the state after it.
pub(crate) fn fold_events<M: Persistable>(
    payloads: &Payloads,
    folded: &mut Folded<M>,
    events: &[StoredEvent],
    mut each: impl FnMut(&StoredEvent, (&M::Event, &M)),
) -> Result<(), PersistError> {
    for stored in events {
        let expected = folded.version + 1;
        if stored.version != expected {
            return Err(PersistError::VersionGap {
                actor_id: stored.actor_id.clone(),
                expected,
                found: stored.version,
            });
        }
        let event: M::Event = payloads.decode_event::<M>(stored)?;
        let next = match folded.state.transition(&event) {
            Outcome::Next(next) => next,
            Outcome::Unhandled => return Err(refused(stored, &folded.state, "unhandled")),
            Outcome::Rejected(error) => {
                return Err(refused(stored, &folded.state, &error.to_string()))
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
    }
    Ok(())
}

fn refused<M: Machine>(stored: &StoredEvent, state: &M, why: &str) -> PersistError {
    PersistError::ReplayRefused {
        actor_id: stored.actor_id.clone(),
        version: stored.version,
        reason: format!(
            "event `{}` in state `{}`: {why}",
            stored.tag,
            state.tag().name()
        ),
    }
}

/// The latest decodable snapshot at or below `up_to`; with `replay_on_bad_snapshot`, an
/// undecodable one is reported and an older one tried, down to the genesis snapshot.
async fn base_snapshot<M: Persistable>(
    store: &dyn ErasedStore,
    payloads: &Payloads,
    config: &PersistConfig<M>,
    actor_id: &ActorId,
    up_to: Option<u64>,
) -> Result<Option<Folded<M>>, PersistError> {
    let mut at_most = up_to;
    loop {
        let Some(snapshot) = store.load_latest(actor_id, at_most).await? else {
            return Ok(None);
        };
        match payloads.decode_state::<M>(&snapshot) {
            Ok(state) => {
                return Ok(Some(Folded {
                    state,
                    version: snapshot.version,
                    entered_at: snapshot.entered_at.into(),
                    snapshot_version: snapshot.version,
                }))
            }
            Err(error) if config.replay_on_bad_snapshot && snapshot.version > 0 => {
                config.report(actor_id, &error);
                at_most = Some(snapshot.version - 1);
            }
            Err(error) => return Err(error),
        }
    }
}

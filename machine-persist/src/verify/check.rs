//! Replaying one actor's journal against its records.

use std::collections::BTreeMap;

use machine_core::{ActorId, Tag};

use super::{Divergence, Verification, VerifyReport};
use crate::actor::Shared;
use crate::codec::{CodecError, EncodeError, PayloadKind};
use crate::restore::{fold_one, Folded, Loader};
use crate::{ActorFilter, ActorMetadata, PersistError, Persistable, Repository, StoredSnapshot};

/// Events read per round trip while replaying.
const PAGE: usize = 4096;

/// Registry rows read per page by `verify_all`.
const LIST_PAGE: usize = 512;

impl<M: Persistable> Repository<M> {
    /// Replays the journal of actor `id` with the current handlers (no effects, nothing written)
    /// and compares the result with every stored snapshot and with the registry's state tag and
    /// head; see the [module docs](crate::verify). Fails only when the actor cannot be checked
    /// at all: nothing stored ([`PersistError::NotFound`]), another machine type, no base state
    /// to fold from, or a store failure.
    pub async fn verify(&self, id: impl Into<ActorId>) -> Result<Verification, PersistError> {
        let id = id.into();
        let key = self.key_of(id.clone())?;
        let mut verification = verify(self.shared(), &key).await?;
        verification.actor_id = id;
        Ok(verification)
    }

    /// [`verify`](Self::verify) of the actor stored under `key`, reported under that key.
    #[cfg(feature = "inspector")]
    pub(crate) async fn verify_key(&self, key: ActorId) -> Result<Verification, PersistError> {
        crate::store::check_actor_id(key.as_str())?;
        verify(self.shared(), &key).await
    }

    /// [`verify`](Self::verify) for every stored actor of this machine type matching `filter`,
    /// reading the registry page by page. An actor that cannot be checked is reported among the
    /// failures; the others are checked. Fails only if the registry cannot be read at all.
    pub async fn verify_all(&self, filter: ActorFilter<M>) -> Result<VerifyReport, PersistError> {
        let shared = self.shared();
        let query = filter.into_query(&shared.config.machine_type);
        let mut report = VerifyReport::default();
        let mut remaining = query.limit.unwrap_or(usize::MAX);
        let mut after = query
            .after
            .clone()
            .map(|after| self.key_of(after))
            .transpose()?;
        while remaining > 0 {
            let mut page = query.clone().limit(remaining.min(LIST_PAGE));
            page.after = after.take();
            let keyed = shared.list_keys(&page).await?;
            remaining -= keyed.len();
            for (key, error) in keyed.unreadable {
                report.failed.push((shared.id_of(&key), error));
            }
            for meta in keyed.rows {
                let id = shared.id_of(&meta.actor_id);
                match verify(shared, &meta.actor_id).await {
                    Ok(verification) => report.verified.push(Verification {
                        actor_id: id,
                        ..verification
                    }),
                    Err(error) => report.failed.push((id, error)),
                }
            }
            if !keyed.more {
                break;
            }
            after = keyed.last;
        }
        Ok(report)
    }
}

/// A state as JSON, for comparing and reporting independently of the codec.
fn json<M: Persistable>(state: &M) -> Result<serde_json::Value, PersistError> {
    serde_json::to_value(state).map_err(|error| {
        PersistError::Encode(EncodeError {
            kind: PayloadKind::State,
            codec: "json",
            source: CodecError::new(error),
        })
    })
}

async fn verify<M: Persistable>(
    shared: &Shared<M>,
    id: &ActorId,
) -> Result<Verification, PersistError> {
    let loader = shared.loader();
    let meta = loader
        .store
        .get(id)
        .await?
        .ok_or_else(|| PersistError::NotFound(id.clone()))?;
    let snapshots = all_snapshots(&loader, id).await?;
    let first_event = loader
        .store
        .read(id, 1, u64::MAX, 1)
        .await?
        .first()
        .map(|event| event.version);
    let mut divergences = Vec::new();
    let mut folded = base(
        &loader,
        id,
        &meta,
        &snapshots,
        first_event,
        &mut divergences,
    )?;
    let replayed_from = folded.version;
    let mut compared = 0;
    let mut stopped = false;
    'pages: loop {
        let page = loader
            .store
            .read(id, folded.version + 1, u64::MAX, PAGE)
            .await?;
        let complete = page.len() < PAGE;
        for stored in &page {
            let before = folded.state.clone();
            if let Err(error) = fold_one(&shared.payloads, &mut folded, stored, &mut |_, _| {}) {
                divergences.push(Divergence::Replay {
                    version: stored.version,
                    state: json(&before)?,
                    error,
                });
                stopped = true;
                break 'pages;
            }
            if let Some(snapshot) = snapshots.get(&folded.version) {
                compared += compare(&loader, snapshot, &folded, &mut divergences)?;
            }
        }
        if complete {
            break;
        }
    }
    if !stopped {
        let journal = folded.version;
        for &version in snapshots.keys().filter(|&&version| version > journal) {
            divergences.push(Divergence::SnapshotAhead { version, journal });
        }
        if journal != meta.version {
            divergences.push(Divergence::Head {
                registry: meta.version,
                journal,
            });
        } else if folded.state.tag().name() != meta.state_tag {
            divergences.push(Divergence::StateTag {
                version: journal,
                registry: meta.state_tag.clone(),
                replayed: folded.state.tag().name().to_owned(),
                state: json(&folded.state)?,
            });
        }
    }
    divergences.sort_by_key(Divergence::version);
    // A snapshot the base skipped is met again by the replay: report it once.
    divergences.dedup_by(|next, previous| {
        matches!(
            (next, previous),
            (
                Divergence::UnreadableSnapshot { version: a, .. },
                Divergence::UnreadableSnapshot { version: b, .. },
            ) if a == b
        )
    });
    Ok(Verification {
        actor_id: id.clone(),
        head: meta.version,
        replayed_from,
        replayed_to: folded.version,
        snapshots_compared: compared,
        divergences,
    })
}

/// Every stored snapshot of `id`, by version (newest first from the store, one round trip each).
async fn all_snapshots<M: Persistable>(
    loader: &Loader<'_, M>,
    id: &ActorId,
) -> Result<BTreeMap<u64, StoredSnapshot>, PersistError> {
    let mut snapshots = BTreeMap::new();
    let mut at_most = None;
    while let Some(snapshot) = loader.store.load_latest(id, at_most).await? {
        let version = snapshot.version;
        snapshots.insert(version, snapshot);
        match version.checked_sub(1) {
            Some(below) => at_most = Some(below),
            None => break,
        }
    }
    Ok(snapshots)
}

/// Compares the snapshot stored at the folded version with the folded state; 1 when it could be
/// compared.
fn compare<M: Persistable>(
    loader: &Loader<'_, M>,
    snapshot: &StoredSnapshot,
    folded: &Folded<M>,
    divergences: &mut Vec<Divergence>,
) -> Result<usize, PersistError> {
    let stored = match loader.payloads.decode_state(snapshot) {
        Ok(stored) => stored,
        Err(error) => {
            divergences.push(Divergence::UnreadableSnapshot {
                version: snapshot.version,
                error,
            });
            return Ok(0);
        }
    };
    let (stored, replayed) = (json(&stored)?, json(&folded.state)?);
    if stored != replayed {
        divergences.push(Divergence::Snapshot {
            version: snapshot.version,
            stored,
            replayed,
        });
    }
    Ok(1)
}

/// Where the replay starts. When the journal holds every event from version 1: the genesis
/// snapshot, or else the configured initial state. Otherwise (retention deleted the oldest events,
/// or the beginning cannot be read) the newest decodable snapshot the remaining journal
/// continues, or else the oldest decodable one after it.
fn base<M: Persistable>(
    loader: &Loader<'_, M>,
    id: &ActorId,
    meta: &ActorMetadata,
    snapshots: &BTreeMap<u64, StoredSnapshot>,
    first_event: Option<u64>,
    divergences: &mut Vec<Divergence>,
) -> Result<Folded<M>, PersistError> {
    loader.check_type(id, meta)?;
    let continues = first_event.map_or(meta.version, |first| first - 1);
    let mut tried = None;
    if continues == 0 {
        if let Some(genesis) = snapshots.get(&0) {
            match loader.fold_from(genesis) {
                Ok(folded) => return Ok(folded),
                Err(error) => {
                    divergences.push(Divergence::UnreadableSnapshot { version: 0, error })
                }
            }
            tried = Some(0);
        }
        if let Some(initial) = loader.initial(id, Some(meta)) {
            return Ok(initial);
        }
    }
    let below = snapshots.range(..=continues).rev();
    let above = snapshots.range(continues + 1..);
    for (&version, snapshot) in below.chain(above) {
        if tried == Some(version) {
            continue;
        }
        match loader.fold_from(snapshot) {
            Ok(folded) => return Ok(folded),
            Err(error) => divergences.push(Divergence::UnreadableSnapshot { version, error }),
        }
    }
    Err(PersistError::MissingGenesis(id.clone()))
}

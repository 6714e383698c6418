//! Restoring many actors: [`Repository::restore_many`] and [`Repository::restore_all`].
//!
//! Actors are restored in chunks, each costing one registry query, one snapshot query and one
//! journal query (every actor's events after its latest snapshot). The reads of the next chunk
//! run on their own task while the current chunk is folded and started, so the store's reads and
//! the folds use two cores. A damaged row fails its own actor alone; an actor whose latest
//! snapshot does not decode is handed to the single-actor path, which knows how to fall back to
//! older snapshots.

use std::collections::VecDeque;
use std::sync::Arc;

use machine_core::ActorId;
use tokio::task::JoinHandle;

use super::{row, Repository};
use crate::erased::ErasedStore;
use crate::restore::{fold_events, Folded, Loader, RestoreReport};
use crate::store::RowResult;
use crate::{
    ActorFilter, ActorMetadata, PersistError, Persistable, PersistentRef, StoreError, StoredEvent,
    StoredSnapshot,
};

/// How many actors one chunk restores.
const CHUNK: usize = 512;

/// How many chunks' rows [`Repository::restore_all`] reads while it folds one: the store's reads
/// and the folds then use both cores.
const READS_IN_FLIGHT: usize = 2;

/// The rows a chunk of registered actors needs.
struct Rows {
    /// The registry rows of the actors to restore.
    metas: Vec<ActorMetadata>,
    /// For each of `metas`, in order, its latest snapshot and its journal after it; `Err` when a
    /// query failed for the whole chunk.
    stored: Result<Vec<Stored>, StoreError>,
}

/// One actor's latest snapshot and its journal after it.
struct Stored {
    snapshot: RowResult<Option<StoredSnapshot>>,
    tail: RowResult<Vec<StoredEvent>>,
}

/// A chunk of ids read for [`Repository::restore_many`].
struct IdChunk {
    /// Ids whose registry row could not be read, or every id if the registry query failed.
    failed: Vec<(ActorId, PersistError)>,
    /// Ids without a registry row.
    unregistered: Vec<ActorId>,
    rows: Rows,
}

/// Reads the latest snapshots of `metas`' actors and their journals after them.
async fn read_rows(store: &dyn ErasedStore, metas: Vec<ActorMetadata>) -> Rows {
    let stored = read_stored(store, &metas).await;
    Rows { metas, stored }
}

async fn read_stored(
    store: &dyn ErasedStore,
    metas: &[ActorMetadata],
) -> Result<Vec<Stored>, StoreError> {
    if metas.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<ActorId> = metas.iter().map(|meta| meta.actor_id.clone()).collect();
    let snapshots = store.load_latest_many(&ids).await?;
    let tails: Vec<(ActorId, u64)> = ids
        .into_iter()
        .zip(&snapshots)
        .filter_map(|(id, snapshot)| {
            let after = snapshot.as_ref().ok()?.as_ref().map_or(0, |s| s.version);
            Some((id, after))
        })
        .collect();
    let events = store.read_after_many(&tails).await?;
    if events.len() != tails.len() {
        return Err(StoreError::Contract(format!(
            "{} tails asked for, {} returned",
            tails.len(),
            events.len()
        )));
    }
    let mut events = events.into_iter();
    Ok(snapshots
        .into_iter()
        .map(|snapshot| {
            // Tails were asked for the readable snapshots only.
            let tail = match &snapshot {
                Ok(_) => events.next().unwrap_or_else(|| Ok(Vec::new())),
                Err(_) => Ok(Vec::new()),
            };
            Stored { snapshot, tail }
        })
        .collect())
}

/// Awaits a read running on its own task.
async fn joined<T>(reading: JoinHandle<T>) -> Result<T, StoreError> {
    reading
        .await
        .map_err(|_| StoreError::Contract("a restore read was cancelled".into()))
}

impl<M: Persistable> Repository<M> {
    /// Restores each of `ids`; reports the restored actors and, for the others, why not
    /// (`NotFound` when nothing is stored). Actors are loaded in chunks with one registry query,
    /// one snapshot query and one journal query per chunk. A damaged row fails its own actor
    /// alone.
    pub async fn restore_many<I>(&self, ids: I) -> RestoreReport<M>
    where
        I: IntoIterator,
        I::Item: Into<ActorId>,
    {
        let mut report = RestoreReport {
            restored: Vec::new(),
            failed: Vec::new(),
        };
        // Refused before a key was made: reported under the ids as given.
        let mut refused = Vec::new();
        let mut wanted = Vec::new();
        for id in ids {
            let id = id.into();
            match self
                .key_of(id.clone())
                .and_then(|key| self.ensure_not_running(&key).map(|()| key))
            {
                Ok(key) => wanted.push(key),
                Err(error) => refused.push((id, error)),
            }
        }
        let mut chunks = wanted.chunks(CHUNK).map(<[ActorId]>::to_vec);
        let mut next = chunks.next().map(|ids| (ids.clone(), self.read_ids(ids)));
        while let Some((ids, reading)) = next.take() {
            let chunk = joined(reading).await;
            next = chunks.next().map(|ids| (ids.clone(), self.read_ids(ids)));
            match chunk {
                Ok(chunk) => {
                    report.failed.extend(chunk.failed);
                    self.report_unregistered(chunk.unregistered, &mut report)
                        .await;
                    self.restore_rows(chunk.rows, &mut report).await;
                }
                Err(error) => fail_all(&mut report, ids, error.into()),
            }
        }
        self.name_failures(&mut report);
        refused.append(&mut report.failed);
        report.failed = refused;
        report
    }

    /// Restores every stored actor of this machine type that matches `filter`, reading the
    /// registry page by page. A registry row that cannot be read is reported among the
    /// failures; the others are restored. Fails only if the store cannot be read at all.
    pub async fn restore_all(
        &self,
        filter: ActorFilter<M>,
    ) -> Result<RestoreReport<M>, PersistError> {
        let query = filter.into_query(&self.shared.config.machine_type);
        let mut report = RestoreReport {
            restored: Vec::new(),
            failed: Vec::new(),
        };
        let mut remaining = query.limit.unwrap_or(usize::MAX);
        if remaining == 0 {
            return Ok(report);
        }
        let page = |after: Option<ActorId>, remaining: usize| {
            let mut page = query.clone().limit(remaining.min(CHUNK));
            page.after = after;
            page
        };
        let runtime = &self.shared.runtime;
        let mut after = query
            .after
            .clone()
            .map(|after| self.key_of(after))
            .transpose()?;
        let mut more = true;
        let mut reading = VecDeque::with_capacity(READS_IN_FLIGHT);
        loop {
            // The registry is read page by page (each page starts after the last key of the one
            // before); the rows of up to `READS_IN_FLIGHT` pages are read while one is folded.
            while more && reading.len() < READS_IN_FLIGHT {
                let keyed = self
                    .shared
                    .list_keys(&page(after.take(), remaining))
                    .await?;
                remaining -= keyed.len();
                more = keyed.more && remaining > 0;
                after = keyed.last;
                report.failed.extend(keyed.unreadable);
                let metas = keyed
                    .rows
                    .into_iter()
                    .filter(|meta| !runtime.actors.contains(meta.actor_id.as_str()))
                    .collect();
                let runtime = Arc::clone(runtime);
                reading.push_back(tokio::spawn(async move {
                    read_rows(runtime.store.as_ref(), metas).await
                }));
            }
            let Some(rows) = reading.pop_front() else {
                break;
            };
            self.restore_rows(joined(rows).await?, &mut report).await;
        }
        self.name_failures(&mut report);
        Ok(report)
    }

    /// Names the failures of a report, found under keys, by the application's ids.
    fn name_failures(&self, report: &mut RestoreReport<M>) {
        if self.shared.config.key.is_identity() {
            return;
        }
        for (id, _) in &mut report.failed {
            *id = self.shared.id_of(id);
        }
    }

    /// Starts reading the registry rows of `ids`, and the rows of the registered ones.
    fn read_ids(&self, ids: Vec<ActorId>) -> JoinHandle<IdChunk> {
        let runtime = Arc::clone(&self.shared.runtime);
        tokio::spawn(async move {
            let store = runtime.store.as_ref();
            let mut chunk = IdChunk {
                failed: Vec::new(),
                unregistered: Vec::new(),
                rows: Rows {
                    metas: Vec::new(),
                    stored: Ok(Vec::new()),
                },
            };
            let metas = match store.get_many(&ids).await {
                Ok(metas) => metas,
                Err(error) => {
                    let error = PersistError::from(error);
                    chunk.failed = ids.into_iter().map(|id| (id, error.clone())).collect();
                    return chunk;
                }
            };
            let mut found = Vec::with_capacity(ids.len());
            for (id, meta) in ids.into_iter().zip(metas) {
                match row(meta) {
                    Ok(Some(meta)) => found.push(meta),
                    Ok(None) => chunk.unregistered.push(id),
                    Err(error) => chunk.failed.push((id, error)),
                }
            }
            chunk.rows = read_rows(store, found).await;
            chunk
        })
    }

    /// Reports ids without a registry row: `NotFound`, unless snapshots or events of theirs say
    /// something is stored after all.
    async fn report_unregistered(&self, ids: Vec<ActorId>, report: &mut RestoreReport<M>) {
        if ids.is_empty() {
            return;
        }
        let store = self.shared.runtime.store.as_ref();
        let tails: Vec<(ActorId, u64)> = ids.iter().map(|id| (id.clone(), 0)).collect();
        let (snapshots, events) = match (
            store.load_latest_many(&ids).await,
            store.read_after_many(&tails).await,
        ) {
            (Ok(snapshots), Ok(events)) => (snapshots, events),
            (Err(error), _) | (_, Err(error)) => {
                return fail_all(report, ids, error.into());
            }
        };
        for ((id, snapshot), events) in ids.into_iter().zip(snapshots).zip(events) {
            let nothing =
                matches!(snapshot, Ok(None)) && matches!(&events, Ok(tail) if tail.is_empty());
            let error = if nothing {
                PersistError::NotFound(id.clone())
            } else {
                PersistError::Inconsistent {
                    actor_id: id.clone(),
                    problem: crate::Inconsistency::Unregistered,
                }
            };
            report.failed.push((id, error));
        }
    }

    /// Folds and starts the actors of one chunk whose rows were read.
    async fn restore_rows(&self, rows: Rows, report: &mut RestoreReport<M>) {
        let Rows { metas, stored } = rows;
        let stored = match stored {
            Ok(stored) => stored,
            Err(error) => {
                let ids = metas.into_iter().map(|meta| meta.actor_id).collect();
                return fail_all(report, ids, error.into());
            }
        };
        let loader = self.shared.loader();
        let mut one_by_one = Vec::new();
        let mut stale = Vec::new();
        for (meta, stored) in metas.into_iter().zip(stored) {
            if let Some(age) = self.shared.config.stale_age(&meta) {
                stale.push((meta, age));
                continue;
            }
            match self.restore_stored(&loader, &meta, stored) {
                Ok(Some(actor)) => report.restored.push(actor),
                Ok(None) => one_by_one.push(meta.actor_id),
                Err(error) => report.failed.push((meta.actor_id, error)),
            }
        }
        for (meta, age) in stale {
            let id = meta.actor_id.clone();
            match loader.discard_if_stale(&meta).await {
                Ok(_) => report
                    .failed
                    .push((id.clone(), PersistError::StaleState { actor_id: id, age })),
                Err(error) => report.failed.push((id, error)),
            }
        }
        for id in one_by_one {
            match self.restore_key(id.clone()).await {
                Ok(Some(actor)) => report.restored.push(actor),
                Ok(None) => report.failed.push((id.clone(), PersistError::NotFound(id))),
                Err(error) => report.failed.push((id, error)),
            }
        }
    }

    /// Folds and starts one actor of a chunk; `None` when its latest snapshot does not decode
    /// and the single-actor path should try older ones.
    fn restore_stored(
        &self,
        loader: &Loader<'_, M>,
        meta: &ActorMetadata,
        Stored { snapshot, tail }: Stored,
    ) -> Result<Option<PersistentRef<M>>, PersistError> {
        let id = &meta.actor_id;
        loader.check_type(id, meta)?;
        let Some(mut folded) = self.base(loader, meta, snapshot)? else {
            return Ok(None);
        };
        fold_events::<M>(&self.shared.payloads, &mut folded, &row(tail)?, |_, _| {})?;
        loader.check(id, meta, &folded)?;
        folded.state = self.shared.config.admit_restored(id, folded.state, meta)?;
        self.start(id.clone(), folded).map(Some)
    }

    /// The base of one actor of a bulk restore: its latest snapshot, or the configured initial
    /// state; `None` when the latest snapshot does not decode and the single-actor path should
    /// try older ones.
    fn base(
        &self,
        loader: &Loader<'_, M>,
        meta: &ActorMetadata,
        snapshot: RowResult<Option<StoredSnapshot>>,
    ) -> Result<Option<Folded<M>>, PersistError> {
        let id = &meta.actor_id;
        match row(snapshot)? {
            Some(snapshot) => match loader.fold_from(&snapshot) {
                Ok(folded) => Ok(Some(folded)),
                Err(_) if self.shared.config.replay_on_bad_snapshot => Ok(None),
                Err(error) => Err(error),
            },
            None => loader
                .initial(id, Some(meta))
                .map(Some)
                .ok_or_else(|| PersistError::MissingGenesis(id.clone())),
        }
    }
}

fn fail_all<M: Persistable>(report: &mut RestoreReport<M>, ids: Vec<ActorId>, error: PersistError) {
    report
        .failed
        .extend(ids.into_iter().map(|id| (id, error.clone())));
}

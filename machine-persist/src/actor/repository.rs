//! [`Repository`]: spawn, restore and inspect the persistent actors of one machine type.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::SystemTime;

use futures::Stream;
use machine_core::{ActorId, SpawnError, Start, Tag};

use super::filter::ActorFilter;
use super::journaled::Journaled;
use super::system::Runtime;
use super::PersistentRef;
use crate::model::{check_actor_id, new_request_id};
use crate::restore::{fold_events, Folded, Listing, Loader, RestoreReport};
use crate::schema::Payloads;
use crate::store::RowResult;
use crate::time_travel::{history, HistoryEntry};
use crate::{
    ActorMetadata, AppendRequest, PersistConfig, PersistError, Persistable, StoredEvent,
    StoredSnapshot,
};

/// How many actors `restore_many` loads per round trip.
const RESTORE_CHUNK: usize = 512;

/// What the actors of one machine type share.
pub(crate) struct Shared<M: Persistable> {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) config: PersistConfig<M>,
    pub(crate) payloads: Payloads<M>,
    pub(crate) env: Arc<M::Env>,
}

impl<M: Persistable> Shared<M> {
    /// Restores and folds with this machine type's settings.
    pub(crate) fn loader(&self) -> Loader<'_, M> {
        Loader {
            store: &self.runtime.store,
            payloads: &self.payloads,
            config: &self.config,
        }
    }
}

/// The persistent actors of one machine type in one [`PersistentSystem`](crate::PersistentSystem).
///
/// Cheap to clone. Every method taking an id takes anything that converts into an
/// [`ActorId`], and checks it against the storage rule first
/// ([`check_actor_id`](crate::store::check_actor_id)).
pub struct Repository<M: Persistable> {
    shared: Arc<Shared<M>>,
}

impl<M: Persistable> Clone for Repository<M> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<M: Persistable> std::fmt::Debug for Repository<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("config", &self.shared.config)
            .finish()
    }
}

/// An id, checked against the storage rule.
fn checked(id: impl Into<ActorId>) -> Result<ActorId, PersistError> {
    let id = id.into();
    check_actor_id(id.as_str())?;
    Ok(id)
}

/// The chunk a bulk read returned for one actor, as the restore's error if it failed.
fn row<T>(row: RowResult<T>) -> Result<T, PersistError> {
    row.map_err(PersistError::from)
}

impl<M: Persistable> Repository<M> {
    pub(crate) fn new(runtime: Arc<Runtime>, config: PersistConfig<M>, env: Arc<M::Env>) -> Self {
        let payloads = Payloads {
            event_schema: config.event_schema,
            state_schema: config.state_schema,
            upcasters: Arc::clone(&config.upcasters),
            codec: Arc::clone(&config.codec),
        };
        Self {
            shared: Arc::new(Shared {
                runtime,
                config,
                payloads,
                env,
            }),
        }
    }

    /// The machine type recorded for these actors.
    pub fn machine_type(&self) -> &str {
        &self.shared.config.machine_type
    }

    /// Spawns actor `id`. If it has stored data it is restored (unless
    /// `restore_on_spawn(false)`, then this fails with [`PersistError::AlreadyExists`]); otherwise
    /// it starts in `initial`, which is stored first as its genesis snapshot (version 0), so the
    /// actor survives a restart even before its first event.
    pub async fn spawn(
        &self,
        id: impl Into<ActorId>,
        initial: M,
    ) -> Result<PersistentRef<M>, PersistError> {
        let id = checked(id)?;
        self.ensure_not_running(&id)?;
        if self.shared.config.restore_on_spawn {
            if let Some(restored) = self.restore(id.clone()).await? {
                return Ok(restored);
            }
        }
        let entered_at = SystemTime::now();
        let genesis = self.shared.payloads.snapshot(&initial, 0, entered_at)?;
        let request = AppendRequest {
            actor_id: id.clone(),
            machine_type: Arc::clone(&self.shared.config.machine_type),
            expected_version: 0,
            events: Vec::new(),
            state_tag: initial.tag().name().into(),
            entered_at: entered_at.into(),
            create: true,
            snapshot: Some(genesis),
            request_id: new_request_id(),
        };
        self.shared.runtime.writer.append(request).await?;
        self.start(
            id,
            Folded {
                state: initial,
                version: 0,
                entered_at,
                snapshot_version: 0,
            },
        )
    }

    /// Restores actor `id` from its latest snapshot and the journal after it (no effects run;
    /// the restored state's tasks and timeouts start, its timeouts keeping their deadlines).
    /// `None` when nothing at all is stored for `id`. Stored data that disagrees with itself, or
    /// belongs to another machine type, is an error (see [`PersistError::Inconsistent`]).
    pub async fn restore(
        &self,
        id: impl Into<ActorId>,
    ) -> Result<Option<PersistentRef<M>>, PersistError> {
        let id = checked(id)?;
        self.ensure_not_running(&id)?;
        match self.shared.loader().restore(&id).await? {
            Some(folded) => self.start(id, folded).map(Some),
            None => Ok(None),
        }
    }

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
        let mut wanted = Vec::new();
        for id in ids {
            let id = id.into();
            match checked(id.clone()).and_then(|id| self.ensure_not_running(&id).map(|()| id)) {
                Ok(id) => wanted.push(id),
                Err(error) => report.failed.push((id, error)),
            }
        }
        for chunk in wanted.chunks(RESTORE_CHUNK) {
            let metas = match self.shared.runtime.store.get_many(chunk).await {
                Ok(metas) => metas,
                Err(error) => {
                    let error = PersistError::from(error);
                    report
                        .failed
                        .extend(chunk.iter().map(|id| (id.clone(), error.clone())));
                    continue;
                }
            };
            let mut found = Vec::with_capacity(chunk.len());
            let mut unregistered = Vec::new();
            for (id, meta) in chunk.iter().zip(metas) {
                match row(meta) {
                    Ok(Some(meta)) => found.push(meta),
                    Ok(None) => unregistered.push(id.clone()),
                    Err(error) => report.failed.push((id.clone(), error)),
                }
            }
            self.report_unregistered(unregistered, &mut report).await;
            self.restore_chunk(found, &mut report).await;
        }
        report
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

    /// Restores the actors of one chunk, whose registry rows were read.
    async fn restore_chunk(&self, metas: Vec<ActorMetadata>, report: &mut RestoreReport<M>) {
        let shared = &self.shared;
        let store = shared.runtime.store.as_ref();
        let loader = shared.loader();
        let ids: Vec<ActorId> = metas.iter().map(|meta| meta.actor_id.clone()).collect();
        let snapshots = match store.load_latest_many(&ids).await {
            Ok(snapshots) => snapshots,
            Err(error) => return fail_all(report, ids, error.into()),
        };
        let mut bases = Vec::with_capacity(metas.len());
        let mut one_by_one = Vec::new();
        for (meta, snapshot) in metas.into_iter().zip(snapshots) {
            match loader
                .check_type(&meta.actor_id, &meta)
                .and_then(|()| self.base(&loader, &meta, snapshot))
            {
                Ok(Some(folded)) => bases.push((meta, folded)),
                // The single-actor path knows how to fall back to older snapshots.
                Ok(None) => one_by_one.push(meta.actor_id),
                Err(error) => report.failed.push((meta.actor_id, error)),
            }
        }
        let tails: Vec<(ActorId, u64)> = bases
            .iter()
            .map(|(meta, folded)| (meta.actor_id.clone(), folded.version))
            .collect();
        let events = match store.read_after_many(&tails).await {
            Ok(events) => events,
            Err(error) => {
                let ids = bases.into_iter().map(|(meta, _)| meta.actor_id).collect();
                return fail_all(report, ids, error.into());
            }
        };
        for ((meta, mut folded), tail) in bases.into_iter().zip(events) {
            let outcome = row(tail)
                .and_then(|tail: Vec<StoredEvent>| {
                    fold_events::<M>(&shared.payloads, &mut folded, &tail, |_, _| {})
                })
                .and_then(|()| loader.check(&meta.actor_id, &meta, &folded))
                .and_then(|()| self.start(meta.actor_id.clone(), folded));
            match outcome {
                Ok(actor) => report.restored.push(actor),
                Err(error) => report.failed.push((meta.actor_id, error)),
            }
        }
        for id in one_by_one {
            match self.restore(id.clone()).await {
                Ok(Some(actor)) => report.restored.push(actor),
                Ok(None) => report.failed.push((id.clone(), PersistError::NotFound(id))),
                Err(error) => report.failed.push((id, error)),
            }
        }
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
        let mut after = query.after.clone();
        while remaining > 0 {
            let page_size = remaining.min(RESTORE_CHUNK);
            let mut page = query.clone().limit(page_size);
            page.after = after.take();
            let listing = listing(self.shared.runtime.store.list(&page).await?);
            let read = listing.actors.len() + listing.unreadable.len();
            after = listing.last_id().cloned();
            report.failed.extend(listing.unreadable);
            let metas = listing
                .actors
                .into_iter()
                .filter(|meta| !self.shared.runtime.actors.contains(meta.actor_id.as_str()))
                .collect();
            self.restore_chunk(metas, &mut report).await;
            remaining -= read;
            if read < page_size {
                break;
            }
        }
        Ok(report)
    }

    /// The registry rows of this machine type matching `filter`; a row that cannot be read is
    /// listed among the unreadable ones, never hiding the others.
    pub async fn list(&self, filter: ActorFilter<M>) -> Result<Listing, PersistError> {
        let query = filter.into_query(&self.shared.config.machine_type);
        let listed = self.shared.runtime.store.list(&query).await?;
        Ok(listing(listed))
    }

    /// The registry row of actor `id`, if it is stored.
    pub async fn metadata(
        &self,
        id: impl Into<ActorId>,
    ) -> Result<Option<ActorMetadata>, PersistError> {
        let id = checked(id)?;
        Ok(self.shared.runtime.store.get(&id).await?)
    }

    /// The running actor `id`, if any.
    pub fn get(&self, id: impl Into<ActorId>) -> Option<PersistentRef<M>> {
        let id = id.into();
        let actor = self.shared.runtime.actors.get::<M>(id.as_str())?;
        Some(PersistentRef::new(actor, Arc::clone(&self.shared)))
    }

    /// The state of actor `id` after its first `version` events, computed from storage without
    /// touching a running actor.
    pub async fn state_at(&self, id: impl Into<ActorId>, version: u64) -> Result<M, PersistError> {
        let id = checked(id)?;
        Ok(self.shared.loader().state_at(&id, version).await?.state)
    }

    /// The journaled history of actor `id` over `versions`: each event with the state after it,
    /// its metadata and when it was recorded, in order. An entry that cannot be read ends the
    /// stream with its error, after the entries before it.
    pub fn history(
        &self,
        id: impl Into<ActorId>,
        versions: RangeInclusive<u64>,
    ) -> impl Stream<Item = Result<HistoryEntry<M>, PersistError>> + Send + 'static {
        history(Arc::clone(&self.shared), id.into(), versions)
    }

    fn ensure_not_running(&self, id: &ActorId) -> Result<(), PersistError> {
        if self.shared.runtime.actors.contains(id.as_str()) {
            return Err(SpawnError::Duplicate(id.clone()).into());
        }
        Ok(())
    }

    fn start(&self, id: ActorId, folded: Folded<M>) -> Result<PersistentRef<M>, PersistError> {
        let shared = &self.shared;
        let durability = Journaled::new(Arc::clone(shared), folded.snapshot_version);
        let start = Start {
            state: folded.state,
            version: folded.version,
            entered_at: folded.entered_at,
        };
        let actor = shared.runtime.actors.start(
            id,
            start,
            Arc::clone(&shared.env),
            durability,
            shared.config.spawn.clone(),
        )?;
        Ok(PersistentRef::new(actor, Arc::clone(shared)))
    }
}

fn fail_all<M: Persistable>(report: &mut RestoreReport<M>, ids: Vec<ActorId>, error: PersistError) {
    report
        .failed
        .extend(ids.into_iter().map(|id| (id, error.clone())));
}

/// An unreadable registry row, under the id it was found with.
fn unreadable(error: crate::StoreError) -> (ActorId, PersistError) {
    let id = error
        .actor_id()
        .cloned()
        .unwrap_or_else(|| ActorId::from(""));
    (id, error.into())
}

/// Registry rows split into readable and unreadable.
pub(crate) fn listing(rows: Vec<RowResult<ActorMetadata>>) -> Listing {
    let mut listing = Listing::default();
    for row in rows {
        match row {
            Ok(meta) => listing.actors.push(meta),
            Err(error) => listing.unreadable.push(unreadable(error)),
        }
    }
    listing
}

//! [`Repository`]: spawn, restore and inspect the persistent actors of one machine type.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::SystemTime;

use std::collections::HashMap;

use futures::Stream;
use machine_core::{ActorId, SpawnError, Start, Tag};

use super::journaled::Journaled;
use super::system::Runtime;
use super::PersistentRef;
use crate::restore::{fold_events, load, Folded, RestoreReport};
use crate::schema::Payloads;
use crate::time_travel::{history, HistoryEntry};
use crate::{
    ActorFilter, ActorMetadata, AppendRequest, PersistConfig, PersistError, Persistable,
    StoredEvent, StoredSnapshot,
};

/// How many actors `restore_many` loads per round trip.
const RESTORE_CHUNK: usize = 512;

fn fail_all<M: Persistable>(report: &mut RestoreReport<M>, ids: Vec<ActorId>, error: PersistError) {
    report
        .failed
        .extend(ids.into_iter().map(|id| (id, error.clone())));
}

/// What the actors of one machine type share.
pub(crate) struct Shared<M: Persistable> {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) config: PersistConfig<M>,
    pub(crate) payloads: Payloads,
    pub(crate) env: Arc<M::Env>,
}

/// The persistent actors of one machine type in one [`PersistentSystem`](crate::PersistentSystem).
///
/// Cheap to clone.
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

impl<M: Persistable> Repository<M> {
    pub(crate) fn new(runtime: Arc<Runtime>, config: PersistConfig<M>, env: Arc<M::Env>) -> Self {
        let payloads = Payloads {
            event_schema: config.event_schema,
            state_schema: config.state_schema,
            upcasters: Arc::clone(&config.upcasters),
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
    /// `restore_on_spawn(false)`, then this fails with `AlreadyExists`); otherwise it starts in
    /// `initial`, which is stored first as its genesis snapshot (version 0), so the actor
    /// survives a restart even before its first event.
    pub async fn spawn(
        &self,
        id: impl Into<ActorId>,
        initial: M,
    ) -> Result<PersistentRef<M>, PersistError> {
        let id = id.into();
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
            machine_type: self.shared.config.machine_type.to_string(),
            expected_version: 0,
            events: Vec::new(),
            state_tag: initial.tag().name().to_owned(),
            entered_at: entered_at.into(),
            create: true,
            snapshot: Some(genesis),
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
    /// `None` when nothing is stored for `id`.
    pub async fn restore(
        &self,
        id: impl Into<ActorId>,
    ) -> Result<Option<PersistentRef<M>>, PersistError> {
        let id = id.into();
        self.ensure_not_running(&id)?;
        let shared = &self.shared;
        let Some(folded) = load(
            shared.runtime.store.as_ref(),
            &shared.payloads,
            &shared.config,
            &id,
            None,
        )
        .await?
        else {
            return Ok(None);
        };
        self.start(id, folded).map(Some)
    }

    /// Restores each of `ids`; reports the restored actors and, for the others, why not
    /// (`NotFound` when nothing is stored). Actors are loaded in chunks with one snapshot query
    /// and one journal query per chunk, so restoring many small actors costs few round trips.
    pub async fn restore_many<I>(&self, ids: I) -> RestoreReport<M>
    where
        I: IntoIterator,
        I::Item: Into<ActorId>,
    {
        let mut report = RestoreReport {
            restored: Vec::new(),
            failed: Vec::new(),
        };
        let ids: Vec<ActorId> = ids.into_iter().map(Into::into).collect();
        for chunk in ids.chunks(RESTORE_CHUNK) {
            self.restore_chunk(chunk, &mut report).await;
        }
        report
    }

    async fn restore_chunk(&self, ids: &[ActorId], report: &mut RestoreReport<M>) {
        let shared = &self.shared;
        let store = shared.runtime.store.as_ref();
        let mut wanted = Vec::with_capacity(ids.len());
        for id in ids {
            match self.ensure_not_running(id) {
                Ok(()) => wanted.push(id.clone()),
                Err(error) => report.failed.push((id.clone(), error)),
            }
        }
        let snapshots = match store.load_latest_many(&wanted).await {
            Ok(snapshots) => snapshots,
            Err(error) => return fail_all(report, wanted, error.into()),
        };
        let mut snapshots: HashMap<ActorId, StoredSnapshot> = snapshots
            .into_iter()
            .map(|snapshot| (snapshot.actor_id.clone(), snapshot))
            .collect();
        let mut bases = Vec::with_capacity(wanted.len());
        let mut one_by_one = Vec::new();
        for id in wanted {
            match snapshots.remove(&id) {
                None => report.failed.push((id.clone(), PersistError::NotFound(id))),
                Some(snapshot) => match shared.payloads.decode_state::<M>(&snapshot) {
                    Ok(state) => bases.push((
                        id,
                        Folded {
                            state,
                            version: snapshot.version,
                            entered_at: snapshot.entered_at.into(),
                            snapshot_version: snapshot.version,
                        },
                    )),
                    // The single-actor path knows how to fall back to older snapshots.
                    Err(_) => one_by_one.push(id),
                },
            }
        }
        let tails: Vec<(ActorId, u64)> = bases
            .iter()
            .map(|(id, f)| (id.clone(), f.version))
            .collect();
        let events = match store.read_after_many(&tails).await {
            Ok(events) => events,
            Err(error) => {
                let ids = bases.into_iter().map(|(id, _)| id).collect();
                return fail_all(report, ids, error.into());
            }
        };
        let mut tails: HashMap<ActorId, Vec<StoredEvent>> = HashMap::new();
        for event in events {
            tails.entry(event.actor_id.clone()).or_default().push(event);
        }
        for (id, mut folded) in bases {
            let tail = tails.remove(&id).unwrap_or_default();
            let outcome = fold_events::<M>(&shared.payloads, &mut folded, &tail, |_, _| {})
                .and_then(|()| self.start(id.clone(), folded));
            match outcome {
                Ok(actor) => report.restored.push(actor),
                Err(error) => report.failed.push((id, error)),
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

    /// Restores every stored actor of this machine type that matches `filter` (its machine type
    /// is set to this repository's), page by page.
    pub async fn restore_all(&self, filter: ActorFilter) -> Result<RestoreReport<M>, PersistError> {
        let ids: Vec<ActorId> = self
            .list(filter)
            .await?
            .into_iter()
            .map(|meta| meta.actor_id)
            .filter(|id| !self.shared.runtime.actors.contains(id.as_str()))
            .collect();
        Ok(self.restore_many(ids).await)
    }

    /// The metadata of the stored actors of this machine type matching `filter`.
    pub async fn list(&self, filter: ActorFilter) -> Result<Vec<ActorMetadata>, PersistError> {
        let filter = filter.machine_type(self.shared.config.machine_type.to_string());
        Ok(self.shared.runtime.store.list(&filter).await?)
    }

    /// The running actor `id`, if any.
    pub fn get(&self, id: &str) -> Option<PersistentRef<M>> {
        let actor = self.shared.runtime.actors.get::<M>(id)?;
        Some(PersistentRef::new(actor, Arc::clone(&self.shared)))
    }

    /// The state of actor `id` after its first `version` events, computed from storage without
    /// touching a running actor.
    pub async fn state_at(&self, id: &str, version: u64) -> Result<M, PersistError> {
        let id = ActorId::from(id);
        let shared = &self.shared;
        load(
            shared.runtime.store.as_ref(),
            &shared.payloads,
            &shared.config,
            &id,
            Some(version),
        )
        .await?
        .map(|folded| folded.state)
        .ok_or(PersistError::NotFound(id))
    }

    /// The journaled history of actor `id` over `versions`: each event with the state after it
    /// and when it was recorded, in order.
    pub fn history(
        &self,
        id: &str,
        versions: RangeInclusive<u64>,
    ) -> impl Stream<Item = Result<HistoryEntry<M>, PersistError>> + Send + 'static {
        history(Arc::clone(&self.shared), ActorId::from(id), versions)
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

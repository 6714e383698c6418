//! [`Repository`]: spawn, restore and inspect the persistent actors of one machine type.

mod bulk;

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::SystemTime;

use futures::Stream;
use machine_core::{ActorId, Outcome, SpawnError, Start, Tag};

use super::command::Flights;
use super::failures::FailureLog;
use super::filter::ActorFilter;
use super::incarnation::{Incarnation, Incarnations};
use super::journaled::Journaled;
use super::system::Runtime;
use super::PersistentRef;
use super::{cleanup, timer_service};
use crate::dispatch::MachineActions;
use crate::model::new_request_id;
use crate::restore::{Folded, Listing, Loader};
use crate::schema::Payloads;
use crate::store::{Fence, RowResult, StoredAction};
use crate::time_travel::{history, HistoryEntry};
use crate::timers::{timeout_at, Timers};
use crate::{
    ActorMetadata, AppendRequest, CatalogQuery, ErrorHook, PersistConfig, PersistError, Persistable,
};

/// What the actors of one machine type share.
pub(crate) struct Shared<M: Persistable> {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) config: PersistConfig<M>,
    pub(crate) payloads: Payloads<M>,
    pub(crate) env: Arc<M::Env>,
    /// The commands being sent from this process.
    pub(crate) commands: Flights,
    pub(crate) incarnations: Incarnations<M>,
    pub(crate) timers: Arc<Timers>,
    /// The `on_error` hook as the snapshot writer calls it (with keys).
    pub(crate) snapshot_errors: Option<ErrorHook>,
    /// Where the actors' failed effects are recorded.
    pub(crate) failures: Arc<FailureLog>,
}

/// Registry rows of one repository's keys, read page by page through its persistence key.
#[derive(Default)]
pub(crate) struct KeyedRows {
    /// The readable rows, under their keys, in key order.
    pub(crate) rows: Vec<ActorMetadata>,
    /// The unreadable rows, under their keys.
    pub(crate) unreadable: Vec<(ActorId, PersistError)>,
    /// The last key read, this repository's or not: where the next read starts.
    pub(crate) last: Option<ActorId>,
    /// Whether the store may hold more matching rows after `last`.
    pub(crate) more: bool,
}

impl KeyedRows {
    /// How many of this repository's rows were read.
    pub(crate) fn len(&self) -> usize {
        self.rows.len() + self.unreadable.len()
    }
}

impl<M: Persistable> Shared<M> {
    /// The running incarnation of `id`, or a new one restored from the store (`None`: nothing
    /// is stored). Single-flight per id. A cluster node that does not hold the actor's shard
    /// refuses before reading the store: the owner may be writing it meanwhile.
    pub(crate) async fn activate(
        self: &Arc<Self>,
        id: &ActorId,
    ) -> Result<Option<Incarnation<M>>, PersistError> {
        self.runtime.fence(id)?;
        self.incarnations
            .activate(id, || async {
                match self.loader().restore(id).await? {
                    Some(folded) => self.start(id.clone(), folded).map(Some),
                    None => Ok(None),
                }
            })
            .await
    }

    /// Starts an incarnation of `id` at `folded`.
    pub(crate) fn start(
        self: &Arc<Self>,
        id: ActorId,
        folded: Folded<M>,
    ) -> Result<Incarnation<M>, PersistError> {
        let life = self.incarnations.new_life();
        let durability = Journaled::new(
            Arc::clone(self),
            id.clone(),
            Arc::clone(&life),
            folded.snapshot_version,
        );
        let start = Start {
            state: folded.state,
            version: folded.version,
            entered_at: folded.entered_at,
        };
        let actor = self.runtime.actors.start(
            id.clone(),
            start,
            Arc::clone(&self.env),
            durability,
            self.config.spawn.clone(),
        )?;
        let incarnation = Incarnation { actor, life };
        // In memory, the actor runs its own timeouts.
        self.timers.cancel(&id);
        self.incarnations.insert(id, incarnation.clone());
        Ok(incarnation)
    }

    /// The key actor `id` is stored under, both checked against the storage rule.
    pub(crate) fn key_of(&self, id: &ActorId) -> Result<ActorId, PersistError> {
        Ok(self.config.key.to_key(id)?)
    }

    /// The id the application knows the actor stored under `key` by.
    pub(crate) fn id_of(&self, key: &ActorId) -> ActorId {
        self.config.key.id_of(key)
    }

    /// A registry row as the application sees it: under the actor's id.
    pub(crate) fn row_of(&self, mut meta: ActorMetadata) -> ActorMetadata {
        meta.actor_id = self.id_of(&meta.actor_id);
        meta
    }

    /// The registry rows matching `query` (its `after` a key) whose keys are this repository's,
    /// at most `query.limit` of them: rows of other namespaces are skipped, and reading goes on
    /// past them until the limit is reached or the store has no more. A prefix namespace reads
    /// only its own range of keys.
    pub(crate) async fn list_keys(&self, query: &CatalogQuery) -> Result<KeyedRows, PersistError> {
        let mapping = &self.config.key;
        let prefix = mapping.prefix_range();
        let mut page = query.clone();
        if let Some(prefix) = prefix {
            // No key of the namespace sorts at or before its prefix.
            if page
                .after
                .as_ref()
                .is_none_or(|after| after.as_str() < prefix)
            {
                page.after = Some(ActorId::from(prefix));
            }
        }
        let mut keyed = KeyedRows::default();
        loop {
            page.limit = query.limit.map(|limit| limit - keyed.len());
            let rows = self.runtime.store.list(&page).await?;
            let full = page.limit.is_some_and(|limit| rows.len() == limit);
            let mut beyond = false;
            for row in rows {
                let key = match &row {
                    Ok(meta) => Some(meta.actor_id.clone()),
                    Err(error) => error.actor_id().cloned(),
                };
                if let Some(key) = &key {
                    if prefix.is_some_and(|prefix| !key.as_str().starts_with(prefix)) {
                        beyond = true;
                        break;
                    }
                    keyed.last = Some(key.clone());
                }
                let ours = key
                    .as_ref()
                    .is_none_or(|key| mapping.from_key(key).is_some());
                match row {
                    Ok(meta) if ours => keyed.rows.push(meta),
                    Err(error) if ours => keyed
                        .unreadable
                        .push((key.unwrap_or_else(|| ActorId::from("")), error.into())),
                    _ => {}
                }
            }
            // Without a key read there is no place to go on from.
            keyed.more = full && !beyond && keyed.last.is_some();
            let enough = query.limit.is_some_and(|limit| keyed.len() >= limit);
            if !keyed.more || enough {
                return Ok(keyed);
            }
            page.after = keyed.last.clone();
        }
    }

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
/// [`ActorId`], maps it to its storage key ([`PersistConfig::persistence_key`]), and checks
/// both against the storage rule first ([`check_actor_id`](crate::store::check_actor_id)).
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

/// The chunk a bulk read returned for one actor, as the restore's error if it failed.
fn row<T>(row: RowResult<T>) -> Result<T, PersistError> {
    row.map_err(PersistError::from)
}

impl<M: Persistable> Repository<M> {
    pub(crate) fn new(runtime: Arc<Runtime>, config: PersistConfig<M>, env: Arc<M::Env>) -> Self {
        let payloads = Payloads::of(&config);
        let snapshot_errors = config.snapshot_error_hook();
        let failures = Arc::new(FailureLog::new(
            Arc::clone(&runtime.store),
            Arc::clone(&config.machine_type),
        ));
        let repository = Self {
            shared: Arc::new(Shared {
                runtime,
                config,
                payloads,
                env,
                commands: Flights::default(),
                incarnations: Incarnations::default(),
                timers: Arc::default(),
                snapshot_errors,
                failures,
            }),
        };
        let shared = &repository.shared;
        if !shared.config.durable.is_empty() {
            let runner = MachineActions {
                handlers: Arc::clone(&shared.config.durable),
                codec: Arc::clone(&shared.config.codec),
                env: Arc::clone(&shared.env),
                shared: Arc::downgrade(shared),
                key: shared.config.key.clone(),
            };
            shared
                .runtime
                .dispatcher
                .register(&shared.config.machine_type, Arc::new(runner));
        }
        if shared.config.durable_timers {
            timer_service::spawn(shared, shared.runtime.closing.subscribe());
        }
        cleanup::spawn_cleanup(shared, shared.runtime.closing.subscribe());
        if let Some(filter) = &shared.config.restore_on_start {
            // With passivation, actors are activated on demand and their timers armed instead.
            if shared.config.passivate_after.is_none() {
                cleanup::spawn_restore_on_start(&repository, filter.clone());
            }
        }
        repository
    }

    /// The repository whose actors share `shared`.
    pub(crate) fn from_shared(shared: Arc<Shared<M>>) -> Self {
        Self { shared }
    }

    /// The durable actions stored for actor `id` (see [`dispatch`](crate::dispatch)) and its
    /// failed plain effects (actions, state tasks, timers that could not fire: status
    /// [`Failed`](crate::store::ActionStatus::Failed)), by version then name: each one's status,
    /// attempts and last failure. A row that cannot be read is its error, without hiding the
    /// others.
    pub async fn actions(
        &self,
        id: impl Into<ActorId>,
    ) -> Result<Vec<RowResult<StoredAction>>, PersistError> {
        let key = self.key_of(id)?;
        Ok(self.shared.runtime.store.actions(&key).await?)
    }

    /// The storage key of actor `id`.
    pub(crate) fn key_of(&self, id: impl Into<ActorId>) -> Result<ActorId, PersistError> {
        self.shared.key_of(&id.into())
    }

    /// What the actors of this repository share, for the crate's tools (verify, the inspector).
    pub(crate) fn shared(&self) -> &Arc<Shared<M>> {
        &self.shared
    }

    /// The machine type recorded for these actors.
    pub fn machine_type(&self) -> &str {
        &self.shared.config.machine_type
    }

    /// Spawns actor `id`. If it has stored data it is restored (unless
    /// `restore_on_spawn(false)`, then this fails with [`PersistError::AlreadyExists`]); otherwise
    /// it starts in `initial`, which is stored first as its genesis snapshot (version 0), so the
    /// actor survives a restart even before its first event. Spawns, restores and activations of
    /// one id run one at a time: one that comes while another starts the actor gets that actor.
    /// On a cluster node that does not hold the actor's shard this is
    /// [`PersistError::NotOwner`].
    pub async fn spawn(
        &self,
        id: impl Into<ActorId>,
        initial: M,
    ) -> Result<PersistentRef<M>, PersistError> {
        let key = self.key_of(id)?;
        self.ensure_not_running(&key)?;
        let shared = &self.shared;
        let fence = shared.runtime.fence(&key)?;
        // In the activation gate of the id, as every restore: a spawn, an activation or a
        // restore of one id at once see each other's actor instead of racing to start one.
        let spawned = shared
            .incarnations
            .activate(&key, || async {
                if shared.config.restore_on_spawn {
                    if let Some(folded) = shared.loader().restore(&key).await? {
                        return shared.start(key.clone(), folded).map(Some);
                    }
                }
                self.create(&key, initial, fence).await.map(Some)
            })
            .await?;
        // The gate hands back the running actor, or what the start above made: never nothing.
        let incarnation = spawned.ok_or_else(|| PersistError::NotFound(key.clone()))?;
        Ok(PersistentRef::new(incarnation, Arc::clone(shared)))
    }

    /// Stores `initial` as the genesis snapshot (version 0) of a new actor and starts it.
    async fn create(
        &self,
        key: &ActorId,
        initial: M,
        fence: Option<Fence>,
    ) -> Result<Incarnation<M>, PersistError> {
        let entered_at = SystemTime::now();
        let genesis = self.shared.payloads.snapshot(&initial, 0, entered_at)?;
        let request = AppendRequest {
            actor_id: key.clone(),
            machine_type: Arc::clone(&self.shared.config.machine_type),
            expected_version: 0,
            events: Vec::new(),
            state_tag: initial.tag().name().into(),
            entered_at: entered_at.into(),
            create: true,
            snapshot: Some(genesis),
            actions: Vec::new(),
            commands: Vec::new(),
            request_id: new_request_id(),
            timeout_at: timeout_at(&initial, entered_at),
            fence,
        };
        self.shared.runtime.writer.append(request).await?;
        self.shared.start(
            key.clone(),
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
        self.restore_key(self.key_of(id)?).await
    }

    /// [`restore`](Self::restore) of the actor stored under `key`.
    pub(crate) async fn restore_key(
        &self,
        key: ActorId,
    ) -> Result<Option<PersistentRef<M>>, PersistError> {
        self.ensure_not_running(&key)?;
        let restored = self.shared.activate(&key).await?;
        Ok(restored.map(|incarnation| PersistentRef::new(incarnation, Arc::clone(&self.shared))))
    }

    /// The registry rows of this machine type matching `filter`, under the application's ids;
    /// a row that cannot be read is listed among the unreadable ones, never hiding the others.
    /// Rows stored under keys that are not this repository's
    /// ([`PersistConfig::persistence_key`]) are not listed. Rows come in the order of their
    /// keys, so [`Listing::last_id`] is the cursor of the next page with any mapping.
    pub async fn list(&self, filter: ActorFilter<M>) -> Result<Listing, PersistError> {
        let mut query = filter.into_query(&self.shared.config.machine_type);
        query.after = query.after.map(|after| self.key_of(after)).transpose()?;
        let keyed = self.shared.list_keys(&query).await?;
        Ok(Listing {
            actors: keyed
                .rows
                .into_iter()
                .map(|meta| self.shared.row_of(meta))
                .collect(),
            unreadable: keyed
                .unreadable
                .into_iter()
                .map(|(key, error)| (self.shared.id_of(&key), error))
                .collect(),
        })
    }

    /// The registry row of actor `id`, if it is stored.
    pub async fn metadata(
        &self,
        id: impl Into<ActorId>,
    ) -> Result<Option<ActorMetadata>, PersistError> {
        let key = self.key_of(id)?;
        let meta = self.shared.runtime.store.get(&key).await?;
        Ok(meta.map(|meta| self.shared.row_of(meta)))
    }

    /// The running actor `id`, if any (a passivated one is not running: see
    /// [`activate`](Self::activate)).
    pub fn get(&self, id: impl Into<ActorId>) -> Option<PersistentRef<M>> {
        self.running(&self.key_of(id).ok()?)
    }

    /// The running actor stored under `key`, if any.
    pub(crate) fn running(&self, key: &ActorId) -> Option<PersistentRef<M>> {
        let incarnation = self
            .shared
            .incarnations
            .get(key)
            .filter(|incarnation| !incarnation.actor.is_stopped())?;
        Some(PersistentRef::new(incarnation, Arc::clone(&self.shared)))
    }

    /// A handle to actor `id`: the running one, or the stored one activated (restored) now.
    /// `None` when nothing is stored for `id`. Concurrent activations of one id restore it
    /// once; the others get the same actor.
    pub async fn activate(
        &self,
        id: impl Into<ActorId>,
    ) -> Result<Option<PersistentRef<M>>, PersistError> {
        let key = self.key_of(id)?;
        Ok(self
            .shared
            .activate(&key)
            .await?
            .map(|incarnation| PersistentRef::new(incarnation, Arc::clone(&self.shared))))
    }

    /// Sends `event` to actor `id`, activating it if it is stored but not running; see
    /// [`PersistentRef::send`]. [`PersistError::NotFound`] when nothing is stored for `id`.
    pub async fn send(&self, id: impl Into<ActorId>, event: M::Event) -> Result<(), PersistError> {
        self.found(id).await?.send(event).await
    }

    /// Sends `event` to actor `id` and waits for its outcome, activating the actor if it is
    /// stored but not running; see [`PersistentRef::call`]. [`PersistError::NotFound`] when
    /// nothing is stored for `id`.
    pub async fn call(
        &self,
        id: impl Into<ActorId>,
        event: M::Event,
    ) -> Result<Outcome<M, M::Error>, PersistError> {
        self.found(id).await?.call(event).await
    }

    /// Sends `event` to actor `id` as command `command_id` and waits for its outcome, activating
    /// the actor if it is stored but not running; see [`PersistentRef::call_command`]: a repeat
    /// of the id within the window is answered with the first outcome, not applied again.
    pub async fn call_command(
        &self,
        id: impl Into<ActorId>,
        command_id: impl Into<String>,
        event: M::Event,
    ) -> Result<Outcome<M, M::Error>, PersistError> {
        self.found(id).await?.call_command(command_id, event).await
    }

    /// Runs one cleanup sweep now: deletes the stored actors of this machine type, not in
    /// memory, whose last activity is older than
    /// [`max_state_age`](PersistConfig::max_state_age) (nothing without it); returns how many
    /// it deleted. [`PersistConfig::cleanup`] runs it on a schedule.
    pub async fn sweep(&self) -> usize {
        cleanup::sweep(&self.shared).await
    }

    /// How many actors of this repository are in memory (running or stopping).
    pub fn active(&self) -> usize {
        self.shared.incarnations.len()
    }

    async fn found(&self, id: impl Into<ActorId>) -> Result<PersistentRef<M>, PersistError> {
        let id = id.into();
        match self.shared.activate(&self.key_of(id.clone())?).await? {
            Some(incarnation) => Ok(PersistentRef::new(incarnation, Arc::clone(&self.shared))),
            None => Err(PersistError::NotFound(id)),
        }
    }

    /// The state of actor `id` after its first `version` events, computed from storage without
    /// touching a running actor.
    pub async fn state_at(&self, id: impl Into<ActorId>, version: u64) -> Result<M, PersistError> {
        let key = self.key_of(id)?;
        Ok(self.shared.loader().state_at(&key, version).await?.state)
    }

    /// The journaled history of actor `id` over `versions`: each event with the state after it,
    /// its metadata and when it was recorded, in order. An entry that cannot be read ends the
    /// stream with its error, after the entries before it.
    pub fn history(
        &self,
        id: impl Into<ActorId>,
        versions: RangeInclusive<u64>,
    ) -> impl Stream<Item = Result<HistoryEntry<M>, PersistError>> + Send + 'static {
        history(Arc::clone(&self.shared), self.key_of(id), versions)
    }

    fn ensure_not_running(&self, key: &ActorId) -> Result<(), PersistError> {
        if self.shared.runtime.actors.contains(key.as_str()) {
            return Err(SpawnError::Duplicate(key.clone()).into());
        }
        Ok(())
    }

    fn start(&self, key: ActorId, folded: Folded<M>) -> Result<PersistentRef<M>, PersistError> {
        let incarnation = self.shared.start(key, folded)?;
        Ok(PersistentRef::new(incarnation, Arc::clone(&self.shared)))
    }
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

//! [`Repository`]: spawn, restore and inspect the persistent actors of one machine type.

mod bulk;

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::SystemTime;

use futures::Stream;
use machine_core::{ActorId, Outcome, SpawnError, Start, Tag};

use super::command::Flights;
use super::filter::ActorFilter;
use super::incarnation::{Incarnation, Incarnations};
use super::journaled::Journaled;
use super::system::Runtime;
use super::PersistentRef;
use super::{cleanup, timer_service};
use crate::dispatch::MachineActions;
use crate::model::{check_actor_id, new_request_id};
use crate::restore::{Folded, Listing, Loader};
use crate::schema::Payloads;
use crate::store::{RowResult, StoredAction};
use crate::time_travel::{history, HistoryEntry};
use crate::timers::{timeout_at, Timers};
use crate::{ActorMetadata, AppendRequest, PersistConfig, PersistError, Persistable};

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
        let payloads = Payloads::of(&config);
        let repository = Self {
            shared: Arc::new(Shared {
                runtime,
                config,
                payloads,
                env,
                commands: Flights::default(),
                incarnations: Incarnations::default(),
                timers: Arc::default(),
            }),
        };
        let shared = &repository.shared;
        if !shared.config.durable.is_empty() {
            let runner = MachineActions {
                handlers: Arc::clone(&shared.config.durable),
                codec: Arc::clone(&shared.config.codec),
                env: Arc::clone(&shared.env),
                shared: Arc::downgrade(shared),
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

    /// The durable actions stored for actor `id` (see [`dispatch`](crate::dispatch)), by
    /// version then name: each one's status, attempts and last failure. A row that cannot be
    /// read is its error, without hiding the others.
    pub async fn actions(
        &self,
        id: impl Into<ActorId>,
    ) -> Result<Vec<RowResult<StoredAction>>, PersistError> {
        let id = checked(id)?;
        Ok(self.shared.runtime.store.actions(&id).await?)
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
            actions: Vec::new(),
            commands: Vec::new(),
            request_id: new_request_id(),
            timeout_at: timeout_at(&initial, entered_at),
            fence: self.shared.runtime.fence(&id)?,
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

    /// The running actor `id`, if any (a passivated one is not running: see
    /// [`activate`](Self::activate)).
    pub fn get(&self, id: impl Into<ActorId>) -> Option<PersistentRef<M>> {
        let id = id.into();
        let incarnation = self
            .shared
            .incarnations
            .get(&id)
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
        let id = checked(id)?;
        Ok(self
            .shared
            .activate(&id)
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
        let id = checked(id)?;
        match self.shared.activate(&id).await? {
            Some(incarnation) => Ok(PersistentRef::new(incarnation, Arc::clone(&self.shared))),
            None => Err(PersistError::NotFound(id)),
        }
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
        let incarnation = self.shared.start(id, folded)?;
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

//! How one machine type is persisted.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use machine_core::{ActorId, DurableAction, Schedule, SpawnOptions};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::{Codec, JsonCodec, SharedCodec};
use crate::dispatch::{DurablePolicy, Handlers, Registered};
use crate::hooks::{RestoreHook, SnapshotChoice, SnapshotHook};
use crate::key::PersistenceKey;
use crate::schema::Upcasters;
use crate::{ActorFilter, ActorMetadata, EventMetadata, PersistError, Persistable};

/// The default interval of [`PersistConfig::timer_poll`].
pub const DEFAULT_TIMER_POLL: Duration = Duration::from_secs(1);

/// A callback told about persistence failures that have no caller to return to (a snapshot
/// that could not be written, a snapshot that could not be read during restore).
pub type ErrorHook = Arc<dyn Fn(&ActorId, &PersistError) + Send + Sync>;

/// How long command ids are remembered unless configured otherwise: 24 hours.
pub const DEFAULT_COMMAND_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Builds the state an actor's fold starts from when it has journaled events but no snapshot.
pub(crate) type InitialState<M> = Arc<dyn Fn(&ActorId) -> M + Send + Sync>;

/// What to keep once a snapshot is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// How many snapshots to keep per actor (at least 1).
    pub keep_snapshots: usize,
    /// Also delete the journaled events the oldest kept snapshot covers. Restore still works
    /// (it starts from a snapshot); history before that snapshot is gone. Events a registered
    /// [projection](crate::projection) has not passed yet are kept until it has.
    pub delete_covered_events: bool,
}

/// The persistence settings of one machine type.
///
/// ```
/// use machine_persist::{PersistConfig, Retention};
/// use machine_persist::codec::JsonCodec;
/// use machine_core::Schedule;
/// use std::time::Duration;
/// # fn f<M: machine_persist::Persistable>() -> PersistConfig<M> {
/// PersistConfig::<M>::new()
///     .codec(JsonCodec)
///     // Snapshot every 100 events, and 5 s after the last event of a burst.
///     .snapshots(Schedule::every_events(100).union(Schedule::spaced(Duration::from_secs(5))))
///     .retention(Retention { keep_snapshots: 2, delete_covered_events: false })
/// # }
/// ```
pub struct PersistConfig<M: Persistable> {
    pub(crate) machine_type: Arc<str>,
    pub(crate) codec: SharedCodec<M>,
    pub(crate) initial: Option<InitialState<M>>,
    pub(crate) snapshots: Schedule,
    pub(crate) snapshot_on_stop: bool,
    pub(crate) restore_on_spawn: bool,
    pub(crate) replay_on_bad_snapshot: bool,
    pub(crate) event_schema: u32,
    pub(crate) state_schema: u32,
    pub(crate) upcasters: Arc<Upcasters>,
    pub(crate) retention: Option<Retention>,
    pub(crate) metadata: EventMetadata,
    pub(crate) on_error: Option<ErrorHook>,
    pub(crate) spawn: SpawnOptions<M>,
    /// The durable action types, by name.
    pub(crate) durable: Arc<Handlers<M>>,
    /// How long a command id is remembered.
    pub(crate) command_window: Duration,
    pub(crate) passivate_after: Option<Duration>,
    pub(crate) durable_timers: bool,
    pub(crate) timer_poll: Duration,
    pub(crate) max_state_age: Option<Duration>,
    pub(crate) cleanup_on_terminate: bool,
    pub(crate) cleanup: Option<Schedule>,
    pub(crate) on_restore: Option<RestoreHook<M>>,
    pub(crate) before_snapshot: Option<SnapshotHook<M>>,
    pub(crate) restore_on_start: Option<ActorFilter<M>>,
    pub(crate) key: PersistenceKey,
}

impl<M: Persistable> Clone for PersistConfig<M> {
    fn clone(&self) -> Self {
        Self {
            machine_type: Arc::clone(&self.machine_type),
            codec: Arc::clone(&self.codec),
            initial: self.initial.clone(),
            snapshots: self.snapshots.clone(),
            snapshot_on_stop: self.snapshot_on_stop,
            restore_on_spawn: self.restore_on_spawn,
            replay_on_bad_snapshot: self.replay_on_bad_snapshot,
            event_schema: self.event_schema,
            state_schema: self.state_schema,
            upcasters: Arc::clone(&self.upcasters),
            retention: self.retention,
            metadata: self.metadata.clone(),
            on_error: self.on_error.clone(),
            spawn: self.spawn.clone(),
            durable: Arc::clone(&self.durable),
            command_window: self.command_window,
            passivate_after: self.passivate_after,
            durable_timers: self.durable_timers,
            timer_poll: self.timer_poll,
            max_state_age: self.max_state_age,
            cleanup_on_terminate: self.cleanup_on_terminate,
            cleanup: self.cleanup.clone(),
            on_restore: self.on_restore.clone(),
            before_snapshot: self.before_snapshot.clone(),
            restore_on_start: self.restore_on_start.clone(),
            key: self.key.clone(),
        }
    }
}

impl<M: Persistable> fmt::Debug for PersistConfig<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistConfig")
            .field("machine_type", &self.machine_type)
            .field("codec", &self.codec.name())
            .field("snapshots", &self.snapshots)
            .field("snapshot_on_stop", &self.snapshot_on_stop)
            .field("restore_on_spawn", &self.restore_on_spawn)
            .field("replay_on_bad_snapshot", &self.replay_on_bad_snapshot)
            .field("event_schema", &self.event_schema)
            .field("state_schema", &self.state_schema)
            .field("retention", &self.retention)
            .field("durable", &self.durable.keys().collect::<Vec<_>>())
            .field("passivate_after", &self.passivate_after)
            .field("durable_timers", &self.durable_timers)
            .field("timer_poll", &self.timer_poll)
            .field("max_state_age", &self.max_state_age)
            .field("cleanup_on_terminate", &self.cleanup_on_terminate)
            .field("cleanup", &self.cleanup)
            .field("on_restore", &self.on_restore.is_some())
            .field("before_snapshot", &self.before_snapshot.is_some())
            .field("restore_on_start", &self.restore_on_start)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl<M: Persistable> Default for PersistConfig<M> {
    fn default() -> Self {
        Self {
            machine_type: M::NAME.into(),
            codec: Arc::new(JsonCodec),
            initial: None,
            snapshots: Schedule::every_events(100),
            snapshot_on_stop: true,
            restore_on_spawn: true,
            replay_on_bad_snapshot: true,
            event_schema: 1,
            state_schema: 1,
            upcasters: Arc::new(Upcasters::new()),
            retention: None,
            metadata: EventMetadata::default(),
            on_error: None,
            spawn: SpawnOptions::default(),
            durable: Arc::new(Handlers::new()),
            command_window: DEFAULT_COMMAND_WINDOW,
            passivate_after: None,
            durable_timers: true,
            timer_poll: DEFAULT_TIMER_POLL,
            max_state_age: None,
            cleanup_on_terminate: false,
            cleanup: None,
            on_restore: None,
            before_snapshot: None,
            restore_on_start: None,
            key: PersistenceKey::identity(),
        }
    }
}

impl<M: Persistable> PersistConfig<M> {
    /// The defaults: machine type = `M::NAME`, JSON payloads, a snapshot every 100 events and on
    /// graceful stop, restore on spawn, schema version 1 for events and states, no retention.
    pub fn new() -> Self {
        Self::default()
    }

    /// The codec of this machine type's events and snapshots (default [`JsonCodec`]). Every
    /// payload records the codec's name; payloads of another codec are refused with a typed
    /// error, so switch codecs only for new data (a new machine type name, or a fresh store).
    pub fn codec(mut self, codec: impl Codec) -> Self {
        self.codec = Arc::new(codec);
        self
    }

    /// The state an actor's restore folds from when it has journaled events but no snapshot (its
    /// data was written through the [`Journal`](crate::store::Journal) API, or its snapshots were
    /// deleted). Without it, such an actor fails to restore with
    /// [`PersistError::MissingGenesis`]; it is never reported as "nothing stored".
    pub fn initial_state(
        mut self,
        initial: impl Fn(&ActorId) -> M + Send + Sync + 'static,
    ) -> Self {
        self.initial = Some(Arc::new(initial));
        self
    }

    /// The machine type recorded in the registry (filters `restore_all` and `list_persisted`).
    pub fn machine_type(mut self, machine_type: &str) -> Self {
        self.machine_type = machine_type.into();
        self
    }

    /// When to snapshot: the schedule is stepped once per committed batch with the number of
    /// events in it. `Continue(0)` snapshots now, `Continue(d)` snapshots `d` after the last
    /// step (a debounce: each step re-arms it), `Skip` waits, `Done` stops automatic snapshots.
    /// Snapshots are written off the actor's path and never block transitions.
    pub fn snapshots(mut self, schedule: Schedule) -> Self {
        self.snapshots = schedule;
        self
    }

    /// Whether an actor snapshots its latest state when it stops gracefully, passivates, or the
    /// system shuts down (what other frameworks call "persist on shutdown"). Restore is exact
    /// either way (the journal has every event); the snapshot makes the next restore a read
    /// of one row. Default: yes.
    pub fn snapshot_on_stop(mut self, enabled: bool) -> Self {
        self.snapshot_on_stop = enabled;
        self
    }

    /// Whether `spawn` restores an actor that has stored data instead of refusing it.
    /// Default: yes.
    pub fn restore_on_spawn(mut self, enabled: bool) -> Self {
        self.restore_on_spawn = enabled;
        self
    }

    /// Whether restore falls back to older snapshots, and ultimately to a full replay, when the
    /// latest snapshot cannot be decoded or migrated. The reason is reported through
    /// [`on_error`](Self::on_error) and tracing. Default: yes.
    pub fn replay_on_bad_snapshot(mut self, enabled: bool) -> Self {
        self.replay_on_bad_snapshot = enabled;
        self
    }

    /// The current schema versions of events and states, and the steps that migrate older
    /// payloads to them.
    pub fn schema(mut self, event_version: u32, state_version: u32, upcasters: Upcasters) -> Self {
        self.event_schema = event_version;
        self.state_schema = state_version;
        self.upcasters = Arc::new(upcasters);
        self
    }

    /// What to keep once a snapshot is written. Default: everything.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = Some(Retention {
            keep_snapshots: retention.keep_snapshots.max(1),
            ..retention
        });
        self
    }

    /// Metadata recorded with every event (correlation, causation, writer ids).
    pub fn metadata(mut self, metadata: EventMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Called with every failure that has no caller to return to, as a typed [`PersistError`]:
    /// a snapshot that could not be written or read, a cleanup that failed, a stale state that
    /// was discarded ([`PersistError::StaleState`]), a timer whose actor could not be
    /// activated, a restore on start that failed.
    pub fn on_error(
        mut self,
        hook: impl Fn(&ActorId, &PersistError) + Send + Sync + 'static,
    ) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// Runtime settings of the actors (mailbox, batch size, observer).
    pub fn spawn_options(mut self, options: SpawnOptions<M>) -> Self {
        self.spawn = options;
        self
    }

    /// Registers the durable action type `A` (see [`Actions::durable`](machine_core::Actions::durable)
    /// and the [`dispatch`](crate::dispatch) module for the guarantee): the machine's steps may
    /// declare `A`s, which are stored with their events, encoded with this configuration's
    /// codec, and run by the system's dispatcher as `policy` says. A step declaring an action
    /// type that is not registered fails its batch with [`PersistError::DurableAction`]. A
    /// second registration under the same [`NAME`](DurableAction::NAME) replaces the first.
    ///
    /// The codec writes action values through serde's data model (a self-describing codec:
    /// JSON, MessagePack).
    pub fn durable<A>(mut self, policy: DurablePolicy<M, A>) -> Self
    where
        A: DurableAction<M> + Serialize + DeserializeOwned,
    {
        Arc::make_mut(&mut self.durable).insert(A::NAME, Arc::new(Registered { policy }));
        self
    }

    /// How long a command id sent with
    /// [`PersistentRef::call_command`](crate::PersistentRef::call_command) is remembered
    /// (default [`DEFAULT_COMMAND_WINDOW`], 24 hours): within it, a repeat of the command gets
    /// the first outcome; after it, the id is free, and the command is applied as a new one.
    pub fn command_window(mut self, window: Duration) -> Self {
        self.command_window = window;
        self
    }

    /// Passivation: an actor idle for `idle` (no message, no timer fired, no state or
    /// background task running, nobody watching, not rewound) is snapshotted per
    /// [`snapshot_on_stop`](Self::snapshot_on_stop) and leaves memory. The next message through
    /// the repository ([`Repository::call`](crate::Repository::call),
    /// [`send`](crate::Repository::send), [`activate`](crate::Repository::activate)) or through
    /// any [`PersistentRef`](crate::PersistentRef) to it activates it again from storage, in
    /// order, nothing lost or repeated; many concurrent callers cause one restore. Its state
    /// timeouts are kept in the store and wake it when they fall due. Default: never.
    pub fn passivate_after(mut self, idle: Duration) -> Self {
        self.passivate_after = Some(idle);
        self
    }

    /// Whether the repository runs a timer service: every commit stores when the state's
    /// soonest timeout falls due, and the service activates a stored actor that is not in
    /// memory (passivated, stopped, or not restored since the process started) when its timeout
    /// falls due, so the timeout fires, also after a crash or restart. A timeout that came due
    /// while the process was down fires promptly once the repository is made. Default: yes.
    pub fn durable_timers(mut self, enabled: bool) -> Self {
        self.durable_timers = enabled;
        self
    }

    /// How often the timer service reads the store for timers about to fall due (default 1 s;
    /// at least 10 ms). It reads those due within twice this interval and arms them, so each
    /// fires on time; an actor leaving memory hands its timer over directly.
    pub fn timer_poll(mut self, interval: Duration) -> Self {
        self.timer_poll = interval.max(Duration::from_millis(10));
        self
    }

    /// The most time since an actor's last activity that its stored state may be restored
    /// after. On restore (and activation), an older state is discarded (its events, snapshots
    /// and registry row are deleted), [`PersistError::StaleState`] is reported to
    /// [`on_error`](Self::on_error), and the actor starts fresh: `restore` finds nothing, `spawn`
    /// starts it in the state it is given. Also the age [`cleanup`](Self::cleanup) sweeps by.
    /// Default: no limit.
    pub fn max_state_age(mut self, age: Duration) -> Self {
        self.max_state_age = Some(age);
        self
    }

    /// Whether an actor's events, snapshots and registry row are deleted when it reaches a
    /// terminal state, once the effects that led there have run. A failure to delete is
    /// reported to [`on_error`](Self::on_error). Default: no (the history stays for time
    /// travel and audits).
    pub fn cleanup_on_terminate(mut self, enabled: bool) -> Self {
        self.cleanup_on_terminate = enabled;
        self
    }

    /// Periodic cleanup: on every run of `schedule` (for instance
    /// `Schedule::spaced(Duration::from_secs(3600))`), a sweep deletes the stored actors of this
    /// machine type, not in memory, whose last activity is older than
    /// [`max_state_age`](Self::max_state_age) (without it, nothing is swept). Failures are
    /// reported to [`on_error`](Self::on_error). Default: none.
    pub fn cleanup(mut self, schedule: Schedule) -> Self {
        self.cleanup = Some(schedule);
        self
    }

    /// Transforms or validates every restored state, given its registry row (`version`,
    /// `state_tag`, `last_activity`, ...), before the actor starts with it. An error refuses the
    /// restore with [`PersistError::RestoreRejected`]. See [`hooks`](crate::hooks).
    pub fn on_restore(
        mut self,
        hook: impl Fn(M, &ActorMetadata) -> Result<M, Box<dyn std::error::Error + Send + Sync>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.on_restore = Some(Arc::new(hook));
        self
    }

    /// Decides what each automatic snapshot (by schedule, on stop or passivation) writes: the
    /// state, another state, or nothing ([`SnapshotChoice`]). A replacement must follow the
    /// [rule](crate::hooks) that keeps a restored actor equal to the live one. The genesis
    /// snapshot of a new actor and [`save_snapshot`](crate::PersistentRef::save_snapshot) are
    /// written as they are.
    pub fn before_snapshot(
        mut self,
        hook: impl Fn(&M, u64) -> SnapshotChoice<M> + Send + Sync + 'static,
    ) -> Self {
        self.before_snapshot = Some(Arc::new(hook));
        self
    }

    /// Restore on start: when the repository is made, its stored actors that `filter` selects
    /// are restored in the background (failures reported to [`on_error`](Self::on_error)). With
    /// [`passivate_after`](Self::passivate_after) nothing is restored up front: actors are
    /// activated on demand, and the timer service arms their timers, so the ones that fell due
    /// while the process was down fire at once. Default: off (restore what you need).
    pub fn restore_on_start(mut self, filter: ActorFilter<M>) -> Self {
        self.restore_on_start = Some(filter);
        self
    }

    /// The persistence key: how actor ids map to the keys their events, snapshots, registry
    /// row, timer, durable actions and command ids are stored under. Default: the id itself
    /// ([`PersistenceKey::identity`]).
    ///
    /// Every store operation of the repository goes through it, and so do its listings
    /// ([`list`](crate::Repository::list), [`restore_all`](crate::Repository::restore_all),
    /// [`sweep`](crate::Repository::sweep), the timer service): rows under keys that are not
    /// this mapping's (another namespace of the same machine type in the same store) are
    /// skipped, and the others are listed under the application's ids. A key that breaks the
    /// id rule is refused with [`PersistError::InvalidId`], like an id that does.
    ///
    /// Namespaces: two applications sharing one store, each with its own prefix, do not see
    /// each other's actors, even with the same ids.
    ///
    /// ```
    /// use machine_persist::{PersistConfig, PersistenceKey};
    /// # fn f<M: machine_persist::Persistable>() -> PersistConfig<M> {
    /// PersistConfig::<M>::new().persistence_key(PersistenceKey::prefix("tenant-a/"))
    /// # }
    /// ```
    ///
    /// Renames: an actor renamed in the application keeps its data when its new id maps to its
    /// old key (see [`PersistenceKey::custom`]). Change a mapping only together with the data
    /// it maps to: rows under keys the new mapping does not produce are no longer listed.
    ///
    /// Inside the process the runtime knows a running actor by its key (the actor system's
    /// registry, observer records, tracing, the ids errors carry, and the idempotency keys of
    /// durable actions), so two namespaces can run the same ids in one system (with durable
    /// actions or on a cluster, one system per namespace of a machine type: both register per
    /// machine type). The repository takes and returns the application's ids
    /// ([`PersistentRef::id`](crate::PersistentRef::id), listings, metadata, restore reports,
    /// and the ids given to [`initial_state`](Self::initial_state),
    /// [`on_restore`](Self::on_restore) and [`on_error`](Self::on_error)).
    /// [`PersistentSystem::list_persisted`](crate::PersistentSystem::list_persisted) reads the
    /// store's rows as they are, keys included, and so does the global event stream
    /// ([projections](crate::projection), [`tail`](crate::tail)). On a cluster, an actor's
    /// shard is the hash of its key, so every node must use the same mapping.
    pub fn persistence_key(mut self, key: PersistenceKey) -> Self {
        self.key = key;
        self
    }

    /// Reports `error` about the actor stored under `key` to tracing and `on_error`, under the
    /// application's id.
    pub(crate) fn report(&self, key: &ActorId, error: &PersistError) {
        self.report_as(&self.key.id_of(key), error);
    }

    /// Reports `error` about actor `id` (the application's id) to tracing and `on_error`.
    pub(crate) fn report_as(&self, id: &ActorId, error: &PersistError) {
        tracing::warn!(machine = %self.machine_type, actor = %id, %error, "persistence error");
        if let Some(hook) = &self.on_error {
            hook(id, error);
        }
    }

    /// The `on_error` hook as the snapshot writer calls it: with a key, told the application's
    /// id.
    pub(crate) fn snapshot_error_hook(&self) -> Option<ErrorHook> {
        let hook = self.on_error.clone()?;
        if self.key.is_identity() {
            return Some(hook);
        }
        let key = self.key.clone();
        Some(Arc::new(move |stored: &ActorId, error: &PersistError| {
            hook(&key.id_of(stored), error);
        }))
    }
}

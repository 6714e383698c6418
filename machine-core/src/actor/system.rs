//! The actor system: spawning by id, lookup, structured shutdown.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio_util::task::TaskTracker;

use super::durability::{Durability, Ephemeral, Start};
use super::registry::{Entry, Registration, Registry};
use super::runtime::Actor;
use super::{ActorRef, SpawnError, SpawnOptions};
use crate::model::{ActorId, Machine};

pub(crate) struct SystemInner {
    pub(crate) registry: Registry,
    /// Set when shutdown begins. Every actor reads it before taking its next message, and
    /// idle ones are nudged, so none polls a shared waiter list on each message.
    stopping: Arc<AtomicBool>,
    pub(crate) tracker: TaskTracker,
    serial: AtomicU64,
}

impl SystemInner {
    /// Tells every actor to stop: sets the flag, then wakes the actors, which are registered
    /// under the same lock `start` inserts them with, so none is missed.
    fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for entry in self.registry.lock().values() {
            entry.actor.nudge();
        }
    }
}

impl Drop for SystemInner {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

/// Owns actors by id and shuts them down together.
///
/// Cloning gives another handle to the same system. When the last handle is dropped without
/// [`shutdown`](ActorSystem::shutdown), the actors are told to stop but nobody waits for them.
///
/// ```
/// # use machine_core::ActorSystem;
/// # async fn demo() {
/// let system = ActorSystem::new();
/// // let order = system.spawn("order-1", Order::new(), env)?;
/// system.shutdown().await;
/// # }
/// ```
#[derive(Clone)]
pub struct ActorSystem {
    inner: Arc<SystemInner>,
}

impl Default for ActorSystem {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ActorSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorSystem")
            .field("actors", &self.len())
            .field("shutting_down", &self.is_shutting_down())
            .finish()
    }
}

impl ActorSystem {
    /// An empty system.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(SystemInner {
                registry: Registry::default(),
                stopping: Arc::new(AtomicBool::new(false)),
                tracker: TaskTracker::new(),
                serial: AtomicU64::new(0),
            }),
        }
    }

    /// Spawns an in-memory actor `id` starting in `state`, with its effects' environment.
    ///
    /// Fails with [`SpawnError::Duplicate`] if an actor with this id is running.
    pub fn spawn<M: Machine>(
        &self,
        id: impl Into<ActorId>,
        state: M,
        env: impl Into<Arc<M::Env>>,
    ) -> Result<ActorRef<M>, SpawnError> {
        self.spawn_with(id, state, env, SpawnOptions::default())
    }

    /// [`spawn`](Self::spawn) with explicit options.
    pub fn spawn_with<M: Machine>(
        &self,
        id: impl Into<ActorId>,
        state: M,
        env: impl Into<Arc<M::Env>>,
        options: SpawnOptions<M>,
    ) -> Result<ActorRef<M>, SpawnError> {
        self.start(id.into(), Start::new(state), env.into(), Ephemeral, options)
    }

    /// Starts an actor from any [`Start`] with any [`Durability`]: the extension point
    /// persistence layers use.
    pub fn start<M: Machine, D: Durability<M>>(
        &self,
        id: ActorId,
        start: Start<M>,
        env: Arc<M::Env>,
        durability: D,
        options: SpawnOptions<M>,
    ) -> Result<ActorRef<M>, SpawnError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SpawnError::NoRuntime);
        }
        let (tx, rx) = tokio::sync::mpsc::channel(options.mailbox);
        let actor_ref = ActorRef::new(id.clone(), tx);
        let serial = self.inner.serial.fetch_add(1, Ordering::Relaxed);
        {
            let mut entries = self.inner.registry.lock();
            // Checked under the lock `begin_shutdown` nudges the actors with: an actor is either
            // refused here or registered in time to be nudged.
            if self.is_shutting_down() {
                return Err(SpawnError::ShuttingDown);
            }
            if entries.contains_key(&id) {
                return Err(SpawnError::Duplicate(id));
            }
            entries.insert(
                id.clone(),
                Entry {
                    serial,
                    actor: Box::new(actor_ref.clone()),
                },
            );
        }
        let registration = Registration {
            system: Arc::downgrade(&self.inner),
            id,
            serial,
        };
        let actor = Actor::new(
            start,
            env,
            durability,
            options,
            actor_ref.clone(),
            Arc::clone(&self.inner.stopping),
            self.inner.tracker.clone(),
        );
        self.inner.tracker.spawn(actor.run(rx, registration));
        Ok(actor_ref)
    }

    /// The running actor `id`, if it exists and is a `M`.
    pub fn get<M: Machine>(&self, id: &str) -> Option<ActorRef<M>> {
        self.inner
            .registry
            .lock()
            .get(id)
            .and_then(|entry| entry.actor.as_any().downcast_ref::<ActorRef<M>>())
            .cloned()
    }

    /// Whether an actor with this id is running.
    pub fn contains(&self, id: &str) -> bool {
        self.inner.registry.lock().contains_key(id)
    }

    /// The ids of the running actors.
    pub fn ids(&self) -> Vec<ActorId> {
        self.inner.registry.lock().keys().cloned().collect()
    }

    /// How many actors are running.
    pub fn len(&self) -> usize {
        self.inner.registry.lock().len()
    }

    /// Whether no actor is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether [`shutdown`](Self::shutdown) has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Stops every actor and waits for all of them: each finishes the batch it is processing,
    /// cancels its tasks, flushes its persistence, and answers its pending calls with
    /// [`ActorError::Stopped`](super::ActorError::Stopped). In-flight transition actions are
    /// awaited too. New spawns fail with [`SpawnError::ShuttingDown`].
    pub async fn shutdown(&self) {
        self.inner.begin_shutdown();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }
}

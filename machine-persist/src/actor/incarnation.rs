//! Incarnations: one run of an actor in memory, from its start or activation to its stop.
//!
//! With passivation an actor id outlives its runs: an idle actor leaves memory and comes back on
//! the next message. The repository keeps the incarnations of its running actors (so memory is
//! bounded by the active actors, never by the stored ones), and a [`Life`] per incarnation says
//! whether it passivated, once it has fully ended. A handle whose message was refused because
//! its incarnation passivated waits for that end, then asks [`Incarnations::activate`] for the
//! next one, which is single-flight: however many callers ask at once, one restore runs.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use machine_core::{ActorId, ActorRef};
use tokio::sync::watch;

use crate::{PersistError, Persistable};

/// How one incarnation ended, shared by its durability layer and its handles.
#[derive(Debug)]
pub(crate) struct Life {
    /// Set when the incarnation stops because it passivated.
    passivated: AtomicBool,
    /// `true` once the incarnation has ended: its final snapshot handed over, its id free.
    ended: watch::Sender<bool>,
}

impl Life {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            passivated: AtomicBool::new(false),
            ended: watch::Sender::new(false),
        })
    }

    /// Records that the incarnation stops because it passivated.
    pub(crate) fn passivating(&self) {
        self.passivated.store(true, Ordering::Release);
    }

    /// Records that the incarnation has ended.
    pub(crate) fn end(&self) {
        self.ended.send_replace(true);
    }

    /// Whether the incarnation has passivated (or is passivating), without waiting.
    pub(crate) fn has_passivated(&self) -> bool {
        self.passivated.load(Ordering::Acquire)
    }

    /// Waits until the incarnation has ended; returns whether it passivated.
    pub(crate) async fn passivated(&self) -> bool {
        let mut ended = self.ended.subscribe();
        // The sender lives in `self`, so the wait can only end by the value turning `true`.
        let _ = ended.wait_for(|ended| *ended).await;
        self.passivated.load(Ordering::Acquire)
    }
}

/// A running (or stopping) incarnation: its actor and its life.
pub(crate) struct Incarnation<M: Persistable> {
    pub(crate) actor: ActorRef<M>,
    pub(crate) life: Arc<Life>,
}

impl<M: Persistable> Clone for Incarnation<M> {
    fn clone(&self) -> Self {
        Self {
            actor: self.actor.clone(),
            life: Arc::clone(&self.life),
        }
    }
}

/// The incarnations of one repository, and the activation gates.
pub(crate) struct Incarnations<M: Persistable> {
    live: Mutex<HashMap<ActorId, Incarnation<M>>>,
    /// One gate per id being activated; removed once nobody holds or waits for it.
    gates: Mutex<HashMap<ActorId, Arc<tokio::sync::Mutex<()>>>>,
}

impl<M: Persistable> Default for Incarnations<M> {
    fn default() -> Self {
        Self {
            live: Mutex::default(),
            gates: Mutex::default(),
        }
    }
}

/// Locks a map whose critical sections are single inserts, removals or lookups, so a poisoned
/// lock cannot hold a half-made change.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<M: Persistable> Incarnations<M> {
    /// A new life, for an incarnation about to start.
    pub(crate) fn new_life(&self) -> Arc<Life> {
        Life::new()
    }

    /// Records a started incarnation, unless it has ended already (an actor that starts in a
    /// final state may be gone before its start returns).
    pub(crate) fn insert(&self, id: ActorId, incarnation: Incarnation<M>) {
        let mut live = lock(&self.live);
        if !*incarnation.life.ended.borrow() {
            live.insert(id, incarnation);
        }
    }

    /// Forgets the incarnation of `id` if it is the one with `life`, and marks that life ended
    /// (under the same lock as [`insert`](Self::insert) checks it).
    pub(crate) fn ended(&self, id: &ActorId, life: &Arc<Life>) {
        let mut live = lock(&self.live);
        if live
            .get(id)
            .is_some_and(|incarnation| Arc::ptr_eq(&incarnation.life, life))
        {
            live.remove(id);
        }
        life.end();
    }

    /// The incarnation of `id`, running or stopping.
    pub(crate) fn get(&self, id: &ActorId) -> Option<Incarnation<M>> {
        lock(&self.live).get(id).cloned()
    }

    /// The incarnations in memory (running or stopping) whose ids `pick` selects.
    #[cfg(feature = "cluster")]
    pub(crate) fn matching(&self, pick: impl Fn(&ActorId) -> bool) -> Vec<Incarnation<M>> {
        lock(&self.live)
            .iter()
            .filter(|(id, _)| pick(id))
            .map(|(_, incarnation)| incarnation.clone())
            .collect()
    }

    /// How many incarnations are in memory.
    pub(crate) fn len(&self) -> usize {
        lock(&self.live).len()
    }

    /// The running incarnation of `id`, or the one `start` makes (`None`: nothing stored). One
    /// activation of an id runs at a time; callers that come meanwhile wait for it and get its
    /// incarnation. An incarnation that is still stopping is waited for first, so the next one
    /// restores everything the previous one committed.
    pub(crate) async fn activate<F, Fut>(
        &self,
        id: &ActorId,
        start: F,
    ) -> Result<Option<Incarnation<M>>, PersistError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<Incarnation<M>>, PersistError>>,
    {
        if let Some(running) = self.running(id) {
            return Ok(Some(running));
        }
        let gate = Arc::clone(lock(&self.gates).entry(id.clone()).or_default());
        let activated = {
            let _turn = gate.lock().await;
            self.activate_in_turn(id, start).await
        };
        let mut gates = lock(&self.gates);
        // The map's reference and this one: nobody else holds or waits for the gate.
        if Arc::strong_count(&gate) == 2 {
            gates.remove(id);
        }
        activated
    }

    async fn activate_in_turn<F, Fut>(
        &self,
        id: &ActorId,
        start: F,
    ) -> Result<Option<Incarnation<M>>, PersistError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<Incarnation<M>>, PersistError>>,
    {
        loop {
            match self.get(id) {
                Some(incarnation) if !incarnation.actor.is_stopped() => {
                    return Ok(Some(incarnation));
                }
                // Stopping: its last snapshot is being written and its id is still taken.
                Some(incarnation) => {
                    incarnation.life.passivated().await;
                }
                None => return start().await,
            }
        }
    }

    fn running(&self, id: &ActorId) -> Option<Incarnation<M>> {
        self.get(id)
            .filter(|incarnation| !incarnation.actor.is_stopped())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_life_reports_passivation_only_once_ended() {
        let life = Life::new();
        life.passivating();
        let waiting = {
            let life = Arc::clone(&life);
            tokio::spawn(async move { life.passivated().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        life.end();
        assert!(waiting.await.unwrap());
    }

    #[tokio::test]
    async fn a_stop_for_good_is_not_a_passivation() {
        let life = Life::new();
        life.end();
        assert!(!life.passivated().await);
    }
}

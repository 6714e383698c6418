//! Watching an actor: `changes()` and `transitions()` subscribers and `wait_for` waiters, all
//! fed from the committed states, in order.

use std::panic::AssertUnwindSafe;

use tokio::sync::{broadcast, oneshot};

use crate::actor::mailbox::{Predicate, Waited};
use crate::actor::Transition;
use crate::model::Machine;

/// One `wait_for` call: its predicate and where its answer goes.
pub(super) struct Waiter<M: Machine> {
    predicate: Predicate<M>,
    /// Taken when the wait is answered.
    reply: Option<oneshot::Sender<Waited<M>>>,
}

impl<M: Machine> Waiter<M> {
    pub(super) fn new(predicate: Predicate<M>, reply: oneshot::Sender<Waited<M>>) -> Self {
        Self {
            predicate,
            reply: Some(reply),
        }
    }

    /// Runs the predicate on `state` and answers if it holds (with the state) or panics (with
    /// the panic, for the caller to resume). Returns whether the wait is over, which it also is
    /// when the caller gave up waiting.
    fn settle(&mut self, state: &M) -> bool {
        if self.reply.as_ref().is_none_or(oneshot::Sender::is_closed) {
            return true;
        }
        let answer = match std::panic::catch_unwind(AssertUnwindSafe(|| (self.predicate)(state))) {
            Ok(true) => Ok(state.clone()),
            Ok(false) => return false,
            Err(panic) => Err(panic),
        };
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(answer);
        }
        true
    }

    /// Offers `state` to a new waiter: answers it if the wait is already over, else gives it
    /// back to be kept.
    pub(super) fn offer(mut self, state: &M) -> Option<Self> {
        (!self.settle(state)).then_some(self)
    }
}

/// Who watches the actor. Boxed in the actor and made on first use: an actor nobody watches
/// pays one word for all of it.
pub(super) struct Watchers<M: Machine> {
    changes: Option<broadcast::Sender<M>>,
    transitions: Option<broadcast::Sender<Transition<M>>>,
    waiters: Vec<Waiter<M>>,
}

impl<M: Machine> Default for Watchers<M> {
    fn default() -> Self {
        Self {
            changes: None,
            transitions: None,
            waiters: Vec::new(),
        }
    }
}

impl<M: Machine> Watchers<M> {
    /// A new receiver of the committed states.
    pub(super) fn subscribe_changes(&mut self, capacity: usize) -> broadcast::Receiver<M> {
        self.changes
            .get_or_insert_with(|| broadcast::channel(capacity).0)
            .subscribe()
    }

    /// A new receiver of the committed transitions.
    pub(super) fn subscribe_transitions(
        &mut self,
        capacity: usize,
    ) -> broadcast::Receiver<Transition<M>> {
        self.transitions
            .get_or_insert_with(|| broadcast::channel(capacity).0)
            .subscribe()
    }

    /// Keeps a waiter that the current state did not satisfy.
    pub(super) fn wait(&mut self, waiter: Waiter<M>) {
        self.waiters.push(waiter);
    }

    /// Tells everyone about one committed step.
    pub(super) fn publish(&mut self, transition: Transition<M>) {
        self.answer_waiters(&transition.to);
        if let Some(changes) = &self.changes {
            if changes.send(transition.to.clone()).is_err() {
                self.changes = None;
            }
        }
        if let Some(transitions) = &self.transitions {
            if transitions.send(transition).is_err() {
                self.transitions = None;
            }
        }
    }

    /// Answers the waiters `state` satisfies, and forgets those whose caller gave up.
    fn answer_waiters(&mut self, state: &M) {
        self.waiters.retain_mut(|waiter| !waiter.settle(state));
    }

    /// Whether someone still watches: a live subscriber or a pending waiter.
    pub(super) fn is_watched(&self) -> bool {
        !self.waiters.is_empty()
            || self
                .changes
                .as_ref()
                .is_some_and(|changes| changes.receiver_count() > 0)
            || self
                .transitions
                .as_ref()
                .is_some_and(|transitions| transitions.receiver_count() > 0)
    }

    /// Whether nobody watches any more (every subscriber gone, no waiter left).
    pub(super) fn is_empty(&self) -> bool {
        self.changes.is_none() && self.transitions.is_none() && self.waiters.is_empty()
    }
}

//! The seam between the actor runtime and a persistence layer.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::{CommitError, StopReason};
use crate::effect::Intent;
use crate::inspect::Observer;
use crate::model::{ActorId, Machine};

/// How an actor starts: its state, the version that state is at, and when the state was entered.
///
/// A fresh actor starts at version 0, entered now. A restored one starts where its journal left
/// off; `entered_at` anchors the countdown of its state timeouts, so a 72-hour timeout keeps
/// counting across restarts.
#[derive(Clone, Debug)]
pub struct Start<M> {
    /// The starting state.
    pub state: M,
    /// The number of events already applied to reach it.
    pub version: u64,
    /// When the starting state was entered (wall clock).
    pub entered_at: SystemTime,
}

impl<M> Start<M> {
    /// A fresh start: version 0, entered now.
    pub fn new(state: M) -> Self {
        Self {
            state,
            version: 0,
            entered_at: SystemTime::now(),
        }
    }
}

/// One batch of accepted events, handed to [`Durability::commit`] before any of it is visible.
#[derive(Debug)]
pub struct Commit<'a, M: Machine> {
    /// The actor.
    pub id: &'a ActorId,
    /// The version before the first event of the batch (the expected stored head).
    pub base_version: u64,
    /// The accepted events, in order; event `i` becomes version `base_version + i + 1`.
    pub events: &'a [M::Event],
    /// The state after the last event.
    pub state: &'a M,
    /// When that state was entered (wall clock).
    pub entered_at: SystemTime,
    /// The durable actions the batch's steps declared, in order (see
    /// [`Durability::DISPATCHES_DURABLE_ACTIONS`]).
    pub intents: &'a [Intent<M>],
    /// The command ids of the events sent as commands
    /// ([`ActorRef::call_command`](crate::ActorRef::call_command)), in order.
    pub commands: &'a [CommandMark],
}

/// An accepted event of a batch that was sent under a command id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandMark {
    /// The index of the event in its batch: it becomes version `base_version + step + 1`.
    pub step: usize,
    /// The command id.
    pub id: std::sync::Arc<str>,
}

impl<M: Machine> Commit<'_, M> {
    /// The version after the batch.
    pub fn head(&self) -> u64 {
        self.base_version + self.events.len() as u64
    }
}

/// A view of the actor's committed state, handed to [`Durability`] outside of commits.
#[derive(Debug)]
pub struct Current<'a, M: Machine> {
    /// The actor.
    pub id: &'a ActorId,
    /// The committed state.
    pub state: &'a M,
    /// Its version.
    pub version: u64,
    /// When the state was entered (wall clock).
    pub entered_at: SystemTime,
}

/// What the runtime asks of a persistence layer.
///
/// The runtime calls [`commit`](Durability::commit) once per batch and waits for it: nothing of
/// the batch (replies, state, effects) is visible before it returns `Ok`. On `Err` the batch is
/// rolled back; on [`CommitError::Conflict`] and [`CommitError::Superseded`] the actor stops. A
/// layer reports content the store can never accept as [`CommitError::Refused`], so that the
/// runtime does not offer the same events again.
///
/// [`deadline`](Durability::deadline) and [`wake`](Durability::wake) give the layer a timer
/// inside the actor's own loop (for debounced snapshots) without a task of its own;
/// [`stopped`](Durability::stopped) lets it flush when the actor stops.
pub trait Durability<M: Machine>: Send + 'static {
    /// Whether this layer takes over the durable actions of a batch ([`Commit::intents`]):
    /// stores them with the batch and runs them itself. When `false` (the default), the runtime
    /// runs them once after the commit, like plain actions.
    const DISPATCHES_DURABLE_ACTIONS: bool = false;

    /// Makes a batch durable.
    ///
    /// The runtime boxes the returned future, so that its size does not weigh on every idle
    /// actor: one allocation per batch, none when the future has no state (as with
    /// [`Ephemeral`]).
    fn commit(
        &mut self,
        commit: Commit<'_, M>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send;

    /// When the layer wants [`wake`](Durability::wake) to be called, if at all.
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// Called from the actor loop once [`deadline`](Durability::deadline) has passed.
    fn wake(&mut self, current: Current<'_, M>) -> impl Future<Output = ()> + Send {
        let _ = current;
        async {}
    }

    /// How long the actor may stay idle before it passivates: stops with
    /// [`StopReason::Passivated`] and leaves memory, to be activated again by the layer when it
    /// is needed. `None` (the default) keeps it running until it is stopped.
    ///
    /// Idle means no message and no timer fired for that long, no state task or background task
    /// still running, no event of the state waiting to be tried again after a failed commit, no
    /// subscriber or waiter, and not rewound. A pending state timeout does not keep the actor in
    /// memory: a layer that passivates is expected to wake the actor when the timeout falls
    /// due. The mailbox is closed first, then the messages already in it are served, so a
    /// message is either processed before the actor stops or refused with
    /// [`ActorError::Stopped`](crate::ActorError::Stopped) without being processed.
    fn passivate_after(&self) -> Option<Duration> {
        None
    }

    /// Where the actor's failed effects are reported besides its observer, if anywhere: an
    /// observer that gets the [`RecordKind::Effect`](crate::RecordKind::Effect) record of every
    /// action, state task or background task that returned an error or panicked (and nothing
    /// else), on the effect's task; a persistence layer records the failures there. Asked each
    /// time effects start (so keep it cheap: a shared observer, cloned). Nothing is reported
    /// for an effect that succeeds.
    fn effect_failures(&self) -> Option<Arc<dyn Observer<M>>> {
        None
    }

    /// Called once when the actor stops, after its tasks were cancelled.
    fn stopped(
        &mut self,
        current: Current<'_, M>,
        reason: &StopReason,
    ) -> impl Future<Output = ()> + Send {
        let _ = (current, reason);
        async {}
    }
}

/// In-memory only: every commit succeeds at once. The durability of plain actors.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ephemeral;

impl<M: Machine> Durability<M> for Ephemeral {
    fn commit(
        &mut self,
        _commit: Commit<'_, M>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send {
        // A future with no state at all (unlike `ready(Ok(()))`, which holds its output), so
        // the runtime's boxing of commit futures allocates nothing for it.
        std::future::poll_fn(|_| std::task::Poll::Ready(Ok(())))
    }
}

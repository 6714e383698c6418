//! The batch path: apply the queued events, commit once, then make the batch visible.
//!
//! [`Actor::process_batch`] runs the two steps: [`apply`](super::apply) (pure: the machine's
//! handlers decide, nothing changes, nothing is awaited) and
//! [`commit_and_publish`](Actor::commit_and_publish) (awaits the durability layer's commit,
//! then makes the new state, the answers, the subscribers and the effects happen). A handler
//! that panics while the batch is applied rolls the whole batch back and stops the actor.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::apply::{Applied, Seen};
use super::replies::Replies;
use super::{panic, Actor, Flow};
use crate::actor::durability::{Commit, Durability};
use crate::actor::mailbox::Envelope;
use crate::actor::{ActorError, CommandMark, CommitError, StopReason, Transition};
use crate::effect::{Actions, IdempotencyKey};
use crate::inspect::RecordKind;
use crate::model::Machine;

/// How many buffered items an actor keeps room for between batches.
const KEPT_CAPACITY: usize = 64;

/// The buffers of the batch path, kept between batches so a busy actor does not reallocate.
///
/// Everything a batch needs across the commit's await lives here, on the heap, rather than in
/// the actor loop's future, whose size is what every idle actor costs.
pub(super) struct Batch<M: Machine> {
    /// The events to apply, in order; each is taken from the front before its handlers run.
    pub(super) queue: VecDeque<Envelope<M>>,
    /// The accepted events: what the commit journals.
    pub(super) events: Vec<M::Event>,
    /// The command ids of the accepted events sent as commands.
    pub(super) commands: Vec<CommandMark>,
    /// The steps among `events` that came from the current state's tasks and timeouts: they
    /// have no caller to tell of a failed commit, so they are tried again.
    pub(super) scope_steps: Vec<usize>,
    /// The actions the accepted steps declared.
    pub(super) actions: Actions<M>,
    /// The answers of the calls, held until the commit returns.
    pub(super) replies: Replies<M>,
    /// The rest of what [`apply`](Actor::apply) decided.
    pub(super) applied: Applied<M>,
}

impl<M: Machine> Default for Batch<M> {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            events: Vec::new(),
            commands: Vec::new(),
            scope_steps: Vec::new(),
            actions: Actions::default(),
            replies: Replies::default(),
            applied: Applied::default(),
        }
    }
}

impl<M: Machine> Batch<M> {
    /// Empties the buffers (after a rollback) and gives back the room a burst needed: an idle
    /// actor must stay small.
    fn reset(&mut self) {
        self.events.clear();
        self.commands.clear();
        self.scope_steps.clear();
        self.actions.list.clear();
        self.actions.durable.clear();
        self.applied = Applied::default();
        if self.queue.capacity() > KEPT_CAPACITY {
            self.queue.shrink_to(KEPT_CAPACITY);
        }
        if self.events.capacity() > KEPT_CAPACITY {
            self.events.shrink_to(KEPT_CAPACITY);
        }
        if self.actions.list.capacity() > KEPT_CAPACITY {
            self.actions.list.shrink_to(KEPT_CAPACITY);
        }
        self.replies.shrink_to(KEPT_CAPACITY);
    }
}

impl<M: Machine, D: Durability<M>> Actor<M, D> {
    /// The batch buffers, taken out of the actor while a batch runs: fill `queue`, then hand
    /// them to [`process_batch`](Self::process_batch), which puts them back.
    pub(super) fn take_batch(&mut self) -> Box<Batch<M>> {
        self.batch.take().unwrap_or_default()
    }

    /// Processes the events queued in `batch` as one batch, and keeps the buffers.
    pub(super) async fn process_batch(&mut self, mut batch: Box<Batch<M>>) -> Flow {
        let flow = match panic::catch(|| self.apply(&mut batch)) {
            Ok(()) => self.commit_and_publish(&mut batch).await,
            Err(message) => self.roll_back_panic(&mut batch, message),
        };
        batch.reset();
        self.batch = Some(batch);
        flow
    }

    /// Commits what [`apply`](Self::apply) accepted; once that returns, answers the calls and,
    /// if it succeeded, makes the batch visible and starts its effects.
    async fn commit_and_publish(&mut self, batch: &mut Batch<M>) -> Flow {
        let Some(next) = &batch.applied.next else {
            // Nothing accepted, nothing to commit: every answer is settled.
            batch.replies.release(None);
            return Flow::Continue;
        };
        let commit = Commit {
            id: &self.id,
            base_version: self.version,
            events: &batch.events,
            state: next,
            entered_at: batch.applied.entered_at(self.entered_at),
            intents: &batch.actions.durable,
            commands: &batch.commands,
        };
        // Boxed, so that the loop's future does not hold the layer's commit future; the commit
        // of `Ephemeral` has no state, and boxing it allocates nothing.
        let committed = Box::pin(self.durability.commit(commit)).await;
        if let Err(error) = committed {
            return self.roll_back(batch, error);
        }
        let reached_final = batch.applied.reached_final;
        let running = self.make_visible(batch);
        if reached_final {
            // A final state stops the actor once the effects that led to it have run. Boxed
            // like the commit: this wait comes once in an actor's life.
            Box::pin(futures::future::join_all(running)).await;
            return Flow::Stop(StopReason::Final);
        }
        Flow::Continue
    }

    /// The commit failed: nothing of the batch happened, and its callers hear why. The events
    /// of the current state's tasks and timeouts have no caller: unless the actor stops, or the
    /// store refused a batch of nothing but them for good ([`CommitError::Refused`]), they are
    /// tried again later
    /// ([`ScopeState::retry_later`](super::scope::ScopeState::retry_later)), so that a passing
    /// storage failure does not leave the actor in a state whose timeout already fired.
    fn roll_back(&mut self, batch: &mut Batch<M>, error: CommitError) -> Flow {
        tracing::error!(machine = M::NAME, actor = %self.id, %error, "commit failed; batch rolled back");
        let error = ActorError::Commit(error);
        batch.replies.release(Some(&error));
        self.observe(RecordKind::Error { error: &error });
        match error {
            ActorError::Commit(conflict) if conflict.stops_actor() => {
                Flow::Stop(StopReason::Conflict(conflict))
            }
            // Refused for good, and nothing but the scope's own events were in it: they are
            // what the store refuses. With callers' events beside them, those may be what it
            // refuses, so the scope's events are tried again on their own.
            ActorError::Commit(refused)
                if refused.is_refused() && batch.scope_steps.len() == batch.events.len() =>
            {
                tracing::error!(machine = M::NAME, actor = %self.id, "the store refuses the events of the state's tasks and timeouts; they are dropped");
                self.scope.store_answered();
                Flow::Continue
            }
            _ => {
                self.retry_scope_events(batch);
                Flow::Continue
            }
        }
    }

    /// Hands the accepted events of the batch that came from the current scope back to it, to
    /// be offered again after its backoff.
    fn retry_scope_events(&mut self, batch: &mut Batch<M>) {
        if batch.scope_steps.is_empty() {
            return;
        }
        let retried: Vec<M::Event> = std::mem::take(&mut batch.events)
            .into_iter()
            .enumerate()
            .filter(|(step, _)| batch.scope_steps.contains(step))
            .map(|(_, event)| event)
            .collect();
        let delay = self.scope.retry_later(retried, Instant::now());
        tracing::warn!(machine = M::NAME, actor = %self.id, ?delay, "the events of the state's tasks and timeouts are tried again");
    }

    /// The commit succeeded: the batch's last state becomes the actor's, the callers get their
    /// answers, the watchers every step; the actions start (their handles are returned) and so
    /// does the scope of a newly entered state.
    fn make_visible(&mut self, batch: &mut Batch<M>) -> Vec<JoinHandle<()>> {
        let entered_at = batch.applied.entered_at(self.entered_at);
        let next = batch.applied.next.take();
        let seen = std::mem::take(&mut batch.applied.seen);
        let entry = batch.applied.entry.take();
        let accepted = batch.events.len() as u64;
        batch.events.clear();
        batch.commands.clear();
        let base = self.version;
        self.version += accepted;
        self.scope.store_answered();
        // Always set: a batch that accepted nothing commits nothing and is not made visible.
        if let Some(next) = next {
            self.state = next;
        }
        self.entered_at = entered_at;
        tracing::trace!(machine = M::NAME, actor = %self.id, version = self.version, events = accepted, "batch committed");
        if !seen.is_empty() {
            self.publish(seen, base);
        }
        batch.replies.release(None);
        let mut running = if batch.actions.list.is_empty() {
            Vec::new()
        } else {
            let actions = batch.actions.list.drain(..);
            self.spawner.actions(
                actions.map(|(step, action)| (base + step as u64 + 1, action)),
                &self.durability.effect_failures(),
            )
        };
        if !batch.actions.durable.is_empty() {
            if D::DISPATCHES_DURABLE_ACTIONS {
                // The durability layer stored them with the batch and runs them itself.
                batch.actions.durable.clear();
            } else {
                let id = self.id.clone();
                let plain = batch.actions.durable.drain(..).map(|intent| {
                    let version = base + intent.step() as u64 + 1;
                    let key = IdempotencyKey::new(id.clone(), version, intent.name());
                    (version, intent.into_declared(key))
                });
                let failures = self.durability.effect_failures();
                running.extend(self.spawner.actions(plain, &failures));
            }
        }
        if let Some(entry) = entry {
            self.enter_scope(entry.scope, Duration::ZERO);
        }
        running
    }

    /// Tells the observer and the watchers about a committed batch, step by step.
    fn publish(&mut self, seen: Vec<Seen<M>>, base: u64) {
        for (index, Seen { from, event, to }) in seen.into_iter().enumerate() {
            let version = base + index as u64 + 1;
            self.observe(RecordKind::Transition {
                from: &from,
                event: &event,
                to: &to,
                version,
            });
            if let Some(watchers) = &mut self.watchers {
                watchers.publish(Transition {
                    from,
                    event,
                    to,
                    version,
                });
            }
        }
        if self
            .watchers
            .as_ref()
            .is_some_and(|watchers| watchers.is_empty())
        {
            self.watchers = None;
        }
    }

    /// A handler panicked while `batch` was applied: nothing of it is committed, its callers
    /// are told (but for the settled answers, still true), and the actor stops.
    fn roll_back_panic(&mut self, batch: &mut Batch<M>, message: String) -> Flow {
        let error = self.handler_panicked(message.clone());
        batch.replies.release(Some(&error));
        for Envelope { origin, .. } in batch.queue.drain(..) {
            origin.answer(Err(error.clone()));
        }
        Flow::Stop(StopReason::Panicked { message })
    }

    /// Answers an event that arrived while rewound: scoped events are held, others refused.
    pub(super) fn refuse_rewound(&mut self, envelope: Envelope<M>) {
        let Some(rewound) = &mut self.rewound else {
            return;
        };
        if envelope.origin.epoch().is_some() {
            rewound.held.push(envelope);
            return;
        }
        let error = ActorError::Rewound {
            id: self.id.clone(),
            at: rewound.version,
            head: self.version,
        };
        self.observe(RecordKind::Error { error: &error });
        envelope.origin.answer(Err(error));
    }
}

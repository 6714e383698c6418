//! The batch path: apply the queued events, commit once, then make the batch visible.
//!
//! [`Actor::process_batch`] runs the two steps: [`apply`](super::apply) (pure: the machine's
//! handlers decide, nothing changes) and [`commit_and_publish`](Actor::commit_and_publish)
//! (the one await: the durability layer's commit, then the new state, the answers, the
//! subscribers, the effects). A handler that panics while the batch is applied rolls the whole
//! batch back and stops the actor.

use std::collections::VecDeque;
use std::time::Duration;

use super::apply::{Applied, Seen};
use super::replies::Replies;
use super::{panic, Actor, Flow};
use crate::actor::durability::{Commit, Durability};
use crate::actor::mailbox::Envelope;
use crate::actor::{ActorError, StopReason, Transition};
use crate::effect::Actions;
use crate::inspect::RecordKind;
use crate::model::Machine;

/// How many buffered items an actor keeps room for between batches.
const KEPT_CAPACITY: usize = 64;

/// The buffers of the batch path, kept between batches so a busy actor does not reallocate.
pub(super) struct Batch<M: Machine> {
    /// The events to apply, in order; each is taken from the front before its handlers run.
    pub(super) queue: VecDeque<Envelope<M>>,
    /// The accepted events: what the commit journals.
    pub(super) events: Vec<M::Event>,
    /// The actions the accepted steps declared.
    pub(super) actions: Actions<M>,
    /// The answers of the calls, held until the commit returns.
    pub(super) replies: Replies<M>,
}

impl<M: Machine> Default for Batch<M> {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            events: Vec::new(),
            actions: Actions::default(),
            replies: Replies::default(),
        }
    }
}

impl<M: Machine> Batch<M> {
    /// Empties the buffers (after a rollback) and gives back the room a burst needed: an idle
    /// actor must stay small.
    fn reset(&mut self) {
        self.events.clear();
        self.actions.list.clear();
        self.queue.shrink_to(KEPT_CAPACITY);
        self.events.shrink_to(KEPT_CAPACITY);
        self.actions.list.shrink_to(KEPT_CAPACITY);
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
            Ok(applied) => self.commit_and_publish(&mut batch, applied).await,
            Err(message) => self.roll_back_panic(&mut batch, message),
        };
        batch.reset();
        self.batch = Some(batch);
        flow
    }

    /// Commits what [`apply`](Self::apply) accepted; once that returns, answers the calls and,
    /// if it succeeded, makes the batch visible and starts its effects.
    async fn commit_and_publish(&mut self, batch: &mut Batch<M>, applied: Applied<M>) -> Flow {
        let Applied {
            next,
            seen,
            entry,
            reached_final,
        } = applied;
        let Some(next) = next else {
            // Nothing accepted, nothing to commit: every answer is settled.
            batch.replies.release(None);
            return Flow::Continue;
        };
        let entered_at = entry.as_ref().map_or(self.entered_at, |entry| entry.at);
        let commit = Commit {
            id: &self.id,
            base_version: self.version,
            events: &batch.events,
            state: &next,
            entered_at,
        };
        let committed = self.durability.commit(commit).await;
        let accepted = batch.events.len() as u64;
        batch.events.clear();
        if let Err(error) = committed {
            batch.actions.list.clear();
            tracing::error!(machine = M::NAME, actor = %self.id, %error, "commit failed; batch rolled back");
            let error = ActorError::Commit(error);
            batch.replies.release(Some(&error));
            self.observe(RecordKind::Error { error: &error });
            return match error {
                ActorError::Commit(conflict) if conflict.is_conflict() => {
                    Flow::Stop(StopReason::Conflict(conflict))
                }
                _ => Flow::Continue,
            };
        }

        let base = self.version;
        self.version += accepted;
        self.state = next;
        self.entered_at = entered_at;
        tracing::trace!(machine = M::NAME, actor = %self.id, version = self.version, events = accepted, "batch committed");
        self.publish(seen, base);
        batch.replies.release(None);
        let running = self.spawner.actions(batch.actions.list.drain(..));
        if let Some(entry) = entry {
            self.enter_scope(entry.scope, Duration::ZERO);
        }
        if reached_final {
            // A final state stops the actor once the effects that led to it have run.
            for action in running {
                let _ = action.await;
            }
            return Flow::Stop(StopReason::Final);
        }
        Flow::Continue
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

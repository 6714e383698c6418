//! The batch path: apply queued events, commit once, then make the batch visible.

use std::time::SystemTime;

use super::{Actor, Flow};
use crate::actor::durability::{Commit, Durability};
use crate::actor::mailbox::{Envelope, Origin};
use crate::actor::{ActorError, StopReason, Transition};
use crate::inspect::{EventOutcome, RecordKind};
use crate::model::{Event, Machine, Outcome, Step};

/// How many buffered events an actor keeps room for between batches.
const KEPT_CAPACITY: usize = 64;

/// One accepted step kept for subscribers and observers (only when someone listens).
struct Seen<M: Machine> {
    from: M,
    event: M::Event,
    to: M,
}

impl<M: Machine, D: Durability<M>> Actor<M, D> {
    fn is_listened(&self) -> bool {
        self.spawner.observer.is_some() || self.changes.is_some() || self.transitions.is_some()
    }

    /// Processes `self.buffers.envelopes` as one batch.
    pub(super) async fn process_batch(&mut self) -> Flow {
        let mut envelopes = std::mem::take(&mut self.buffers.envelopes);
        let listened = self.is_listened();
        let mut seen: Vec<Seen<M>> = Vec::new();
        let mut replies = Vec::new();
        let mut working: Option<M> = None;
        let mut entered = false;
        let mut entered_at = self.entered_at;
        let mut reached_final = false;

        for Envelope { event, origin } in envelopes.drain(..) {
            if reached_final {
                origin.answer(Err(ActorError::Stopped(self.id.clone())));
                continue;
            }
            // An event from a state's task or timeout is stale once that state was left.
            if origin
                .epoch()
                .is_some_and(|epoch| epoch != self.scope.epoch || entered)
            {
                continue;
            }
            let current = working.as_ref().unwrap_or(&self.state);
            match current.transition(&event) {
                Outcome::Next(next) => {
                    let step = Step {
                        from: current,
                        event: &event,
                        to: &next,
                    };
                    M::actions(&step, &mut self.buffers.actions);
                    if M::is_entry(&step) {
                        entered = true;
                        entered_at = SystemTime::now();
                    }
                    self.observe(RecordKind::Event {
                        event: &event,
                        outcome: EventOutcome::Accepted,
                    });
                    if listened {
                        seen.push(Seen {
                            from: current.clone(),
                            event: event.clone(),
                            to: next.clone(),
                        });
                    }
                    if let Origin::Call(reply) = origin {
                        replies.push((reply, next.clone()));
                    }
                    reached_final = next.is_final();
                    self.buffers.events.push(event);
                    working = Some(next);
                }
                Outcome::Unhandled => {
                    self.observe(RecordKind::Event {
                        event: &event,
                        outcome: EventOutcome::Unhandled,
                    });
                    tracing::trace!(machine = M::NAME, actor = %self.id, event = %event.tag(), state = %current.tag(), "unhandled event");
                    origin.answer(Ok(Outcome::Unhandled));
                }
                Outcome::Rejected(error) => {
                    self.observe(RecordKind::Event {
                        event: &event,
                        outcome: EventOutcome::Rejected(&error),
                    });
                    tracing::trace!(machine = M::NAME, actor = %self.id, event = %event.tag(), %error, "event rejected");
                    origin.answer(Ok(Outcome::Rejected(error)));
                }
            }
        }
        // Keep the buffers for the next batch, but not the room a burst needed: an idle actor
        // must stay small.
        envelopes.shrink_to(KEPT_CAPACITY);
        self.buffers.envelopes = envelopes;

        let Some(next_state) = working else {
            return Flow::Continue;
        };
        let commit = Commit {
            id: &self.id,
            base_version: self.version,
            events: &self.buffers.events,
            state: &next_state,
            entered_at,
        };
        let committed = self.durability.commit(commit).await;
        let accepted = self.buffers.events.len() as u64;
        self.buffers.events.clear();
        self.buffers.events.shrink_to(KEPT_CAPACITY);
        if let Err(error) = committed {
            self.buffers.actions.list.clear();
            tracing::error!(machine = M::NAME, actor = %self.id, %error, "commit failed; batch rolled back");
            let error = ActorError::Commit(error);
            for (reply, _) in replies {
                let _ = reply.send(Err(error.clone()));
            }
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
        self.state = next_state;
        self.entered_at = entered_at;
        tracing::trace!(machine = M::NAME, actor = %self.id, version = self.version, state = %self.state.tag(), events = accepted, "batch committed");
        if listened {
            self.publish(seen, base);
        }
        for (reply, state) in replies {
            let _ = reply.send(Ok(Outcome::Next(state)));
        }
        let running = self.spawner.actions(self.buffers.actions.list.drain(..));
        if entered {
            self.enter_scope(std::time::Duration::ZERO);
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

    /// Tells subscribers and the observer about a committed batch, step by step.
    fn publish(&mut self, seen: Vec<Seen<M>>, base: u64) {
        for (index, Seen { from, event, to }) in seen.into_iter().enumerate() {
            let version = base + index as u64 + 1;
            self.observe(RecordKind::Transition {
                from: &from,
                event: &event,
                to: &to,
                version,
            });
            if let Some(changes) = &self.changes {
                if changes.send(to.clone()).is_err() {
                    self.changes = None;
                }
            }
            if let Some(transitions) = &self.transitions {
                let transition = Transition {
                    from,
                    event,
                    to,
                    version,
                };
                if transitions.send(transition).is_err() {
                    self.transitions = None;
                }
            }
        }
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

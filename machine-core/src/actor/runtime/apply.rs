//! Applying a batch: the pure step. The events are offered to the machine one after another,
//! each to the state the previous ones led to; nothing of the actor changes and nothing is
//! awaited. What it yields is committed, or dropped, by the batch path (see [`super::batch`]).

use std::time::SystemTime;

use super::batch::Batch;
use super::Actor;
use crate::actor::durability::Durability;
use crate::actor::mailbox::Envelope;
use crate::actor::{ActorError, CommandMark};
use crate::effect::Scope;
use crate::inspect::{EventOutcome, RecordKind};
use crate::model::{Event, Machine, Outcome, Step};

/// What applying a batch decided, besides what went to the other [`Batch`] buffers (the
/// accepted events, the declared actions and the answers of the calls).
pub(super) struct Applied<M: Machine> {
    /// The state after the last accepted event; `None` when no event was accepted.
    pub(super) next: Option<M>,
    /// Every accepted step, kept for subscribers and the observer (only when someone listens).
    pub(super) seen: Vec<Seen<M>>,
    /// Set when a step entered its state anew.
    pub(super) entry: Option<Entry<M>>,
    /// Whether the batch ends in a final state.
    pub(super) reached_final: bool,
}

impl<M: Machine> Applied<M> {
    /// When the batch's last state was entered: now, if the batch entered it, else `current`.
    pub(super) fn entered_at(&self, current: SystemTime) -> SystemTime {
        self.entry.as_ref().map_or(current, |entry| entry.at)
    }
}

impl<M: Machine> Default for Applied<M> {
    fn default() -> Self {
        Self {
            next: None,
            seen: Vec::new(),
            entry: None,
            reached_final: false,
        }
    }
}

/// One accepted step.
pub(super) struct Seen<M: Machine> {
    pub(super) from: M,
    pub(super) event: M::Event,
    pub(super) to: M,
}

/// The entry into the batch's last state: when, and the tasks and timeouts it declares.
pub(super) struct Entry<M: Machine> {
    pub(super) at: SystemTime,
    pub(super) scope: Scope<M>,
}

impl<M: Machine, D: Durability<M>> Actor<M, D> {
    pub(super) fn is_listened(&self) -> bool {
        self.spawner.observer.is_some() || self.watchers.is_some()
    }

    /// Offers the events of `batch.queue` to the machine, in order, taking each from the queue
    /// before its handlers run, and leaves in `batch` what was decided: the accepted events in
    /// `events`, their actions in `actions`, the answers of the calls in `replies`, the rest in
    /// `applied`. The observer hears of each event as it is offered.
    ///
    /// Events behind one that reaches a final state are not offered: their callers are told the
    /// actor stopped. An event of a state's task or timeout is dropped once that state is left.
    pub(super) fn apply(&self, batch: &mut Batch<M>) {
        let Batch {
            queue,
            events,
            commands,
            scope_steps,
            actions,
            replies,
            applied,
        } = batch;
        let listened = self.is_listened();
        let mut next: Option<M> = None;
        let mut entered = false;
        let mut reached_final = false;
        while let Some(Envelope { event, origin }) = queue.pop_front() {
            if origin
                .epoch()
                .is_some_and(|epoch| epoch != self.scope.epoch || entered)
            {
                continue;
            }
            let command = origin.command().cloned();
            let from_scope = origin.epoch().is_some();
            let call = replies.hold(origin);
            let provisional = next.is_some();
            if reached_final {
                if call {
                    replies.decide(Err(ActorError::Stopped(self.id.clone())), provisional);
                }
                continue;
            }
            let current = next.as_ref().unwrap_or(&self.state);
            match current.transition(&event) {
                Outcome::Next(to) => {
                    let step = Step {
                        from: current,
                        event: &event,
                        to: &to,
                    };
                    actions.step = events.len();
                    M::actions(&step, actions);
                    entered |= M::is_entry(&step);
                    self.observe(RecordKind::Event {
                        event: &event,
                        outcome: EventOutcome::Accepted,
                    });
                    if listened {
                        applied.seen.push(Seen {
                            from: current.clone(),
                            event: event.clone(),
                            to: to.clone(),
                        });
                    }
                    if call {
                        replies.decide(Ok(Outcome::Next(to.clone())), true);
                    }
                    reached_final = to.is_final();
                    if let Some(id) = command {
                        commands.push(CommandMark {
                            step: events.len(),
                            id,
                        });
                    }
                    if from_scope {
                        scope_steps.push(events.len());
                    }
                    events.push(event);
                    next = Some(to);
                }
                Outcome::Unhandled => {
                    self.observe(RecordKind::Event {
                        event: &event,
                        outcome: EventOutcome::Unhandled,
                    });
                    tracing::trace!(machine = M::NAME, actor = %self.id, event = %event.tag(), state = %current.tag(), "unhandled event");
                    if call {
                        replies.decide(Ok(Outcome::Unhandled), provisional);
                    }
                }
                Outcome::Rejected(error) => {
                    self.observe(RecordKind::Event {
                        event: &event,
                        outcome: EventOutcome::Rejected(&error),
                    });
                    tracing::trace!(machine = M::NAME, actor = %self.id, event = %event.tag(), %error, "event rejected");
                    if call {
                        replies.decide(Ok(Outcome::Rejected(error)), provisional);
                    }
                }
            }
        }
        if let Some(state) = next.as_ref().filter(|_| entered) {
            let mut scope = Scope::default();
            state.enter(&mut scope);
            applied.entry = Some(Entry {
                at: SystemTime::now(),
                scope,
            });
        }
        applied.next = next;
        applied.reached_final = reached_final;
    }
}

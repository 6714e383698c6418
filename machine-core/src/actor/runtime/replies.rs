//! The answers to the calls of a batch, held until the batch's commit returns.
//!
//! No caller hears anything before the commit: an answer is only true once the state it was
//! computed on is durable. Answers fall in two kinds:
//!
//! * *settled*: computed on the committed state, before the batch's first accepted event (an
//!   unhandled or rejected event at the head of the batch). True whatever the commit does.
//! * *provisional*: computed on top of an accepted event of the batch (that event's own new
//!   state, and everything after it). True only if the batch commits; when it does not, the
//!   caller gets the reason instead.

use tokio::sync::oneshot;

use crate::actor::mailbox::{CallReply, Origin};
use crate::actor::ActorError;
use crate::model::Machine;

/// The held calls of one batch, in order.
pub(super) struct Replies<M: Machine> {
    held: Vec<Held<M>>,
}

impl<M: Machine> Default for Replies<M> {
    fn default() -> Self {
        Self { held: Vec::new() }
    }
}

struct Held<M: Machine> {
    caller: oneshot::Sender<CallReply<M>>,
    answer: Answer<M>,
}

enum Answer<M: Machine> {
    /// Its event is being applied; a panicking handler leaves it so.
    Pending,
    Settled(CallReply<M>),
    Provisional(CallReply<M>),
}

impl<M: Machine> Replies<M> {
    /// Holds the caller of an event about to be applied, before any handler runs, so that a
    /// panicking handler cannot lose it. Returns whether there is a caller (a `call`, not a
    /// `send` or an event of the actor's own effects).
    pub(super) fn hold(&mut self, origin: Origin<M>) -> bool {
        match origin {
            Origin::Call(caller) => {
                self.held.push(Held {
                    caller,
                    answer: Answer::Pending,
                });
                true
            }
            Origin::Command(command) => match command.reply {
                Some(caller) => {
                    self.held.push(Held {
                        caller,
                        answer: Answer::Pending,
                    });
                    true
                }
                None => false,
            },
            Origin::Send | Origin::Scope(_) => false,
        }
    }

    /// Decides the answer of the caller held last; `provisional` when it was computed on top of
    /// an accepted event of the batch.
    pub(super) fn decide(&mut self, reply: CallReply<M>, provisional: bool) {
        if let Some(held) = self.held.last_mut() {
            held.answer = if provisional {
                Answer::Provisional(reply)
            } else {
                Answer::Settled(reply)
            };
        }
    }

    /// Sends every held answer, once the batch is over: as decided when it committed (`failure`
    /// is `None`); otherwise only the settled ones, and `failure` to everyone else.
    pub(super) fn release(&mut self, failure: Option<&ActorError>) {
        for Held { caller, answer } in self.held.drain(..) {
            let reply = match (answer, failure) {
                (Answer::Settled(reply), _) | (Answer::Provisional(reply), None) => reply,
                (Answer::Provisional(_) | Answer::Pending, Some(error)) => Err(error.clone()),
                // Every held answer is decided once a batch applied without panicking, so a
                // committed batch has none pending; dropping the caller would answer `Stopped`.
                (Answer::Pending, None) => continue,
            };
            let _ = caller.send(reply);
        }
    }

    /// Gives back the room a burst of calls needed, keeping `capacity`.
    pub(super) fn shrink_to(&mut self, capacity: usize) {
        self.held.shrink_to(capacity);
    }
}

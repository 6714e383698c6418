//! The messages an actor's mailbox carries.

use std::any::Any;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{broadcast, oneshot};

use super::{ActorError, Transition};
use crate::model::{Machine, Outcome};

/// The answer to a `call`.
pub(crate) type CallReply<M> = Result<Outcome<M, <M as Machine>::Error>, ActorError>;

/// A message to an actor, boxed: a mailbox slot is then one pointer, whatever the event's
/// size, and tokio's channel allocates its first block of 32 slots for every actor up front,
/// so the slot size is most of what an idle actor costs.
pub(crate) type Msg<M> = Box<Message<M>>;

/// The body of a [`Msg`]. Rare control messages are boxed again so events need no more room.
pub(crate) enum Message<M: Machine> {
    Event(Envelope<M>),
    Control(Box<Control<M>>),
    /// Wakes an idle actor once its system's shutdown has begun; carries nothing, since the
    /// actor reads the system's flag.
    Shutdown,
}

/// An event and where it came from.
pub(crate) struct Envelope<M: Machine> {
    pub(crate) event: M::Event,
    pub(crate) origin: Origin<M>,
}

/// Who sent an event: in one word, to keep the mailbox's slots small.
pub(crate) enum Origin<M: Machine> {
    /// `send`: nobody waits for the outcome.
    Send,
    /// `call`: the outcome goes back here.
    Call(oneshot::Sender<CallReply<M>>),
    /// A task or timeout of the state scope with this epoch (from 1); its event is discarded
    /// once that state was left.
    Scope(u64),
    /// `call_command` / `send_command`: an event under a command id (boxed: rare, and the
    /// mailbox slot stays one word).
    Command(Box<CommandOrigin<M>>),
}

/// A command's id and, for `call_command`, where its outcome goes.
pub(crate) struct CommandOrigin<M: Machine> {
    pub(crate) id: Arc<str>,
    pub(crate) reply: Option<oneshot::Sender<CallReply<M>>>,
}

impl<M: Machine> Origin<M> {
    /// The scope epoch of an event from a state's effect.
    pub(crate) fn epoch(&self) -> Option<u64> {
        match self {
            Origin::Scope(epoch) => Some(*epoch),
            _ => None,
        }
    }

    /// The command id of an event sent as a command.
    pub(crate) fn command(&self) -> Option<&Arc<str>> {
        match self {
            Origin::Command(command) => Some(&command.id),
            _ => None,
        }
    }

    /// Answers a call; events nobody waits for are not answered.
    pub(crate) fn answer(self, reply: CallReply<M>) {
        match self {
            Origin::Call(sender) => {
                let _ = sender.send(reply);
            }
            Origin::Command(command) => {
                if let Some(sender) = command.reply {
                    let _ = sender.send(reply);
                }
            }
            Origin::Send | Origin::Scope(_) => {}
        }
    }
}

/// The state as the actor sees it, with its version.
pub(crate) struct View<M> {
    pub(crate) state: M,
    pub(crate) version: u64,
    pub(crate) head: u64,
    pub(crate) entered_at: SystemTime,
}

/// A `wait_for` predicate, run by the actor on each state it reaches.
pub(crate) type Predicate<M> = Box<dyn FnMut(&M) -> bool + Send>;

/// The answer to a `wait_for`: the first state the predicate accepted, or the predicate's panic,
/// resumed in the waiting caller.
pub(crate) type Waited<M> = Result<M, Box<dyn Any + Send>>;

pub(crate) enum Control<M: Machine> {
    Snapshot(oneshot::Sender<View<M>>),
    WaitFor {
        predicate: Predicate<M>,
        reply: oneshot::Sender<Waited<M>>,
    },
    SubscribeChanges(oneshot::Sender<(M, broadcast::Receiver<M>)>),
    SubscribeTransitions(oneshot::Sender<broadcast::Receiver<Transition<M>>>),
    Rewind {
        state: M,
        version: u64,
        reply: oneshot::Sender<()>,
    },
    Resume(oneshot::Sender<()>),
    Stop(oneshot::Sender<()>),
}

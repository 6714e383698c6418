//! The messages an actor's mailbox carries.

use std::time::SystemTime;

use tokio::sync::{broadcast, oneshot};

use super::{ActorError, Transition};
use crate::model::{Machine, Outcome};

/// The answer to a `call`.
pub(crate) type CallReply<M> = Result<Outcome<M, <M as Machine>::Error>, ActorError>;

/// A message to an actor. Rare control messages are boxed to keep the common one small.
pub(crate) enum Msg<M: Machine> {
    Event(Envelope<M>),
    Control(Box<Control<M>>),
}

/// An event with its reply slot. `epoch` is 0 for events from outside; effects of a state scope
/// carry the scope's epoch, so their events are discarded once the state was left.
pub(crate) struct Envelope<M: Machine> {
    pub(crate) event: M::Event,
    pub(crate) reply: Option<oneshot::Sender<CallReply<M>>>,
    pub(crate) epoch: u64,
}

/// The state as the actor sees it, with its version.
pub(crate) struct View<M> {
    pub(crate) state: M,
    pub(crate) version: u64,
    pub(crate) head: u64,
    pub(crate) entered_at: SystemTime,
}

pub(crate) enum Control<M: Machine> {
    Snapshot(oneshot::Sender<View<M>>),
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

//! The handle to a running actor.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};

use super::mailbox::{CallReply, CommandOrigin, Control, Envelope, Message, Msg, Origin, View};
use super::registry::Registered;
use super::{ActorError, Changes, Transitions};
use crate::model::{ActorId, Machine, Outcome};

/// The live state of an actor with its version, as returned by [`ActorRef::status`].
///
/// Not to be confused with a *snapshot*, which is a state written to storage by a persistence
/// layer: a status is only what the running actor shows right now.
#[derive(Clone, Debug)]
pub struct ActorStatus<M> {
    /// The state (the rewound one while the actor is rewound).
    pub state: M,
    /// The version of that state.
    pub version: u64,
    /// The actor's head version (differs from `version` only while rewound).
    pub head: u64,
    /// When the state was entered (wall clock).
    pub entered_at: SystemTime,
}

impl<M> ActorStatus<M> {
    /// Whether the actor is rewound to an earlier version.
    pub fn is_rewound(&self) -> bool {
        self.version != self.head
    }
}

/// A handle to a running actor. Cheap to clone; every clone talks to the same actor.
///
/// Messages are processed in the order they were sent from one handle, so a `state()` after a
/// `send` sees the effect of that send (read your writes).
pub struct ActorRef<M: Machine> {
    id: ActorId,
    tx: mpsc::Sender<Msg<M>>,
}

impl<M: Machine> Clone for ActorRef<M> {
    fn clone(&self) -> Self {
        Self {
            id: self.id.clone(),
            tx: self.tx.clone(),
        }
    }
}

impl<M: Machine> fmt::Debug for ActorRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef")
            .field("machine", &M::NAME)
            .field("id", &self.id)
            .finish()
    }
}

impl<M: Machine> ActorRef<M> {
    pub(crate) fn new(id: ActorId, tx: mpsc::Sender<Msg<M>>) -> Self {
        Self { id, tx }
    }

    /// The actor's id.
    pub fn id(&self) -> &ActorId {
        &self.id
    }

    /// Whether the actor has stopped.
    pub fn is_stopped(&self) -> bool {
        self.tx.is_closed()
    }

    fn stopped(&self) -> ActorError {
        ActorError::Stopped(self.id.clone())
    }

    /// Sends an event without waiting for its outcome. Waits while the mailbox is full
    /// (backpressure); fails if the actor has stopped.
    pub async fn send(&self, event: M::Event) -> Result<(), ActorError> {
        self.send_envelope(event, Origin::Send).await
    }

    /// Sends an event if the mailbox has room, without waiting.
    pub fn try_send(&self, event: M::Event) -> Result<(), ActorError> {
        let envelope = Envelope {
            event,
            origin: Origin::Send,
        };
        self.tx
            .try_send(Box::new(Message::Event(envelope)))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => ActorError::MailboxFull(self.id.clone()),
                mpsc::error::TrySendError::Closed(_) => self.stopped(),
            })
    }

    /// Sends an event and waits for its outcome: the new state once the step is committed (and
    /// durable, for persistent actors), or `Unhandled`, or the guard's rejection.
    ///
    /// A call still pending when the actor stops resolves to [`ActorError::Stopped`].
    pub async fn call(&self, event: M::Event) -> Result<Outcome<M, M::Error>, ActorError> {
        let (reply, answer) = oneshot::channel::<CallReply<M>>();
        let envelope = Envelope {
            event,
            origin: Origin::Call(reply),
        };
        self.ask(Box::new(Message::Event(envelope))).await?;
        answer.await.map_err(|_| self.stopped())?
    }

    /// Like [`call`](Self::call), with a command id that travels with the event to the
    /// durability layer ([`Commit::commands`](crate::Commit::commands)). A persistence layer
    /// records it with the event, so that a repeat of the command is recognised; the runtime
    /// itself does not look at it.
    pub async fn call_command(
        &self,
        command: impl Into<Arc<str>>,
        event: M::Event,
    ) -> Result<Outcome<M, M::Error>, ActorError> {
        let (reply, answer) = oneshot::channel::<CallReply<M>>();
        let origin = Origin::Command(Box::new(CommandOrigin {
            id: command.into(),
            reply: Some(reply),
        }));
        let envelope = Envelope { event, origin };
        self.ask(Box::new(Message::Event(envelope))).await?;
        answer.await.map_err(|_| self.stopped())?
    }

    /// Like [`send`](Self::send), with a command id (see [`call_command`](Self::call_command)).
    pub async fn send_command(
        &self,
        command: impl Into<Arc<str>>,
        event: M::Event,
    ) -> Result<(), ActorError> {
        let origin = Origin::Command(Box::new(CommandOrigin {
            id: command.into(),
            reply: None,
        }));
        self.send_envelope(event, origin).await
    }

    pub(crate) async fn send_envelope(
        &self,
        event: M::Event,
        origin: Origin<M>,
    ) -> Result<(), ActorError> {
        let envelope = Envelope { event, origin };
        self.tx
            .send(Box::new(Message::Event(envelope)))
            .await
            .map_err(|_| self.stopped())
    }

    /// Queues a message whose answer the caller then awaits: at once when the mailbox has room,
    /// with no future to set up, else once room is made (backpressure). Room left free means
    /// nobody waits for it, so taking it at once overtakes no waiting sender.
    ///
    /// Only for asking: the caller yields on the answer anyway. A loop of `send`s goes through
    /// the awaited `send`, whose cooperative budget makes it yield now and then; without that
    /// yield, a sender racing an actor on another worker took twice as long in
    /// `benches/actor_throughput.rs`.
    async fn ask(&self, message: Msg<M>) -> Result<(), ActorError> {
        match self.tx.try_send(message) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(message)) => {
                self.tx.send(message).await.map_err(|_| self.stopped())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(self.stopped()),
        }
    }

    async fn control<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Control<M>,
    ) -> Result<T, ActorError> {
        let (reply, answer) = oneshot::channel();
        self.ask(Box::new(Message::Control(Box::new(make(reply)))))
            .await?;
        answer.await.map_err(|_| self.stopped())
    }

    /// The current state (after every message sent before this call).
    pub async fn state(&self) -> Result<M, ActorError> {
        Ok(self.status().await?.state)
    }

    /// The current state with its version (and head, and when the state was entered).
    pub async fn status(&self) -> Result<ActorStatus<M>, ActorError> {
        let View {
            state,
            version,
            head,
            entered_at,
        } = self.control(Control::Snapshot).await?;
        Ok(ActorStatus {
            state,
            version,
            head,
            entered_at,
        })
    }

    /// The number of events the actor has accepted (its version).
    pub async fn version(&self) -> Result<u64, ActorError> {
        Ok(self.status().await?.version)
    }

    /// Whether the current state has this tag.
    pub async fn matches(&self, tag: M::StateTag) -> Result<bool, ActorError> {
        Ok(self.state().await?.tag() == tag)
    }

    /// Whether the current state would accept `event` (guards included), without sending it.
    pub async fn can(&self, event: &M::Event) -> Result<bool, ActorError> {
        Ok(self.state().await?.can(event))
    }

    /// The current state, then every committed state in order, until the actor stops.
    pub async fn changes(&self) -> Result<Changes<M>, ActorError> {
        let (current, receiver) = self.control(Control::SubscribeChanges).await?;
        Ok(Changes::new(current, receiver))
    }

    /// Every committed transition from now on, in order, until the actor stops.
    pub async fn transitions(&self) -> Result<Transitions<M>, ActorError> {
        let receiver = self.control(Control::SubscribeTransitions).await?;
        Ok(Transitions::new(receiver))
    }

    /// Waits until the state satisfies `predicate` and returns that state.
    ///
    /// The predicate runs on the actor: first on the current state (after every message sent
    /// before this call, so a state reached before the call is seen), then on every committed
    /// state in order, none skipped however fast they come. A wait queued behind the event that
    /// stops the actor still sees the state it stopped in. If the actor stops before a state
    /// satisfies the predicate (or had stopped before the wait began), the wait ends with
    /// [`ActorError::Stopped`].
    ///
    /// ```
    /// # use machine_core::{ActorError, ActorRef, Machine};
    /// # async fn f<M: Machine>(actor: ActorRef<M>) -> Result<(), ActorError> {
    /// let done = actor.wait_for(|state: &M| state.is_final()).await?;
    /// # let _ = done; Ok(()) }
    /// ```
    ///
    /// # Panics
    ///
    /// If `predicate` panics, the panic is resumed here, in the caller; the actor carries on.
    pub async fn wait_for<P>(&self, predicate: P) -> Result<M, ActorError>
    where
        P: FnMut(&M) -> bool + Send + 'static,
    {
        let predicate = Box::new(predicate);
        match self
            .control(|reply| Control::WaitFor { predicate, reply })
            .await?
        {
            Ok(state) => Ok(state),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Shows `state` (at `version`) instead of the live state, for time-travel inspection,
    /// and refuses new events with [`ActorError::Rewound`] until [`resume`](Self::resume).
    /// Runs no effect; state timeouts that fall due meanwhile are held until resumed.
    ///
    /// This is the runtime half of `replay_to`; `machine-persist` computes the state.
    pub async fn rewind(&self, state: M, version: u64) -> Result<(), ActorError> {
        self.control(|reply| Control::Rewind {
            state,
            version,
            reply,
        })
        .await
    }

    /// Returns a rewound actor to its head state and lets events in again.
    pub async fn resume(&self) -> Result<(), ActorError> {
        self.control(Control::Resume).await
    }

    /// Stops the actor gracefully, after the messages already in its mailbox, and waits until it
    /// has stopped (its tasks cancelled and its persistence flushed). Stopping a stopped actor is
    /// a no-op.
    pub async fn stop(&self) -> Result<(), ActorError> {
        match self.control(Control::Stop).await {
            Ok(()) | Err(ActorError::Stopped(_)) => Ok(()),
            Err(other) => Err(other),
        }
    }
}

impl<M: Machine> Registered for ActorRef<M> {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn nudge(&self) {
        // A full mailbox means the actor is busy: it reads the shutdown flag before its next
        // message anyway. A closed one means it has stopped.
        let _ = self.tx.try_send(Box::new(Message::Shutdown));
    }
}

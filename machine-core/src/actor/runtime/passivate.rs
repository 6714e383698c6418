//! Passivation: an idle actor leaves memory.
//!
//! A durability layer that can bring an actor back from storage says how long the actor may
//! stay idle ([`Durability::passivate_after`]). The loop keeps that deadline armed beside its
//! other timers; when it passes and the actor is idle (see [`Actor::is_idle`]), the actor
//! closes its mailbox, serves the messages already queued, and stops with
//! [`StopReason::Passivated`]. Closing first is what makes this safe for senders: a message
//! that got into the mailbox is processed before the stop, and one that came later is refused
//! at once with [`ActorError::Stopped`](crate::ActorError::Stopped), unprocessed, so the layer
//! can deliver it to the next activation without losing or repeating it.

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Actor, Flow};
use crate::actor::durability::Durability;
use crate::actor::mailbox::{Message, Msg};
use crate::actor::StopReason;
use crate::model::Machine;

impl<M: Machine, D: Durability<M>> Actor<M, D> {
    /// When the actor passivates if nothing happens after `idle_since`.
    pub(super) fn passivation_deadline(&self, idle_since: Instant) -> Option<Instant> {
        let after = self.durability.passivate_after()?;
        idle_since.checked_add(after)
    }

    /// Whether the actor may passivate at `now`: its idle deadline has passed, no state task or
    /// background task runs, nobody watches it, it is not rewound, and no timeout is due.
    pub(super) fn should_passivate(&self, idle_since: Instant, now: Instant) -> bool {
        self.passivation_deadline(idle_since)
            .is_some_and(|deadline| deadline <= now)
            && self.is_idle(now)
    }

    fn is_idle(&self, now: Instant) -> bool {
        self.rewound.is_none()
            && !self.scope.has_running_task()
            && !self.scope.is_retrying()
            && self.background.iter().all(|task| task.is_finished())
            && self
                .watchers
                .as_ref()
                .is_none_or(|watchers| !watchers.is_watched())
            && !self.scope.is_due(now)
    }

    /// Closes the mailbox, serves what it still holds, and stops.
    pub(super) async fn passivate(&mut self, mailbox: &mut mpsc::Receiver<Msg<M>>) -> StopReason {
        mailbox.close();
        while let Ok(message) = mailbox.try_recv() {
            let flow = match *message {
                Message::Event(envelope) => self.on_event(envelope, mailbox).await,
                Message::Control(control) => Box::pin(self.on_control(*control)).await,
                Message::Shutdown => return StopReason::Shutdown,
            };
            if let Flow::Stop(reason) = flow {
                return reason;
            }
        }
        tracing::debug!(machine = M::NAME, actor = %self.id, "actor passivated");
        StopReason::Passivated
    }
}

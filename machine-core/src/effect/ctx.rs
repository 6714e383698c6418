//! The context handed to every effect.

use std::sync::Arc;

use crate::actor::{ActorError, ActorRef};
use crate::model::{ActorId, Machine};

/// What an effect can reach: the actor's id, its environment and the actor itself.
pub struct Ctx<M: Machine> {
    pub(crate) env: Arc<M::Env>,
    pub(crate) myself: ActorRef<M>,
}

impl<M: Machine> Clone for Ctx<M> {
    fn clone(&self) -> Self {
        Self {
            env: Arc::clone(&self.env),
            myself: self.myself.clone(),
        }
    }
}

impl<M: Machine> Ctx<M> {
    /// The id of the actor running this effect.
    pub fn id(&self) -> &ActorId {
        self.myself.id()
    }

    /// The environment supplied at spawn.
    pub fn env(&self) -> &M::Env {
        &self.env
    }

    /// A shared handle to the environment, for moving into spawned work.
    pub fn env_arc(&self) -> Arc<M::Env> {
        Arc::clone(&self.env)
    }

    /// A handle to the actor itself.
    pub fn myself(&self) -> &ActorRef<M> {
        &self.myself
    }

    /// Sends an event to the actor itself (fire and forget, waits for mailbox room).
    pub async fn send(&self, event: M::Event) -> Result<(), ActorError> {
        self.myself.send(event).await
    }
}

//! Background tasks: effects that live as long as the actor.

use std::future::Future;

use super::{Ctx, Declared, EffectError};
use crate::model::Machine;

/// Collects the background tasks of an actor; see [`Machine::background`].
///
/// ```
/// # use machine_core::{Background, Machine};
/// # fn declare<M: Machine>(tasks: &mut Background<M>) {
/// tasks.spawn("heartbeat", |ctx| async move {
///     // Runs until the actor stops; may send events with ctx.send(..).
///     let _ = ctx.id();
///     Ok(())
/// });
/// # }
/// ```
pub struct Background<M: Machine> {
    pub(crate) tasks: Vec<Declared<M>>,
}

impl<M: Machine> Default for Background<M> {
    fn default() -> Self {
        Self { tasks: Vec::new() }
    }
}

impl<M: Machine> Background<M> {
    /// Declares a task started with the actor and cancelled when it stops. Its error or panic is
    /// reported to the observer.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, task: F)
    where
        F: FnOnce(Ctx<M>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), EffectError>> + Send + 'static,
    {
        self.tasks.push(Declared::new(name, task));
    }

    /// Whether nothing was declared.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

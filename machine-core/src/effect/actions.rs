//! Transition actions: one-shot effects of an accepted step.

use std::future::Future;

use super::{Ctx, Declared, EffectError};
use crate::model::Machine;

/// Collects the actions a step declares; see [`Machine::actions`].
///
/// ```
/// # use machine_core::{Actions, Machine};
/// # fn declare<M: Machine>(actions: &mut Actions<M>, order_id: String) {
/// actions.run("email receipt", move |ctx| async move {
///     // ctx.env() holds the mail client supplied at spawn.
///     let _ = (ctx.id(), order_id);
///     Ok(())
/// });
/// # }
/// ```
pub struct Actions<M: Machine> {
    pub(crate) list: Vec<Declared<M>>,
}

impl<M: Machine> Default for Actions<M> {
    fn default() -> Self {
        Self { list: Vec::new() }
    }
}

impl<M: Machine> Actions<M> {
    /// Declares an action named `name`. It runs once, after the step is accepted (and durable,
    /// for persistent actors); its error or panic is reported to the observer.
    pub fn run<F, Fut>(&mut self, name: &'static str, action: F)
    where
        F: FnOnce(Ctx<M>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), EffectError>> + Send + 'static,
    {
        self.list.push(Declared::new(name, action));
    }

    /// How many actions were declared.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether no action was declared.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

//! Transition actions: one-shot effects of an accepted step.

use std::future::Future;

use super::{Ctx, Declared, DurableAction, EffectError, Intent};
use crate::cause::SerializedCause;
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
    /// The plain actions declared, each with the index of its step in the batch.
    pub(crate) list: Vec<(usize, Declared<M>)>,
    /// The durable actions declared, each with the index of its step in the batch.
    pub(crate) durable: Vec<Intent<M>>,
    /// The index, in the batch being applied, of the step declaring actions now.
    pub(crate) step: usize,
}

impl<M: Machine> Default for Actions<M> {
    fn default() -> Self {
        Self {
            list: Vec::new(),
            durable: Vec::new(),
            step: 0,
        }
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
        self.list.push((self.step, Declared::new(name, action)));
    }

    /// Declares an action like [`run`](Self::run), whose failure is also fed back to the
    /// machine: if it returns an error or panics, the event `on_failed` makes of the failure's
    /// [`SerializedCause`] is sent to the actor (whatever its state is by then), so the machine
    /// decides what to do about it.
    ///
    /// ```
    /// # use machine_core::{Actions, Machine, SerializedCause};
    /// # fn declare<M: Machine>(actions: &mut Actions<M>, failed: fn(SerializedCause) -> M::Event) {
    /// actions.run_or(
    ///     "reserve stock",
    ///     |ctx| async move {
    ///         let _ = ctx.env();
    ///         Err("warehouse unreachable".into())
    ///     },
    ///     // e.g. |cause| OrderEvent::ReservationFailed { cause }
    ///     failed,
    /// );
    /// # }
    /// ```
    pub fn run_or<F, Fut>(
        &mut self,
        name: &'static str,
        action: F,
        on_failed: impl FnOnce(SerializedCause) -> M::Event + Send + 'static,
    ) where
        F: FnOnce(Ctx<M>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), EffectError>> + Send + 'static,
    {
        let declared = Declared::new(name, action).or_else(on_failed);
        self.list.push((self.step, declared));
    }

    /// Declares a durable action (see [`DurableAction`]): a persistence layer stores it in
    /// the transaction of the step's event and runs it after the commit, at least once, with
    /// retries, also after a crash or restart. Without one it runs once, like
    /// [`run`](Self::run).
    ///
    /// ```
    /// # use machine_core::{ActionCtx, DurableAction};
    /// # use machine_core::{Actions, EffectError, Machine};
    /// #[derive(Debug)]
    /// struct MailReceipt { order: String }
    ///
    /// impl<M: Machine> DurableAction<M> for MailReceipt {
    ///     const NAME: &'static str = "mail receipt";
    ///     async fn perform(self, ctx: ActionCtx<M>) -> Result<(), EffectError> {
    ///         let _ = (ctx.key(), self.order);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # fn declare<M: Machine>(actions: &mut Actions<M>) {
    /// actions.durable(MailReceipt { order: "order-7".into() });
    /// # }
    /// ```
    pub fn durable<A: DurableAction<M>>(&mut self, action: A) {
        self.durable.push(Intent::new(self.step, action));
    }

    /// How many actions were declared, durable ones included.
    pub fn len(&self) -> usize {
        self.list.len() + self.durable.len()
    }

    /// Whether no action was declared.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.durable.is_empty()
    }
}

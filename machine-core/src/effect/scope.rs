//! State-scoped effects: tasks and timeouts that live while a state is current.

use std::future::Future;
use std::time::Duration;

use super::{Ctx, Declared, EffectError};
use crate::cause::SerializedCause;
use crate::model::Machine;

/// One declared state task: its result is the event sent back to the actor.
pub(crate) type ScopeTask<M> = Declared<M, <M as Machine>::Event>;

/// One declared state timeout.
pub(crate) struct Timeout<M: Machine> {
    pub(crate) after: Duration,
    pub(crate) event: M::Event,
}

/// Collects the tasks and timeouts of a state being entered; see [`Machine::enter`].
///
/// ```
/// # use machine_core::{Machine, Scope};
/// # use std::time::Duration;
/// # fn declare<M: Machine>(scope: &mut Scope<M>, cancel: M::Event, paid: M::Event) {
/// // Cancel unless something else happens within 72 hours of entering the state.
/// scope.timeout(Duration::from_secs(72 * 3600), cancel);
/// // Poll a payment provider while the state is current; the result becomes an event.
/// scope.task("await payment", move |ctx| async move {
///     let _ = ctx.env();
///     Ok(paid)
/// });
/// # }
/// ```
pub struct Scope<M: Machine> {
    pub(crate) tasks: Vec<ScopeTask<M>>,
    pub(crate) timeouts: Vec<Timeout<M>>,
}

impl<M: Machine> Default for Scope<M> {
    fn default() -> Self {
        Self {
            tasks: Vec::new(),
            timeouts: Vec::new(),
        }
    }
}

impl<M: Machine> Scope<M> {
    /// Declares a task started when the state is entered and cancelled (dropped at its next
    /// `.await`) when the state is left. `Ok(event)` is sent to the actor — unless the state was
    /// left in the meantime, in which case the event is discarded; `Err` is reported to the
    /// observer. An event whose commit fails is offered again later, as a
    /// [timeout's](Self::timeout) is.
    pub fn task<F, Fut>(&mut self, name: &'static str, task: F)
    where
        F: FnOnce(Ctx<M>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<M::Event, EffectError>> + Send + 'static,
    {
        self.tasks.push(Declared::new(name, task));
    }

    /// Declares a task like [`task`](Self::task), whose failure is an event too: if it returns
    /// an error or panics, the event `on_failed` makes of the failure's [`SerializedCause`] is
    /// sent to the actor, like the task's own event only while the state is still current.
    ///
    /// ```
    /// # use machine_core::{Machine, Scope, SerializedCause};
    /// # fn declare<M: Machine>(scope: &mut Scope<M>, paid: M::Event, failed: fn(SerializedCause) -> M::Event) {
    /// scope.task_or(
    ///     "await payment",
    ///     move |ctx| async move {
    ///         let _ = ctx.env();
    ///         Ok(paid)
    ///     },
    ///     // e.g. |cause| OrderEvent::PaymentUnknown { cause }
    ///     failed,
    /// );
    /// # }
    /// ```
    pub fn task_or<F, Fut>(
        &mut self,
        name: &'static str,
        task: F,
        on_failed: impl FnOnce(SerializedCause) -> M::Event + Send + 'static,
    ) where
        F: FnOnce(Ctx<M>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<M::Event, EffectError>> + Send + 'static,
    {
        self.tasks
            .push(Declared::new(name, task).or_else(on_failed));
    }

    /// Declares that `event` is sent to the actor `after` the state was entered, unless the
    /// state is left first. Re-entering the state restarts the countdown. For persistent actors
    /// the countdown is anchored to the time the state was entered, so it survives restarts.
    ///
    /// A countdown with 30 years or more to go never fires: `Duration::MAX` means "never".
    ///
    /// Should the commit of its event fail (the store is down), the event is offered again
    /// after 100 ms, doubling with each failure in a row up to 30 s, while the state lasts; so
    /// is the event of a [task](Self::task). An event the store refuses for good
    /// ([`CommitError::Refused`](crate::CommitError::Refused): it does not encode, or the
    /// database rejects its value) is dropped instead, with an error in the log and the
    /// observer (when it was committed beside callers' events, it is first offered once on its
    /// own).
    pub fn timeout(&mut self, after: Duration, event: M::Event) {
        self.timeouts.push(Timeout { after, event });
    }

    /// How long after the entry the soonest declared timeout falls due, if any: what a
    /// persistence layer stores so that the timeout can wake the actor when it is not in
    /// memory.
    ///
    /// ```
    /// # use machine_core::{Machine, Scope};
    /// # use std::time::Duration;
    /// # fn f<M: Machine>(state: &M) {
    /// let mut scope = Scope::default();
    /// state.enter(&mut scope);
    /// let due_in: Option<Duration> = scope.soonest_timeout();
    /// # let _ = due_in; }
    /// ```
    pub fn soonest_timeout(&self) -> Option<Duration> {
        self.timeouts.iter().map(|timeout| timeout.after).min()
    }

    /// Whether nothing was declared.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty() && self.timeouts.is_empty()
    }
}

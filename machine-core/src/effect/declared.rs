//! The one shape every declared effect has: a name for observers and the work itself.

use std::future::Future;

use super::{BoxFuture, Ctx, EffectError};
use crate::cause::SerializedCause;
use crate::model::Machine;

/// The work of an effect: called once with the effect's context, it gives the future to run.
type Work<M, T> = Box<dyn FnOnce(Ctx<M>) -> BoxFuture<Result<T, EffectError>> + Send>;

/// What turns an effect's failure into an event for its actor.
pub(crate) type OnFailed<M> = Box<dyn FnOnce(SerializedCause) -> <M as Machine>::Event + Send>;

/// One declared effect, not started yet: a name, and the work, which gets the effect's
/// [`Ctx`] and ends with a `T` (`()` for actions and background tasks, an event for state
/// tasks) or an error; and, if the machine asked for it, the event its failure becomes.
pub(crate) struct Declared<M: Machine, T = ()> {
    pub(crate) name: &'static str,
    pub(crate) run: Work<M, T>,
    pub(crate) on_failed: Option<OnFailed<M>>,
}

impl<M: Machine, T> Declared<M, T> {
    /// Boxes `work` under `name`.
    pub(crate) fn new<F, Fut>(name: &'static str, work: F) -> Self
    where
        F: FnOnce(Ctx<M>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, EffectError>> + Send + 'static,
    {
        Self {
            name,
            run: Box::new(move |ctx| Box::pin(work(ctx))),
            on_failed: None,
        }
    }

    /// The same effect, whose failure (an error or a panic) becomes the event `on_failed`
    /// makes of its cause.
    pub(crate) fn or_else(
        mut self,
        on_failed: impl FnOnce(SerializedCause) -> M::Event + Send + 'static,
    ) -> Self {
        self.on_failed = Some(Box::new(on_failed));
        self
    }
}

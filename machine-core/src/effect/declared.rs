//! The one shape every declared effect has: a name for observers and the work itself.

use std::future::Future;

use super::{BoxFuture, Ctx, EffectError};
use crate::model::Machine;

/// The work of an effect: called once with the effect's context, it gives the future to run.
type Work<M, T> = Box<dyn FnOnce(Ctx<M>) -> BoxFuture<Result<T, EffectError>> + Send>;

/// One declared effect, not started yet: a name, and the work, which gets the effect's
/// [`Ctx`] and ends with a `T` (`()` for actions and background tasks, an event for state
/// tasks) or an error.
pub(crate) struct Declared<M: Machine, T = ()> {
    pub(crate) name: &'static str,
    pub(crate) run: Work<M, T>,
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
        }
    }
}

//! Performing declared effects: each on its own task, failures and panics reported, never
//! propagated to the actor.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::task::TaskTracker;

use super::panic;
use crate::actor::mailbox::Origin;
use crate::actor::ActorRef;
use crate::effect::{Ctx, Declared, ScopeTask};
use crate::inspect::{EffectKind, EffectStatus, Observer, Record, RecordKind};
use crate::model::Machine;

/// Spawns effects with their context on the system's task tracker.
pub(super) struct Spawner<M: Machine> {
    ctx: Ctx<M>,
    pub(super) observer: Option<Arc<dyn Observer<M>>>,
    tracker: TaskTracker,
}

/// Reports one effect's life to the observer and to tracing.
struct Report<M: Machine> {
    ctx: Ctx<M>,
    observer: Option<Arc<dyn Observer<M>>>,
    name: &'static str,
    kind: EffectKind,
}

impl<M: Machine> Report<M> {
    fn emit(&self, status: EffectStatus<'_>) {
        match &status {
            EffectStatus::Failed(error) => {
                tracing::warn!(machine = M::NAME, actor = %self.ctx.id(), effect = self.name, %error, "effect failed")
            }
            EffectStatus::Panicked(message) => {
                tracing::error!(machine = M::NAME, actor = %self.ctx.id(), effect = self.name, message, "effect panicked")
            }
            _ => {
                tracing::trace!(machine = M::NAME, actor = %self.ctx.id(), effect = self.name, ?status, "effect")
            }
        }
        if let Some(observer) = &self.observer {
            observer.record(&Record::now(
                self.ctx.id(),
                RecordKind::Effect {
                    name: self.name,
                    kind: self.kind,
                    status,
                },
            ));
        }
    }

    /// Runs `effect`, reporting its start and end; returns its value if it succeeded. The
    /// effect's closure is called here, on the effect's task, so a panic in it is the effect's.
    async fn run<T>(self, effect: Declared<M, T>) -> Option<T> {
        self.emit(EffectStatus::Started);
        let ctx = self.ctx.clone();
        let work = async move { (effect.run)(ctx).await };
        match AssertUnwindSafe(work).catch_unwind().await {
            Ok(Ok(value)) => {
                self.emit(EffectStatus::Succeeded);
                Some(value)
            }
            Ok(Err(error)) => {
                self.emit(EffectStatus::Failed(error.as_ref()));
                None
            }
            Err(panic) => {
                self.emit(EffectStatus::Panicked(panic::message(panic.as_ref())));
                None
            }
        }
    }
}

impl<M: Machine> Spawner<M> {
    pub(super) fn new(
        env: Arc<M::Env>,
        myself: ActorRef<M>,
        observer: Option<Arc<dyn Observer<M>>>,
        tracker: TaskTracker,
    ) -> Self {
        Self {
            ctx: Ctx { env, myself },
            observer,
            tracker,
        }
    }

    fn report(&self, name: &'static str, kind: EffectKind) -> Report<M> {
        Report {
            ctx: self.ctx.clone(),
            observer: self.observer.clone(),
            name,
            kind,
        }
    }

    /// Starts the actions of a committed batch; returns their handles.
    pub(super) fn actions(
        &self,
        actions: impl Iterator<Item = Declared<M>>,
    ) -> Vec<JoinHandle<()>> {
        actions
            .map(|action| {
                let report = self.report(action.name, EffectKind::Action);
                self.tracker.spawn(async move {
                    report.run(action).await;
                })
            })
            .collect()
    }

    /// Starts a state task; its event is sent back tagged with the scope's epoch.
    pub(super) fn scope_task(&self, task: ScopeTask<M>, epoch: u64) -> AbortHandle {
        let report = self.report(task.name, EffectKind::Task);
        let myself = self.ctx.myself.clone();
        self.tracker
            .spawn(async move {
                if let Some(event) = report.run(task).await {
                    // The actor may have stopped meanwhile; then there is nobody to tell.
                    let _ = myself.send_envelope(event, Origin::Scope(epoch)).await;
                }
            })
            .abort_handle()
    }

    /// Starts a background task.
    pub(super) fn background(&self, task: Declared<M>) -> AbortHandle {
        let report = self.report(task.name, EffectKind::Background);
        self.tracker
            .spawn(async move {
                report.run(task).await;
            })
            .abort_handle()
    }
}

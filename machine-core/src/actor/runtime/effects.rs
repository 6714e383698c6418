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
use crate::cause::SerializedCause;
use crate::effect::{Ctx, Declared, ScopeTask};
use crate::inspect::{EffectKind, EffectStatus, Observer, Record, RecordKind};
use crate::model::Machine;

/// Spawns effects with their context on the system's task tracker.
pub(super) struct Spawner<M: Machine> {
    ctx: Ctx<M>,
    pub(super) observer: Option<Arc<dyn Observer<M>>>,
    tracker: TaskTracker,
}

/// Where failed effects are also reported, as the durability layer says when they start (see
/// [`Durability::effect_failures`]); asked for at each start rather than kept, so an idle actor
/// carries nothing for it.
///
/// [`Durability::effect_failures`]: crate::Durability::effect_failures
pub(super) type Failures<M> = Option<Arc<dyn Observer<M>>>;

/// Reports one effect's life to the observer and to tracing.
struct Report<M: Machine> {
    ctx: Ctx<M>,
    observer: Option<Arc<dyn Observer<M>>>,
    failures: Failures<M>,
    name: &'static str,
    kind: EffectKind,
    version: u64,
}

impl<M: Machine> Report<M> {
    fn emit(&self, status: EffectStatus<'_>) {
        let failed = matches!(status, EffectStatus::Failed(_) | EffectStatus::Panicked(_));
        match &status {
            EffectStatus::Failed(cause) => {
                tracing::warn!(machine = M::NAME, actor = %self.ctx.id(), effect = self.name, %cause, "effect failed")
            }
            EffectStatus::Panicked(message) => {
                tracing::error!(machine = M::NAME, actor = %self.ctx.id(), effect = self.name, message, "effect panicked")
            }
            _ => {
                tracing::trace!(machine = M::NAME, actor = %self.ctx.id(), effect = self.name, ?status, "effect")
            }
        }
        let sinks = [
            self.observer.as_ref(),
            self.failures.as_ref().filter(|_| failed),
        ];
        let mut sinks = sinks.into_iter().flatten().peekable();
        if sinks.peek().is_none() {
            return;
        }
        let record = Record::now(
            self.ctx.id(),
            RecordKind::Effect {
                name: self.name,
                kind: self.kind,
                version: self.version,
                status,
            },
        );
        for sink in sinks {
            sink.record(&record);
        }
    }

    /// Runs `effect`, reporting its start and end; returns its value if it succeeded, else the
    /// event its failure becomes, if the machine asked for one. The effect's closure is called
    /// here, on the effect's task, so a panic in it is the effect's.
    async fn run<T>(self, effect: Declared<M, T>) -> Result<T, Option<M::Event>> {
        self.emit(EffectStatus::Started);
        let ctx = self.ctx.clone();
        let run = effect.run;
        let work = async move { run(ctx).await };
        let cause = match AssertUnwindSafe(work).catch_unwind().await {
            Ok(Ok(value)) => {
                self.emit(EffectStatus::Succeeded);
                return Ok(value);
            }
            Ok(Err(error)) => {
                let cause = SerializedCause::of(error.as_ref());
                self.emit(EffectStatus::Failed(&cause));
                cause
            }
            Err(panic) => {
                let message = panic::message(panic.as_ref());
                self.emit(EffectStatus::Panicked(message));
                SerializedCause::panic(message)
            }
        };
        Err(effect.on_failed.map(|on_failed| on_failed(cause)))
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

    fn report(
        &self,
        name: &'static str,
        kind: EffectKind,
        version: u64,
        failures: Failures<M>,
    ) -> Report<M> {
        Report {
            ctx: self.ctx.clone(),
            observer: self.observer.clone(),
            failures,
            name,
            kind,
            version,
        }
    }

    /// Starts the actions of a committed batch, each with the version of its step; returns
    /// their handles. The event a failure becomes is sent like any other.
    pub(super) fn actions(
        &self,
        actions: impl Iterator<Item = (u64, Declared<M>)>,
        failures: &Failures<M>,
    ) -> Vec<JoinHandle<()>> {
        actions
            .map(|(version, action)| {
                let report =
                    self.report(action.name, EffectKind::Action, version, failures.clone());
                let myself = self.ctx.myself.clone();
                self.tracker.spawn(async move {
                    if let Err(Some(event)) = report.run(action).await {
                        // The actor may have stopped meanwhile; then there is nobody to tell.
                        let _ = myself.send(event).await;
                    }
                })
            })
            .collect()
    }

    /// Starts a state task of the scope started at `version`; its event, or the event its
    /// failure becomes, is sent back tagged with the scope's epoch.
    pub(super) fn scope_task(
        &self,
        task: ScopeTask<M>,
        epoch: u64,
        version: u64,
        failures: Failures<M>,
    ) -> AbortHandle {
        let report = self.report(task.name, EffectKind::Task, version, failures);
        let myself = self.ctx.myself.clone();
        self.tracker
            .spawn(async move {
                let (Ok(event) | Err(Some(event))) = report.run(task).await else {
                    return;
                };
                // The actor may have stopped meanwhile; then there is nobody to tell.
                let _ = myself.send_envelope(event, Origin::Scope(epoch)).await;
            })
            .abort_handle()
    }

    /// Starts a background task of an actor that started at `version`.
    pub(super) fn background(
        &self,
        task: Declared<M>,
        version: u64,
        failures: Failures<M>,
    ) -> AbortHandle {
        let report = self.report(task.name, EffectKind::Background, version, failures);
        self.tracker
            .spawn(async move {
                let _ = report.run(task).await;
            })
            .abort_handle()
    }
}

//! What the dispatcher needs of one machine type: run an attempt, know the retry schedule, feed
//! the failure back. [`MachineActions`] is that for a machine `M`, behind the object-safe
//! [`Runner`], so one dispatcher serves every machine type of its system.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Weak};

use futures::future::BoxFuture;
use futures::FutureExt;
use machine_core::{ActionCtx, ActorId, IdempotencyKey, Schedule, SerializedCause};

use super::policy::Handlers;
use crate::actor::{Repository, Shared};
use crate::codec::SharedCodec;
use crate::store::ActionClaim;
use crate::{PersistError, Persistable, PersistenceKey};

/// One durable action to run: its key, its encoded value, how many attempts already ended, and
/// the claim this dispatcher holds it under (its records apply only under that claim).
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub(crate) key: IdempotencyKey,
    pub(crate) machine_type: Arc<str>,
    pub(crate) payload: Arc<[u8]>,
    pub(crate) attempts: u32,
    pub(crate) claim: ActionClaim,
}

/// The machine-specific part of dispatching.
pub(crate) trait Runner: Send + Sync {
    /// Runs attempt `attempt` of `job`; a failure or a panic is its cause.
    fn attempt(&self, job: &Job, attempt: u32) -> BoxFuture<'static, Result<(), SerializedCause>>;

    /// The retry schedule of the action named `name`, if one is registered.
    fn retry(&self, name: &str) -> Option<Schedule>;

    /// Whether the actor stored under `key` is this runner's (its repository's persistence key
    /// produces it); another namespace's actions are left to their own dispatcher.
    fn owns(&self, key: &ActorId) -> bool;

    /// Feeds the failure of a dead-lettered job back to its actor, if its policy asks to.
    fn feed_back(
        &self,
        job: &Job,
        cause: &SerializedCause,
    ) -> BoxFuture<'static, Result<(), PersistError>>;
}

/// The runner of machine type `M`.
pub(crate) struct MachineActions<M: Persistable> {
    pub(crate) handlers: Arc<Handlers<M>>,
    pub(crate) codec: SharedCodec<M>,
    pub(crate) env: Arc<M::Env>,
    /// The repository, for feedback (weak: the system holds the dispatcher, which holds this).
    pub(crate) shared: Weak<Shared<M>>,
    /// The repository's persistence key: the actors whose actions are this runner's.
    pub(crate) key: PersistenceKey,
}

impl<M: Persistable> Runner for MachineActions<M> {
    fn attempt(&self, job: &Job, attempt: u32) -> BoxFuture<'static, Result<(), SerializedCause>> {
        let Some(handler) = self.handlers.get(&*job.key.action) else {
            let cause = SerializedCause::new(format!(
                "no durable action `{}` is registered for machine type `{}`",
                job.key.action, job.machine_type
            ));
            return Box::pin(std::future::ready(Err(cause)));
        };
        let ctx = ActionCtx::new(Arc::clone(&self.env), job.key.clone(), attempt);
        // A panic while decoding or building the future is the attempt's, like one in it.
        let work = std::panic::catch_unwind(AssertUnwindSafe(|| {
            handler.attempt(&self.codec, &job.payload, ctx)
        }));
        Box::pin(async move {
            let work = work.map_err(|panic| SerializedCause::panic(panic_message(&*panic)))?;
            match AssertUnwindSafe(work).catch_unwind().await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(SerializedCause::of(error.as_ref())),
                Err(panic) => Err(SerializedCause::panic(panic_message(&*panic))),
            }
        })
    }

    fn retry(&self, name: &str) -> Option<Schedule> {
        self.handlers
            .get(name)
            .map(|handler| handler.retry().clone())
    }

    fn owns(&self, key: &ActorId) -> bool {
        self.key.from_key(key).is_some()
    }

    fn feed_back(
        &self,
        job: &Job,
        cause: &SerializedCause,
    ) -> BoxFuture<'static, Result<(), PersistError>> {
        let event = self
            .handlers
            .get(&*job.key.action)
            .and_then(|handler| handler.on_failed(&self.codec, &job.payload, cause));
        let shared = self.shared.upgrade();
        // The job names the actor by its key; the repository takes the application's id.
        let actor_id = self.key.id_of(&job.key.actor_id);
        let version = job.key.version;
        Box::pin(async move {
            let Some(event) = event else {
                return Ok(());
            };
            let event = event.map_err(|source| {
                PersistError::Decode(crate::codec::DecodeError {
                    actor_id: actor_id.clone(),
                    version,
                    kind: crate::codec::PayloadKind::Action,
                    problem: crate::codec::DecodeProblem::Codec(source),
                })
            })?;
            let Some(shared) = shared else {
                return Err(PersistError::Stopped(actor_id));
            };
            let repository = Repository::from_shared(shared);
            let actor = match repository.get(actor_id.clone()) {
                Some(actor) => actor,
                None => repository
                    .restore(actor_id.clone())
                    .await?
                    .ok_or(PersistError::Stopped(actor_id))?,
            };
            actor.call(event).await.map(|_| ())
        })
    }
}

/// The message of a panic payload.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&'static str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "(no message)".to_owned()
    }
}

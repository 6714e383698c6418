//! Durable actions: transition actions that survive a crash.
//!
//! A plain action ([`Actions::run`](super::Actions::run)) is a closure: it lives in memory, runs
//! once after its event commits, and is lost if the process dies in between. A *durable* action
//! is a value instead: a type implementing [`DurableAction`], declared with
//! [`Actions::durable`](super::Actions::durable). A persistence layer that supports it writes the
//! value (its *intent*) in the same transaction as the event, and runs it after the commit, at
//! least once, retrying failures, also after a restart. Because the intent is data, it can be
//! stored, claimed by one dispatcher at a time and run again; because it is a type, the machine
//! says in the type system which actions exist and what they need.
//!
//! Every run of a durable action gets an [`ActionCtx`] with a stable [`IdempotencyKey`] (the
//! actor, the version of the event that declared it, the action's name): pass it to the service
//! the action calls, so that a repeated run is recognised downstream.
//!
//! Without a persistence layer (a plain [`ActorSystem`](crate::ActorSystem) actor), a durable
//! action runs once after its event, like a plain action, with attempt number 1.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::{Ctx, Declared, EffectError};
use crate::model::{ActorId, Machine};

/// An action whose intent is stored with its event and run at least once.
///
/// The value holds what the action needs (an order id, an amount); a persistence layer encodes
/// it with the machine's codec, so it is usually `Serialize + Deserialize` as well.
///
/// ```
/// # use machine_core::{ActionCtx, DurableAction};
/// # use machine_core::{EffectError, Machine};
/// # struct Shop; impl Shop { async fn charge(&self, _: &str, _: u64, _: &str) -> Result<(), EffectError> { Ok(()) } }
/// #[derive(Debug)]
/// struct ChargeCard {
///     order: String,
///     cents: u64,
/// }
///
/// impl<M: Machine<Env = Shop>> DurableAction<M> for ChargeCard {
///     const NAME: &'static str = "charge card";
///
///     async fn perform(self, ctx: ActionCtx<M>) -> Result<(), EffectError> {
///         // The key is the same on every run of this intent: the payment service
///         // charges once per key.
///         let key = ctx.key().to_string();
///         ctx.env().charge(&self.order, self.cents, &key).await
///     }
/// }
/// ```
pub trait DurableAction<M: Machine>: Any + Send + Sync + fmt::Debug {
    /// The action's name: part of its idempotency key and of the stored intent, so it must stay
    /// the same for as long as intents of this type may be stored. Unique among the durable
    /// actions of one machine.
    const NAME: &'static str;

    /// Runs the action once. `Err` is a failed attempt, retried as the persistence layer's
    /// policy for this action says; so is a panic.
    fn perform(self, ctx: ActionCtx<M>) -> impl Future<Output = Result<(), EffectError>> + Send;
}

/// Identifies one durable action for its whole life: the same on every attempt, after every
/// restart, in every process. Its text form (`Display`) is `actor/version/name`.
///
/// ```
/// use machine_core::IdempotencyKey;
/// let key = IdempotencyKey::new("order-7".into(), 3, "charge card");
/// assert_eq!(key.to_string(), "order-7/3/charge card");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey {
    /// The actor whose event declared the action.
    pub actor_id: ActorId,
    /// The version of that event.
    pub version: u64,
    /// The action's [`DurableAction::NAME`].
    pub action: Arc<str>,
}

impl IdempotencyKey {
    /// The key of action `action` declared by event `version` of `actor_id`.
    pub fn new(actor_id: ActorId, version: u64, action: impl Into<Arc<str>>) -> Self {
        Self {
            actor_id,
            version,
            action: action.into(),
        }
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.actor_id, self.version, self.action)
    }
}

/// What one run of a durable action gets: the environment, its key and its attempt number.
///
/// Unlike [`Ctx`], it has no handle to the actor: a durable action may run after a restart,
/// when the actor is not running. To tell the machine about a permanent failure, the
/// persistence layer feeds an event back to it (see its `on_failed`).
pub struct ActionCtx<M: Machine> {
    env: Arc<M::Env>,
    key: IdempotencyKey,
    attempt: u32,
}

impl<M: Machine> fmt::Debug for ActionCtx<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionCtx")
            .field("key", &self.key)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl<M: Machine> ActionCtx<M> {
    /// The context of attempt `attempt` (1 for the first) of the action `key`.
    pub fn new(env: Arc<M::Env>, key: IdempotencyKey, attempt: u32) -> Self {
        Self { env, key, attempt }
    }

    /// The environment supplied at spawn (or to the repository).
    pub fn env(&self) -> &M::Env {
        &self.env
    }

    /// A shared handle to the environment.
    pub fn env_arc(&self) -> Arc<M::Env> {
        Arc::clone(&self.env)
    }

    /// The action's stable idempotency key.
    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }

    /// The actor whose event declared the action.
    pub fn id(&self) -> &ActorId {
        &self.key.actor_id
    }

    /// Which attempt this is: 1 for the first run, 2 for the first retry, ...
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

/// A declared durable action, its type erased.
trait ErasedDurable<M: Machine>: Send + Sync {
    fn name(&self) -> &'static str;
    fn data(&self) -> &dyn Any;
    fn debug(&self) -> &dyn fmt::Debug;
    fn into_declared(self: Box<Self>, key: IdempotencyKey) -> Declared<M>;
}

impl<M: Machine, A: DurableAction<M>> ErasedDurable<M> for A {
    fn name(&self) -> &'static str {
        A::NAME
    }

    fn data(&self) -> &dyn Any {
        self
    }

    fn debug(&self) -> &dyn fmt::Debug {
        self
    }

    fn into_declared(self: Box<Self>, key: IdempotencyKey) -> Declared<M> {
        Declared::new(A::NAME, move |ctx: Ctx<M>| {
            self.perform(ActionCtx::new(ctx.env_arc(), key, 1))
        })
    }
}

/// One durable action a step declared, not run yet: what a persistence layer stores with the
/// step's event (see [`Commit::intents`](crate::Commit::intents)).
pub struct Intent<M: Machine> {
    /// The index of the declaring event in its batch.
    pub(crate) step: usize,
    action: Box<dyn ErasedDurable<M>>,
}

impl<M: Machine> fmt::Debug for Intent<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Intent")
            .field("step", &self.step)
            .field("name", &self.name())
            .field("action", self.action.debug())
            .finish()
    }
}

impl<M: Machine> Intent<M> {
    pub(crate) fn new<A: DurableAction<M>>(step: usize, action: A) -> Self {
        Self {
            step,
            action: Box::new(action),
        }
    }

    /// The action's [`DurableAction::NAME`].
    pub fn name(&self) -> &'static str {
        self.action.name()
    }

    /// The index, in its batch, of the event that declared the action: the event becomes
    /// version `base_version + step + 1`.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The action's value, if it is an `A`.
    pub fn downcast_ref<A: DurableAction<M>>(&self) -> Option<&A> {
        self.action.data().downcast_ref::<A>()
    }

    /// The action as a plain one, run once with attempt 1 and `key` (how actors without a
    /// persistence layer run durable actions).
    pub(crate) fn into_declared(self, key: IdempotencyKey) -> Declared<M> {
        self.action.into_declared(key)
    }
}

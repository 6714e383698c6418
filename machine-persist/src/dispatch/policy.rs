//! [`DurablePolicy`]: how one durable action type is retried and compensated, and the typed
//! handler a registration becomes.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use machine_core::{ActionCtx, DurableAction, EffectError, Intent, Schedule, SerializedCause};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::{CodecError, SharedCodec};
use crate::error::ActionProblem;
use crate::Persistable;

/// The feedback of a dead-lettered action: the event fed back to its machine.
type OnFailed<M, A> =
    Arc<dyn Fn(A, &SerializedCause) -> <M as machine_core::Machine>::Event + Send + Sync>;

/// The retries of a durable action when none are configured: 0.5 s, 1 s, 2 s, ... (jittered),
/// at most 8 retries (9 attempts over about two minutes).
pub fn default_action_retry() -> Schedule {
    Schedule::exponential(Duration::from_millis(500))
        .jittered()
        .intersect(Schedule::recurs(8))
}

/// How a durable action type `A` of machine `M` is run: its retry [`Schedule`] and, optionally,
/// the event fed back to the machine when the retries run out. Registered with
/// [`PersistConfig::durable`](crate::PersistConfig::durable).
///
/// The schedule is stepped once per failed attempt: `Continue(d)` retries after `d`, `Skip`
/// and `Done` dead-letter the action. `Schedule::recurs(n)` allows `n` retries (`n + 1`
/// attempts).
///
/// ```
/// use std::time::Duration;
/// use machine_core::Schedule;
/// use machine_persist::dispatch::DurablePolicy;
/// # use machine_core::{ActionCtx, DurableAction, EffectError, Machine};
/// # #[derive(Debug, serde::Serialize, serde::Deserialize)] struct ChargeCard { order: String }
/// # impl<M: Machine> DurableAction<M> for ChargeCard {
/// #     const NAME: &'static str = "charge card";
/// #     async fn perform(self, _: ActionCtx<M>) -> Result<(), EffectError> { Ok(()) }
/// # }
/// # fn policy<M: machine_persist::Persistable>(refund: impl Fn(String) -> M::Event + Send + Sync + 'static) {
/// let policy = DurablePolicy::<M, ChargeCard>::new()
///     .retry(Schedule::exponential(Duration::from_secs(1)).jittered().intersect(Schedule::recurs(5)))
///     .on_failed(move |charge, cause| refund(format!("{}: {cause}", charge.order)));
/// # let _ = policy;
/// # }
/// ```
pub struct DurablePolicy<M: Persistable, A> {
    retry: Schedule,
    on_failed: Option<OnFailed<M, A>>,
}

impl<M: Persistable, A> Clone for DurablePolicy<M, A> {
    fn clone(&self) -> Self {
        Self {
            retry: self.retry.clone(),
            on_failed: self.on_failed.clone(),
        }
    }
}

impl<M: Persistable, A> fmt::Debug for DurablePolicy<M, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurablePolicy")
            .field("retry", &self.retry)
            .field("on_failed", &self.on_failed.is_some())
            .finish()
    }
}

impl<M: Persistable, A> Default for DurablePolicy<M, A> {
    fn default() -> Self {
        Self {
            retry: default_action_retry(),
            on_failed: None,
        }
    }
}

impl<M: Persistable, A> DurablePolicy<M, A> {
    /// The default policy: [`default_action_retry`], no feedback.
    pub fn new() -> Self {
        Self::default()
    }

    /// Retries failed attempts as `schedule` says.
    pub fn retry(mut self, schedule: Schedule) -> Self {
        self.retry = schedule;
        self
    }

    /// When the retries run out, feeds the event `on_failed` makes from the action and the
    /// last failure's cause back to the actor (restoring it if it is not running), so the
    /// machine can compensate.
    pub fn on_failed(
        mut self,
        on_failed: impl Fn(A, &SerializedCause) -> M::Event + Send + Sync + 'static,
    ) -> Self {
        self.on_failed = Some(Arc::new(on_failed));
        self
    }
}

/// One registered durable action type, its type erased.
pub(crate) trait ActionHandler<M: Persistable>: Send + Sync {
    /// The value of `intent`, encoded with `codec`.
    fn encode(&self, intent: &Intent<M>, codec: &SharedCodec<M>) -> Result<Vec<u8>, EncodeFailure>;
    /// One attempt: decodes `payload` and performs it.
    fn attempt(
        &self,
        codec: &SharedCodec<M>,
        payload: &[u8],
        ctx: ActionCtx<M>,
    ) -> BoxFuture<'static, Result<(), EffectError>>;
    /// The retry schedule.
    fn retry(&self) -> &Schedule;
    /// The feedback event for `payload` failing with `cause`, if the policy has one.
    fn on_failed(
        &self,
        codec: &SharedCodec<M>,
        payload: &[u8],
        cause: &SerializedCause,
    ) -> Option<Result<M::Event, CodecError>>;
}

/// Why an intent could not be encoded.
#[derive(Debug)]
pub(crate) enum EncodeFailure {
    /// The intent is not of the registered type.
    Problem(ActionProblem),
    /// The codec failed.
    Codec(CodecError),
}

/// The registered action types of one machine, by name.
pub(crate) type Handlers<M> = HashMap<&'static str, Arc<dyn ActionHandler<M>>>;

/// A registration of `A`.
pub(crate) struct Registered<M: Persistable, A> {
    pub(crate) policy: DurablePolicy<M, A>,
}

fn decode<M: Persistable, A: DeserializeOwned>(
    codec: &SharedCodec<M>,
    payload: &[u8],
) -> Result<A, CodecError> {
    let value = codec.decode_value(payload)?;
    serde_json::from_value(value).map_err(CodecError::new)
}

impl<M, A> ActionHandler<M> for Registered<M, A>
where
    M: Persistable,
    A: DurableAction<M> + Serialize + DeserializeOwned,
{
    fn encode(&self, intent: &Intent<M>, codec: &SharedCodec<M>) -> Result<Vec<u8>, EncodeFailure> {
        let action = intent
            .downcast_ref::<A>()
            .ok_or(EncodeFailure::Problem(ActionProblem::WrongType))?;
        let value = serde_json::to_value(action)
            .map_err(|error| EncodeFailure::Codec(CodecError::new(error)))?;
        codec.encode_value(&value).map_err(EncodeFailure::Codec)
    }

    fn attempt(
        &self,
        codec: &SharedCodec<M>,
        payload: &[u8],
        ctx: ActionCtx<M>,
    ) -> BoxFuture<'static, Result<(), EffectError>> {
        match decode::<M, A>(codec, payload) {
            Ok(action) => Box::pin(perform(action, ctx)),
            Err(error) => Box::pin(std::future::ready(Err(Box::new(error) as EffectError))),
        }
    }

    fn retry(&self) -> &Schedule {
        &self.policy.retry
    }

    fn on_failed(
        &self,
        codec: &SharedCodec<M>,
        payload: &[u8],
        cause: &SerializedCause,
    ) -> Option<Result<M::Event, CodecError>> {
        let on_failed = self.policy.on_failed.as_ref()?;
        Some(decode::<M, A>(codec, payload).map(|action| on_failed(action, cause)))
    }
}

/// `A::perform`, as a `'static` future.
fn perform<M: Persistable, A: DurableAction<M>>(
    action: A,
    ctx: ActionCtx<M>,
) -> impl Future<Output = Result<(), EffectError>> + Send + 'static {
    action.perform(ctx)
}

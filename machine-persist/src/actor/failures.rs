//! Failed effects of persistent actors, recorded in the store.
//!
//! The runtime reports every plain action, state task or background task that fails (an error
//! or a panic) to [`Durability::effect_failures`](machine_core::Durability::effect_failures);
//! for persistent actors that is a repository's [`FailureLog`], which stores each failure as a
//! [`FailedEffect`] row of the outbox, keyed by the actor, the version of the effect and its
//! name. Failures are rare: each one is a single insert on a task of its own, off the actor's
//! path, under the store's deadline; if it fails it is logged, never retried. Nothing is
//! written for an effect that succeeds.
//!
//! The timer service records a durable timer it could not fire (the actor could not be
//! activated) the same way, as the effect [`TIMEOUT`] at the actor's head version: the state
//! the timeout belongs to.

use std::sync::Arc;

use machine_core::{
    ActorId, EffectStatus, IdempotencyKey, Machine, Observer, Record, RecordKind, SerializedCause,
};

use crate::erased::ErasedStore;
use crate::store::FailedEffect;
use crate::StoreError;

/// The effect name of a durable timer that could not fire.
pub(crate) const TIMEOUT: &str = "timeout";

/// Stores the failed effects of one repository's actors.
pub(crate) struct FailureLog {
    store: Arc<dyn ErasedStore>,
    machine_type: Arc<str>,
}

impl FailureLog {
    pub(crate) fn new(store: Arc<dyn ErasedStore>, machine_type: Arc<str>) -> Self {
        Self {
            store,
            machine_type,
        }
    }

    /// Stores that `name`, of `actor` at `version`, failed with `cause`, on a task of its own.
    pub(crate) fn record(&self, actor: &ActorId, version: u64, name: &str, cause: SerializedCause) {
        let failure = self.failure(actor, version, name, cause);
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            if let Err(error) = store.record_failure(&failure).await {
                warn(&failure, &error);
            }
        });
    }

    /// Stores that the durable timer of `actor` could not fire, with `cause`, at the actor's
    /// head version (read first), on a task of its own.
    pub(crate) fn record_timeout(&self, actor: &ActorId, cause: SerializedCause) {
        let store = Arc::clone(&self.store);
        let mut failure = self.failure(actor, 0, TIMEOUT, cause);
        tokio::spawn(async move {
            let recorded = match store.get(&failure.key.actor_id).await {
                Ok(head) => {
                    failure.key.version = head.map_or(0, |metadata| metadata.version);
                    store.record_failure(&failure).await
                }
                Err(error) => Err(error),
            };
            if let Err(error) = recorded {
                warn(&failure, &error);
            }
        });
    }

    fn failure(
        &self,
        actor: &ActorId,
        version: u64,
        name: &str,
        cause: SerializedCause,
    ) -> FailedEffect {
        FailedEffect {
            key: IdempotencyKey::new(actor.clone(), version, name),
            machine_type: Arc::clone(&self.machine_type),
            cause,
        }
    }
}

/// Logs a failure that could not be recorded.
fn warn(failure: &FailedEffect, error: &StoreError) {
    tracing::warn!(actor = %failure.key.actor_id, version = failure.key.version, effect = %failure.key.action, cause = %failure.cause, %error, "could not record a failed effect");
}

impl<M: Machine> Observer<M> for FailureLog {
    fn record(&self, record: &Record<'_, M>) {
        let RecordKind::Effect {
            name,
            version,
            status,
            ..
        } = &record.kind
        else {
            return;
        };
        let cause = match status {
            EffectStatus::Failed(cause) => (*cause).clone(),
            EffectStatus::Panicked(message) => SerializedCause::panic(*message),
            EffectStatus::Started | EffectStatus::Succeeded => return,
        };
        FailureLog::record(self, record.actor, *version, name, cause);
    }
}

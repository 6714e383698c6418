//! What a projection implements: [`Projection`] for at-least-once delivery anywhere, and
//! [`TransactionalProjection`] for an exactly-once read model in the store's own database.

use std::future::Future;

use super::Envelope;
use crate::error::BoxError;

/// A read model fed at least once: after a crash, the events since the last saved checkpoint
/// are delivered again, so `handle` must be idempotent (an upsert keyed by actor and version, a
/// "set" rather than an "add"), or tolerate repeats.
///
/// ```
/// use std::collections::HashMap;
/// use machine_persist::projection::{Envelope, Projection};
///
/// /// The last event tag of every actor.
/// #[derive(Default)]
/// struct LastTag(HashMap<String, String>);
///
/// impl Projection for LastTag {
///     type Event = String;
///     type Error = std::convert::Infallible;
///
///     async fn handle(&mut self, event: &Envelope<String>) -> Result<(), Self::Error> {
///         self.0.insert(event.actor_id.to_string(), event.event.clone());
///         Ok(())
///     }
/// }
/// ```
pub trait Projection: Send + 'static {
    /// The event type the [`Subscription`](super::Subscription) decodes into.
    type Event: Send + Sync + 'static;
    /// The handler's error.
    type Error: Into<BoxError> + Send + 'static;

    /// Applies one event. An error is retried per the runner's schedule; when retries run out
    /// the projection stops with [`ProjectionError::Handler`](super::ProjectionError::Handler)
    /// naming this event.
    fn handle(
        &mut self,
        event: &Envelope<Self::Event>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Forgets everything, before a rebuild from the beginning of the stream. The default does
    /// nothing.
    fn reset(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// A read model in the store's own database, fed exactly once: each batch of events is applied
/// in one transaction that also moves the projection's checkpoint, so the read model and the
/// checkpoint commit together or not at all. After a crash nothing is applied twice and nothing
/// is lost.
///
/// `DB` is the store's sqlx database (`sqlx::Sqlite` or `sqlx::Postgres`); the handler gets the
/// open transaction and must write through it (anything written elsewhere is not covered).
pub trait TransactionalProjection<DB: sqlx::Database>: Send + 'static {
    /// The event type the [`Subscription`](super::Subscription) decodes into.
    type Event: Send + Sync + 'static;
    /// The handler's error.
    type Error: Into<BoxError> + Send + 'static;

    /// Applies one event inside `tx`. On an error the whole batch's transaction is rolled back
    /// and retried per the runner's schedule.
    fn handle<'t>(
        &'t mut self,
        tx: &'t mut sqlx::Transaction<'static, DB>,
        event: &'t Envelope<Self::Event>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 't;

    /// Empties the read model inside `tx`, before a rebuild; the checkpoint is deleted in the
    /// same transaction.
    fn reset<'t>(
        &'t mut self,
        tx: &'t mut sqlx::Transaction<'static, DB>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 't;
}

//! Exactly-once delivery into a read model in the store's own database.
//!
//! Each page is one transaction: the handler writes the read model through it, the checkpoint
//! is saved in it, and it commits. A crash before the commit leaves neither the read-model
//! update nor the checkpoint; after it, both. A handler error rolls the transaction back and
//! retries the whole page per the schedule. A store error whose outcome is unknown (the
//! connection lost during the commit) makes the runner reload the checkpoint: it says whether
//! the page committed.

use std::future::Future;
use std::time::Duration;

use futures::future::BoxFuture;
use machine_core::Schedule;
use sqlx::Transaction;

use super::retry::Attempts;
use super::runner::{Delivery, Failure};
use super::{
    Envelope, ProjectionError, ProjectionHandle, ProjectionRunner, TransactionalProjection,
};
use crate::sql::backend::SqlBackend;
use crate::sql::checkpoints;
use crate::store::GlobalPosition;
use crate::{Store, StoreError};

/// A store whose database a read model can share: it opens write transactions and saves
/// checkpoints inside them. Implemented by the SQL backends.
pub trait TransactionalStore: Store {
    /// The sqlx database.
    type Db: sqlx::Database;

    /// Opens a write transaction (on SQLite it takes the write lock up front, so the
    /// projection's batch queues with the journal writer's).
    fn begin_write(&self) -> BoxFuture<'_, Result<Transaction<'static, Self::Db>, StoreError>>;

    /// Saves the checkpoint of `name` inside `tx`.
    fn save_checkpoint_in<'t>(
        tx: &'t mut Transaction<'static, Self::Db>,
        name: &'t str,
        at: GlobalPosition,
    ) -> BoxFuture<'t, Result<(), StoreError>>;

    /// Deletes the checkpoint of `name` inside `tx`.
    fn delete_checkpoint_in<'t>(
        tx: &'t mut Transaction<'static, Self::Db>,
        name: &'t str,
    ) -> BoxFuture<'t, Result<(), StoreError>>;

    /// The bound on one transaction of a projection (the store's operation deadline).
    fn transaction_deadline(&self) -> Duration;
}

impl<B: SqlBackend + Clone + 'static> TransactionalStore for B
where
    B: Store,
{
    type Db = B::Db;

    fn begin_write(&self) -> BoxFuture<'_, Result<Transaction<'static, Self::Db>, StoreError>> {
        Box::pin(
            async move { Ok(<B::Db as crate::sql::Dialect>::begin_write(self.writer()).await?) },
        )
    }

    fn save_checkpoint_in<'t>(
        tx: &'t mut Transaction<'static, Self::Db>,
        name: &'t str,
        at: GlobalPosition,
    ) -> BoxFuture<'t, Result<(), StoreError>> {
        Box::pin(checkpoints::save_in(tx, name, at))
    }

    fn delete_checkpoint_in<'t>(
        tx: &'t mut Transaction<'static, Self::Db>,
        name: &'t str,
    ) -> BoxFuture<'t, Result<(), StoreError>> {
        Box::pin(checkpoints::delete_in(tx, name))
    }

    fn transaction_deadline(&self) -> Duration {
        self.deadline().0
    }
}

/// The exactly-once [`Delivery`] of a [`TransactionalProjection`].
pub(super) struct ExactlyOnce<S, P> {
    store: S,
    name: String,
    projection: P,
    retry: Schedule,
    /// Covered by pages without events, not yet saved.
    unsaved: Option<GlobalPosition>,
}

/// Why one attempt at a page failed.
enum Attempt {
    Store(StoreError),
    Handler {
        index: usize,
        error: crate::error::BoxError,
    },
}

impl<S, P> ExactlyOnce<S, P>
where
    S: TransactionalStore,
    P: TransactionalProjection<S::Db>,
{
    async fn attempt(
        &mut self,
        events: &[Envelope<P::Event>],
        through: GlobalPosition,
    ) -> Result<(), Attempt> {
        let mut tx = self.store.begin_write().await.map_err(Attempt::Store)?;
        for (index, event) in events.iter().enumerate() {
            if let Err(error) = self.projection.handle(&mut tx, event).await {
                // Dropping the transaction rolls it back.
                return Err(Attempt::Handler {
                    index,
                    error: error.into(),
                });
            }
        }
        S::save_checkpoint_in(&mut tx, &self.name, through)
            .await
            .map_err(Attempt::Store)?;
        tx.commit()
            .await
            .map_err(|error| Attempt::Store(error.into()))?;
        Ok(())
    }
}

/// `work` under `deadline`, or a transient timeout.
async fn bounded<T>(
    deadline: Duration,
    work: impl Future<Output = Result<T, Attempt>>,
) -> Result<T, Attempt> {
    match tokio::time::timeout(deadline, work).await {
        Ok(result) => result,
        Err(_) => Err(Attempt::Store(StoreError::Timeout {
            operation: "projection transaction",
            after: deadline,
        })),
    }
}

impl<S, P> Delivery<P::Event> for ExactlyOnce<S, P>
where
    S: TransactionalStore,
    P: TransactionalProjection<S::Db>,
{
    async fn reset(&mut self) -> Result<(), Failure> {
        let deadline = self.store.transaction_deadline();
        let reset = async {
            let mut tx = self.store.begin_write().await.map_err(Attempt::Store)?;
            self.projection
                .reset(&mut tx)
                .await
                .map_err(|error| Attempt::Handler {
                    index: 0,
                    error: error.into(),
                })?;
            S::delete_checkpoint_in(&mut tx, &self.name)
                .await
                .map_err(Attempt::Store)?;
            tx.commit()
                .await
                .map_err(|error| Attempt::Store(error.into()))
        };
        match bounded(deadline, reset).await {
            Ok(()) => Ok(()),
            Err(Attempt::Store(error)) => Err(Failure::store(&self.name, error)),
            Err(Attempt::Handler { error, .. }) => Err(Failure::Fatal(ProjectionError::Reset {
                projection: self.name.clone(),
                source: error,
            })),
        }
    }

    async fn deliver(
        &mut self,
        events: &[Envelope<P::Event>],
        through: GlobalPosition,
    ) -> Result<Option<GlobalPosition>, Failure> {
        if events.is_empty() {
            self.unsaved = Some(through);
            return Ok(None);
        }
        let mut attempts = Attempts::new(&self.retry);
        let deadline = self.store.transaction_deadline();
        loop {
            match bounded(deadline, self.attempt(events, through)).await {
                Ok(()) => {
                    self.unsaved = None;
                    return Ok(Some(through));
                }
                Err(Attempt::Store(error)) => return Err(Failure::store(&self.name, error)),
                Err(Attempt::Handler { index, error }) => {
                    let event = &events[index.min(events.len() - 1)];
                    tracing::warn!(projection = %self.name, actor_id = %event.actor_id,
                        version = event.version, %error, "projection handler failed");
                    if !attempts.failed().await {
                        return Err(Failure::Fatal(ProjectionError::Handler {
                            projection: self.name.clone(),
                            actor_id: event.actor_id.clone(),
                            version: event.version,
                            position: event.position,
                            attempts: attempts.made,
                            source: error,
                        }));
                    }
                }
            }
        }
    }

    async fn flush(&mut self) -> Result<Option<GlobalPosition>, Failure> {
        let Some(at) = self.unsaved else {
            return Ok(None);
        };
        // Only pages without events are unsaved: there is no read-model update to join.
        self.store
            .save_checkpoint(&self.name, at)
            .await
            .map_err(|error| Failure::store(&self.name, error))?;
        self.unsaved = None;
        Ok(Some(at))
    }

    fn forget_unsaved(&mut self) {
        self.unsaved = None;
    }
}

impl<S, E> ProjectionRunner<S, E>
where
    S: TransactionalStore,
    E: Send + Sync + 'static,
{
    /// Runs `projection` exactly once, live, until stopped or failed: each page commits the
    /// read-model update and the checkpoint in one transaction.
    pub fn spawn_exactly_once<P>(self, projection: P) -> ProjectionHandle
    where
        P: TransactionalProjection<S::Db, Event = E>,
    {
        let this = self.named();
        let delivery = this.exactly_once(projection);
        this.spawn_with(delivery, true)
    }

    /// Runs `projection` exactly once until it has caught up with the stream, and returns its
    /// status.
    pub async fn catch_up_exactly_once<P>(
        self,
        projection: P,
    ) -> Result<super::ProjectionStatus, ProjectionError>
    where
        P: TransactionalProjection<S::Db, Event = E>,
    {
        let this = self.named();
        let delivery = this.exactly_once(projection);
        this.run_once(delivery).await
    }

    fn exactly_once<P>(&self, projection: P) -> ExactlyOnce<S, P> {
        ExactlyOnce {
            store: self.store.clone(),
            name: self.name.clone(),
            projection,
            retry: self.settings.retry.clone(),
            unsaved: None,
        }
    }
}

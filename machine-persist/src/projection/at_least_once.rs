//! At-least-once delivery: handle each event, save the checkpoint every N events or T time.
//!
//! The checkpoint is saved after the events it covers were handled, never before, so a crash
//! can only cause redelivery of what came after the last save, never a loss.
//!
//! A save is a durable write; the loop does not wait for it. It runs in the background while the
//! next page is handled, and the next save (or the flush at the end) first waits for it, so
//! saves land in order, at most one is in flight, and a failed one is reported (and the loop
//! goes back to the stored checkpoint) one page later. A crash in between redelivers from the
//! last save that landed, as always.

use std::time::Duration;

use machine_core::Schedule;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::retry::Attempts;
use super::runner::{Delivery, Failure, Settings};
use super::{Envelope, Projection, ProjectionError};
use crate::store::{CheckpointStore, GlobalPosition};
use crate::StoreError;

/// A checkpoint save in flight: the position it saves, and the write.
type Saving = (GlobalPosition, JoinHandle<Result<(), StoreError>>);

/// The at-least-once [`Delivery`] of a [`Projection`].
pub(super) struct AtLeastOnce<S, P> {
    store: S,
    name: String,
    projection: P,
    retry: Schedule,
    every_events: u64,
    every: Duration,
    /// Handled since the last save.
    unsaved_events: u64,
    /// Covered but not yet saved.
    unsaved: Option<GlobalPosition>,
    last_save: Instant,
    saving: Option<Saving>,
}

impl<S: CheckpointStore + Clone + 'static, P: Projection> AtLeastOnce<S, P> {
    pub(super) fn new(store: S, name: String, projection: P, settings: &Settings) -> Self {
        Self {
            store,
            name,
            projection,
            retry: settings.retry.clone(),
            every_events: settings.checkpoint_events,
            every: settings.checkpoint_interval,
            unsaved_events: 0,
            unsaved: None,
            last_save: Instant::now(),
            saving: None,
        }
    }

    /// Waits for the save in flight, if any: the checkpoint it saved.
    async fn landed(&mut self) -> Result<Option<GlobalPosition>, Failure> {
        let Some((at, write)) = self.saving.take() else {
            return Ok(None);
        };
        let saved = write.await.unwrap_or_else(|ended| {
            Err(StoreError::Contract(format!(
                "a checkpoint save ended without an answer: {ended}"
            )))
        });
        saved.map_err(|error| Failure::store(&self.name, error))?;
        Ok(Some(at))
    }

    /// Starts saving what was delivered, once the save before it landed; the checkpoint that
    /// landed meanwhile, if any.
    async fn save(&mut self) -> Result<Option<GlobalPosition>, Failure> {
        let landed = self.landed().await?;
        let Some(at) = self.unsaved.take() else {
            return Ok(landed);
        };
        let (store, name) = (self.store.clone(), self.name.clone());
        let write = tokio::spawn(async move { store.save_checkpoint(&name, at).await });
        self.saving = Some((at, write));
        self.unsaved_events = 0;
        self.last_save = Instant::now();
        Ok(landed)
    }

    /// Handles one event, retrying per the schedule.
    async fn handle(&mut self, event: &Envelope<P::Event>) -> Result<(), ProjectionError> {
        let mut attempts = Attempts::new(&self.retry);
        loop {
            match self.projection.handle(event).await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    let error = error.into();
                    tracing::warn!(projection = %self.name, actor_id = %event.actor_id,
                        version = event.version, %error, "projection handler failed");
                    if !attempts.failed().await {
                        return Err(ProjectionError::Handler {
                            projection: self.name.clone(),
                            actor_id: event.actor_id.clone(),
                            version: event.version,
                            position: event.position,
                            attempts: attempts.made,
                            source: error,
                        });
                    }
                }
            }
        }
    }
}

impl<S: CheckpointStore + Clone + 'static, P: Projection> Delivery<P::Event> for AtLeastOnce<S, P> {
    async fn reset(&mut self) -> Result<(), Failure> {
        self.projection.reset().await.map_err(|error| {
            Failure::Fatal(ProjectionError::Reset {
                projection: self.name.clone(),
                source: error.into(),
            })
        })?;
        self.store
            .delete_checkpoint(&self.name)
            .await
            .map_err(|error| Failure::store(&self.name, error))?;
        Ok(())
    }

    async fn deliver(
        &mut self,
        events: &[Envelope<P::Event>],
        through: GlobalPosition,
    ) -> Result<Option<GlobalPosition>, Failure> {
        for event in events {
            if let Err(error) = self.handle(event).await {
                // Keep what was handled: the restart resumes at the failed event.
                if let Some(previous) = events
                    .iter()
                    .take_while(|done| done.position < event.position)
                    .last()
                {
                    self.unsaved = Some(previous.position);
                }
                return Err(Failure::Fatal(error));
            }
            self.unsaved_events += 1;
        }
        self.unsaved = Some(through);
        if self.unsaved_events >= self.every_events || self.last_save.elapsed() >= self.every {
            return self.save().await;
        }
        Ok(None)
    }

    async fn flush(&mut self) -> Result<Option<GlobalPosition>, Failure> {
        let landed = self.save().await?;
        Ok(self.landed().await?.or(landed))
    }

    fn forget_unsaved(&mut self) {
        self.unsaved = None;
        self.unsaved_events = 0;
        // A save still in flight may land or not: the loop reloads whichever checkpoint is
        // stored, and every position saved covers only events that were handled.
        if let Some((_, write)) = self.saving.take() {
            write.abort();
        }
    }
}

impl<S, P> Drop for AtLeastOnce<S, P> {
    fn drop(&mut self) {
        // A projection that ends without a flush (its task aborted) leaves no save behind it.
        if let Some((_, write)) = self.saving.take() {
            write.abort();
        }
    }
}

//! At-least-once delivery: handle each event, save the checkpoint every N events or T time.
//!
//! The checkpoint is saved after the events it covers were handled, never before, so a crash
//! can only cause redelivery of what came after the last save, never a loss.

use std::time::Duration;

use machine_core::Schedule;
use tokio::time::Instant;

use super::retry::Attempts;
use super::runner::{Delivery, Failure, Settings};
use super::{Envelope, Projection, ProjectionError};
use crate::store::{CheckpointStore, GlobalPosition};

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
}

impl<S: CheckpointStore, P: Projection> AtLeastOnce<S, P> {
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
        }
    }

    async fn save(&mut self) -> Result<Option<GlobalPosition>, Failure> {
        let Some(at) = self.unsaved else {
            return Ok(None);
        };
        self.store
            .save_checkpoint(&self.name, at)
            .await
            .map_err(|error| Failure::store(&self.name, error))?;
        self.unsaved = None;
        self.unsaved_events = 0;
        self.last_save = Instant::now();
        Ok(Some(at))
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

impl<S: CheckpointStore, P: Projection> Delivery<P::Event> for AtLeastOnce<S, P> {
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
        self.save().await
    }

    fn forget_unsaved(&mut self) {
        self.unsaved = None;
        self.unsaved_events = 0;
    }
}

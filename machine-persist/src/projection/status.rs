//! [`ProjectionStatus`] and the [`ProjectionHandle`] of a running projection.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::ProjectionError;
use crate::store::GlobalPosition;
use crate::StoreError;

/// What a projection is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Loading its checkpoint (and resetting, for a rebuild).
    Starting,
    /// Reading full pages: behind the head.
    CatchingUp,
    /// Caught up with the stream, waiting for new commits.
    Live,
    /// Stopped on request, or caught up in a one-off catch-up run.
    Stopped,
    /// Stopped by an error ([`ProjectionHandle::join`] returns it).
    Failed,
}

/// Where a projection stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectionStatus {
    /// The projection's name (its checkpoint's key).
    pub name: String,
    /// What it is doing.
    pub phase: Phase,
    /// The last checkpoint it saved (where a restart resumes), if any.
    pub checkpoint: Option<GlobalPosition>,
    /// Every subscribed event at or before it has been handled.
    pub processed: GlobalPosition,
    /// The stream's head (the last event readers can see), when asked through
    /// [`ProjectionHandle::status`]; the runner's own view leaves it at `processed`.
    pub head: GlobalPosition,
    /// Events handled since the projection started.
    pub handled: u64,
    /// From commit to handler, for the last event handled.
    pub lag: Duration,
}

impl ProjectionStatus {
    pub(super) fn starting(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            phase: Phase::Starting,
            checkpoint: None,
            processed: GlobalPosition::START,
            head: GlobalPosition::START,
            handled: 0,
            lag: Duration::ZERO,
        }
    }

    /// Whether everything up to the head is handled.
    pub fn caught_up(&self) -> bool {
        self.processed >= self.head
    }
}

/// Reads the store's stream head, for a fresh [`ProjectionStatus::head`].
pub(super) type HeadProbe =
    Arc<dyn Fn() -> BoxFuture<'static, Result<GlobalPosition, StoreError>> + Send + Sync>;

/// A running projection: its status, and how to stop it or learn why it stopped.
///
/// Dropping the handle leaves the projection running until the runtime shuts down; call
/// [`stop`](Self::stop) to end it with its checkpoint saved.
pub struct ProjectionHandle {
    pub(super) name: String,
    pub(super) status: watch::Receiver<ProjectionStatus>,
    pub(super) stop: watch::Sender<bool>,
    pub(super) task: JoinHandle<Result<(), ProjectionError>>,
    pub(super) head: HeadProbe,
}

impl std::fmt::Debug for ProjectionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectionHandle")
            .field("name", &self.name)
            .field("status", &*self.status.borrow())
            .finish_non_exhaustive()
    }
}

impl ProjectionHandle {
    /// The projection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The status, with the stream's head read from the store now (so [`lag`] and
    /// [`ProjectionStatus::caught_up`] compare against the present).
    ///
    /// [`lag`]: ProjectionStatus::lag
    pub async fn status(&self) -> Result<ProjectionStatus, StoreError> {
        let head = (self.head)().await?;
        let mut status = self.status.borrow().clone();
        status.head = head;
        Ok(status)
    }

    /// Waits until everything at or before `at` is handled; `false` if the projection ended
    /// first (then [`join`](Self::join) says why).
    pub async fn wait_for(&mut self, at: GlobalPosition) -> bool {
        let reached = self
            .status
            .wait_for(|status| {
                status.processed >= at || matches!(status.phase, Phase::Stopped | Phase::Failed)
            })
            .await
            .map(|status| status.processed >= at);
        reached.unwrap_or(false)
    }

    /// Stops the projection after the batch in hand, saves its checkpoint, and returns how it
    /// ended.
    pub async fn stop(self) -> Result<(), ProjectionError> {
        let _ = self.stop.send(true);
        join(&self.name, self.task).await
    }

    /// Waits until the projection ends on its own: an error, or the end of a catch-up run.
    pub async fn join(self) -> Result<(), ProjectionError> {
        join(&self.name, self.task).await
    }
}

async fn join(
    name: &str,
    task: JoinHandle<Result<(), ProjectionError>>,
) -> Result<(), ProjectionError> {
    match task.await {
        Ok(result) => result,
        Err(error) => Err(ProjectionError::Aborted {
            projection: name.to_owned(),
            reason: error.to_string(),
        }),
    }
}

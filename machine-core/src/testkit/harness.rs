//! Real actors on a paused clock.

use std::sync::Arc;
use std::time::Duration;

use crate::actor::{ActorRef, ActorSystem, SpawnError, SpawnOptions};
use crate::model::Machine;

/// Runs real actors for tests, with tokio's clock under the test's control.
///
/// Use it in a test started with a paused clock, then move time with
/// [`advance`](Harness::advance): timeouts fire, tasks run, nothing really waits.
///
/// ```
/// # use machine_core::testkit::Harness;
/// # use std::time::Duration;
/// #[tokio::test(start_paused = true)]
/// async fn order_is_cancelled_after_72_hours() {
///     let harness = Harness::new();
///     // let order = harness.spawn("o-1", Order::new("o-1"), ()).unwrap();
///     harness.advance(Duration::from_secs(72 * 3600)).await;
///     // assert!(order.matches(OrderTag::Cancelled).await.unwrap());
///     harness.shutdown().await;
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Harness {
    system: ActorSystem,
}

impl Harness {
    /// A harness with an empty actor system.
    pub fn new() -> Self {
        Self::default()
    }

    /// The actor system the harness runs.
    pub fn system(&self) -> &ActorSystem {
        &self.system
    }

    /// Spawns an in-memory actor.
    pub fn spawn<M: Machine>(
        &self,
        id: &str,
        state: M,
        env: impl Into<Arc<M::Env>>,
    ) -> Result<ActorRef<M>, SpawnError> {
        self.system.spawn(id, state, env)
    }

    /// Spawns an in-memory actor with options (an observer, say).
    pub fn spawn_with<M: Machine>(
        &self,
        id: &str,
        state: M,
        env: impl Into<Arc<M::Env>>,
        options: SpawnOptions<M>,
    ) -> Result<ActorRef<M>, SpawnError> {
        self.system.spawn_with(id, state, env, options)
    }

    /// Moves the paused clock forward by `duration` and lets every woken task run.
    ///
    /// # Panics
    ///
    /// If the clock is not paused (start the test with `start_paused = true`).
    pub async fn advance(&self, duration: Duration) {
        tokio::time::advance(duration).await;
        self.settle().await;
    }

    /// Lets every ready task run until the runtime has nothing left to do right now.
    pub async fn settle(&self) {
        // Each yield lets the actors and their effect tasks make one step; effects that send
        // events and actors that process them need a few rounds.
        for _ in 0..64 {
            tokio::task::yield_now().await;
        }
    }

    /// Shuts the system down and waits for every actor.
    pub async fn shutdown(&self) {
        self.system.shutdown().await;
    }
}

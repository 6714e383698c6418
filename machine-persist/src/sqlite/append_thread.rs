//! The thread SQLite appends are driven from.
//!
//! An append is a handful of statements, each a round trip to its connection's worker thread.
//! When the worker answers, the append's task is woken and must be polled again before it can
//! send the next statement. On a runtime busy with many actors, that task waits in the run queue
//! behind every task woken before it: measured with 1,000 actors, half a millisecond per
//! statement, most of an append's time, while the single writer connection sits idle.
//!
//! Appends are therefore driven from a runtime of their own, on one thread that does nothing
//! else, shared by every SQLite store of the process: the worker's answers wake it at once, and
//! the caller waits for one hand-over per batch instead of one per statement. The database work
//! itself stays on the connection's worker thread. Should that runtime not start (the thread
//! cannot be spawned), appends run on the caller's runtime as before.
//!
//! Cancelling the caller (a deadline) aborts the append's task at its next await, which drops
//! its transaction unfinished. An abort that comes while the task is being polled takes effect
//! after that poll, which may already have sent the commit: a timed-out append may have
//! committed, as it may when a deadline strikes during the commit of an append driven in place.
//! The journal writer's request ids make its retry of such a batch safe.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle};
use tokio::task::AbortHandle;
use tracing::Instrument;

use crate::StoreError;

/// The appends' runtime, started on first use (`None`: it could not be started).
static RUNTIME: OnceLock<Option<Handle>> = OnceLock::new();

/// The handle of the appends' runtime, starting it on first use.
fn runtime() -> Option<&'static Handle> {
    RUNTIME.get_or_init(start).as_ref()
}

/// Starts the appends' thread, which builds its runtime and hands its handle back: a runtime
/// is never dropped on the caller's thread, where dropping one is refused.
fn start() -> Option<Handle> {
    let (hand_over, handed) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("machine-sqlite-appends".into())
        .spawn(move || match Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => {
                let _ = hand_over.send(Some(runtime.handle().clone()));
                runtime.block_on(std::future::pending::<()>());
            }
            Err(error) => {
                tracing::warn!(%error, "the SQLite append runtime did not start; appends run on the caller's runtime");
                let _ = hand_over.send(None);
            }
        });
    match thread {
        // Waits once per process, for the thread to build its runtime.
        Ok(_) => handed.recv().ok().flatten(),
        Err(error) => {
            tracing::warn!(%error, "the SQLite append thread did not start; appends run on the caller's runtime");
            None
        }
    }
}

/// Aborts a task when its caller stops waiting for it.
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `work` on the appends' runtime and waits for its result.
pub(super) async fn drive<T: Send + 'static>(
    work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
) -> Result<T, StoreError> {
    let Some(runtime) = runtime() else {
        return work.await;
    };
    // The append's logs keep the caller's span.
    let task = runtime.spawn(work.in_current_span());
    let _abort = AbortOnDrop(task.abort_handle());
    task.await.map_err(|error| StoreError::Backend {
        transient: false,
        source: format!("the append task ended without a result: {error}").into(),
    })?
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn work_runs_on_the_append_thread_and_its_result_comes_back() {
        let name = drive(async { Ok(std::thread::current().name().map(str::to_owned)) })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("machine-sqlite-appends"));
        let failed = drive::<()>(async { Err(StoreError::Contract("refused".into())) }).await;
        assert!(matches!(failed, Err(StoreError::Contract(_))));
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_cancels_the_work() {
        let (dropped, was_dropped) = tokio::sync::oneshot::channel::<()>();
        let work = async move {
            let _dropped = dropped;
            std::future::pending::<()>().await;
            Ok(())
        };
        let waited = tokio::time::timeout(Duration::from_millis(20), drive(work)).await;
        assert!(waited.is_err());
        // The work was dropped, and with it the sender.
        let dropped = tokio::time::timeout(Duration::from_secs(5), was_dropped).await;
        assert!(matches!(dropped, Ok(Err(_))), "the work still runs");
    }
}

//! The periodic cleanup of one repository, and its restore on start: background work a
//! [`PersistConfig`](crate::PersistConfig) asks for when the repository is made.
//!
//! The cleanup runs a sweep on every recurrence of its `Schedule`: it pages through the
//! registry rows of the repository's machine type whose last activity is older than the
//! maximum state age and deletes each actor that is not in memory (an active actor is not
//! stale, whatever its row says). Every failure is reported to `on_error` and the sweep goes
//! on with the next actor.

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::Utc;
use machine_core::{ActorId, Decision};
use tokio::sync::watch;

use super::repository::{Repository, Shared};
use crate::{ActorFilter, CatalogQuery, Persistable};

/// Registry rows read per page of a sweep.
const PAGE: usize = 500;
/// How long a sweep waits when its schedule skips a recurrence.
const SKIPPED: Duration = Duration::from_secs(1);

/// Starts the periodic cleanup of `shared`'s repository, if it is configured.
pub(crate) fn spawn_cleanup<M: Persistable>(
    shared: &Arc<Shared<M>>,
    closing: watch::Receiver<bool>,
) {
    let (Some(schedule), Some(_)) = (&shared.config.cleanup, shared.config.max_state_age) else {
        return;
    };
    let driver = schedule.driver(std::time::Instant::now());
    tokio::spawn(run(Arc::downgrade(shared), driver, closing));
}

async fn run<M: Persistable>(
    weak: Weak<Shared<M>>,
    mut driver: machine_core::Driver,
    mut closing: watch::Receiver<bool>,
) {
    loop {
        let wait = match driver.next(std::time::Instant::now(), 0) {
            Decision::Continue(delay) => Some(delay),
            Decision::Skip => None,
            Decision::Done => return,
        };
        tokio::select! {
            () = tokio::time::sleep(wait.unwrap_or(SKIPPED)) => {}
            _ = closing.changed() => return,
        }
        if *closing.borrow() {
            return;
        }
        if wait.is_none() {
            continue;
        }
        let Some(shared) = weak.upgrade() else {
            return;
        };
        sweep(&shared).await;
    }
}

/// Deletes the stored actors not in memory whose last activity is older than the maximum
/// state age; returns how many it deleted.
pub(crate) async fn sweep<M: Persistable>(shared: &Shared<M>) -> usize {
    let Some(max_age) = shared.config.max_state_age else {
        return 0;
    };
    let Ok(max_age) = chrono::Duration::from_std(max_age) else {
        return 0;
    };
    let before = Utc::now() - max_age;
    let mut after: Option<ActorId> = None;
    let mut deleted = 0;
    loop {
        let mut query = CatalogQuery::new()
            .machine_type(shared.config.machine_type.as_ref())
            .updated_before(before)
            .limit(PAGE);
        query.after = after.take();
        // Only this repository's keys: another namespace's actors are not its to delete.
        let keyed = match shared.list_keys(&query).await {
            Ok(keyed) => keyed,
            Err(error) => {
                tracing::warn!(machine = %shared.config.machine_type, %error, "cleanup failed");
                return deleted;
            }
        };
        for (key, error) in &keyed.unreadable {
            shared.config.report(key, error);
        }
        for meta in keyed.rows {
            if shared.incarnations.get(&meta.actor_id).is_some() {
                continue;
            }
            match shared.runtime.store.delete_actor(&meta.actor_id).await {
                Ok(true) => deleted += 1,
                Ok(false) => {}
                Err(error) => shared.config.report(&meta.actor_id, &error.into()),
            }
        }
        if !keyed.more {
            return deleted;
        }
        after = keyed.last;
    }
}

/// Restores the stored actors `filter` selects in the background, reporting each failure.
pub(crate) fn spawn_restore_on_start<M: Persistable>(
    repository: &Repository<M>,
    filter: ActorFilter<M>,
) {
    let repository = repository.clone();
    tokio::spawn(async move {
        match repository.restore_all(filter).await {
            Ok(report) => {
                for (id, error) in &report.failed {
                    repository.shared().config.report_as(id, error);
                }
            }
            Err(error) => {
                tracing::warn!(machine = %repository.machine_type(), %error, "restore on start failed");
            }
        }
    });
}

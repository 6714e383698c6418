//! The timer service of one repository: activates stored actors whose state timeout is due.
//!
//! One task per repository (see [`crate::timers`] for the model). Each round it
//!
//! 1. polls the registry, when the poll is due, for the timers due within the lookahead (twice
//!    the poll interval) after its cursor, page by page, and arms those of actors not in memory;
//! 2. activates the actors of the armed timers that are due, a few at a time (their restored
//!    runtime fires the overdue timeout at once), reporting failures to `on_error` and
//!    recording them as failed effects of the actor (see [`super::failures`]);
//! 3. sleeps until the next poll or the soonest armed timer, or until an actor that left memory
//!    arms a sooner one, or the system shuts down.
//!
//! On a cluster node the service arms and fires only the timers of actors whose shard the node
//! holds; when the node takes shards over it reads the store's timers again from the start, so
//! the timers of a dead node's actors fire on their new owner.
//!
//! The first poll runs as the repository is made, so a timer that came due while the process
//! was down fires promptly on start. The cursor only moves forward: a timer is armed once per
//! process from the store, however many polls see it, and an actor's own commits move its row.

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use machine_core::{ActorId, SerializedCause};
use tokio::sync::watch;
use tokio::time::Instant;

use super::repository::Shared;
use crate::timers::Timers;
use crate::{PersistError, Persistable, StoreError, TimerQuery};

/// Rows read per page of a poll.
const PAGE: usize = 1_000;
/// The most timers armed at once: a poll leaves the rest for the next one.
const MAX_ARMED: usize = 50_000;
/// Activations run at once.
const CONCURRENT_ACTIVATIONS: usize = 16;

/// Where the polls of one service have got to: the last timer read, in (due, id) order.
type Cursor = Option<(DateTime<Utc>, ActorId)>;

/// Starts the timer service of `shared`'s repository. It ends when the system shuts down or
/// nothing holds the repository any more.
pub(crate) fn spawn<M: Persistable>(shared: &Arc<Shared<M>>, closing: watch::Receiver<bool>) {
    let weak = Arc::downgrade(shared);
    let timers = Arc::clone(&shared.timers);
    let interval = shared.config.timer_poll;
    tokio::spawn(run(weak, timers, interval, closing));
}

async fn run<M: Persistable>(
    weak: Weak<Shared<M>>,
    timers: Arc<Timers>,
    interval: Duration,
    mut closing: watch::Receiver<bool>,
) {
    let mut cursor: Cursor = None;
    let mut next_poll = Instant::now();
    loop {
        if *closing.borrow() {
            return;
        }
        if timers.take_rescan() {
            cursor = None;
            next_poll = Instant::now();
        }
        let wake_at = {
            let Some(shared) = weak.upgrade() else {
                return;
            };
            if Instant::now() >= next_poll {
                poll(&shared, &mut cursor, timers.clock.lookahead_end(interval)).await;
                next_poll = Instant::now() + interval;
            }
            if fire_due(&shared).await {
                // More are due: go on without sleeping.
                continue;
            }
            let soonest = timers.lock().next();
            soonest.map_or(next_poll, |at| at.min(next_poll))
        };
        tokio::select! {
            () = tokio::time::sleep_until(wake_at) => {}
            () = timers.changed.notified() => {}
            _ = closing.changed() => return,
        }
    }
}

/// Reads the timers due within `lookahead` after the cursor and arms those of actors that are
/// not in memory.
async fn poll<M: Persistable>(shared: &Arc<Shared<M>>, cursor: &mut Cursor, until: DateTime<Utc>) {
    loop {
        let mut query = TimerQuery::new(shared.config.machine_type.as_ref(), until).limit(PAGE);
        if let Some((due, id)) = cursor.as_ref() {
            query = query.after(*due, id.clone());
        }
        let rows = match shared.runtime.store.due_timers(&query).await {
            Ok(rows) => rows,
            Err(error) => {
                // The store is unreachable: the next poll tries again from the same cursor.
                tracing::warn!(machine = %shared.config.machine_type, %error, "timer poll failed");
                return;
            }
        };
        let full = rows.len() == PAGE;
        let mut advanced = false;
        for row in rows {
            match row {
                Ok(timer) => {
                    *cursor = Some((timer.due, timer.actor_id.clone()));
                    advanced = true;
                    // Another namespace's timer is its own repository's to fire. On a cluster
                    // node, only the owner's service fires a timer; the node that takes a
                    // shard over reads the timers again (see `Timers::rescan`).
                    if shared.config.key.from_key(&timer.actor_id).is_some()
                        && shared.incarnations.get(&timer.actor_id).is_none()
                        && shared.runtime.fence(&timer.actor_id).is_ok()
                    {
                        let at = shared.timers.clock.instant_of(timer.due);
                        shared.timers.arm(timer.actor_id, at);
                    }
                }
                Err(error) => report_row(shared, error),
            }
        }
        if !full || !advanced || shared.timers.lock().len() >= MAX_ARMED {
            return;
        }
    }
}

fn report_row<M: Persistable>(shared: &Shared<M>, error: StoreError) {
    let id = error
        .actor_id()
        .cloned()
        .unwrap_or_else(|| ActorId::from(""));
    shared.config.report(&id, &PersistError::from(error));
}

/// Activates the actors whose armed timers are due, a few at a time; returns whether more are
/// due already.
async fn fire_due<M: Persistable>(shared: &Arc<Shared<M>>) -> bool {
    let batch = CONCURRENT_ACTIVATIONS * 4;
    let due = shared.timers.lock().take_due(Instant::now(), batch);
    let more = due.len() == batch;
    futures::stream::iter(due)
        .for_each_concurrent(CONCURRENT_ACTIVATIONS, |id| async move {
            if shared.runtime.fence(&id).is_err() {
                // The shard moved since the timer was armed: its new owner fires it.
                return;
            }
            match shared.activate(&id).await {
                // A shutdown refuses activations; nothing went wrong with the actor.
                Err(_) if shared.runtime.actors.is_shutting_down() => {}
                Err(error) => {
                    shared.config.report(&id, &error);
                    shared
                        .failures
                        .record_timeout(&id, SerializedCause::of_typed(&error));
                }
                Ok(_) => {}
            }
        })
        .await;
    more
}

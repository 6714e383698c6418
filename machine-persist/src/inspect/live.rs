//! Live updates: new events as server-sent events.
//!
//! Each subscriber follows the global event stream of the machine types it watches with a
//! [`JournalTail`] (one per type), and receives a `change` event per new journal entry, filtered
//! to one actor when it asked for one. The tails read when a store signals a commit (this
//! process's, and on Postgres other processes' too) or `poll_interval` passed.

use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::Stream;
use machine_core::ActorId;
use serde::Serialize;

use super::target::Target;
use super::Shared;
use crate::store::{CommitSignal, StreamFilter};
use crate::tail::JournalTail;

/// What a `change` event carries.
#[derive(Serialize)]
struct Change<'a> {
    machine_type: &'a str,
    actor_id: &'a str,
    version: u64,
    tag: &'a str,
    recorded_at: DateTime<Utc>,
}

/// The live stream of `targets`, only of actor `actor` when given.
pub(crate) fn stream(
    shared: Arc<Shared>,
    targets: Vec<Arc<dyn Target>>,
    actor: Option<ActorId>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let interval = shared.poll_interval;
    let mut closing = shared.closing.subscribe();
    let events = async_stream::stream! {
        let mut tails: Vec<JournalTail> = targets
            .iter()
            .map(|target| {
                let filter = StreamFilter::all().machine_type(target.machine_type());
                JournalTail::erased(target.store(), filter)
            })
            .collect();
        let signals: Vec<CommitSignal> =
            tails.iter().map(|tail| tail.commit_signal().clone()).collect();
        yield Ok(Event::default().event("ready").data("{}"));
        loop {
            // Armed before the reads, so a commit during them is not missed.
            let mut woken: Vec<_> = signals.iter().map(|signal| Box::pin(signal.notified())).collect();
            for wake in &mut woken {
                wake.as_mut().enable();
            }
            for tail in &mut tails {
                match tail.poll().await {
                    Ok(found) => {
                        for event in found {
                            if actor.as_ref().is_some_and(|actor| *actor != event.actor_id) {
                                continue;
                            }
                            let change = Change {
                                machine_type: &event.machine_type,
                                actor_id: event.actor_id.as_str(),
                                version: event.version,
                                tag: &event.tag,
                                recorded_at: event.recorded_at,
                            };
                            match Event::default().event("change").json_data(&change) {
                                Ok(message) => yield Ok(message),
                                Err(error) => tracing::warn!(%error, "cannot encode a live change"),
                            }
                        }
                    }
                    Err(error) => {
                        yield Ok(Event::default().event("failure").data(error.to_string()));
                    }
                }
            }
            tokio::select! {
                // `select_all` of no futures would panic; with no target, only the poll ends the wait.
                () = async {
                    if woken.is_empty() {
                        std::future::pending::<()>().await;
                    }
                    futures::future::select_all(woken).await;
                } => {}
                () = tokio::time::sleep(interval) => {}
                _ = closing.wait_for(|closing| *closing) => break,
            }
        }
    };
    Sse::new(events).keep_alive(KeepAlive::default())
}

//! Calls between nodes over Postgres `LISTEN`/`NOTIFY`.
//!
//! **Why Postgres.** The nodes already share one Postgres database for the journal and the
//! leases, so notifications add no engine to deploy, secure or monitor, and the owner of a
//! shard is found in the same lease table the store fences with. A notification is delivered
//! to every listener on commit, in commit order, and costs a round trip from the caller and one
//! from the owner. What it does not give: durability (a notification to a node that is down is
//! lost) and large messages (at most ~8 kB). Neither matters for calls: a caller that hears no
//! answer in time gets [`PersistError::Unreachable`](crate::PersistError::Unreachable), and a
//! call is a single event. A message bus (NATS request/reply) would cut the latency further and
//! is the step to take when routed calls dominate; the wire format here does not depend on the
//! carrier.
//!
//! Each node listens on its own channel (`machine_node_` and a hash of the store's schema and the
//! node's id). A call carries a
//! number the caller picked; the owner answers on the caller's channel with the same number.
//! Notifications are sent with `synchronous_commit = off`: they are messages, not data, and
//! need no flush to disk.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::wire::{Answer, Asked, Message, Request, WireError, MAX_MESSAGE_BYTES};
use crate::model::fnv1a;
use crate::sql::deadline::Deadline;
use crate::{ActorId, PersistError, PostgresStore, StoreError};

/// Sends one notification, without waiting for a disk flush.
const NOTIFY: &str = "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)";

/// The channel node `node_id` of the cluster in `schema` listens on. Channels are shared by the
/// whole database, so the schema is part of the name: clusters in two schemas never hear each
/// other.
pub(crate) fn channel_of(schema: &str, node_id: &str) -> String {
    format!(
        "machine_node_{:016x}",
        fnv1a(format!("{schema}/{node_id}").as_bytes())
    )
}

/// Serves the requests for one machine type on the owner.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Serves `request` for `actor`: a call applies its event (JSON) as its command and answers
    /// the outcome as JSON; a spawn answers `null` once the actor runs.
    fn handle(
        &self,
        actor: ActorId,
        request: Request,
    ) -> BoxFuture<'static, Result<serde_json::Value, WireError>>;
}

/// What the listener task and the callers share.
struct Shared {
    pool: PgPool,
    schema: String,
    deadline: Deadline,
    channel: String,
    next_call: AtomicU64,
    pending: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
    handlers: Mutex<HashMap<String, Arc<dyn Handler>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section is one map operation: a poisoned lock holds no half-made change.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One node's end of the transport.
pub(crate) struct Transport {
    shared: Arc<Shared>,
    listener: JoinHandle<()>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("channel", &self.shared.channel)
            .finish()
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl Transport {
    /// Starts listening on `node_id`'s channel.
    pub(crate) async fn start(store: &PostgresStore, node_id: &str) -> Result<Self, StoreError> {
        let channel = channel_of(store.schema(), node_id);
        let deadline = store.deadline;
        let mut listener = deadline
            .run("listen for calls", async {
                let mut listener = PgListener::connect_with(store.pool()).await?;
                listener.listen(&channel).await?;
                Ok(listener)
            })
            .await?;
        let shared = Arc::new(Shared {
            pool: store.pool().clone(),
            schema: store.schema().to_owned(),
            deadline,
            channel,
            next_call: AtomicU64::new(fastrand::u64(..)),
            pending: Mutex::default(),
            handlers: Mutex::default(),
        });
        let task_shared = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(notification) => task_shared.received(notification.payload()),
                    Err(error) => {
                        // The listener reconnects on its next receive; calls in flight meanwhile
                        // end in their callers' deadlines.
                        tracing::warn!(%error, "the call listener lost its connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(Self {
            shared,
            listener: task,
        })
    }

    /// Serves calls for `machine` with `handler`.
    pub(crate) fn serve(&self, machine: &str, handler: Arc<dyn Handler>) {
        lock(&self.shared.handlers).insert(machine.to_owned(), handler);
    }

    /// Sends `request` for `actor` to node `owner` and waits for its answer for at most
    /// `timeout`.
    pub(crate) async fn call(
        &self,
        owner: &str,
        machine: &str,
        actor: &ActorId,
        request: Request,
        timeout: Duration,
    ) -> Result<Answer, PersistError> {
        let call = self.shared.next_call.fetch_add(1, Ordering::Relaxed);
        let message = Message::from(Asked {
            call,
            reply_to: self.shared.channel.clone(),
            machine: machine.to_owned(),
            actor: actor.as_str().to_owned(),
            request,
        });
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.pending).insert(call, tx);
        let sent = self
            .shared
            .notify(&channel_of(&self.shared.schema, owner), &message)
            .await;
        let answer = match sent {
            Ok(()) => tokio::time::timeout(timeout, rx).await,
            Err(error) => {
                lock(&self.shared.pending).remove(&call);
                return Err(error);
            }
        };
        lock(&self.shared.pending).remove(&call);
        match answer {
            Ok(Ok(answer)) => Ok(answer),
            _ => Err(PersistError::Unreachable {
                actor_id: actor.clone(),
                after: timeout,
            }),
        }
    }
}

impl Shared {
    /// Handles one notification: an answer wakes its caller, a call is served in a task.
    fn received(self: &Arc<Self>, payload: &str) {
        let message = match serde_json::from_str::<Message>(payload) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "an unreadable message on the call channel was dropped");
                return;
            }
        };
        match message.into_asked() {
            Err((call, answer)) => {
                if let Some(waiting) = lock(&self.pending).remove(&call) {
                    // The caller may have given up meanwhile.
                    let _ = waiting.send(answer);
                }
            }
            Ok(asked) => self.serve(asked),
        }
    }

    /// Hands a request to the handler of its machine and sends its answer back.
    fn serve(self: &Arc<Self>, asked: Asked) {
        let handler = lock(&self.handlers).get(&asked.machine).cloned();
        let shared = Arc::clone(self);
        tokio::spawn(async move {
            let answer = match handler {
                Some(handler) => {
                    handler
                        .handle(ActorId::from(asked.actor), asked.request)
                        .await
                }
                None => Err(WireError::UnknownMachine),
            };
            let message = Message::Answer {
                call: asked.call,
                answer,
            };
            if let Err(error) = shared.notify(&asked.reply_to, &message).await {
                tracing::warn!(%error, "an answer could not be sent");
            }
        });
    }

    async fn notify(&self, channel: &str, message: &Message) -> Result<(), PersistError> {
        let text = serde_json::to_string(message).map_err(|error| PersistError::Remote {
            actor_id: ActorId::from(""),
            node: String::new(),
            message: error.to_string(),
        })?;
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(PersistError::Remote {
                actor_id: ActorId::from(""),
                node: String::new(),
                message: format!(
                    "a message of {} bytes is larger than a notification carries ({MAX_MESSAGE_BYTES})",
                    text.len()
                ),
            });
        }
        let work = async {
            sqlx::query(NOTIFY)
                .bind(channel)
                .bind(&text)
                .execute(&self.pool)
                .await?;
            Ok(())
        };
        Ok(self.deadline.run("send a call", work).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_per_schema_and_node_and_fit_an_identifier() {
        let channel = channel_of("orders", "node-a");
        assert_eq!(channel, channel_of("orders", "node-a"));
        assert_ne!(channel, channel_of("billing", "node-a"));
        assert_ne!(channel, channel_of("orders", "node-b"));
        assert!(channel.len() <= 63);
        assert!(channel
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_'));
    }
}

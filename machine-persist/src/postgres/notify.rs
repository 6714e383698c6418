//! Commit wake-ups between processes: `NOTIFY` after commits, `LISTEN` for readers.
//!
//! A reader in another process learns of a commit at its next poll, unless something tells it
//! sooner. Postgres can: a `NOTIFY` reaches every connection that `LISTEN`s on its channel. It
//! is used as a hint only, so what it does not give costs nothing but latency: a notification
//! that is lost (a listener reconnecting, a failed send) leaves the reader to its poll, and
//! what there is to read is always decided by the stream's order and horizon, never by the
//! notification.
//!
//! **Off the commit path.** The `NOTIFY` is never part of an append: a notifying transaction
//! takes a database-wide lock while it commits, which would serialise every writer. A journal
//! commit only sets a flag ([`CommitWire::announce`]); a sender task, on a connection of its
//! own, sends one notification for everything committed since its last one, then waits a short
//! while ([`COALESCE`]) before the next: a burst of commits costs one or two notifications, and
//! a steady stream at most one per [`COALESCE`]. Its failure is logged; the appends never see it.
//!
//! **The channel** is per schema ([`channel_of`]): notification channels are shared by the
//! whole database, so stores in other schemas never wake this one's readers.
//!
//! **The payload** is the sending store's token (its own notifications come back to its
//! listener, and are dropped: its readers woke in-process already) and the transaction id
//! horizon at the send, `pg_snapshot_xmax`: every transaction of the commits announced is
//! below it. A reader whose page ended below it read while an older transaction was still
//! open, so it reads again shortly ([`CommitSignal::hinted`](crate::store::CommitSignal::hinted))
//! rather than waiting for the next notification.
//!
//! **The listener** starts when a reader first asks
//! ([`CommitSignal::listen`](crate::store::CommitSignal::listen)), on a connection of its own
//! whose `application_name` is the channel. When its connection is lost it reconnects with a growing backoff, each attempt
//! under the store's deadline; meanwhile readers poll. After each (re)connection it wakes the
//! readers, since notifications sent while it was away are lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::Row;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::model::fnv1a;
use crate::sql::deadline::Deadline;
use crate::store::{CommitWire, GlobalPosition, SignalRef};
use crate::StoreError;

/// The shortest time between two notifications of one store.
pub(crate) const COALESCE: Duration = Duration::from_millis(10);
/// The first wait before reconnecting a lost listener; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait before reconnecting a lost listener.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The prefix of every commit channel.
const PREFIX: &str = "machine_commits_";
/// The longest channel name Postgres keeps whole.
const MAX_CHANNEL: usize = 63;

/// Sends one notification without waiting for a disk flush (it is a message, not data), and
/// returns the transaction id horizon it announces.
const NOTIFY: &str = "SELECT set_config('synchronous_commit', 'off', true),
        pg_notify($1, $2 || ' ' || pg_snapshot_xmax(pg_current_snapshot())::text),
        pg_snapshot_xmax(pg_current_snapshot())::text::bigint";

/// The channel the commits of the store in `schema` are announced on: the schema's name after
/// [`PREFIX`] when it fits in an identifier, else its first 30 bytes and a hash of the whole.
/// Schema names are plain lower-case identifiers (see `options::validate_schema`), so a channel
/// never needs quoting in `LISTEN`.
pub(crate) fn channel_of(schema: &str) -> String {
    if PREFIX.len() + schema.len() <= MAX_CHANNEL {
        return format!("{PREFIX}{schema}");
    }
    let head = schema.get(..30).unwrap_or(schema);
    format!("{PREFIX}{head}_{:016x}", fnv1a(schema.as_bytes()))
}

/// The position a reader must have read through to have seen every transaction below `xmax`
/// (the stream's horizon is `xmin - 1` of the reader's snapshot, see `PostgresStore`'s stream).
fn covering(xmax: i64) -> Option<GlobalPosition> {
    GlobalPosition::from_parts(xmax.checked_sub(1)?, i64::MAX)
}

/// The two connections of a store's commit wire: one sends, one listens. Both pools connect
/// only when first used.
#[derive(Clone, Debug)]
pub(crate) struct WirePools {
    send: PgPool,
    listen: PgPool,
}

impl WirePools {
    /// Pools of one connection each, made like the store's own (`connect`), named after the
    /// channel in `pg_stat_activity`.
    pub(crate) fn new(connect: &PgConnectOptions, channel: &str, deadline: Deadline) -> Self {
        let pool = |name: &str| {
            PgPoolOptions::new()
                .max_connections(1)
                .min_connections(0)
                .acquire_timeout(deadline.0)
                .connect_lazy_with(connect.clone().application_name(name))
        };
        Self {
            send: pool(&format!("{channel}_send")),
            listen: pool(channel),
        }
    }

    /// Closes both pools.
    pub(crate) async fn close(&self) {
        self.send.close().await;
        self.listen.close().await;
    }
}

/// What the sender and listener tasks of one store share.
#[derive(Debug)]
struct Wire {
    channel: String,
    /// Identifies this store's notifications (clones share it).
    token: String,
    pools: WirePools,
    deadline: Deadline,
    signal: SignalRef,
    /// Set by each commit, taken by the sender: commits while it sends become one notification.
    commits: Notify,
}

/// A [`CommitWire`] over Postgres `LISTEN`/`NOTIFY`.
#[derive(Debug)]
pub(crate) struct PgCommitWire {
    wire: Arc<Wire>,
    sender: Mutex<Option<JoinHandle<()>>>,
    listener: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section is one assignment: a poisoned lock holds no half-made change.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PgCommitWire {
    /// The wire of a store whose commits are announced on `channel`, waking `signal`.
    pub(crate) fn new(
        channel: String,
        pools: WirePools,
        deadline: Deadline,
        signal: SignalRef,
    ) -> Self {
        Self {
            wire: Arc::new(Wire {
                channel,
                token: format!("{:016x}", fastrand::u64(..)),
                pools,
                deadline,
                signal,
                commits: Notify::new(),
            }),
            sender: Mutex::default(),
            listener: Mutex::default(),
            closed: AtomicBool::new(false),
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Starts `task` in `slot` unless it runs already, the wire is closed, or there is no
    /// runtime to run it on (then the readers poll).
    fn start<F>(&self, slot: &Mutex<Option<JoinHandle<()>>>, task: impl FnOnce(Arc<Wire>) -> F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let mut slot = lock(slot);
        if slot.is_some() || self.is_closed() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            *slot = Some(runtime.spawn(task(Arc::clone(&self.wire))));
        }
    }
}

impl CommitWire for PgCommitWire {
    fn announce(&self) {
        self.wire.commits.notify_one();
        self.start(&self.sender, send);
    }

    fn listen(&self) {
        self.start(&self.listener, listen);
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for slot in [&self.sender, &self.listener] {
            if let Some(task) = lock(slot).take() {
                task.abort();
            }
        }
    }
}

impl Drop for PgCommitWire {
    fn drop(&mut self) {
        self.close();
    }
}

/// The sender task: one notification per burst of commits, at most one per [`COALESCE`].
async fn send(wire: Arc<Wire>) {
    loop {
        wire.commits.notified().await;
        match wire.notify().await {
            Ok(xmax) => {
                // This store's readers woke at the commit; the horizon tells them how far to read.
                if !wire.signal.wake(covering(xmax)) {
                    return;
                }
            }
            Err(_) if wire.pools.send.is_closed() => return,
            Err(error) => {
                tracing::warn!(channel = %wire.channel, %error, "a commit notification was not sent; readers elsewhere poll");
            }
        }
        tokio::time::sleep(COALESCE).await;
    }
}

/// The listener task: wakes the readers at each notification of another store, and after each
/// (re)connection.
async fn listen(wire: Arc<Wire>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let mut listener = match wire.connect().await {
            Ok(listener) => {
                backoff = FIRST_BACKOFF;
                listener
            }
            Err(_) if wire.pools.listen.is_closed() => return,
            Err(error) => {
                tracing::warn!(channel = %wire.channel, %error, retry_in = ?backoff, "cannot listen for commits; readers poll meanwhile");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        // Whatever was sent while not listening is lost.
        if !wire.signal.wake(None) {
            return;
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Some(hinted) = wire.foreign(notification.payload()) {
                        if !wire.signal.wake(hinted) {
                            return;
                        }
                    }
                }
                Ok(None) => {
                    tracing::warn!(channel = %wire.channel, "the commit listener lost its connection; reconnecting");
                    break;
                }
                Err(_) if wire.pools.listen.is_closed() => return,
                Err(error) => {
                    tracing::warn!(channel = %wire.channel, %error, "the commit listener failed; reconnecting");
                    break;
                }
            }
        }
        drop(listener);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

impl Wire {
    /// Sends one notification; the transaction id horizon it announced.
    async fn notify(&self) -> Result<i64, StoreError> {
        let work = async {
            let row = sqlx::query(NOTIFY)
                .bind(&self.channel)
                .bind(&self.token)
                .fetch_one(&self.pools.send)
                .await?;
            Ok(row.try_get::<i64, _>(2)?)
        };
        self.deadline.run("announce a commit", work).await
    }

    /// A listener on the channel, connected under the deadline.
    async fn connect(&self) -> Result<PgListener, StoreError> {
        let work = async {
            let mut listener = PgListener::connect_with(&self.pools.listen).await?;
            // Reconnection is this task's, with its backoff.
            listener.eager_reconnect(false);
            listener.listen(&self.channel).await?;
            Ok(listener)
        };
        self.deadline.run("listen for commits", work).await
    }

    /// The position a notification with `payload` asks readers to cover, if it came from
    /// another store (`Some(None)` if its horizon cannot be read: still a wake-up).
    fn foreign(&self, payload: &str) -> Option<Option<GlobalPosition>> {
        let (token, xmax) = payload.split_once(' ').unwrap_or((payload, ""));
        (token != self.token).then(|| xmax.parse().ok().and_then(covering))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_name_the_schema_and_fit_an_identifier() {
        assert_eq!(channel_of("orders"), "machine_commits_orders");
        assert_ne!(channel_of("orders"), channel_of("billing"));
        let long = "a".repeat(63);
        let longer = format!("{}b", "a".repeat(62));
        for schema in [
            long.as_str(),
            longer.as_str(),
            &"x".repeat(47),
            &"x".repeat(48),
        ] {
            let channel = channel_of(schema);
            assert!(channel.len() <= MAX_CHANNEL, "{channel}");
            assert!(channel
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_'));
        }
        // Names that share their first 30 bytes still get their own channels.
        assert_ne!(channel_of(&long), channel_of(&longer));
        assert_eq!(
            channel_of(&"x".repeat(47)),
            format!("{PREFIX}{}", "x".repeat(47))
        );
    }

    #[test]
    fn a_horizon_covers_every_transaction_below_it() {
        let covered = covering(100).unwrap();
        assert!(GlobalPosition::from_parts(99, i64::MAX).unwrap() >= covered);
        assert!(GlobalPosition::from_parts(98, i64::MAX).unwrap() < covered);
        assert_eq!(covering(0), None);
    }
}

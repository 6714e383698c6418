//! The global stream: every committed event of a store, in one order every reader sees.
//!
//! [`EventStream::read_all`] pages through the events committed after a [`GlobalPosition`].
//! Each page says how far it [covered](StreamPage::through), so a reader that filters by machine
//! type or tag advances past events it does not want, and resumes after `through`.
//!
//! # The no-skip rule
//!
//! A reader that passed position `p` never later finds an event ordered before `p`. That is
//! harder than it looks: a sequence number is taken when a row is inserted, but the row becomes
//! visible when its transaction commits, and concurrent transactions commit in any order. A
//! reader that saw position 11 and resumed "after 11" would skip a position 10 that committed a
//! moment later. Each backend rules that out its own way:
//!
//! * **memory**: positions are assigned under the store's lock, at commit;
//! * **SQLite**: positions are assigned under the database's write lock, which the
//!   transaction holds until it commits, so commit order is position order; positions are
//!   kept when events move between the journal's two levels;
//! * **Postgres**: each event records the id of the transaction that inserted it, and the
//!   stream orders by `(transaction id, position)` and only shows transactions below the
//!   reader's snapshot horizon (`pg_snapshot_xmin`): every transaction below it has ended, and
//!   every transaction that has not ended yet, or has not started, gets a greater id. So what
//!   sorts before a reader's position is final when the reader reaches it. The cost is one
//!   8-byte column per event and lag, never loss: a long-running write transaction anywhere in
//!   the cluster holds the horizon back until it ends.
//!
//! Per actor, the stream order is the version order: an actor's next append is decided only
//! after its previous one committed (the journal writer never has two batches of one actor in
//! flight, and an expected version is learned from a commit), so it commits later and, on
//! Postgres, has a greater transaction id.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex, Weak};

use thiserror::Error;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

use crate::{StoreError, StoredEvent};

/// A place in the global stream: opaque and totally ordered.
///
/// It is the order of the stream, not a count: positions have gaps (refused appends, retention)
/// and, on Postgres, the transaction that committed an event comes first. Store it with
/// [`Display`](fmt::Display) / [`FromStr`], or as two integers with
/// [`to_parts`](Self::to_parts) / [`from_parts`](Self::from_parts).
///
/// ```
/// use machine_persist::store::GlobalPosition;
///
/// let at: GlobalPosition = "7.42".parse().unwrap();
/// assert!(GlobalPosition::START < at);
/// assert_eq!(at.to_string(), "7.42");
/// assert_eq!(GlobalPosition::from_parts(7, 42), Some(at));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlobalPosition {
    /// The commit group: the inserting transaction id on Postgres, 0 elsewhere.
    commit: i64,
    /// The event's position within the store-wide journal.
    position: i64,
}

impl GlobalPosition {
    /// Before every event.
    pub const START: Self = Self {
        commit: 0,
        position: 0,
    };

    /// After every event that can ever exist.
    pub const END: Self = Self {
        commit: i64::MAX,
        position: i64::MAX,
    };

    /// The position from its two stored parts; `None` if either is negative.
    pub fn from_parts(commit: i64, position: i64) -> Option<Self> {
        (commit >= 0 && position >= 0).then_some(Self { commit, position })
    }

    /// The two parts to store, in order of significance.
    pub fn to_parts(self) -> (i64, i64) {
        (self.commit, self.position)
    }

    /// The event's journal position ([`StoredEvent::position`]) within its commit group.
    pub fn position(self) -> i64 {
        self.position
    }
}

impl fmt::Display for GlobalPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.commit, self.position)
    }
}

/// A text that is not a [`GlobalPosition`].
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("`{0}` is not a stream position (two non-negative integers joined by a dot)")]
pub struct BadPosition(pub String);

impl FromStr for GlobalPosition {
    type Err = BadPosition;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadPosition(text.to_owned());
        let (commit, position) = text.split_once('.').ok_or_else(bad)?;
        let commit = commit.parse().map_err(|_| bad())?;
        let position = position.parse().map_err(|_| bad())?;
        Self::from_parts(commit, position).ok_or_else(bad)
    }
}

/// Which events a read of the stream returns: empty lists mean "all".
///
/// ```
/// use machine_persist::store::StreamFilter;
///
/// let orders = StreamFilter::all().machine_type("Order").tag("Paid").tag("Shipped");
/// assert_eq!(orders.machine_types(), ["Order"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamFilter {
    machine_types: Vec<String>,
    tags: Vec<String>,
}

impl StreamFilter {
    /// Every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// Also admits events of actors of `machine_type` (only those of the listed types once one
    /// is listed).
    pub fn machine_type(mut self, machine_type: impl Into<String>) -> Self {
        self.machine_types.push(machine_type.into());
        self
    }

    /// Also admits events with variant tag `tag` (only those of the listed tags once one is
    /// listed).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// The admitted machine types (empty: all).
    pub fn machine_types(&self) -> &[String] {
        &self.machine_types
    }

    /// The admitted tags (empty: all).
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// Whether an event of `machine_type` with `tag` passes.
    pub fn admits(&self, machine_type: &str, tag: &str) -> bool {
        (self.machine_types.is_empty() || self.machine_types.iter().any(|m| m == machine_type))
            && (self.tags.is_empty() || self.tags.iter().any(|t| t == tag))
    }
}

/// One event of the stream. The row is decoded defensively: a stored value that cannot be read
/// is its own [`StoreError::Corrupt`] here, at its place in the stream, so a reader can report
/// exactly which event it cannot process instead of silently passing it.
#[derive(Debug)]
pub struct StreamEntry {
    /// Where the event is in the stream.
    pub at: GlobalPosition,
    /// The event, or why its row could not be read.
    pub event: Result<StoredEvent, StoreError>,
}

/// A page of the stream.
#[derive(Debug)]
pub struct StreamPage {
    /// The events after the requested position, in stream order.
    pub entries: Vec<StreamEntry>,
    /// How far the read covered: every event at or before it that passes the filter is in this
    /// page or an earlier one. Resume after it. Equal to the last entry's position when the page
    /// is full; the stream's head when it is not.
    pub through: GlobalPosition,
}

/// A wake-up the store gives on every commit that appended events, so a reader follows new
/// events without waiting for its next poll.
///
/// Commits of this process always wake it. Commits of other processes wake it where the store
/// carries them, once a reader asked it to [`listen`](Self::listen): Postgres does, with
/// `LISTEN`/`NOTIFY` (see `PostgresStore::commit_channel`);
/// the memory store has no other processes, and SQLite readers poll for them.
///
/// A wake-up is a hint, never data: it says "read now", and the stream's order and horizon say
/// what there is to read. A lost or late wake-up delays a reader until its next poll; it never
/// makes it skip an event.
#[derive(Clone, Debug, Default)]
pub struct CommitSignal(Arc<SignalState>);

#[derive(Debug, Default)]
struct SignalState {
    waiters: Notify,
    /// How far a reader must have read to have seen every commit signalled so far, where the
    /// store knows.
    hinted: Mutex<GlobalPosition>,
    /// The carrier between processes, if the store has one.
    wire: Option<Box<dyn CommitWire>>,
}

/// A store's carrier of commit wake-ups between processes (Postgres `NOTIFY`).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) trait CommitWire: Send + Sync + fmt::Debug {
    /// Tells the other processes that this one committed. Never waits.
    fn announce(&self);

    /// Starts hearing the other processes' commits, if not yet started. Never waits.
    fn listen(&self);

    /// Stops sending and hearing.
    fn close(&self);
}

/// The end of a [`CommitSignal`] its wire wakes, without keeping it alive.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) struct SignalRef(Weak<SignalState>);

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
impl SignalRef {
    /// Wakes the signal's readers and records that the commits signalled are read once a
    /// reader's page covered `hinted`. `false` once the signal is gone.
    pub(crate) fn wake(&self, hinted: Option<GlobalPosition>) -> bool {
        match self.0.upgrade() {
            Some(state) => {
                state.wake(hinted);
                true
            }
            None => false,
        }
    }
}

impl SignalState {
    fn wake(&self, hinted: Option<GlobalPosition>) {
        if let Some(hinted) = hinted {
            let mut at = self
                .hinted
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            *at = (*at).max(hinted);
        }
        self.waiters.notify_waiters();
    }
}

impl CommitSignal {
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    /// A signal whose commits also reach other processes through the wire `connect` makes.
    pub(crate) fn wired<W: CommitWire + 'static>(connect: impl FnOnce(SignalRef) -> W) -> Self {
        Self(Arc::new_cyclic(|state| SignalState {
            wire: Some(Box::new(connect(SignalRef(state.clone())))),
            ..SignalState::default()
        }))
    }

    /// Wakes every reader waiting right now, and tells other processes, where the store can.
    pub(crate) fn notify(&self) {
        self.0.waiters.notify_waiters();
        if let Some(wire) = &self.0.wire {
            wire.announce();
        }
    }

    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    /// Stops carrying wake-ups between processes (the store is closing).
    pub(crate) fn close(&self) {
        if let Some(wire) = &self.0.wire {
            wire.close();
        }
    }

    /// A future that completes at the next commit. To miss none, create it (and
    /// [`enable`](Notified::enable) it) before reading, then await it if the read found nothing.
    pub fn notified(&self) -> Notified<'_> {
        self.0.waiters.notified()
    }

    /// Also wakes on the commits of other processes, where the store carries them; a no-op
    /// where it does not. Idempotent and immediate: the store connects in the background, keeps
    /// listening (reconnecting when the connection is lost) until it is closed or dropped, and
    /// wakes its readers after each (re)connection, since what was sent meanwhile is lost.
    pub fn listen(&self) {
        if let Some(wire) = &self.0.wire {
            wire.listen();
        }
    }

    /// How far a reader must have read to have seen every commit signalled so far, where the
    /// store knows ([`GlobalPosition::START`] where it does not). A page whose
    /// [`through`](StreamPage::through) is below it was read before the stream's horizon passed
    /// a signalled commit (on Postgres, while an older transaction was still open): read again
    /// shortly rather than waiting for the next wake-up.
    pub fn hinted(&self) -> GlobalPosition {
        *self
            .0
            .hinted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The store-wide, ordered read of every committed event.
pub trait EventStream: Send + Sync {
    /// At most `max` events after `after` that pass `filter`, in stream order, and how far the
    /// read covered (see [`StreamPage::through`]). `max == 0` reads nothing and covers nothing.
    fn read_all(
        &self,
        after: GlobalPosition,
        max: usize,
        filter: &StreamFilter,
    ) -> impl Future<Output = Result<StreamPage, StoreError>> + Send;

    /// The stream's head: every committed event a reader can see now is at or before it.
    fn stream_head(&self) -> impl Future<Output = Result<GlobalPosition, StoreError>> + Send;

    /// The wake-up this store gives on each commit (see [`CommitSignal`]).
    fn commit_signal(&self) -> &CommitSignal;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_order_by_commit_then_position_and_round_trip_as_text() {
        let a = GlobalPosition::from_parts(1, 900).unwrap();
        let b = GlobalPosition::from_parts(2, 5).unwrap();
        assert!(GlobalPosition::START < a && a < b && b < GlobalPosition::END);
        assert_eq!(b.to_string().parse::<GlobalPosition>(), Ok(b));
        for bad in ["", "7", "1.-2", "-1.2", "a.b", "1.2.3"] {
            assert!(bad.parse::<GlobalPosition>().is_err(), "{bad}");
        }
        assert_eq!(GlobalPosition::from_parts(-1, 0), None);
    }

    #[test]
    fn filters_admit_listed_types_and_tags() {
        let all = StreamFilter::all();
        assert!(all.admits("Order", "Paid"));
        let orders = StreamFilter::all().machine_type("Order");
        assert!(orders.admits("Order", "Paid"));
        assert!(!orders.admits("Account", "Paid"));
        let paid = orders.tag("Paid");
        assert!(paid.admits("Order", "Paid"));
        assert!(!paid.admits("Order", "Shipped"));
    }
}

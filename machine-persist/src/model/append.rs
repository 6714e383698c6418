//! The unit of writing: one actor's atomic append.
//!
//! An [`AppendRequest`] carries everything a backend needs to apply one actor's events under an
//! optimistic lock and keep the registry in step, in the same transaction.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{ActorId, Fence, NewAction, NewCommand, NewEvent, NewSnapshot};

/// Appends `events` to an actor's journal if its head equals `expected_version`.
///
/// On success the actor's head becomes `expected_version + events.len()`, and its registry row
/// records `state_tag`, `entered_at` and the time of the append as last activity (its creation
/// time is never changed). `create` declares the actor new: the append then fails with
/// [`AppendError::AlreadyExists`](crate::store::AppendError::AlreadyExists) if the actor is
/// known. The optional `snapshot` is saved in the same transaction (e.g. the genesis snapshot at
/// version 0).
///
/// **Idempotent.** Every request carries a random `request_id`, which the store keeps as the last
/// request applied to the actor. The same request sent again (a retry after a connection was
/// lost during the commit, whose outcome is unknown) finds its own id there and reports success
/// instead of a conflict: a stored event is reported as stored. A writer retries a request before
/// it sends the actor's next one (the journal writer always does), so the last request is the
/// one to recognise. Clone the request to retry it; build a new one for new events.
///
/// ```
/// use machine_persist::chrono::Utc;
/// use machine_persist::store::{AppendRequest, NewEvent};
///
/// let request = AppendRequest::new("order-1", "Order", 0, "Paid", Utc::now())
///     .create()
///     .with_events(vec![NewEvent::new("Pay", 1, "json", br#"{"amount":10}"#.to_vec())]);
/// assert_eq!(request.next_version(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendRequest {
    /// The actor being written.
    pub actor_id: ActorId,
    /// The actor's machine type (recorded in the registry on creation and on every event).
    pub machine_type: Arc<str>,
    /// The head the caller believes the actor has.
    pub expected_version: u64,
    /// The events to append, in order; version `expected_version + 1` first.
    pub events: Vec<NewEvent>,
    /// Tag of the actor's state after these events.
    pub state_tag: Cow<'static, str>,
    /// Wall time at which the actor entered that state.
    pub entered_at: DateTime<Utc>,
    /// `true` if the actor is new and must not exist yet.
    pub create: bool,
    /// A snapshot to save atomically with the append.
    pub snapshot: Option<NewSnapshot>,
    /// The durable actions the events declared, stored in the same transaction (the outbox).
    /// Each names the version of its event, within this request; the key (version, name) is
    /// unique.
    pub actions: Vec<NewAction>,
    /// The command ids the events were sent under, recorded in the same transaction: the
    /// request is refused ([`AppendError::DuplicateCommand`](crate::store::AppendError::DuplicateCommand))
    /// if one of them is already recorded for the actor and has not expired.
    pub commands: Vec<NewCommand>,
    /// Identifies this request among retries of it (random, never 0).
    pub request_id: i64,
    /// When the soonest state timeout of the state after these events falls due (`None`: the
    /// state has none). Stored on the registry row in the same write, so a timer service finds
    /// it after a restart; every accepted request replaces it, which cancels the timeout of a
    /// state that was left.
    pub timeout_at: Option<DateTime<Utc>>,
    /// The shard lease this request is written under (`None`: unfenced). A store that keeps
    /// leases (Postgres) applies a fenced request only while that lease is current, in the
    /// statement that checks `expected_version`, and refuses it otherwise with
    /// [`AppendError::Fenced`](crate::store::AppendError::Fenced); a store that keeps none
    /// refuses every fenced request.
    pub fence: Option<Fence>,
}

/// A random request id: never 0, which stored rows without one hold.
pub(crate) fn new_request_id() -> i64 {
    loop {
        let id = fastrand::i64(..);
        if id != 0 {
            return id;
        }
    }
}

impl AppendRequest {
    /// A request with no events, no snapshot, `create == false` and a fresh request id.
    pub fn new(
        actor_id: impl Into<ActorId>,
        machine_type: impl Into<Arc<str>>,
        expected_version: u64,
        state_tag: impl Into<Cow<'static, str>>,
        entered_at: DateTime<Utc>,
    ) -> Self {
        Self {
            actor_id: actor_id.into(),
            machine_type: machine_type.into(),
            expected_version,
            events: Vec::new(),
            state_tag: state_tag.into(),
            entered_at,
            create: false,
            snapshot: None,
            actions: Vec::new(),
            commands: Vec::new(),
            request_id: new_request_id(),
            timeout_at: None,
            fence: None,
        }
    }

    /// Writes the request under `fence` (see [`fence`](Self::fence)).
    pub fn with_fence(mut self, fence: Fence) -> Self {
        self.fence = Some(fence);
        self
    }

    /// Records when the state's soonest timeout falls due.
    pub fn with_timeout_at(mut self, timeout_at: Option<DateTime<Utc>>) -> Self {
        self.timeout_at = timeout_at;
        self
    }

    /// Marks the actor as new.
    pub fn create(mut self) -> Self {
        self.create = true;
        self
    }

    /// Sets the events to append.
    pub fn with_events(mut self, events: Vec<NewEvent>) -> Self {
        self.events = events;
        self
    }

    /// Adds one event.
    pub fn push_event(mut self, event: NewEvent) -> Self {
        self.events.push(event);
        self
    }

    /// Saves `snapshot` in the same transaction.
    pub fn with_snapshot(mut self, snapshot: NewSnapshot) -> Self {
        self.snapshot = Some(snapshot);
        self
    }

    /// Adds a durable action, stored with its event.
    pub fn push_action(mut self, action: NewAction) -> Self {
        self.actions.push(action);
        self
    }

    /// Records a command id with its event.
    pub fn push_command(mut self, command: NewCommand) -> Self {
        self.commands.push(command);
        self
    }

    /// The head the actor has once this request succeeds.
    pub fn next_version(&self) -> u64 {
        self.expected_version + self.events.len() as u64
    }
}

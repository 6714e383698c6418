//! The error of persistent actors and repositories.

use std::sync::Arc;

use thiserror::Error;

use machine_core::{ActorError, CommitError, SpawnError, VersionConflict};

use super::{ActionProblem, AppendError, StoreError};
use crate::codec::{DecodeError, EncodeError, SharedError};
use crate::model::{Fence, InvalidId};
use crate::schema::UpcastError;
use crate::ActorId;

/// Everything that can go wrong talking to a persistent actor or its repository, in one flat
/// type: the actor's own refusals (stopped, rewound, a panicking handler), the journal's
/// (conflicts), the store's (typed [`StoreError`]) and the data's (undecodable payloads,
/// inconsistent heads). Cheap to clone, so one failure can be reported to every caller waiting
/// on the same batch.
#[derive(Clone, Debug, Error)]
#[non_exhaustive]
pub enum PersistError {
    /// Another writer appended to the actor first. A live actor that meets this stops rather than
    /// overwrite; restore it to pick up the winner's history.
    #[error(transparent)]
    Conflict(VersionConflict),
    /// A new actor was declared, but the actor is already stored.
    #[error("actor `{0}` already exists")]
    AlreadyExists(ActorId),
    /// The store refused this actor's append alone, with an error that is not transient: most
    /// often a value it cannot store (a live actor then does not offer the same events again),
    /// else a failure of the server that may pass.
    #[error("the store refused the append of actor `{actor_id}`: {source}")]
    Refused {
        /// The actor.
        actor_id: ActorId,
        /// The database's error.
        #[source]
        source: Arc<StoreError>,
    },
    /// The store refused an append written under a shard lease that is no longer current: the
    /// actor was taken over by another node. The live actor stops; its new owner has its history.
    #[error(
        "the append of actor `{actor_id}` under {fence} was refused: the lease is not current"
    )]
    Fenced {
        /// The actor.
        actor_id: ActorId,
        /// The shard and epoch the append named.
        fence: Fence,
    },
    /// This node holds no current lease on the actor's shard, so it may not write the actor
    /// (nothing was sent to the store). The live actor stops; the shard's owner serves it.
    #[error("this node does not own shard {shard} of actor `{actor_id}`")]
    NotOwner {
        /// The actor.
        actor_id: ActorId,
        /// The shard it hashes to.
        shard: u32,
    },
    /// The node owning the actor answered a routed call with an error that has no variant of its
    /// own here (a store or data error on that node).
    #[error("node `{node}` failed the call to actor `{actor_id}`: {message}")]
    Remote {
        /// The actor.
        actor_id: ActorId,
        /// The node that answered.
        node: String,
        /// The owner's error.
        message: String,
    },
    /// A routed call got no answer in time: the owner is unreachable or died. The call may or
    /// may not have been applied; read the actor's state before sending it again.
    #[error("no answer from the owner of actor `{actor_id}` within {after:?}")]
    Unreachable {
        /// The actor.
        actor_id: ActorId,
        /// How long the caller waited.
        after: std::time::Duration,
    },
    /// The store failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// The command id was applied to the actor before, with another event: a repeat must send
    /// the same event (see [`PersistentRef::call_command`](crate::PersistentRef::call_command)).
    #[error("command `{command_id}` was applied to actor `{actor_id}` at version {version} with another event")]
    CommandConflict {
        /// The actor.
        actor_id: ActorId,
        /// The command id.
        command_id: String,
        /// The version the command's first event became.
        version: u64,
    },
    /// The store refused an append because one of its command ids was already recorded (a
    /// repeat racing the first send); `call_command` answers it with the first outcome.
    #[error("command `{command_id}` was already applied to actor `{actor_id}`")]
    DuplicateCommand {
        /// The actor.
        actor_id: ActorId,
        /// The command id.
        command_id: String,
    },
    /// A command id is empty or longer than
    /// [`MAX_COMMAND_ID_BYTES`](crate::store::MAX_COMMAND_ID_BYTES).
    #[error("a command id must have 1 to 256 bytes, `{0}` has {len}", len = .0.len())]
    InvalidCommandId(String),
    /// A durable action a step declared cannot be stored; the step's batch is not committed.
    #[error("durable action `{action}` of actor `{actor_id}`: {problem}")]
    DurableAction {
        /// The actor.
        actor_id: ActorId,
        /// The action's name.
        action: String,
        /// What is wrong with it.
        problem: ActionProblem,
    },
    /// An actor id or machine type breaks the storage rule.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    /// A value could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A stored payload could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A stored payload could not be migrated to the current schema.
    #[error("cannot migrate the payload of actor `{actor_id}` at version {version}: {reason}")]
    Upcast {
        /// The actor.
        actor_id: ActorId,
        /// The version of the event or snapshot.
        version: u64,
        /// Why.
        #[source]
        reason: UpcastError,
    },
    /// The journal skips a version: stored data is damaged or was deleted.
    #[error("the journal of actor `{actor_id}` jumps from version {expected} to {found}")]
    VersionGap {
        /// The actor.
        actor_id: ActorId,
        /// The version that should have come next.
        expected: u64,
        /// The version found instead.
        found: u64,
    },
    /// A journaled event is no longer accepted by the machine's handlers, so replay cannot
    /// reproduce the recorded history (handlers must stay compatible with stored events).
    #[error("replaying actor `{actor_id}` failed at version {version}: event `{event}` in state `{state}` is {cause}")]
    ReplayRefused {
        /// The actor.
        actor_id: ActorId,
        /// The version of the refused event.
        version: u64,
        /// The event's tag.
        event: String,
        /// The tag of the state that refused it.
        state: String,
        /// Unhandled, or rejected with the machine's error.
        cause: ReplayCause,
    },
    /// The registry, the snapshots and the journal of an actor disagree; restoring it would
    /// start an actor that conflicts on every call.
    #[error("the stored data of actor `{actor_id}` is inconsistent: {problem}")]
    Inconsistent {
        /// The actor.
        actor_id: ActorId,
        /// What disagrees.
        problem: Inconsistency,
    },
    /// The actor is stored under another machine type.
    #[error("actor `{actor_id}` is stored as a `{stored}`, not a `{expected}`")]
    WrongMachineType {
        /// The actor.
        actor_id: ActorId,
        /// The machine type in the registry.
        stored: String,
        /// The machine type of the repository.
        expected: String,
    },
    /// The actor has journaled events but no snapshot to fold them from, and the configuration
    /// names no initial state (see [`PersistConfig::initial_state`](crate::PersistConfig::initial_state)).
    #[error("actor `{0}` has events but no snapshot to start the fold from, and no initial state is configured")]
    MissingGenesis(ActorId),
    /// A version past the actor's head was asked for.
    #[error("actor `{actor_id}` has no version {requested} (its head is {head})")]
    VersionOutOfRange {
        /// The actor.
        actor_id: ActorId,
        /// The version asked for.
        requested: u64,
        /// The actor's head version.
        head: u64,
    },
    /// Nothing is stored for this actor.
    #[error("nothing is stored for actor `{0}`")]
    NotFound(ActorId),
    /// The actor has stopped (or stopped before answering).
    #[error("actor `{0}` is stopped")]
    Stopped(ActorId),
    /// The mailbox is full (only from the non-waiting `try_send`).
    #[error("the mailbox of actor `{0}` is full")]
    MailboxFull(ActorId),
    /// The actor is rewound to an earlier version for inspection and refuses new events (and
    /// snapshots) until it is resumed at its head.
    #[error(
        "actor `{actor_id}` is rewound to version {at} (head is {head}); resume it before sending events"
    )]
    Rewound {
        /// The actor.
        actor_id: ActorId,
        /// The version it is rewound to.
        at: u64,
        /// Its real head version.
        head: u64,
    },
    /// A transition handler (or other machine code run by the actor) panicked; the batch was
    /// rolled back and the actor stopped.
    #[error("a handler of actor `{actor_id}` panicked: {message}")]
    HandlerPanicked {
        /// The actor.
        actor_id: ActorId,
        /// The panic message.
        message: String,
    },
    /// The actor could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// The journal or snapshot writer has shut down and accepts no more work.
    #[error("the journal writer has shut down")]
    WriterClosed,
    /// The actor's last activity is older than
    /// [`max_state_age`](crate::PersistConfig::max_state_age): its stored data was discarded
    /// instead of restored, and it starts fresh. Reported to `on_error`.
    #[error(
        "the stored state of actor `{actor_id}` is {age:?} old, older than allowed: discarded"
    )]
    StaleState {
        /// The actor.
        actor_id: ActorId,
        /// How long ago it was last active.
        age: std::time::Duration,
    },
    /// The [`on_restore`](crate::PersistConfig::on_restore) hook refused the restored state.
    #[error("the on-restore hook refused the state of actor `{actor_id}`: {source}")]
    RestoreRejected {
        /// The actor.
        actor_id: ActorId,
        /// The hook's error.
        source: SharedError,
    },
}

/// Why replay could not apply a journaled event.
#[derive(Clone, Debug, Error)]
pub enum ReplayCause {
    /// No transition is declared for it in that state any more.
    #[error("unhandled")]
    Unhandled,
    /// A guard rejected it; the source is the machine's own error.
    #[error("rejected: {0}")]
    Rejected(SharedError),
}

/// What disagrees in an actor's stored data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Inconsistency {
    /// The registry's head and the last journaled version differ.
    #[error("the registry says version {registry}, the journal ends at version {journal}")]
    Head {
        /// The registry's head.
        registry: u64,
        /// The last version found in the journal (or the snapshot it starts from).
        journal: u64,
    },
    /// A snapshot claims a version the registry has not reached.
    #[error("a snapshot at version {snapshot} is above the registry's head {registry}")]
    SnapshotAhead {
        /// The snapshot's version.
        snapshot: u64,
        /// The registry's head.
        registry: u64,
    },
    /// Snapshots or events exist, but the registry has no row for the actor.
    #[error("snapshots or events exist but the registry has no row")]
    Unregistered,
}

impl PersistError {
    /// Whether retrying may succeed (see [`StoreError::is_transient`]).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(error) => error.is_transient(),
            _ => false,
        }
    }

    /// The conflict, if this is one.
    pub fn conflict(&self) -> Option<&VersionConflict> {
        match self {
            Self::Conflict(conflict) => Some(conflict),
            _ => None,
        }
    }

    /// The store's error, if this is one.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Self::Store(error) | Self::Refused { source: error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<StoreError> for PersistError {
    fn from(error: StoreError) -> Self {
        Self::Store(Arc::new(error))
    }
}

impl From<Arc<StoreError>> for PersistError {
    fn from(error: Arc<StoreError>) -> Self {
        Self::Store(error)
    }
}

impl From<AppendError> for PersistError {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Conflict(conflict) => Self::Conflict(conflict),
            AppendError::AlreadyExists { actor_id } => Self::AlreadyExists(actor_id),
            AppendError::Invalid(invalid) => Self::InvalidId(invalid),
            AppendError::Refused { actor_id, source } => Self::Refused { actor_id, source },
            AppendError::DuplicateCommand {
                actor_id,
                command_id,
            } => Self::DuplicateCommand {
                actor_id,
                command_id,
            },
            AppendError::InvalidAction {
                actor_id,
                action,
                problem,
            } => Self::DurableAction {
                actor_id,
                action,
                problem,
            },
            AppendError::Fenced { actor_id, fence } => Self::Fenced { actor_id, fence },
        }
    }
}

impl From<ActorError> for PersistError {
    fn from(error: ActorError) -> Self {
        match error {
            ActorError::Stopped(id) => Self::Stopped(id),
            ActorError::MailboxFull(id) => Self::MailboxFull(id),
            ActorError::Rewound { id, at, head } => Self::Rewound {
                actor_id: id,
                at,
                head,
            },
            ActorError::Commit(commit) => commit.into(),
            ActorError::HandlerPanicked { actor_id, message } => {
                Self::HandlerPanicked { actor_id, message }
            }
        }
    }
}

impl From<CommitError> for PersistError {
    /// A failed commit of a persistent actor: its conflict, or the persistence error the
    /// durability layer reported (recovered as it was, never as an opaque source).
    fn from(error: CommitError) -> Self {
        match error {
            CommitError::Conflict(conflict) => Self::Conflict(conflict),
            CommitError::Storage { source, .. }
            | CommitError::Refused { source, .. }
            | CommitError::Superseded { source, .. } => {
                match source.downcast_ref::<PersistError>() {
                    Some(persist) => persist.clone(),
                    None => Self::Store(Arc::new(StoreError::Backend {
                        transient: false,
                        source: source.to_string().into(),
                    })),
                }
            }
        }
    }
}

impl PersistError {
    /// Whether this refuses the content of an append for good: a value that does not encode,
    /// a name or id that breaks the storage rule, or a value the database refuses as data.
    fn refuses_content(&self) -> bool {
        match self {
            Self::Refused { source, .. } => source.refuses_content(),
            Self::DurableAction { .. }
            | Self::InvalidId(_)
            | Self::InvalidCommandId(_)
            | Self::Encode(_) => true,
            _ => false,
        }
    }

    /// The runtime's view of a failed commit: conflicts and lost leases stop the actor, content
    /// the store can never accept (values that do not encode or that the database refuses as
    /// data) is refused, so the runtime does not offer it again; everything else rolls the
    /// batch back, to be tried again.
    pub(crate) fn into_commit_error(self, actor_id: &ActorId) -> CommitError {
        match self {
            Self::Conflict(conflict) => CommitError::Conflict(conflict),
            Self::Fenced { .. } | Self::NotOwner { .. } => CommitError::Superseded {
                actor_id: actor_id.clone(),
                source: Arc::new(self),
            },
            refused if refused.refuses_content() => CommitError::Refused {
                actor_id: actor_id.clone(),
                source: Arc::new(refused),
            },
            other => CommitError::Storage {
                actor_id: actor_id.clone(),
                source: Arc::new(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{CodecError, EncodeError, PayloadKind};

    fn actor() -> ActorId {
        ActorId::from("o-1")
    }

    #[test]
    fn content_the_store_cannot_accept_is_refused_for_good() {
        let encode = PersistError::Encode(EncodeError {
            kind: PayloadKind::Event,
            codec: "json",
            source: CodecError::new(std::io::Error::other("key must be a string")),
        });
        let commit = encode.clone().into_commit_error(&actor());
        assert!(commit.is_refused(), "{encode}");
        assert!(!commit.stops_actor());
        // The layer's own error comes back out of it as it was.
        assert_eq!(PersistError::from(commit).to_string(), encode.to_string());
    }

    #[test]
    fn a_refusal_that_may_pass_is_not_refused_for_good() {
        // As the Postgres backend reports a non-transient failure of one request: a read-only
        // server during a failover, a missing table during an upgrade, ...
        let passing = PersistError::Refused {
            actor_id: actor(),
            source: Arc::new(StoreError::Backend {
                transient: false,
                source: "cannot execute INSERT in a read-only transaction".into(),
            }),
        };
        let commit = passing.into_commit_error(&actor());
        assert!(!commit.is_refused() && !commit.stops_actor(), "{commit}");
    }

    #[test]
    fn a_failing_store_is_tried_again_and_a_lost_lease_stops_the_actor() {
        let outage = PersistError::Store(Arc::new(StoreError::Backend {
            transient: true,
            source: "connection reset".into(),
        }));
        let commit = outage.into_commit_error(&actor());
        assert!(!commit.is_refused() && !commit.stops_actor(), "{commit}");
        let fenced = PersistError::NotOwner {
            actor_id: actor(),
            shard: 3,
        }
        .into_commit_error(&actor());
        assert!(fenced.stops_actor() && !fenced.is_refused(), "{fenced}");
    }
}

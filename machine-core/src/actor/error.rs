//! Errors of the actor runtime.

use std::sync::Arc;

use crate::model::ActorId;

/// Another writer appended to an actor first: the stored head is not the version the writer
/// expected to extend.
///
/// The one conflict type of the framework: a store refusing an append, the actor's failed
/// commit and the caller's error all carry this same value.
///
/// ```
/// use machine_core::VersionConflict;
/// let conflict = VersionConflict { actor_id: "order-1".into(), expected: 3, actual: 4 };
/// assert_eq!(
///     conflict.to_string(),
///     "version conflict on actor `order-1`: expected version 3, stored head is 4"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "version conflict on actor `{actor_id}`: expected version {expected}, stored head is {actual}"
)]
pub struct VersionConflict {
    /// The actor whose journal moved.
    pub actor_id: ActorId,
    /// The version the writer expected to extend.
    pub expected: u64,
    /// The version actually stored.
    pub actual: u64,
}

/// Why a step could not be made durable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommitError {
    /// Another writer appended to this actor first. The actor stops rather than overwrite;
    /// restore it to pick up the winner.
    #[error(transparent)]
    Conflict(VersionConflict),
    /// The storage failed (after any retries the persistence layer made).
    #[error("storage failed for actor `{actor_id}`: {source}")]
    Storage {
        /// The actor whose batch failed.
        actor_id: ActorId,
        /// The underlying error; downcast it to the backend's error type for details.
        source: Arc<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The store refused the batch's content (a value it cannot store: an event or durable
    /// action that does not encode, or that the database rejects): committing the same events
    /// again would fail the same way. The batch is rolled back, its callers hear this error, and
    /// the actor goes on. The events of the current state's tasks and timeouts in it are dropped
    /// when they were all the batch held; beside callers' events (which may be what the store
    /// refused) they are offered again on their own.
    #[error("the store refused the batch of actor `{actor_id}`: {source}")]
    Refused {
        /// The actor whose batch was refused.
        actor_id: ActorId,
        /// Why; downcast it to the persistence layer's error for details.
        source: Arc<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// This copy of the actor is no longer its writer: the store refused the batch because the
    /// writer's claim on the actor (a lease) is stale. Like a conflict, the actor stops rather
    /// than try again; its new writer holds the history.
    #[error("actor `{actor_id}` is no longer written by this copy: {source}")]
    Superseded {
        /// The actor whose batch was refused.
        actor_id: ActorId,
        /// Why the store refused it; downcast it to the persistence layer's error for details.
        source: Arc<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl CommitError {
    /// Whether the actor stops on this error: a conflict, or a superseded writer.
    pub fn stops_actor(&self) -> bool {
        matches!(
            self,
            CommitError::Conflict(_) | CommitError::Superseded { .. }
        )
    }

    /// Whether the store refused the batch's content ([`CommitError::Refused`]): the same events
    /// would be refused again.
    pub fn is_refused(&self) -> bool {
        matches!(self, CommitError::Refused { .. })
    }

    /// Whether this is a [`CommitError::Conflict`].
    pub fn is_conflict(&self) -> bool {
        matches!(self, CommitError::Conflict(_))
    }

    /// The conflict, if this is one.
    pub fn conflict(&self) -> Option<&VersionConflict> {
        match self {
            CommitError::Conflict(conflict) => Some(conflict),
            CommitError::Storage { .. }
            | CommitError::Refused { .. }
            | CommitError::Superseded { .. } => None,
        }
    }
}

/// An error from talking to an actor.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ActorError {
    /// The actor has stopped (or stopped before answering).
    #[error("actor `{0}` is stopped")]
    Stopped(ActorId),
    /// The mailbox is full (only from the non-waiting `try_send`).
    #[error("the mailbox of actor `{0}` is full")]
    MailboxFull(ActorId),
    /// The actor is rewound to an earlier version for inspection and refuses new events until
    /// it is resumed at its head.
    #[error(
        "actor `{id}` is rewound to version {at} (head is {head}); resume it before sending events"
    )]
    Rewound {
        /// The actor.
        id: ActorId,
        /// The version it is rewound to.
        at: u64,
        /// Its real head version.
        head: u64,
    },
    /// The step could not be made durable; the state is unchanged.
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// User code run by the actor (a transition handler, or `actions`, `enter`, `background`,
    /// `is_entry`, `tag`, `is_final`) panicked while the batch holding this call was applied.
    /// Nothing of that batch was committed, and the actor stopped with
    /// [`StopReason::Panicked`].
    #[error("a handler of actor `{actor_id}` panicked: {message}")]
    HandlerPanicked {
        /// The actor.
        actor_id: ActorId,
        /// The panic's message (its payload, when that is a string).
        message: String,
    },
}

/// An error from spawning an actor.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SpawnError {
    /// An actor with this id is already running in this system.
    #[error("an actor with id `{0}` is already running")]
    Duplicate(ActorId),
    /// The system is shutting down and accepts no new actors.
    #[error("the actor system is shutting down")]
    ShuttingDown,
    /// Spawning needs a tokio runtime, and none is running on this thread.
    #[error("no tokio runtime is running on this thread")]
    NoRuntime,
}

/// Why an actor stopped.
#[derive(Debug, Clone)]
pub enum StopReason {
    /// `ActorRef::stop` was called.
    Requested,
    /// The machine reached a final state.
    Final,
    /// The actor system shut down.
    Shutdown,
    /// The actor was idle for as long as its durability layer allows
    /// ([`Durability::passivate_after`](crate::Durability::passivate_after)) and left memory.
    /// It is stored only; its persistence layer activates it again on demand.
    Passivated,
    /// Another writer moved the actor's journal, or took over the actor (a
    /// [`CommitError::Superseded`]); this copy stopped rather than overwrite it.
    Conflict(CommitError),
    /// The mailbox closed with no sender left. The actor keeps a handle to itself for its
    /// effects, so this only happens if the runtime is torn down around it.
    Disconnected,
    /// User code run by the actor panicked (see [`ActorError::HandlerPanicked`]). The batch it
    /// panicked in was rolled back; the state is the last committed one.
    Panicked {
        /// The panic's message (its payload, when that is a string).
        message: String,
    },
}

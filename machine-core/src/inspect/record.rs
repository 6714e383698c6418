//! The records an observer receives.

use std::time::SystemTime;

use crate::actor::{ActorError, StopReason};
use crate::cause::SerializedCause;
use crate::model::{ActorId, Machine};

/// What kind of effect a record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EffectKind {
    /// A transition action.
    Action,
    /// A state-scoped task.
    Task,
    /// A background task.
    Background,
}

/// How an effect went.
#[derive(Debug)]
pub enum EffectStatus<'a> {
    /// It started.
    Started,
    /// It finished successfully.
    Succeeded,
    /// It returned an error, captured once (type name when known, message, `source()` chain).
    Failed(&'a SerializedCause),
    /// It panicked, with the panic message when there was one.
    Panicked(&'a str),
}

/// What happened to an offered event.
#[derive(Debug)]
pub enum EventOutcome<'a, M: Machine> {
    /// Accepted (committed or not: a `Transition` record follows once it is committed).
    Accepted,
    /// No transition for it in the current state.
    Unhandled,
    /// A guard rejected it.
    Rejected(&'a M::Error),
}

/// The body of a [`Record`].
#[derive(Debug)]
pub enum RecordKind<'a, M: Machine> {
    /// The actor started in `state` at `version`.
    Spawned {
        /// Its starting state.
        state: &'a M,
        /// Its starting version.
        version: u64,
    },
    /// An event was offered to the current state.
    Event {
        /// The event.
        event: &'a M::Event,
        /// What the machine decided.
        outcome: EventOutcome<'a, M>,
    },
    /// A step was committed.
    Transition {
        /// The state before.
        from: &'a M,
        /// The event.
        event: &'a M::Event,
        /// The state after.
        to: &'a M,
        /// The version after.
        version: u64,
    },
    /// An effect started, finished or failed.
    Effect {
        /// The effect's declared name.
        name: &'static str,
        /// Its kind.
        kind: EffectKind,
        /// The actor's version it belongs to: for an action, the version of the step that
        /// declared it; for a state task, the version at which its state's scope started (the
        /// entry, or the restore); for a background task, the version the actor started at.
        version: u64,
        /// How it went.
        status: EffectStatus<'a>,
    },
    /// The runtime hit an error (a failed commit, an event refused while rewound, a handler
    /// that panicked).
    Error {
        /// The error.
        error: &'a ActorError,
    },
    /// The actor stopped.
    Stopped {
        /// Why.
        reason: &'a StopReason,
    },
}

/// One thing that happened to one actor, at one time.
#[derive(Debug)]
pub struct Record<'a, M: Machine> {
    /// When (wall clock).
    pub at: SystemTime,
    /// Which actor.
    pub actor: &'a ActorId,
    /// What.
    pub kind: RecordKind<'a, M>,
}

/// An owned copy of a [`Record`], for keeping (errors are kept as their messages, effect
/// failures as their [`SerializedCause`]).
#[derive(Clone, Debug)]
pub struct OwnedRecord<M: Machine> {
    /// When (wall clock).
    pub at: SystemTime,
    /// Which actor.
    pub actor: ActorId,
    /// What.
    pub kind: OwnedRecordKind<M>,
}

/// The body of an [`OwnedRecord`].
#[derive(Clone, Debug)]
pub enum OwnedRecordKind<M: Machine> {
    /// See [`RecordKind::Spawned`].
    Spawned {
        /// Starting state.
        state: M,
        /// Starting version.
        version: u64,
    },
    /// See [`RecordKind::Event`]; `rejected` holds the guard's message.
    Event {
        /// The event.
        event: M::Event,
        /// Whether it was accepted.
        accepted: bool,
        /// The rejection message, if rejected.
        rejected: Option<String>,
    },
    /// See [`RecordKind::Transition`].
    Transition {
        /// Before.
        from: M,
        /// Event.
        event: M::Event,
        /// After.
        to: M,
        /// Version after.
        version: u64,
    },
    /// See [`RecordKind::Effect`]; a panic is kept as [`SerializedCause::panic`].
    Effect {
        /// Declared name.
        name: &'static str,
        /// Kind.
        kind: EffectKind,
        /// The version it belongs to (see [`RecordKind::Effect`]).
        version: u64,
        /// Whether it started (`None`), succeeded (`Some(Ok)`) or failed (`Some(Err(cause))`).
        finished: Option<Result<(), SerializedCause>>,
    },
    /// See [`RecordKind::Error`].
    Error {
        /// The error's message.
        message: String,
    },
    /// See [`RecordKind::Stopped`].
    Stopped {
        /// Why.
        reason: StopReason,
    },
}

impl<M: Machine> Record<'_, M> {
    /// A record stamped now.
    pub(crate) fn now<'a>(actor: &'a ActorId, kind: RecordKind<'a, M>) -> Record<'a, M> {
        Record {
            at: SystemTime::now(),
            actor,
            kind,
        }
    }

    /// Copies the record so it can be kept.
    pub fn to_owned(&self) -> OwnedRecord<M> {
        let kind = match &self.kind {
            RecordKind::Spawned { state, version } => OwnedRecordKind::Spawned {
                state: (*state).clone(),
                version: *version,
            },
            RecordKind::Event { event, outcome } => OwnedRecordKind::Event {
                event: (*event).clone(),
                accepted: matches!(outcome, EventOutcome::Accepted),
                rejected: match outcome {
                    EventOutcome::Rejected(error) => Some(error.to_string()),
                    _ => None,
                },
            },
            RecordKind::Transition {
                from,
                event,
                to,
                version,
            } => OwnedRecordKind::Transition {
                from: (*from).clone(),
                event: (*event).clone(),
                to: (*to).clone(),
                version: *version,
            },
            RecordKind::Effect {
                name,
                kind,
                version,
                status,
            } => OwnedRecordKind::Effect {
                name,
                kind: *kind,
                version: *version,
                finished: match status {
                    EffectStatus::Started => None,
                    EffectStatus::Succeeded => Some(Ok(())),
                    EffectStatus::Failed(cause) => Some(Err((*cause).clone())),
                    EffectStatus::Panicked(message) => Some(Err(SerializedCause::panic(*message))),
                },
            },
            RecordKind::Error { error } => OwnedRecordKind::Error {
                message: error.to_string(),
            },
            RecordKind::Stopped { reason } => OwnedRecordKind::Stopped {
                reason: (*reason).clone(),
            },
        };
        OwnedRecord {
            at: self.at,
            actor: self.actor.clone(),
            kind,
        }
    }
}

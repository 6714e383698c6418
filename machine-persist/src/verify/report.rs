//! What a divergence check found.

use std::fmt;

use machine_core::ActorId;

use crate::PersistError;

/// One place where an actor's records and the replay of its journal with the current code
/// disagree.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Divergence {
    /// The snapshot stored at `version` is not the state the journal folds to at that version.
    Snapshot {
        /// The snapshot's version.
        version: u64,
        /// The stored state, decoded with today's types and upcasters, as JSON.
        stored: serde_json::Value,
        /// The state today's handlers reach at that version, as JSON.
        replayed: serde_json::Value,
    },
    /// The registry's state tag is not the tag of the state the journal folds to at the head.
    StateTag {
        /// The head version.
        version: u64,
        /// The tag the registry holds.
        registry: String,
        /// The tag of the replayed state.
        replayed: String,
        /// The replayed state, as JSON.
        state: serde_json::Value,
    },
    /// The journal ends at another version than the registry's head.
    Head {
        /// The registry's head.
        registry: u64,
        /// The last version in the journal.
        journal: u64,
    },
    /// A snapshot claims a version the journal has not reached.
    SnapshotAhead {
        /// The snapshot's version.
        version: u64,
        /// The last version in the journal.
        journal: u64,
    },
    /// The event at `version` cannot be replayed any more (its handler refuses it now, or its
    /// payload no longer decodes); the fold stops there.
    Replay {
        /// The event's version.
        version: u64,
        /// The state before it, as JSON.
        state: serde_json::Value,
        /// Why it cannot be replayed.
        error: PersistError,
    },
    /// The snapshot at `version` cannot be decoded with today's types, so it was not compared.
    UnreadableSnapshot {
        /// The snapshot's version.
        version: u64,
        /// Why.
        error: PersistError,
    },
}

impl Divergence {
    /// The version it concerns.
    pub fn version(&self) -> u64 {
        match self {
            Self::Snapshot { version, .. }
            | Self::StateTag { version, .. }
            | Self::SnapshotAhead { version, .. }
            | Self::Replay { version, .. }
            | Self::UnreadableSnapshot { version, .. } => *version,
            Self::Head { registry, journal } => (*registry).min(*journal) + 1,
        }
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Snapshot {
                version,
                stored,
                replayed,
            } => write!(
                f,
                "at version {version} the snapshot holds {stored} but the journal replays to {replayed}"
            ),
            Self::StateTag {
                version,
                registry,
                replayed,
                state,
            } => write!(
                f,
                "at the head (version {version}) the registry says `{registry}` but the journal replays to `{replayed}`: {state}"
            ),
            Self::Head { registry, journal } => write!(
                f,
                "the registry's head is version {registry} but the journal ends at version {journal}"
            ),
            Self::SnapshotAhead { version, journal } => write!(
                f,
                "a snapshot at version {version} is beyond the journal's end at version {journal}"
            ),
            Self::Replay {
                version, error, ..
            } => write!(f, "the event at version {version} no longer replays: {error}"),
            Self::UnreadableSnapshot { version, error } => {
                write!(f, "the snapshot at version {version} cannot be read: {error}")
            }
        }
    }
}

/// The result of verifying one actor: what was compared, and every divergence found, in version
/// order.
#[derive(Clone, Debug)]
pub struct Verification {
    /// The actor.
    pub actor_id: ActorId,
    /// The registry's head version.
    pub head: u64,
    /// The version the replay started from: 0 when the whole journal was replayed, or the
    /// snapshot retention left the fold to start from.
    pub replayed_from: u64,
    /// The last version replayed.
    pub replayed_to: u64,
    /// How many stored snapshots were compared with the replay.
    pub snapshots_compared: usize,
    /// What disagrees, ordered by version; empty for a healthy history.
    pub divergences: Vec<Divergence>,
}

impl Verification {
    /// Whether the records and the replay agree everywhere.
    pub fn is_consistent(&self) -> bool {
        self.divergences.is_empty()
    }

    /// The earliest divergence: where today's code first parts ways with the history.
    pub fn first_divergence(&self) -> Option<&Divergence> {
        self.divergences.first()
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "actor `{}`: replayed versions {}..={} of {}, compared {} snapshots",
            self.actor_id, self.replayed_from, self.replayed_to, self.head, self.snapshots_compared
        )?;
        match self.first_divergence() {
            None => f.write_str(", consistent"),
            Some(first) => write!(
                f,
                ", {} divergences; the first: {first}",
                self.divergences.len()
            ),
        }
    }
}

/// The result of verifying many actors.
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    /// One verification per actor checked, ordered by actor id.
    pub verified: Vec<Verification>,
    /// The actors that could not be checked at all (an unreadable registry row, no base state to
    /// fold from), with why.
    pub failed: Vec<(ActorId, PersistError)>,
}

impl VerifyReport {
    /// Whether every actor was checked and none diverges.
    pub fn is_consistent(&self) -> bool {
        self.failed.is_empty() && self.verified.iter().all(Verification::is_consistent)
    }

    /// The verifications that found a divergence.
    pub fn diverged(&self) -> impl Iterator<Item = &Verification> {
        self.verified.iter().filter(|each| !each.is_consistent())
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let diverged = self.diverged().count();
        write!(
            f,
            "verified {} actors: {diverged} diverge, {} could not be checked",
            self.verified.len(),
            self.failed.len()
        )?;
        for each in self.diverged() {
            write!(f, "\n  {each}")?;
        }
        for (actor_id, error) in &self.failed {
            write!(f, "\n  actor `{actor_id}`: {error}")?;
        }
        Ok(())
    }
}

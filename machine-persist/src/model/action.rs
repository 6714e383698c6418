//! Outbox rows: the durable actions stored with their events ([`NewAction`]), read back and
//! claimed by dispatchers ([`StoredAction`]), and the outcome of an attempt ([`ActionUpdate`]);
//! plain effects that failed are recorded in the same table ([`FailedEffect`]).
//!
//! A row is keyed by its [`IdempotencyKey`]: the actor, the version of the event that declared
//! it and the action's name. Its payload is the action's value as the machine's codec encoded
//! it; the store never parses it.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use machine_core::IdempotencyKey;

use super::ActorId;
use machine_core::SerializedCause;

/// The longest durable action name, in bytes.
pub const MAX_ACTION_NAME_BYTES: usize = 128;

/// Who holds a pending action, and until when: no other dispatcher claims it before `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionClaim {
    /// The dispatcher holding the claim.
    pub owner: Arc<str>,
    /// When the claim ends (wall clock).
    pub until: DateTime<Utc>,
}

/// A durable action to store with the event at `version` of its request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAction {
    /// The version of the event that declared it.
    pub version: u64,
    /// The action's name.
    pub name: Cow<'static, str>,
    /// The codec that encoded the payload.
    pub codec: Cow<'static, str>,
    /// The action's value, encoded.
    pub payload: Vec<u8>,
    /// The claim it is stored with: the dispatcher of the process that committed it runs it
    /// right after the commit, and nobody else does before the claim ends.
    pub claim: ActionClaim,
}

/// Where a durable action is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionStatus {
    /// Waiting for its next attempt (or its first).
    Pending,
    /// An attempt succeeded.
    Succeeded,
    /// Its retries ran out: dead-lettered.
    DeadLettered,
    /// A plain effect (an action, a state task, a state timeout) that failed once: recorded
    /// with its cause, never retried, never claimed (see [`FailedEffect`]).
    Failed,
}

impl ActionStatus {
    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::DeadLettered => "dead",
            Self::Failed => "failed",
        }
    }

    /// The status stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "dead" => Some(Self::DeadLettered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A durable action as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredAction {
    /// Its idempotency key: actor, version of the declaring event, name.
    pub key: IdempotencyKey,
    /// The actor's machine type.
    pub machine_type: String,
    /// The codec of the payload.
    pub codec: String,
    /// The action's value, encoded.
    pub payload: Vec<u8>,
    /// Where it is in its life.
    pub status: ActionStatus,
    /// How many attempts have ended (successful or not).
    pub attempts: u32,
    /// The dispatcher holding (or last holding) its claim; empty when none ever did.
    pub claimed_by: String,
    /// When that claim ends.
    pub claimed_until: DateTime<Utc>,
    /// The last failure, if an attempt failed.
    pub last_cause: Option<SerializedCause>,
    /// When it was stored (the commit of its event).
    pub created_at: DateTime<Utc>,
    /// When its row last changed.
    pub updated_at: DateTime<Utc>,
}

/// What an ended attempt leads to.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionOutcome {
    /// The attempt succeeded.
    Succeeded,
    /// The attempt failed; the action stays pending, claimed by the same dispatcher until
    /// `claim_until` (its next attempt comes before that).
    Retry {
        /// The end of the renewed claim.
        claim_until: DateTime<Utc>,
    },
    /// The attempt failed and no retry is left.
    DeadLettered,
}

/// The record of one ended attempt, written by the dispatcher that holds the claim.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionUpdate {
    /// The action.
    pub key: IdempotencyKey,
    /// The claim the attempt ran under, as stored (its end at microsecond precision): the
    /// update applies only while the action is pending under exactly this claim, so neither
    /// another dispatcher nor an older claim of the same one can overwrite a newer holder's
    /// record.
    pub claim: ActionClaim,
    /// How many attempts have ended, this one included.
    pub attempts: u32,
    /// What the attempt leads to.
    pub outcome: ActionOutcome,
    /// Why the attempt failed, if it did.
    pub cause: Option<SerializedCause>,
}

/// A plain effect of a persistent actor that failed: recorded in the outbox as an
/// [`ActionStatus::Failed`] row with one attempt, its cause as the last one, and no payload.
///
/// It is keyed like a durable action: the actor, a version (of the step that declared the
/// action; of the state entry, for a state task or timeout) and the effect's name. A second
/// failure under the same key (the task of the same entry failing again after a restart) keeps
/// the first record.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedEffect {
    /// The actor, the version and the effect's name.
    pub key: IdempotencyKey,
    /// The actor's machine type.
    pub machine_type: Arc<str>,
    /// Why it failed.
    pub cause: SerializedCause,
}

/// Asks for pending actions whose claim has ended, to claim them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The machine types the dispatcher can run (those it has handlers for).
    pub machine_types: Vec<String>,
    /// The claim to take: `owner` until `until`.
    pub claim: ActionClaim,
    /// "Now" for the comparison with stored claims.
    pub now: DateTime<Utc>,
    /// The most actions to claim.
    pub limit: usize,
    /// Also claim the pending actions `claim.owner` holds whose claim ends before this time,
    /// even if it has not ended: a dispatcher restarted under the same name passes its start
    /// plus its lease, and so takes back at once the claims of its earlier run that end before
    /// that (a retry its earlier run scheduled further out waits for its claim to end), never
    /// the ones it has taken since.
    pub reclaim_own_before: Option<DateTime<Utc>>,
}

/// The actor of an outbox key, for building keys from stored rows.
pub(crate) fn key(actor_id: ActorId, version: u64, name: &str) -> IdempotencyKey {
    IdempotencyKey::new(actor_id, version, name)
}

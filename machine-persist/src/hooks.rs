//! The hooks of a [`PersistConfig`]: what an application may do to a state on its way out of
//! storage (on restore) and on its way into it (before a snapshot).
//!
//! # The rule that keeps restore equal to live
//!
//! A restore starts from the latest snapshot and folds the journal after it with the machine's
//! handlers. A snapshot the [`before_snapshot`](PersistConfig::before_snapshot) hook replaces is
//! therefore the state every later event is applied to after a restart. The replacement must
//! behave exactly like the live state: every event after it must be accepted, refused or left
//! unhandled as it was live, and lead to the same states. Dropping a cache the handlers never
//! read, or normalising a representation, keeps that; changing a field a guard or a handler
//! reads does not, and restored actors would silently differ from the ones that ran.
//! [`Repository::verify`](crate::Repository::verify) finds such a divergence (it compares
//! every snapshot with a replay of the journal). [`SnapshotChoice::Skip`] is always safe: the
//! restore then folds from an older snapshot.

use std::sync::Arc;

use crate::codec::SharedError;
use crate::{ActorId, ActorMetadata, PersistConfig, PersistError, Persistable};

/// What the [`before_snapshot`](PersistConfig::before_snapshot) hook decides for one snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotChoice<M> {
    /// Write the state as it is.
    Keep,
    /// Write this state instead (see the [rule](crate::hooks) it must follow).
    Replace(M),
    /// Write nothing this time.
    Skip,
}

/// Transforms or validates a restored state, given its registry row; an error refuses the
/// restore with [`PersistError::RestoreRejected`].
pub type RestoreHook<M> = Arc<
    dyn Fn(M, &ActorMetadata) -> Result<M, Box<dyn std::error::Error + Send + Sync>> + Send + Sync,
>;

/// Decides what an automatic snapshot of a state at a version writes.
pub type SnapshotHook<M> = Arc<dyn Fn(&M, u64) -> SnapshotChoice<M> + Send + Sync>;

impl<M: Persistable> PersistConfig<M> {
    /// Passes a restored state through the on-restore hook, which sees its registry row under
    /// the application's id.
    pub(crate) fn admit_restored(
        &self,
        actor_id: &ActorId,
        state: M,
        meta: &ActorMetadata,
    ) -> Result<M, PersistError> {
        let Some(hook) = &self.on_restore else {
            return Ok(state);
        };
        let admitted = if self.key.is_identity() {
            hook(state, meta)
        } else {
            let meta = ActorMetadata {
                actor_id: self.key.id_of(&meta.actor_id),
                ..meta.clone()
            };
            hook(state, &meta)
        };
        admitted.map_err(|source| PersistError::RestoreRejected {
            actor_id: actor_id.clone(),
            source: SharedError::from(source),
        })
    }

    /// What the before-snapshot hook makes of a snapshot of `state` at `version`.
    pub(crate) fn snapshot_choice(&self, state: &M, version: u64) -> SnapshotChoice<M> {
        match &self.before_snapshot {
            None => SnapshotChoice::Keep,
            Some(hook) => hook(state, version),
        }
    }

    /// How much older than the limit a registry row's last activity is, if it is stale.
    pub(crate) fn stale_age(&self, meta: &ActorMetadata) -> Option<std::time::Duration> {
        let max = self.max_state_age?;
        let age = (chrono::Utc::now() - meta.last_activity).to_std().ok()?;
        (age > max).then_some(age)
    }
}

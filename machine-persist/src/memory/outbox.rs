//! [`Outbox`] for [`MemoryStore`].

use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::model::{action_key, time, valid};
use crate::store::{
    ActionOutcome, ActionStatus, ActionUpdate, ClaimRequest, FailedEffect, NewAction, Outbox,
    RowResult, StoredAction,
};
use crate::{ActorId, AppendRequest, StoreError};

/// The row `action` of `request` becomes, stored at `now`.
pub(super) fn stored(
    request: &AppendRequest,
    action: &NewAction,
    now: DateTime<Utc>,
) -> StoredAction {
    StoredAction {
        key: action_key(request.actor_id.clone(), action.version, &action.name),
        machine_type: request.machine_type.to_string(),
        codec: action.codec.to_string(),
        payload: action.payload.clone(),
        status: ActionStatus::Pending,
        attempts: 0,
        claimed_by: action.claim.owner.to_string(),
        claimed_until: time::to_micros(action.claim.until),
        last_cause: None,
        created_at: now,
        updated_at: now,
    }
}

impl Outbox for MemoryStore {
    async fn claim_due(
        &self,
        request: &ClaimRequest,
    ) -> Result<Vec<RowResult<StoredAction>>, StoreError> {
        let now = time::now();
        let mut state = self.lock();
        let mut due: Vec<&mut StoredAction> = state
            .actions
            .values_mut()
            .filter(|action| {
                action.status == ActionStatus::Pending
                    && (action.claimed_until < request.now
                        || request.reclaim_own_before.is_some_and(|before| {
                            *action.claimed_by == *request.claim.owner
                                && action.claimed_until < before
                        }))
                    && request.machine_types.contains(&action.machine_type)
            })
            .collect();
        due.sort_by_key(|action| action.claimed_until);
        Ok(due
            .into_iter()
            .take(request.limit)
            .map(|action| {
                action.claimed_by = request.claim.owner.to_string();
                action.claimed_until = time::to_micros(request.claim.until);
                action.updated_at = now;
                Ok(action.clone())
            })
            .collect())
    }

    async fn record(&self, update: &ActionUpdate) -> Result<bool, StoreError> {
        valid(&update.key.actor_id)?;
        let now = time::now();
        let mut state = self.lock();
        let Some(action) = state.actions.get_mut(&update.key) else {
            return Ok(false);
        };
        if action.status != ActionStatus::Pending
            || *action.claimed_by != *update.claim.owner
            || action.claimed_until != time::to_micros(update.claim.until)
        {
            return Ok(false);
        }
        action.attempts = update.attempts;
        action.updated_at = now;
        if update.cause.is_some() {
            action.last_cause.clone_from(&update.cause);
        }
        match &update.outcome {
            ActionOutcome::Succeeded => action.status = ActionStatus::Succeeded,
            ActionOutcome::DeadLettered => action.status = ActionStatus::DeadLettered,
            ActionOutcome::Retry { claim_until } => {
                action.claimed_until = time::to_micros(*claim_until);
            }
        }
        Ok(true)
    }

    async fn record_failure(&self, failure: &FailedEffect) -> Result<bool, StoreError> {
        valid(&failure.key.actor_id)?;
        let now = time::now();
        let mut state = self.lock();
        let std::collections::btree_map::Entry::Vacant(entry) =
            state.actions.entry(failure.key.clone())
        else {
            return Ok(false);
        };
        entry.insert(StoredAction {
            key: failure.key.clone(),
            machine_type: failure.machine_type.to_string(),
            codec: String::new(),
            payload: Vec::new(),
            status: ActionStatus::Failed,
            attempts: 1,
            claimed_by: String::new(),
            claimed_until: now,
            last_cause: Some(failure.cause.clone()),
            created_at: now,
            updated_at: now,
        });
        Ok(true)
    }

    async fn actions(
        &self,
        actor_id: &ActorId,
    ) -> Result<Vec<RowResult<StoredAction>>, StoreError> {
        valid(actor_id)?;
        let state = self.lock();
        Ok(state
            .actions
            .values()
            .filter(|action| &action.key.actor_id == actor_id)
            .map(|action| Ok(action.clone()))
            .collect())
    }
}

//! [`Journal`] for [`MemoryStore`].

use std::collections::BTreeMap;

use super::{outbox, MemoryStore, State};
use crate::model::{time, valid};
use crate::plan::{self, Found};
use crate::store::{GlobalPosition, RowResult, StoredCommand};
use crate::{
    ActorId, ActorMetadata, AppendRequest, BatchOutcome, Journal, StoreError, StoredEvent,
    StoredSnapshot,
};

impl Journal for MemoryStore {
    async fn append_batch(&self, requests: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        let now = time::now();
        let mut state = self.lock();
        let plan = plan::decide(
            requests,
            |id| {
                state
                    .registry
                    .get(id)
                    .map_or(Found::default(), |meta| Found {
                        exists: true,
                        head: meta.version,
                        last_request: state.last_requests.get(id).copied().unwrap_or(0),
                    })
            },
            |id, command| {
                state
                    .commands
                    .get(&(id.clone(), command.id.clone()))
                    .is_some_and(|stored| stored.recorded_at >= command.expired_before)
            },
        );
        for index in plan.accepted() {
            let request = &requests[index];
            let mut position = state.last_position;
            for (version, event) in (request.expected_version + 1..).zip(&request.events) {
                position += 1;
                let event = StoredEvent {
                    actor_id: request.actor_id.clone(),
                    version,
                    machine_type: request.machine_type.to_string(),
                    tag: event.tag.to_string(),
                    schema_version: event.schema_version,
                    codec: event.codec.clone(),
                    payload: event.payload.clone(),
                    metadata: event.metadata.clone(),
                    recorded_at: now,
                    position,
                };
                state
                    .events
                    .entry(request.actor_id.clone())
                    .or_default()
                    .insert(version, event);
                state
                    .by_position
                    .insert(position, (request.actor_id.clone(), version));
            }
            state.last_position = position;
            for command in &request.commands {
                state.commands.insert(
                    (request.actor_id.clone(), command.id.clone()),
                    StoredCommand {
                        version: command.version,
                        fingerprint: command.fingerprint.clone(),
                        recorded_at: now,
                    },
                );
            }
            for action in &request.actions {
                let stored = outbox::stored(request, action, now);
                state.actions.insert(stored.key.clone(), stored);
            }
            if let Some(snapshot) = &request.snapshot {
                state
                    .snapshots
                    .entry(request.actor_id.clone())
                    .or_default()
                    .insert(
                        snapshot.version,
                        StoredSnapshot {
                            actor_id: request.actor_id.clone(),
                            version: snapshot.version,
                            state_tag: snapshot.state_tag.to_string(),
                            schema_version: snapshot.schema_version,
                            codec: snapshot.codec.clone(),
                            payload: snapshot.payload.clone(),
                            entered_at: time::to_micros(snapshot.entered_at),
                            created_at: now,
                        },
                    );
            }
        }
        for write in &plan.registry {
            let request = &requests[write.request];
            state
                .last_requests
                .insert(request.actor_id.clone(), request.request_id);
            let known = state.registry.get(&request.actor_id);
            let created_at = known.map_or(now, |meta| meta.created_at);
            let machine_type = known.map_or_else(
                || request.machine_type.to_string(),
                |m| m.machine_type.clone(),
            );
            state.registry.insert(
                request.actor_id.clone(),
                ActorMetadata {
                    actor_id: request.actor_id.clone(),
                    machine_type,
                    version: request.next_version(),
                    state_tag: request.state_tag.to_string(),
                    entered_at: time::to_micros(request.entered_at),
                    created_at,
                    last_activity: now,
                    timeout_at: request.timeout_at.map(time::to_micros),
                },
            );
        }
        let appended = plan.accepted().next().is_some();
        drop(state);
        if appended {
            self.commits.notify();
        }
        Ok(plan.outcome)
    }

    async fn read(
        &self,
        actor_id: &ActorId,
        from: u64,
        to: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        valid(actor_id)?;
        if from > to {
            return Ok(Vec::new());
        }
        let state = self.lock();
        Ok(state.events.get(actor_id).map_or_else(Vec::new, |events| {
            events
                .range(from..=to)
                .take(max)
                .map(|(_, event)| event.clone())
                .collect()
        }))
    }

    async fn read_after_many(
        &self,
        tails: &[(ActorId, u64)],
    ) -> Result<Vec<RowResult<Vec<StoredEvent>>>, StoreError> {
        let state = self.lock();
        Ok(tails
            .iter()
            .map(|(actor_id, after)| {
                valid(actor_id)?;
                Ok(match (state.events.get(actor_id), after.checked_add(1)) {
                    (Some(events), Some(from)) => events
                        .range(from..)
                        .map(|(_, event)| event.clone())
                        .collect(),
                    _ => Vec::new(),
                })
            })
            .collect())
    }

    async fn head(&self, actor_id: &ActorId) -> Result<u64, StoreError> {
        valid(actor_id)?;
        Ok(self
            .lock()
            .registry
            .get(actor_id)
            .map_or(0, |meta| meta.version))
    }

    async fn delete_up_to(&self, actor_id: &ActorId, up_to: u64) -> Result<u64, StoreError> {
        valid(actor_id)?;
        let mut state = self.lock();
        let State {
            events,
            by_position,
            checkpoints,
            ..
        } = &mut *state;
        // An event a registered projection has not passed stays.
        let passed_by_all = checkpoints.values().min().copied();
        let Some(events) = events.get_mut(actor_id) else {
            return Ok(0);
        };
        let doomed: Vec<u64> = events
            .range(..=up_to)
            .filter(|(_, event)| {
                passed_by_all.is_none_or(|at| {
                    GlobalPosition::from_parts(0, event.position).is_some_and(|own| own <= at)
                })
            })
            .map(|(version, _)| *version)
            .collect();
        for version in &doomed {
            if let Some(event) = events.remove(version) {
                by_position.remove(&event.position);
            }
        }
        Ok(doomed.len() as u64)
    }
}

/// Removes the entries with keys in `from..=to` from `map`; returns how many were removed.
pub(super) fn remove_range<V>(map: &mut BTreeMap<u64, V>, from: u64, to: u64) -> u64 {
    if from > to {
        return 0;
    }
    let keys: Vec<u64> = map.range(from..=to).map(|(key, _)| *key).collect();
    for key in &keys {
        map.remove(key);
    }
    keys.len() as u64
}

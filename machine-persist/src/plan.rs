//! Deciding a batch: which requests pass their optimistic lock, given the heads found in the store.
//!
//! Backends that read the current heads under an exclusive write lock (memory, SQLite) decide the
//! whole batch here, in request order, so several requests for one actor chain correctly and the
//! same rules hold on every backend.

use std::collections::HashMap;

use crate::{ActorId, AppendError, AppendRequest};

/// What the store holds for one actor before the batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Found {
    /// Whether the registry row exists.
    pub exists: bool,
    /// The highest version the store knows of (registry head, or a higher stored event).
    pub head: u64,
}

/// The registry write for one actor: the last accepted request for it decides the row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RegistryWrite {
    /// Index of the last accepted request for the actor.
    pub request: usize,
    /// Whether the row existed before the batch (update) or not (insert).
    pub existed: bool,
}

/// The decided batch.
#[derive(Debug)]
pub(crate) struct Plan {
    /// One result per request, in order.
    pub outcome: Vec<Result<(), AppendError>>,
    /// One write per actor that had an accepted request, in order of first acceptance.
    pub registry: Vec<RegistryWrite>,
}

impl Plan {
    /// Indices of the accepted requests, in order.
    pub fn accepted(&self) -> impl Iterator<Item = usize> + '_ {
        self.outcome
            .iter()
            .enumerate()
            .filter_map(|(index, result)| result.is_ok().then_some(index))
    }
}

/// Decides `requests` in order against `found` (the state of each actor before the batch).
pub(crate) fn decide(requests: &[AppendRequest], found: impl Fn(&ActorId) -> Found) -> Plan {
    struct Running {
        found: Found,
        existed: bool,
        registry_slot: Option<usize>,
    }
    let mut running: HashMap<&ActorId, Running> = HashMap::with_capacity(requests.len());
    let mut outcome = Vec::with_capacity(requests.len());
    let mut registry: Vec<RegistryWrite> = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        let state = running.entry(&request.actor_id).or_insert_with(|| {
            let found = found(&request.actor_id);
            Running {
                found,
                existed: found.exists,
                registry_slot: None,
            }
        });
        let result = if request.create && state.found.exists {
            Err(AppendError::AlreadyExists {
                actor_id: request.actor_id.clone(),
            })
        } else if state.found.head != request.expected_version {
            Err(AppendError::VersionConflict {
                actor_id: request.actor_id.clone(),
                expected: request.expected_version,
                actual: state.found.head,
            })
        } else {
            state.found = Found {
                exists: true,
                head: request.next_version(),
            };
            match state.registry_slot {
                Some(slot) => registry[slot].request = index,
                None => {
                    state.registry_slot = Some(registry.len());
                    registry.push(RegistryWrite {
                        request: index,
                        existed: state.existed,
                    });
                }
            }
            Ok(())
        };
        outcome.push(result);
    }
    Plan { outcome, registry }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::NewEvent;

    fn request(id: &str, expected: u64, events: usize) -> AppendRequest {
        AppendRequest::new(id, "M", expected, "S", Utc::now()).with_events(vec![
            NewEvent::new(
                "E", 1, "{}"
            );
            events
        ])
    }

    #[test]
    fn requests_for_one_actor_chain_in_order() {
        let requests = [
            request("a", 0, 2),
            request("a", 2, 1),
            request("a", 2, 1),
            request("b", 5, 1),
        ];
        let plan = decide(&requests, |id| Found {
            exists: id.as_str() == "b",
            head: if id.as_str() == "b" { 5 } else { 0 },
        });
        assert!(plan.outcome[0].is_ok() && plan.outcome[1].is_ok() && plan.outcome[3].is_ok());
        assert_eq!(
            plan.outcome[2],
            Err(AppendError::VersionConflict {
                actor_id: "a".into(),
                expected: 2,
                actual: 3
            })
        );
        assert_eq!(
            plan.registry,
            [
                RegistryWrite {
                    request: 1,
                    existed: false
                },
                RegistryWrite {
                    request: 3,
                    existed: true
                }
            ]
        );
        assert_eq!(plan.accepted().collect::<Vec<_>>(), [0, 1, 3]);
    }

    #[test]
    fn create_fails_for_a_known_actor_and_a_second_create_in_the_batch() {
        let requests = [request("a", 0, 0).create(), request("a", 0, 0).create()];
        let plan = decide(&requests, |_| Found::default());
        assert!(plan.outcome[0].is_ok());
        assert_eq!(
            plan.outcome[1],
            Err(AppendError::AlreadyExists {
                actor_id: "a".into()
            })
        );
    }
}

//! Deciding a batch: which requests pass their optimistic lock, given the heads found in the
//! store.
//!
//! Backends that read the current heads under an exclusive write lock (memory, SQLite) decide the
//! whole batch here, in request order, so several requests for one actor chain correctly and the
//! same rules hold on every backend:
//!
//! 1. a request whose actor id or machine type breaks the storage rule is refused
//!    ([`AppendError::Invalid`]) before anything else;
//! 2. a fenced request is refused ([`AppendError::Fenced`]): these backends keep no shard
//!    leases, so no fence is current;
//! 3. a `create` for a known actor is refused ([`AppendError::AlreadyExists`]);
//! 4. a request whose expected version is not the head is a conflict.
//!
//! Before all that, a request whose id is the last one the store applied to its actor is a retry
//! of a request already stored (its answer was lost): it succeeds and writes nothing.

use std::collections::{HashMap, HashSet};

use machine_core::VersionConflict;

use crate::error::ActionProblem;
use crate::model::{check_actor_id, check_machine_type};
use crate::model::{NewAction, NewCommand, MAX_ACTION_NAME_BYTES};
use crate::{ActorId, AppendError, AppendRequest};

/// What the store holds for one actor before the batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Found {
    /// Whether the registry row exists.
    pub exists: bool,
    /// The highest version the store knows of.
    pub head: u64,
    /// The id of the last request applied to the actor (0: none known).
    pub last_request: i64,
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
    /// Whether each request is to be written (accepted, and not a retry already stored).
    write: Vec<bool>,
    /// One write per actor that had an accepted request, in order of first acceptance.
    pub registry: Vec<RegistryWrite>,
}

impl Plan {
    /// Indices of the requests to write, in order.
    pub fn accepted(&self) -> impl Iterator<Item = usize> + '_ {
        self.write
            .iter()
            .enumerate()
            .filter_map(|(index, write)| write.then_some(index))
    }
}

/// Checks the storage rule on a request's names, and its durable actions: each names one of
/// the request's versions, has a name of 1 to [`MAX_ACTION_NAME_BYTES`] bytes, and no two share
/// a version and a name.
pub(crate) fn validate(request: &AppendRequest) -> Result<(), AppendError> {
    check_actor_id(request.actor_id.as_str()).map_err(AppendError::Invalid)?;
    check_machine_type(&request.machine_type).map_err(AppendError::Invalid)?;
    let refuse = |action: &NewAction, problem| AppendError::InvalidAction {
        actor_id: request.actor_id.clone(),
        action: action.name.to_string(),
        problem,
    };
    let versions = request.expected_version + 1..=request.next_version();
    for (index, action) in request.actions.iter().enumerate() {
        if action.name.is_empty() || action.name.len() > MAX_ACTION_NAME_BYTES {
            return Err(refuse(action, ActionProblem::BadName));
        }
        if !versions.contains(&action.version) {
            return Err(refuse(
                action,
                ActionProblem::OutsideRequest(action.version),
            ));
        }
        if request.actions[..index]
            .iter()
            .any(|earlier| earlier.version == action.version && earlier.name == action.name)
        {
            return Err(refuse(action, ActionProblem::Duplicate(action.version)));
        }
    }
    for (index, command) in request.commands.iter().enumerate() {
        if request.commands[..index]
            .iter()
            .any(|earlier| earlier.id == command.id)
        {
            return Err(AppendError::DuplicateCommand {
                actor_id: request.actor_id.clone(),
                command_id: command.id.clone(),
            });
        }
    }
    Ok(())
}

/// Decides `requests` in order against `found` (the state of each actor before the batch).
///
/// `recorded(actor, command)` says whether the command is already recorded for the actor and
/// has not expired; such a request, or one repeating a command accepted earlier in the batch, is
/// refused with [`AppendError::DuplicateCommand`].
pub(crate) fn decide(
    requests: &[AppendRequest],
    found: impl Fn(&ActorId) -> Found,
    recorded: impl Fn(&ActorId, &NewCommand) -> bool,
) -> Plan {
    struct Running {
        found: Found,
        existed: bool,
        registry_slot: Option<usize>,
    }
    let mut running: HashMap<&ActorId, Running> = HashMap::with_capacity(requests.len());
    let mut outcome = Vec::with_capacity(requests.len());
    let mut write = Vec::with_capacity(requests.len());
    let mut registry: Vec<RegistryWrite> = Vec::with_capacity(requests.len());
    let mut commands: HashSet<(&ActorId, &str)> = HashSet::new();
    for (index, request) in requests.iter().enumerate() {
        if let Err(invalid) = validate(request) {
            outcome.push(Err(invalid));
            write.push(false);
            continue;
        }
        if let Some(fence) = request.fence {
            // The stores planned here keep no leases, so no fence is ever current.
            outcome.push(Err(AppendError::Fenced {
                actor_id: request.actor_id.clone(),
                fence,
            }));
            write.push(false);
            continue;
        }
        let state = running.entry(&request.actor_id).or_insert_with(|| {
            let found = found(&request.actor_id);
            Running {
                found,
                existed: found.exists,
                registry_slot: None,
            }
        });
        let retry = state.found.last_request == request.request_id;
        let result = if retry {
            // Stored by an earlier attempt: report it as stored, write nothing.
            outcome.push(Ok(()));
            write.push(false);
            continue;
        } else if request.create && state.found.exists {
            Err(AppendError::AlreadyExists {
                actor_id: request.actor_id.clone(),
            })
        } else if state.found.head != request.expected_version {
            Err(AppendError::Conflict(VersionConflict {
                actor_id: request.actor_id.clone(),
                expected: request.expected_version,
                actual: state.found.head,
            }))
        } else if let Some(repeat) = request.commands.iter().find(|command| {
            recorded(&request.actor_id, command)
                || commands.contains(&(&request.actor_id, command.id.as_str()))
        }) {
            Err(AppendError::DuplicateCommand {
                actor_id: request.actor_id.clone(),
                command_id: repeat.id.clone(),
            })
        } else {
            commands.extend(
                request
                    .commands
                    .iter()
                    .map(|command| (&request.actor_id, command.id.as_str())),
            );
            state.found = Found {
                exists: true,
                head: request.next_version(),
                last_request: request.request_id,
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
        write.push(result.is_ok());
        outcome.push(result);
    }
    Plan {
        outcome,
        write,
        registry,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::NewEvent;

    /// Decides with no command recorded.
    fn decide(requests: &[AppendRequest], found: impl Fn(&ActorId) -> Found) -> Plan {
        super::decide(requests, found, |_, _| false)
    }

    fn request(id: &str, expected: u64, events: usize) -> AppendRequest {
        AppendRequest::new(id, "M", expected, "S", Utc::now()).with_events(vec![
            NewEvent::new(
                "E",
                1,
                "json",
                b"{}".to_vec()
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
            last_request: 0,
        });
        assert!(plan.outcome[0].is_ok() && plan.outcome[1].is_ok() && plan.outcome[3].is_ok());
        assert!(matches!(
            &plan.outcome[2],
            Err(AppendError::Conflict(VersionConflict { actor_id, expected: 2, actual: 3 }))
                if actor_id == "a"
        ));
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
    fn fenced_requests_are_refused_alone() {
        let fence = crate::store::Fence { shard: 3, epoch: 9 };
        let requests = [request("a", 0, 1).with_fence(fence), request("b", 0, 1)];
        let plan = decide(&requests, |_| Found::default());
        assert_eq!(
            plan.outcome[0],
            Err(AppendError::Fenced {
                actor_id: "a".into(),
                fence
            })
        );
        assert!(plan.outcome[1].is_ok());
        assert_eq!(plan.accepted().collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn create_fails_for_a_known_actor_and_a_second_create_in_the_batch() {
        let requests = [request("a", 0, 0).create(), request("a", 0, 0).create()];
        let plan = decide(&requests, |_| Found::default());
        assert!(plan.outcome[0].is_ok());
        assert!(matches!(
            &plan.outcome[1],
            Err(AppendError::AlreadyExists { actor_id }) if actor_id == "a"
        ));
    }

    #[test]
    fn invalid_names_are_refused_alone() {
        let mut bad = request("x\0y", 0, 1);
        bad.machine_type = "M".into();
        let requests = [request("a", 0, 1), bad, request("b", 0, 1)];
        let plan = decide(&requests, |_| Found::default());
        assert!(matches!(plan.outcome[1], Err(AppendError::Invalid(_))));
        assert_eq!(plan.accepted().collect::<Vec<_>>(), [0, 2]);
    }

    #[test]
    fn a_retry_of_the_last_stored_request_succeeds_and_writes_nothing() {
        let first = request("a", 0, 2);
        let retry = first.clone();
        let other = request("a", 0, 1);
        let requests = [retry, other];
        let plan = decide(&requests, |_| Found {
            exists: true,
            head: 2,
            last_request: first.request_id,
        });
        assert!(plan.outcome[0].is_ok());
        assert!(matches!(plan.outcome[1], Err(AppendError::Conflict(_))));
        assert_eq!(plan.accepted().count(), 0);
        assert!(plan.registry.is_empty());
    }
}

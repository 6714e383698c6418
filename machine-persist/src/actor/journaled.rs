//! The [`Durability`] of persistent actors: journal every batch through the group-commit
//! writer, then follow the snapshot schedule.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use machine_core::{
    ActorId, Commit, CommitError, Current, Decision, Driver, Durability, IdempotencyKey,
    StopReason, Tag,
};
use tokio::time::Instant;

use super::repository::Shared;
use super::snapshotter::Job;
use crate::codec::{EncodeError, PayloadKind};
use crate::dispatch::{EncodeFailure, Job as ActionJob};
use crate::error::ActionProblem;
use crate::model::new_request_id;
use crate::store::{fingerprint, NewAction, NewCommand};
use crate::NewEvent;
use crate::{AppendRequest, PersistError, Persistable};

/// Per-actor persistence state, living inside the actor's task.
pub(crate) struct Journaled<M: Persistable> {
    shared: Arc<Shared<M>>,
    schedule: Driver,
    /// When the debounced snapshot is due.
    due: Option<Instant>,
    /// The version of the newest snapshot handed over.
    saved: u64,
}

impl<M: Persistable> Journaled<M> {
    pub(crate) fn new(shared: Arc<Shared<M>>, saved: u64) -> Self {
        let schedule = shared.config.snapshots.driver(std::time::Instant::now());
        Self {
            shared,
            schedule,
            due: None,
            saved,
        }
    }

    fn request(&self, commit: &Commit<'_, M>) -> Result<AppendRequest, PersistError> {
        let shared = &self.shared;
        let events = commit
            .events
            .iter()
            .map(|event| shared.payloads.event(event, &shared.config.metadata))
            .collect::<Result<Vec<_>, _>>()?;
        let commands = if commit.commands.is_empty() {
            Vec::new()
        } else {
            self.commands(commit, &events)
        };
        let actions = if commit.intents.is_empty() {
            Vec::new()
        } else {
            self.actions(commit)?
        };
        Ok(AppendRequest {
            actor_id: commit.id.clone(),
            machine_type: Arc::clone(&shared.config.machine_type),
            expected_version: commit.base_version,
            events,
            state_tag: commit.state.tag().name().into(),
            entered_at: commit.entered_at.into(),
            create: false,
            snapshot: None,
            actions,
            commands,
            request_id: new_request_id(),
        })
    }

    /// The command ids of a batch, each with its event's fingerprint.
    fn commands(&self, commit: &Commit<'_, M>, events: &[NewEvent]) -> Vec<NewCommand> {
        let expired_before = command_cutoff(self.shared.config.command_window);
        commit
            .commands
            .iter()
            .filter_map(|mark| {
                let event = events.get(mark.step)?;
                Some(NewCommand {
                    version: commit.base_version + mark.step as u64 + 1,
                    id: mark.id.to_string(),
                    fingerprint: fingerprint(&event.tag, &event.payload),
                    expired_before,
                })
            })
            .collect()
    }

    /// The durable actions of a batch, encoded, claimed by this system's dispatcher.
    fn actions(&self, commit: &Commit<'_, M>) -> Result<Vec<NewAction>, PersistError> {
        let shared = &self.shared;
        let claim = shared.runtime.dispatcher.fresh_claim();
        let refuse = |name: &str, problem| PersistError::DurableAction {
            actor_id: commit.id.clone(),
            action: name.to_owned(),
            problem,
        };
        commit
            .intents
            .iter()
            .map(|intent| {
                let handler = shared
                    .config
                    .durable
                    .get(intent.name())
                    .ok_or_else(|| refuse(intent.name(), ActionProblem::NotRegistered))?;
                let payload = handler
                    .encode(intent, &shared.config.codec)
                    .map_err(|failure| match failure {
                        EncodeFailure::Problem(problem) => refuse(intent.name(), problem),
                        EncodeFailure::Codec(source) => PersistError::Encode(EncodeError {
                            kind: PayloadKind::Action,
                            codec: shared.config.codec.name(),
                            source,
                        }),
                    })?;
                Ok(NewAction {
                    version: commit.base_version + intent.step() as u64 + 1,
                    name: intent.name().into(),
                    codec: shared.config.codec.name().into(),
                    payload,
                    claim: claim.clone(),
                })
            })
            .collect()
    }

    /// Hands the stored actions of a committed request to the dispatcher.
    fn dispatch(&self, actor_id: &ActorId, actions: Vec<NewAction>) {
        let machine_type = &self.shared.config.machine_type;
        let jobs = actions
            .into_iter()
            .map(|action| ActionJob {
                key: IdempotencyKey::new(actor_id.clone(), action.version, action.name.as_ref()),
                machine_type: Arc::clone(machine_type),
                payload: action.payload.into(),
                attempts: 0,
            })
            .collect();
        self.shared.runtime.dispatcher.offer(jobs);
    }

    /// Steps the schedule after a committed batch of `events`.
    fn schedule_snapshot(
        &mut self,
        id: &ActorId,
        state: &M,
        version: u64,
        entered_at: SystemTime,
        events: u64,
    ) {
        match self.schedule.next(std::time::Instant::now(), events) {
            Decision::Continue(delay) if delay.is_zero() => {
                self.snapshot(id, state, version, entered_at);
            }
            Decision::Continue(delay) => self.due = Instant::now().checked_add(delay),
            Decision::Skip | Decision::Done => {}
        }
    }

    /// Hands a snapshot of `state` to the snapshot writer without waiting.
    fn snapshot(&mut self, id: &ActorId, state: &M, version: u64, entered_at: SystemTime) {
        self.due = None;
        if version <= self.saved {
            return;
        }
        match self.job(id, state, version, entered_at) {
            Ok(job) => {
                if self.shared.runtime.snapshotter.offer(job) {
                    self.saved = version;
                }
            }
            Err(error) => self.shared.config.report(id, &error),
        }
    }

    fn job(
        &self,
        id: &ActorId,
        state: &M,
        version: u64,
        entered_at: SystemTime,
    ) -> Result<Job, PersistError> {
        Ok(Job {
            actor_id: id.clone(),
            snapshot: self.shared.payloads.snapshot(state, version, entered_at)?,
            retention: self.shared.config.retention,
            on_error: self.shared.config.on_error.clone(),
        })
    }
}

impl<M: Persistable> Durability<M> for Journaled<M> {
    const DISPATCHES_DURABLE_ACTIONS: bool = true;

    fn commit(
        &mut self,
        commit: Commit<'_, M>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send {
        let request = self.request(&commit);
        async move {
            let request = request.map_err(|error| error.into_commit_error(commit.id))?;
            // Kept for the dispatcher; the stored copy goes with the request.
            let actions = request.actions.clone();
            self.shared
                .runtime
                .writer
                .append(request)
                .await
                .map_err(|error| error.into_commit_error(commit.id))?;
            if !actions.is_empty() {
                self.dispatch(commit.id, actions);
            }
            let events = commit.events.len() as u64;
            self.schedule_snapshot(
                commit.id,
                commit.state,
                commit.head(),
                commit.entered_at,
                events,
            );
            Ok(())
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.due
    }

    fn wake(&mut self, current: Current<'_, M>) -> impl Future<Output = ()> + Send {
        self.snapshot(
            current.id,
            current.state,
            current.version,
            current.entered_at,
        );
        std::future::ready(())
    }

    fn stopped(
        &mut self,
        current: Current<'_, M>,
        reason: &StopReason,
    ) -> impl Future<Output = ()> + Send {
        self.shared.runtime.rewinds.clear(current.id);
        // A conflicted copy is stale: the other writer's history wins, so write nothing.
        let wanted = self.shared.config.snapshot_on_stop
            && !matches!(reason, StopReason::Conflict(_))
            && current.version > self.saved;
        let job = wanted.then(|| {
            self.job(
                current.id,
                current.state,
                current.version,
                current.entered_at,
            )
        });
        // On shutdown the system flushes the snapshot writer under its own deadline: hand the
        // snapshot over and go. Any other stop waits until the snapshot is stored.
        let wait = !matches!(reason, StopReason::Shutdown);
        let shared = Arc::clone(&self.shared);
        let id = current.id.clone();
        async move {
            let result = match job {
                None => return,
                Some(Ok(job)) if wait => shared.runtime.snapshotter.save(job).await,
                Some(Ok(job)) => {
                    shared.runtime.snapshotter.offer(job);
                    Ok(())
                }
                Some(Err(error)) => Err(error),
            };
            if let Err(error) = result {
                shared.config.report(&id, &error);
            }
        }
    }
}

/// Records of command ids older than this have left `window`.
pub(crate) fn command_cutoff(window: std::time::Duration) -> chrono::DateTime<chrono::Utc> {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    chrono::Utc::now()
        .checked_sub_signed(window)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}

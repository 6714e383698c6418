//! The [`Durability`] of persistent actors: journal every batch through the group-commit
//! writer, then follow the snapshot schedule.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use machine_core::{
    ActorId, Commit, CommitError, Current, Decision, Driver, Durability, IdempotencyKey, Observer,
    StopReason, Tag,
};
use tokio::time::Instant;

use chrono::{DateTime, Utc};

use super::incarnation::Life;
use super::repository::Shared;
use super::snapshotter::Job;
use crate::codec::{EncodeError, PayloadKind};
use crate::dispatch::{EncodeFailure, Job as ActionJob};
use crate::error::ActionProblem;
use crate::hooks::SnapshotChoice;
use crate::model::new_request_id;
use crate::store::{fingerprint, NewAction, NewCommand};
use crate::timers::timeout_at;
use crate::NewEvent;
use crate::{AppendRequest, PersistError, Persistable};

/// Per-actor persistence state, living inside the actor's task. The runtime knows the actor by
/// its storage key, so every id here (the commit's, the current state's) is that key.
pub(crate) struct Journaled<M: Persistable> {
    shared: Arc<Shared<M>>,
    id: ActorId,
    life: Arc<Life>,
    schedule: Driver,
    /// When the debounced snapshot is due.
    due: Option<Instant>,
    /// The version of the newest snapshot handed over.
    saved: u64,
    /// The state entry the stored timeout was computed for (its time and tag), and that
    /// timeout: recomputed only when the actor enters a state.
    timeout: Option<(SystemTime, &'static str, Option<DateTime<Utc>>)>,
}

impl<M: Persistable> Journaled<M> {
    pub(crate) fn new(shared: Arc<Shared<M>>, id: ActorId, life: Arc<Life>, saved: u64) -> Self {
        let schedule = shared.config.snapshots.driver(std::time::Instant::now());
        Self {
            shared,
            id,
            life,
            schedule,
            due: None,
            saved,
            timeout: None,
        }
    }

    /// When the soonest timeout of `state`, entered at `entered_at`, falls due.
    fn timeout_at(&mut self, state: &M, entered_at: SystemTime) -> Option<DateTime<Utc>> {
        let tag = state.tag().name();
        match self.timeout {
            Some((at, cached_tag, due)) if at == entered_at && cached_tag == tag => due,
            _ => {
                let due = timeout_at(state, entered_at);
                self.timeout = Some((entered_at, tag, due));
                due
            }
        }
    }

    fn request(&mut self, commit: &Commit<'_, M>) -> Result<AppendRequest, PersistError> {
        let timeout_at = self.timeout_at(commit.state, commit.entered_at);
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
            timeout_at,
            fence: shared.runtime.fence(commit.id)?,
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
                claim: action.claim,
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
            Ok(Some(job)) => {
                if self.shared.runtime.snapshotter.offer(job) {
                    self.saved = version;
                }
            }
            // The before-snapshot hook skipped this one.
            Ok(None) => self.saved = version,
            Err(error) => self.shared.config.report(id, &error),
        }
    }

    /// The snapshot job of `state`, as the before-snapshot hook has it; `None` when it skips.
    fn job(
        &self,
        id: &ActorId,
        state: &M,
        version: u64,
        entered_at: SystemTime,
    ) -> Result<Option<Job>, PersistError> {
        let payloads = &self.shared.payloads;
        let snapshot = match self.shared.config.snapshot_choice(state, version) {
            SnapshotChoice::Keep => payloads.snapshot(state, version, entered_at)?,
            SnapshotChoice::Replace(replaced) => {
                payloads.snapshot(&replaced, version, entered_at)?
            }
            SnapshotChoice::Skip => return Ok(None),
        };
        Ok(Some(Job {
            actor_id: id.clone(),
            snapshot,
            retention: self.shared.config.retention,
            on_error: self.shared.snapshot_errors.clone(),
        }))
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

    fn effect_failures(&self) -> Option<Arc<dyn Observer<M>>> {
        Some(Arc::clone(&self.shared.failures) as Arc<dyn Observer<M>>)
    }

    fn passivate_after(&self) -> Option<std::time::Duration> {
        self.shared.config.passivate_after
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
        if matches!(reason, StopReason::Passivated) {
            self.life.passivating();
        }
        // Out of memory, the stored timeout is the timer service's to fire. One due within
        // the service's lookahead may be sooner than its next poll: hand it over. A later one
        // is found by a poll, so the armed set stays bounded by the timers about to fire.
        if matches!(reason, StopReason::Passivated | StopReason::Requested)
            && self.shared.config.durable_timers
        {
            if let Some(due) = self.timeout_at(current.state, current.entered_at) {
                let timers = &self.shared.timers;
                if due <= timers.clock.lookahead_end(self.shared.config.timer_poll) {
                    timers.arm(current.id.clone(), timers.clock.instant_of(due));
                }
            }
        }
        let cleanup =
            self.shared.config.cleanup_on_terminate && matches!(reason, StopReason::Final);
        // A conflicted copy is stale: the other writer's history wins, so write nothing. An
        // actor about to be deleted needs no snapshot either.
        let wanted = self.shared.config.snapshot_on_stop
            && !cleanup
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
        // Written (after any snapshot of this actor still queued) before the deletion, so no
        // queued snapshot lands after it and outlives the actor.
        let last = cleanup.then(|| {
            self.shared
                .payloads
                .snapshot(current.state, current.version, current.entered_at)
        });
        let shared = Arc::clone(&self.shared);
        let id = current.id.clone();
        async move {
            if let Some(last) = last {
                // The runtime stops a final actor once the effects that led there have run.
                let deleted = async {
                    let job = Job {
                        actor_id: id.clone(),
                        snapshot: last?,
                        retention: None,
                        on_error: None,
                    };
                    shared.runtime.snapshotter.save(job).await?;
                    shared.runtime.store.delete_actor(&id).await?;
                    Ok::<(), PersistError>(())
                };
                if let Err(error) = deleted.await {
                    shared.config.report(&id, &error);
                }
                return;
            }
            let result = match job {
                None | Some(Ok(None)) => return,
                Some(Ok(Some(job))) if wait => shared.runtime.snapshotter.save(job).await,
                Some(Ok(Some(job))) => {
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

impl<M: Persistable> Drop for Journaled<M> {
    /// The actor's task is over (its id is free again): its handles may activate the next
    /// incarnation.
    fn drop(&mut self) {
        self.shared.incarnations.ended(&self.id, &self.life);
    }
}

//! The [`Durability`] of persistent actors: journal every batch through the group-commit
//! writer, then follow the snapshot schedule.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use machine_core::{
    ActorId, Commit, CommitError, Current, Decision, Driver, Durability, StopReason, Tag,
};
use tokio::time::Instant;

use chrono::{DateTime, Utc};

use super::incarnation::Life;
use super::repository::Shared;
use super::snapshotter::Job;
use crate::model::new_request_id;
use crate::timers::{instant_of, timeout_at};
use crate::{AppendRequest, PersistError, Persistable};

/// Per-actor persistence state, living inside the actor's task.
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
        Ok(AppendRequest {
            actor_id: commit.id.clone(),
            machine_type: Arc::clone(&shared.config.machine_type),
            expected_version: commit.base_version,
            events,
            state_tag: commit.state.tag().name().into(),
            entered_at: commit.entered_at.into(),
            create: false,
            snapshot: None,
            request_id: new_request_id(),
            timeout_at,
            fence: shared.runtime.fence(commit.id)?,
        })
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
    fn commit(
        &mut self,
        commit: Commit<'_, M>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send {
        let request = self.request(&commit);
        async move {
            let request = request.map_err(|error| error.into_commit_error(commit.id))?;
            self.shared
                .runtime
                .writer
                .append(request)
                .await
                .map_err(|error| error.into_commit_error(commit.id))?;
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
        // Out of memory, the stored timeout is the timer service's to fire.
        if matches!(reason, StopReason::Passivated | StopReason::Requested)
            && self.shared.config.durable_timers
        {
            if let Some(due) = self.timeout_at(current.state, current.entered_at) {
                self.shared.timers.arm(current.id.clone(), instant_of(due));
            }
        }
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

impl<M: Persistable> Drop for Journaled<M> {
    /// The actor's task is over (its id is free again): its handles may activate the next
    /// incarnation.
    fn drop(&mut self) {
        self.shared.incarnations.ended(&self.id, &self.life);
    }
}

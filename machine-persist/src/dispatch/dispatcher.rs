//! The dispatcher task of a persistent system: runs durable actions after their commit, retries
//! them, records every ended attempt, and polls the store for actions nobody runs.
//!
//! Two ways in, one way through:
//! * **after a commit** the actor hands the batch's actions over ([`Dispatcher::offer`]); they
//!   were stored claimed by this dispatcher, so they run at once, with no claim round trip;
//! * **the poller** claims pending actions whose claim ended (their dispatcher died, or gave
//!   up), oldest first, [`DispatchConfig::claim_batch`] at a time, every
//!   [`DispatchConfig::poll_interval`]. Right after a machine type is registered it also takes
//!   back the claims still held under this dispatcher's own name (a restart under the same
//!   [`owner`](DispatchConfig::owner)).
//!
//! Each action then runs on a task of its own: attempt, record, and on failure step its retry
//! schedule, renew the claim past the next attempt, sleep, again; until an attempt succeeds or
//! the schedule ends (dead letter, then the optional feedback event). An action is in flight at
//! most once per process; across processes the claim keeps it to one dispatcher at a time.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use machine_core::{Decision, IdempotencyKey, SerializedCause};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::config::DispatchConfig;
use super::runner::{Job, Runner};
use crate::erased::ErasedStore;
use crate::store::{ActionClaim, ActionOutcome, ActionUpdate, ClaimRequest};
use crate::StoreError;

/// How often recording an ended attempt is tried before giving up (the claim then ends and the
/// action runs again elsewhere: a duplicate within the documented bound).
const RECORD_TRIES: u32 = 3;

/// The most attempt records written in one transaction.
const RECORD_BATCH: usize = 2048;

/// The claim a running action is held under, shared by its task and the poller.
type Held = Arc<Mutex<ActionClaim>>;

/// One attempt record for the recorder, and where its answer goes (`None`: the store failed).
type RecordJob = (ActionUpdate, oneshot::Sender<Option<bool>>);

struct Inner {
    store: Arc<dyn ErasedStore>,
    config: DispatchConfig,
    runners: Mutex<HashMap<String, Arc<dyn Runner>>>,
    /// The actions running here, each with the claim it is held under now: when the poller
    /// claims a running action again (its record came too late, or a restart under the same
    /// name took its claims back), the running attempt records under the new claim.
    in_flight: Mutex<HashMap<IdempotencyKey, Held>>,
    tasks: Mutex<JoinSet<()>>,
    /// Set when a machine type was registered: the next poll takes own claims back.
    reclaim_own: AtomicBool,
    /// Every claim this dispatcher takes ends at or after this time; own claims that end
    /// before it are an earlier run's (see [`ClaimRequest::reclaim_own_before`]).
    reclaim_before: chrono::DateTime<Utc>,
    stop: watch::Sender<bool>,
    /// The recorder's queue: ended attempts are written many per transaction.
    records: mpsc::UnboundedSender<RecordJob>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A handle to a system's dispatcher.
#[derive(Clone)]
pub(crate) struct Dispatcher {
    inner: Arc<Inner>,
}

impl Dispatcher {
    /// Starts the dispatcher and its poller on the current runtime.
    pub(crate) fn spawn(store: Arc<dyn ErasedStore>, config: DispatchConfig) -> Self {
        let (stop, _) = watch::channel(false);
        let (records, queue) = mpsc::unbounded_channel();
        let recorder_store = Arc::clone(&store);
        let reclaim_before = Utc::now() + config.effective_lease();
        let dispatcher = Self {
            inner: Arc::new(Inner {
                store,
                reclaim_before,
                config,
                runners: Mutex::new(HashMap::new()),
                in_flight: Mutex::new(HashMap::new()),
                tasks: Mutex::new(JoinSet::new()),
                reclaim_own: AtomicBool::new(false),
                stop,
                records,
            }),
        };
        let poller = dispatcher.clone();
        let mut tasks = lock(&dispatcher.inner.tasks);
        tasks.spawn(async move { poller.poll().await });
        tasks.spawn(record_in_batches(recorder_store, queue));
        drop(tasks);
        dispatcher
    }

    /// The claim actions committed now are stored with.
    pub(crate) fn fresh_claim(&self) -> ActionClaim {
        ActionClaim {
            owner: Arc::clone(&self.inner.config.owner),
            until: Utc::now() + self.inner.config.effective_lease(),
        }
    }

    /// Registers the runner of `machine_type` (a repository with durable actions was made).
    pub(crate) fn register(&self, machine_type: &str, runner: Arc<dyn Runner>) {
        lock(&self.inner.runners).insert(machine_type.to_owned(), runner);
        self.inner.reclaim_own.store(true, Ordering::Release);
    }

    /// Runs actions that were just committed, claimed by this dispatcher.
    pub(crate) fn offer(&self, jobs: Vec<Job>) {
        for job in jobs {
            self.start(job);
        }
    }

    /// Stops polling and cancels every running action. Their claims stay until their leases
    /// end (or this owner restarts), then they run again.
    pub(crate) fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        lock(&self.inner.tasks).abort_all();
    }

    fn start(&self, job: Job) {
        if *self.inner.stop.borrow() {
            return;
        }
        let Some(runner) = lock(&self.inner.runners).get(&*job.machine_type).cloned() else {
            tracing::warn!(machine = %job.machine_type, key = %job.key, "no runner for a durable action's machine type");
            return;
        };
        let held = match lock(&self.inner.in_flight).entry(job.key.clone()) {
            Entry::Occupied(running) => {
                *lock(running.get()) = job.claim;
                return;
            }
            Entry::Vacant(slot) => Arc::clone(slot.insert(Arc::new(Mutex::new(job.claim.clone())))),
        };
        let dispatcher = self.clone();
        let mut tasks = lock(&self.inner.tasks);
        // Reap finished tasks, so the set holds only running ones.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            let key = job.key.clone();
            dispatcher.run(runner, job, &held).await;
            lock(&dispatcher.inner.in_flight).remove(&key);
        });
    }

    /// One action's life in this dispatcher.
    async fn run(&self, runner: Arc<dyn Runner>, mut job: Job, held: &Held) {
        let config = &self.inner.config;
        let schedule = if runner.owns(&job.key.actor_id) {
            runner.retry(&job.key.action).ok_or_else(|| {
                format!(
                    "no durable action `{}` is registered for machine type `{}` in dispatcher `{}`",
                    job.key.action, job.machine_type, config.owner
                )
            })
        } else {
            Err(format!(
                "actor `{}` is not stored under the persistence key of machine type `{}` in dispatcher `{}`",
                job.key.actor_id, job.machine_type, config.owner
            ))
        };
        let schedule = match schedule {
            Ok(schedule) => schedule,
            Err(refusal) => {
                // Not known here (an older build, another namespace of the store): give the claim
                // up for a dispatcher that knows it.
                tracing::warn!(key = %job.key, %refusal, "leaving a durable action to another dispatcher");
                let cause = SerializedCause::new(refusal);
                let release = ActionOutcome::Retry {
                    claim_until: Utc::now(),
                };
                self.record(&job, held, job.attempts, release, Some(cause))
                    .await;
                return;
            }
        };
        // The retry schedule's driver, anchored at the start, is made when first needed (most
        // actions succeed at once); after a restart, it continues where the ended attempts left
        // it.
        let started = tokio::time::Instant::now().into_std();
        let mut driver = None;
        let mut exhausted = false;
        if job.attempts > 0 {
            let driver = driver.insert(schedule.driver(started));
            for _ in 0..job.attempts {
                if !matches!(
                    driver.next(tokio::time::Instant::now().into_std(), 1),
                    Decision::Continue(_)
                ) {
                    exhausted = true;
                    break;
                }
            }
        }
        let mut last_cause = None;
        while !exhausted {
            let attempt = job.attempts.saturating_add(1);
            let outcome =
                tokio::time::timeout(config.attempt_timeout, runner.attempt(&job, attempt))
                    .await
                    .unwrap_or_else(|_| {
                        Err(SerializedCause::new(format!(
                            "the attempt did not end within {:?}",
                            config.attempt_timeout
                        )))
                    });
            job.attempts = attempt;
            let cause = match outcome {
                Ok(()) => {
                    tracing::debug!(key = %job.key, attempt, "durable action succeeded");
                    self.record(&job, held, attempt, ActionOutcome::Succeeded, None)
                        .await;
                    return;
                }
                Err(cause) => cause,
            };
            tracing::warn!(key = %job.key, attempt, %cause, "durable action failed");
            let driver = driver.get_or_insert_with(|| schedule.driver(started));
            match driver.next(tokio::time::Instant::now().into_std(), 1) {
                Decision::Continue(delay) => {
                    let claim_until = Utc::now() + delay + config.effective_lease();
                    let renewed = ActionOutcome::Retry { claim_until };
                    if !self.record(&job, held, attempt, renewed, Some(cause)).await {
                        return;
                    }
                    tokio::time::sleep(delay).await;
                }
                Decision::Skip | Decision::Done => {
                    last_cause = Some(cause);
                    exhausted = true;
                }
            }
        }
        let cause = last_cause
            .unwrap_or_else(|| SerializedCause::new("the retry schedule allows no attempt"));
        // The feedback first: should the process die before the dead letter is recorded, the
        // action is dead-lettered again (at once, its schedule being spent) and the feedback
        // repeated, never lost.
        if let Err(error) = runner.feed_back(&job, &cause).await {
            tracing::error!(key = %job.key, %error, "the feedback event of a dead-lettered action failed");
        }
        tracing::warn!(key = %job.key, attempts = job.attempts, %cause, "durable action dead-lettered");
        self.record(
            &job,
            held,
            job.attempts,
            ActionOutcome::DeadLettered,
            Some(cause),
        )
        .await;
    }

    /// Records an ended attempt under the claim `held` holds, retrying transient store failures
    /// and a refusal that came because the claim was taken over here meanwhile; whether this
    /// dispatcher still holds the action (then `held` holds the claim the record left).
    async fn record(
        &self,
        job: &Job,
        held: &Held,
        attempts: u32,
        outcome: ActionOutcome,
        cause: Option<SerializedCause>,
    ) -> bool {
        let mut pause = Duration::from_millis(50);
        for tries in 1..=RECORD_TRIES {
            let claim = lock(held).clone();
            let update = ActionUpdate {
                key: job.key.clone(),
                claim: claim.clone(),
                attempts,
                outcome: outcome.clone(),
                cause: cause.clone(),
            };
            let (answer, answered) = oneshot::channel();
            if self.inner.records.send((update, answer)).is_err() {
                return false;
            }
            match answered.await.ok().flatten() {
                Some(true) => {
                    if let ActionOutcome::Retry { claim_until } = outcome {
                        lock(held).until = claim_until;
                    }
                    return true;
                }
                // This dispatcher's poller claimed the action again meanwhile.
                Some(false) if *lock(held) != claim => {}
                Some(false) => {
                    tracing::warn!(key = %job.key, "the claim of a durable action was lost; another dispatcher runs it");
                    return false;
                }
                None if tries < RECORD_TRIES => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                None => {
                    tracing::error!(key = %job.key, "recording a durable action's attempt failed; its claim will end and it runs again");
                    return false;
                }
            }
        }
        false
    }

    /// The poller: claims due actions and starts them, until shutdown.
    async fn poll(&self) {
        let mut stop = self.inner.stop.subscribe();
        loop {
            if *stop.borrow() {
                return;
            }
            self.poll_once().await;
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(self.inner.config.poll_interval) => {}
            }
        }
    }

    async fn poll_once(&self) {
        let machine_types: Vec<String> = lock(&self.inner.runners).keys().cloned().collect();
        if machine_types.is_empty() {
            return;
        }
        let config = &self.inner.config;
        let request = ClaimRequest {
            machine_types,
            claim: self.fresh_claim(),
            now: Utc::now(),
            limit: config.claim_batch,
            reclaim_own_before: self
                .inner
                .reclaim_own
                .swap(false, Ordering::AcqRel)
                .then_some(self.inner.reclaim_before),
        };
        let claimed = match self.inner.store.claim_due(&request).await {
            Ok(claimed) => claimed,
            Err(error) => {
                if request.reclaim_own_before.is_some() {
                    self.inner.reclaim_own.store(true, Ordering::Release);
                }
                tracing::warn!(%error, "claiming durable actions failed; trying again at the next poll");
                return;
            }
        };
        for row in claimed {
            match row {
                Ok(action) => self.start(Job {
                    machine_type: action.machine_type.into(),
                    payload: action.payload.into(),
                    attempts: action.attempts,
                    key: action.key,
                    claim: request.claim.clone(),
                }),
                Err(error) => tracing::error!(%error, "a stored durable action cannot be read"),
            }
        }
    }
}

/// The recorder: writes the ended attempts that wait, up to [`RECORD_BATCH`] per transaction,
/// and answers each; when the store fails, every record of the round hears `None`.
async fn record_in_batches(
    store: Arc<dyn ErasedStore>,
    mut queue: mpsc::UnboundedReceiver<RecordJob>,
) {
    let mut round: Vec<RecordJob> = Vec::new();
    while queue.recv_many(&mut round, RECORD_BATCH).await > 0 {
        let updates: Vec<ActionUpdate> = round.iter().map(|(update, _)| update.clone()).collect();
        match store.record_many(&updates).await {
            Ok(applied) if applied.len() == round.len() => {
                for ((_, answer), applied) in round.drain(..).zip(applied) {
                    let _ = answer.send(Some(applied));
                }
            }
            Ok(applied) => {
                report(&StoreError::Contract(format!(
                    "{} attempt records were answered with {} results",
                    round.len(),
                    applied.len()
                )));
                round.clear();
            }
            Err(error) => {
                report(&error);
                round.clear();
            }
        }
    }
}

fn report(error: &StoreError) {
    tracing::error!(%error, "recording durable actions' attempts failed");
}

//! The running scope of the current state: its tasks, its timeouts, and its epoch.

use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::Actor;
use crate::actor::durability::Durability;
use crate::effect::Scope;
use crate::model::Machine;

/// What runs on behalf of the current state.
///
/// The epoch increases on every entry; events produced by a scope carry its epoch, so an event
/// from a state that was left meanwhile is recognised and discarded.
pub(super) struct ScopeState<M: Machine> {
    pub(super) epoch: u64,
    tasks: Vec<AbortHandle>,
    /// Pending timeouts, soonest first.
    timeouts: Vec<Pending<M>>,
    /// Commits in a row that failed with events of this scope in them.
    failed_commits: u32,
}

/// An event of the scope waiting for its time: a declared timeout, or an event of a task or
/// timeout whose commit failed, offered again after a backoff.
struct Pending<M: Machine> {
    deadline: Instant,
    event: M::Event,
    /// Whether its commit failed once: the event exists nowhere else, so the actor must not
    /// leave memory before it is stored.
    retried: bool,
}

impl<M: Machine> Default for ScopeState<M> {
    fn default() -> Self {
        Self {
            epoch: 0,
            tasks: Vec::new(),
            timeouts: Vec::new(),
            failed_commits: 0,
        }
    }
}

/// How long after a failed commit the events of the scope are tried again the first time; each
/// failure in a row doubles it, up to [`RETRY_MAX`].
pub(super) const RETRY_FIRST: Duration = Duration::from_millis(100);

/// The longest wait before the events of a failed commit are tried again.
pub(super) const RETRY_MAX: Duration = Duration::from_secs(30);

impl<M: Machine> ScopeState<M> {
    /// Cancels the tasks and timeouts of the scope.
    pub(super) fn cancel(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        self.timeouts.clear();
        self.failed_commits = 0;
    }

    /// Schedules `events` of this scope, whose commit failed, to be offered again after a
    /// backoff (from [`RETRY_FIRST`], doubling with each failure in a row, up to [`RETRY_MAX`]);
    /// returns the wait. Leaving the state cancels them with its other timeouts.
    pub(super) fn retry_later(&mut self, events: Vec<M::Event>, now: Instant) -> Duration {
        let delay = RETRY_FIRST
            .saturating_mul(2u32.saturating_pow(self.failed_commits))
            .min(RETRY_MAX);
        self.failed_commits = self.failed_commits.saturating_add(1);
        let deadline = now + delay;
        self.timeouts
            .extend(events.into_iter().map(|event| Pending {
                deadline,
                event,
                retried: true,
            }));
        self.timeouts.sort_by_key(|pending| pending.deadline);
        delay
    }

    /// Whether events of this scope wait to be tried again after a failed commit: the actor
    /// stays in memory until they are stored (a task's event would be lost with it). A commit
    /// of other events meanwhile does not store them.
    pub(super) fn is_retrying(&self) -> bool {
        self.timeouts.iter().any(|pending| pending.retried)
    }

    /// The store answered (a commit succeeded, or the store refused its content for good): the
    /// next failure waits [`RETRY_FIRST`] again.
    pub(super) fn store_answered(&mut self) {
        self.failed_commits = 0;
    }

    /// Whether a task of the scope is still running.
    pub(super) fn has_running_task(&self) -> bool {
        self.tasks.iter().any(|task| !task.is_finished())
    }

    /// The soonest pending timeout.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.timeouts.first().map(|pending| pending.deadline)
    }

    /// Whether a timeout is due at `now`.
    pub(super) fn is_due(&self, now: Instant) -> bool {
        self.next_deadline().is_some_and(|deadline| deadline <= now)
    }

    /// Removes and returns the events of the timeouts due at `now`, in deadline order.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<M::Event> {
        let due = self
            .timeouts
            .iter()
            .take_while(|pending| pending.deadline <= now)
            .count();
        self.timeouts
            .drain(..due)
            .map(|pending| pending.event)
            .collect()
    }
}

impl<M: Machine, D: Durability<M>> Actor<M, D> {
    /// Leaves the current scope and enters `declared`, the scope of the current state: cancels
    /// the old tasks and timeouts and starts the new ones. `elapsed` is how long ago the state
    /// was entered (zero for a live entry, the time since `entered_at` on restore), so timeouts
    /// keep their deadline.
    pub(super) fn enter_scope(&mut self, declared: Scope<M>, elapsed: Duration) {
        self.scope.cancel();
        // Epochs start at 1: 0 marks events from outside.
        self.scope.epoch += 1;
        if declared.is_empty() {
            return;
        }
        let now = Instant::now();
        self.scope.timeouts = declared
            .timeouts
            .into_iter()
            .filter_map(|timeout| {
                Some(Pending {
                    deadline: deadline(now, timeout.after, elapsed)?,
                    event: timeout.event,
                    retried: false,
                })
            })
            .collect();
        self.scope.timeouts.sort_by_key(|pending| pending.deadline);
        for task in declared.tasks {
            let failures = self.durability.effect_failures();
            let handle = self
                .spawner
                .scope_task(task, self.scope.epoch, self.version, failures);
            self.scope.tasks.push(handle);
        }
    }
}

/// How far ahead a timeout may fall due: about 30 years, the bound tokio puts on its own
/// sleeps because the clocks of some platforms cannot represent much more.
const HORIZON: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// When a timeout declared `after` the entry, `elapsed` ago, falls due; `None` for one that
/// never does, [`HORIZON`] or more from now.
fn deadline(now: Instant, after: Duration, elapsed: Duration) -> Option<Instant> {
    let remaining = after.saturating_sub(elapsed);
    if remaining >= HORIZON {
        return None;
    }
    now.checked_add(remaining)
}

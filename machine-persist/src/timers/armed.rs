//! The armed timers of one repository: the actors to activate, by the instant they fall due.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use machine_core::ActorId;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Clock;

/// At most one timer per actor, ordered by due instant (then id).
#[derive(Debug, Default)]
pub(crate) struct Armed {
    by_due: BTreeSet<(Instant, ActorId)>,
    by_id: HashMap<ActorId, Instant>,
}

impl Armed {
    /// Arms (or re-arms) the timer of `id` for `at`.
    pub(crate) fn arm(&mut self, id: ActorId, at: Instant) {
        if let Some(old) = self.by_id.insert(id.clone(), at) {
            self.by_due.remove(&(old, id.clone()));
        }
        self.by_due.insert((at, id));
    }

    /// Disarms the timer of `id`, if any.
    pub(crate) fn cancel(&mut self, id: &ActorId) {
        if let Some(at) = self.by_id.remove(id) {
            self.by_due.remove(&(at, id.clone()));
        }
    }

    /// The soonest armed instant.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.by_due.first().map(|(at, _)| *at)
    }

    /// Removes and returns up to `max` timers due at `now`, soonest first.
    pub(crate) fn take_due(&mut self, now: Instant, max: usize) -> Vec<ActorId> {
        let mut due = Vec::new();
        while due.len() < max {
            match self.by_due.first() {
                Some((at, _)) if *at <= now => {
                    if let Some((_, id)) = self.by_due.pop_first() {
                        self.by_id.remove(&id);
                        due.push(id);
                    }
                }
                _ => break,
            }
        }
        due
    }

    /// How many timers are armed.
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// The armed set shared by a repository's actors and its timer service, with a signal for the
/// service when a timer sooner than its sleep was armed, and the clock they share.
#[derive(Debug)]
pub(crate) struct Timers {
    armed: Mutex<Armed>,
    pub(crate) changed: Notify,
    pub(crate) clock: Clock,
    /// Set when the service must read the store's timers again from the start: the node took
    /// over shards whose timers an earlier poll passed by, since it did not own them then.
    rescan: AtomicBool,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            armed: Mutex::default(),
            changed: Notify::new(),
            clock: Clock::start(),
            rescan: AtomicBool::new(false),
        }
    }
}

impl Timers {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Armed> {
        // Every critical section is one insert, removal or read of both maps together.
        self.armed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Arms the timer of `id` and wakes the service.
    pub(crate) fn arm(&self, id: ActorId, at: Instant) {
        self.lock().arm(id, at);
        self.changed.notify_one();
    }

    /// Asks the service to read every due timer again from the start, and wakes it.
    #[cfg(feature = "cluster")]
    pub(crate) fn rescan(&self) {
        self.rescan.store(true, Ordering::Release);
        self.changed.notify_one();
    }

    /// Whether a rescan was asked for since the last call.
    pub(crate) fn take_rescan(&self) -> bool {
        self.rescan.swap(false, Ordering::AcqRel)
    }

    /// Disarms the timer of `id`: its actor is in memory and runs its own timeouts.
    pub(crate) fn cancel(&self, id: &ActorId) {
        self.lock().cancel(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_timer_per_actor_in_due_order() {
        let now = Instant::now();
        let mut armed = Armed::default();
        armed.arm("b".into(), now + Duration::from_secs(2));
        armed.arm("a".into(), now + Duration::from_secs(5));
        armed.arm("c".into(), now + Duration::from_secs(1));
        // Re-arming moves the timer instead of adding one.
        armed.arm("a".into(), now + Duration::from_secs(3));
        assert_eq!(armed.len(), 3);
        assert_eq!(armed.next(), Some(now + Duration::from_secs(1)));
        armed.cancel(&"c".into());
        assert_eq!(armed.next(), Some(now + Duration::from_secs(2)));
        assert!(armed.take_due(now + Duration::from_secs(1), 10).is_empty());
        let due = armed.take_due(now + Duration::from_secs(10), 1);
        assert_eq!(due, vec![ActorId::from("b")]);
        let due = armed.take_due(now + Duration::from_secs(10), 10);
        assert_eq!(due, vec![ActorId::from("a")]);
        assert_eq!(armed.len(), 0);
        assert_eq!(armed.next(), None);
    }
}

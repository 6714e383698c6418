//! Durable timers: the soonest state timeout of each stored actor, kept on its registry row.
//!
//! An actor's state timeout must fire even when the actor is not in memory (it passivated, or
//! the process restarted and nobody restored it). Every append records when the soonest
//! timeout of the state it leads to falls due ([`AppendRequest::timeout_at`]), in the same write
//! as its events, so the registry always names the timeout of the committed state and a state
//! that was left has its timeout replaced. A timer service reads the rows that fall due with a
//! [`TimerQuery`], in due order, page by page, and activates their actors.
//!
//! [`AppendRequest::timeout_at`]: crate::AppendRequest::timeout_at

use chrono::{DateTime, Utc};

use super::ActorId;

/// A stored actor whose state timeout falls due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueTimer {
    /// The actor.
    pub actor_id: ActorId,
    /// When its soonest state timeout falls due.
    pub due: DateTime<Utc>,
}

/// Selects the pending timers of one machine type due up to a time, ordered by due time then
/// actor id; page with [`after`](Self::after).
///
/// ```
/// use machine_persist::chrono::Utc;
/// use machine_persist::store::TimerQuery;
///
/// let due_now = TimerQuery::new("Approval", Utc::now()).limit(500);
/// # let _ = due_now;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerQuery {
    pub(crate) machine_type: String,
    pub(crate) until: DateTime<Utc>,
    pub(crate) after: Option<(DateTime<Utc>, ActorId)>,
    pub(crate) limit: usize,
}

/// The page size of a [`TimerQuery`] unless told otherwise.
pub const DEFAULT_TIMER_PAGE: usize = 1_000;

impl TimerQuery {
    /// The timers of `machine_type` due at or before `until`.
    pub fn new(machine_type: impl Into<String>, until: DateTime<Utc>) -> Self {
        Self {
            machine_type: machine_type.into(),
            until,
            after: None,
            limit: DEFAULT_TIMER_PAGE,
        }
    }

    /// Only timers after `(due, actor_id)` in (due, actor id) order: the last of the previous
    /// page.
    pub fn after(mut self, due: DateTime<Utc>, actor_id: impl Into<ActorId>) -> Self {
        self.after = Some((due, actor_id.into()));
        self
    }

    /// At most `limit` timers (at least 1).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit.max(1);
        self
    }

    /// Whether the timer of `actor_id` due at `due`, of `machine_type`, is selected (ignores the
    /// page size).
    pub fn matches(&self, machine_type: &str, actor_id: &ActorId, due: DateTime<Utc>) -> bool {
        machine_type == self.machine_type
            && due <= self.until
            && self
                .after
                .as_ref()
                .is_none_or(|(after_due, after_id)| (due, actor_id) > (*after_due, after_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn selects_by_type_due_time_and_position() {
        let at = |s| Utc.timestamp_opt(s, 0).unwrap();
        let query = TimerQuery::new("A", at(10)).after(at(5), "m");
        assert!(query.matches("A", &"n".into(), at(5)));
        assert!(!query.matches("A", &"m".into(), at(5)));
        assert!(!query.matches("A", &"a".into(), at(5)));
        assert!(query.matches("A", &"a".into(), at(6)));
        assert!(query.matches("A", &"a".into(), at(10)));
        assert!(!query.matches("A", &"a".into(), at(11)));
        assert!(!query.matches("B", &"n".into(), at(6)));
        assert_eq!(TimerQuery::new("A", at(1)).limit(0).limit, 1);
    }
}

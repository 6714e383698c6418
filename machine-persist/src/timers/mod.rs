//! Durable timers: state timeouts that fire while their actor is not in memory.
//!
//! A running actor arms its own state timeouts (machine-core's runtime). What this module adds
//! is what happens when nobody runs the actor: it passivated, it was stopped, or the process
//! restarted and nothing restored it. Every commit records when the soonest timeout of the new
//! state falls due ([`timeout_at`]) on the actor's registry row, in the same write as its
//! events; a *timer service* per repository reads the rows that come due and activates their
//! actors, whose restored runtime then fires the overdue timeout at once.
//!
//! The service never loads every pending timer: it reads the rows due within a short lookahead
//! (twice its poll interval), in due order, page by page, behind a cursor, and keeps only
//! those in its armed set. Memory is bounded by the timers about to fire, not by the stored
//! actors. An actor that leaves memory hands its timer to the set directly (its timeout may be
//! sooner than the next poll); an actor that comes into memory takes its timer back.

mod armed;

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use machine_core::{Machine, Scope};
use tokio::time::Instant;

pub(crate) use armed::Timers;

/// How far ahead a timeout may fall due and still be stored: about 30 years, the bound past
/// which machine-core's runtime treats a timeout as "never".
const HORIZON: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// When the soonest state timeout of `state`, entered at `entered_at`, falls due; `None` when
/// the state declares none (or only ones that never fire).
pub(crate) fn timeout_at<M: Machine>(state: &M, entered_at: SystemTime) -> Option<DateTime<Utc>> {
    let mut scope = Scope::default();
    state.enter(&mut scope);
    let after = scope.soonest_timeout().filter(|after| *after < HORIZON)?;
    entered_at.checked_add(after).map(DateTime::<Utc>::from)
}

/// How far ahead of now a timer service with poll interval `poll` arms timers: twice the
/// interval, so every timer is armed before it is due.
fn lookahead(poll: Duration) -> Duration {
    poll.saturating_mul(2)
}

/// The time of a timer service: the wall clock when the repository was made, advanced by
/// tokio's clock since. Due times are wall times (they are stored, and survive the process);
/// timers sleep on tokio's clock like the actors' own timeouts, so paused-clock tests drive
/// them, and the two agree with each other however the test clock moves.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    wall: DateTime<Utc>,
    instant: Instant,
}

impl Clock {
    /// A clock anchored now.
    pub(crate) fn start() -> Self {
        Self {
            wall: Utc::now(),
            instant: Instant::now(),
        }
    }

    /// The wall time now, as this clock tells it.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let since = Instant::now().saturating_duration_since(self.instant);
        self.wall + chrono::Duration::from_std(since).unwrap_or(chrono::Duration::MAX)
    }

    /// The tokio instant at which the wall time `due` arrives (now if it has passed).
    pub(crate) fn instant_of(&self, due: DateTime<Utc>) -> Instant {
        let ahead = (due - self.now()).to_std().unwrap_or(Duration::ZERO);
        let now = Instant::now();
        now.checked_add(ahead.min(HORIZON)).unwrap_or(now)
    }

    /// The wall time up to which a service with poll interval `poll` arms timers now.
    pub(crate) fn lookahead_end(&self, poll: Duration) -> DateTime<Utc> {
        self.now() + chrono::Duration::from_std(lookahead(poll)).unwrap_or(chrono::Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_for_the_past_is_now_and_the_future_keeps_its_distance() {
        let clock = Clock::start();
        let before = Instant::now();
        assert!(clock.instant_of(Utc::now() - chrono::Duration::hours(1)) <= Instant::now());
        let ahead = clock.instant_of(Utc::now() + chrono::Duration::seconds(60));
        assert!(ahead >= before + Duration::from_secs(59));
        assert!(ahead <= Instant::now() + Duration::from_millis(60_010));
        // A far future stays representable.
        let far = clock.instant_of(DateTime::<Utc>::MAX_UTC);
        assert!(far > Instant::now());
    }

    #[tokio::test(start_paused = true)]
    async fn the_clock_moves_with_the_paused_test_clock() {
        let clock = Clock::start();
        let due = clock.now() + chrono::Duration::hours(1);
        tokio::time::advance(Duration::from_secs(1800)).await;
        let now = clock.now();
        assert!(
            now >= due - chrono::Duration::minutes(31)
                && now <= due - chrono::Duration::minutes(29)
        );
        let at = clock.instant_of(due);
        let remaining = at - Instant::now();
        assert!(remaining > Duration::from_secs(1790) && remaining <= Duration::from_secs(1800));
        assert!(clock.lookahead_end(Duration::from_secs(1)) > now);
    }
}

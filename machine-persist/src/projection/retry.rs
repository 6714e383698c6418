//! Retrying a failed handler as a [`Schedule`] says.

use machine_core::{Decision, Driver, Schedule};

/// The attempts at one piece of work: each failure steps the schedule once.
pub(super) struct Attempts {
    schedule: Schedule,
    driver: Option<Driver>,
    /// Attempts made so far.
    pub(super) made: u32,
}

impl Attempts {
    pub(super) fn new(schedule: &Schedule) -> Self {
        Self {
            schedule: schedule.clone(),
            driver: None,
            made: 0,
        }
    }

    /// Counts a failed attempt and waits before the next one; `false` once the schedule gives
    /// up (`Skip` or `Done`).
    pub(super) async fn failed(&mut self) -> bool {
        self.made = self.made.saturating_add(1);
        // tokio's clock, so a paused test clock drives time-based schedules.
        let now = tokio::time::Instant::now().into_std();
        let driver = self.driver.get_or_insert_with(|| self.schedule.driver(now));
        match driver.next(now, 1) {
            Decision::Continue(delay) => {
                tokio::time::sleep(delay).await;
                true
            }
            Decision::Skip | Decision::Done => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn retries_as_often_as_the_schedule_allows() {
        let mut attempts = Attempts::new(
            &Schedule::exponential(Duration::from_millis(10)).intersect(Schedule::recurs(2)),
        );
        let start = tokio::time::Instant::now();
        assert!(attempts.failed().await);
        assert!(attempts.failed().await);
        assert!(!attempts.failed().await);
        assert_eq!(attempts.made, 3);
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}

//! Retrying transient storage errors as a [`Schedule`] says.

use std::time::Duration;

use machine_core::{Decision, Driver, Schedule};

use super::RetryPolicy;
use crate::StoreError;

/// A [`RetryPolicy`] driven by a [`Schedule`]: each failed attempt of a batch steps the
/// schedule once; `Continue(d)` retries after `d`, `Skip` and `Done` give up. Only transient
/// errors ([`StoreError::is_transient`]) are retried. Every new batch starts the schedule over.
///
/// ```
/// use std::time::Duration;
/// use machine_core::Schedule;
/// use machine_persist::writer::ScheduleRetry;
///
/// // 10 ms, 20 ms, 40 ms… with jitter, at most 5 retries.
/// let retry = ScheduleRetry::new(
///     Schedule::exponential(Duration::from_millis(10)).jittered().intersect(Schedule::recurs(5)),
/// );
/// # let _ = retry;
/// ```
#[derive(Clone, Debug)]
pub struct ScheduleRetry {
    schedule: Schedule,
    driver: Option<Driver>,
}

impl ScheduleRetry {
    /// Retries per `schedule`.
    pub fn new(schedule: Schedule) -> Self {
        Self {
            schedule,
            driver: None,
        }
    }
}

impl RetryPolicy for ScheduleRetry {
    fn retry_after(&mut self, attempt: u32, error: &StoreError) -> Option<Duration> {
        if !error.is_transient() {
            return None;
        }
        // tokio's clock, so a paused test clock drives time-based schedules.
        let now = tokio::time::Instant::now().into_std();
        if attempt <= 1 || self.driver.is_none() {
            self.driver = Some(self.schedule.driver(now));
        }
        match self.driver.as_mut()?.next(now, 1) {
            Decision::Continue(delay) => Some(delay),
            Decision::Skip | Decision::Done => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient() -> StoreError {
        StoreError::Timeout {
            operation: "append",
            after: Duration::from_secs(1),
        }
    }

    #[test]
    fn retries_follow_the_schedule_and_restart_per_batch() {
        let mut retry = ScheduleRetry::new(
            Schedule::exponential(Duration::from_millis(10)).intersect(Schedule::recurs(2)),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let _guard = rt.enter();
        assert_eq!(
            retry.retry_after(1, &transient()),
            Some(Duration::from_millis(10))
        );
        assert_eq!(
            retry.retry_after(2, &transient()),
            Some(Duration::from_millis(20))
        );
        assert_eq!(retry.retry_after(3, &transient()), None);
        // A new batch starts over.
        assert_eq!(
            retry.retry_after(1, &transient()),
            Some(Duration::from_millis(10))
        );
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        let mut retry = ScheduleRetry::new(Schedule::forever());
        let permanent = StoreError::InvalidName {
            name: "x".into(),
            reason: "test",
        };
        assert_eq!(retry.retry_after(1, &permanent), None);
    }
}

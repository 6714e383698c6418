//! Duration arithmetic that saturates instead of overflowing or panicking.

use std::time::{Duration, Instant};

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Lower bound of the jitter factor, in millionths (0.8).
pub(super) const JITTER_MIN_MILLIONTHS: u32 = 800_000;
/// Exclusive upper bound of the jitter factor, in millionths (1.2).
pub(super) const JITTER_END_MILLIONTHS: u32 = 1_200_000;

/// A duration from a nanosecond count, saturating at [`Duration::MAX`].
pub(super) fn from_nanos(nanos: u128) -> Duration {
    let secs = nanos / NANOS_PER_SEC;
    // The remainder is below one billion, so it always fits in a u32.
    let subsec = u32::try_from(nanos % NANOS_PER_SEC).unwrap_or(0);
    u64::try_from(secs).map_or(Duration::MAX, |secs| Duration::new(secs, subsec))
}

/// The time from `now` until the next boundary `start + k * period` strictly after `now`:
/// in `(0, period]`, so exactly on a boundary it is a whole `period`. A zero period gives
/// ZERO; a `now` before `start` counts as `start`.
pub(super) fn until_next_boundary(start: Instant, now: Instant, period: Duration) -> Duration {
    let period = period.as_nanos();
    if period == 0 {
        return Duration::ZERO;
    }
    let elapsed = now.saturating_duration_since(start).as_nanos();
    from_nanos(period - elapsed % period)
}

/// `delay * factor`, saturating at [`Duration::MAX`]. Exact for whole factors up to
/// `u32::MAX`, else rounded to the nearest nanosecond; `factor` must be a non-negative
/// number (infinity allowed).
pub(super) fn grow(delay: Duration, factor: f64) -> Duration {
    if delay.is_zero() {
        return Duration::ZERO;
    }
    if factor.fract() == 0.0 && factor <= f64::from(u32::MAX) {
        // A whole number in [0, u32::MAX]: the cast is exact.
        return delay.saturating_mul(factor as u32);
    }
    // Rounded to the nearest nanosecond; float-to-int `as` saturates (infinity -> u128::MAX).
    let nanos = (delay.as_nanos() as f64 * factor).round();
    from_nanos(nanos as u128)
}

/// `delay * millionths / 1_000_000`, rounded down to the nanosecond and saturating at
/// [`Duration::MAX`].
pub(super) fn scale_millionths(delay: Duration, millionths: u32) -> Duration {
    from_nanos(delay.as_nanos() * u128::from(millionths) / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn from_nanos_round_trips_and_saturates() {
        assert_eq!(from_nanos(0), Duration::ZERO);
        assert_eq!(from_nanos(1_500_000_001), Duration::new(1, 500_000_001));
        assert_eq!(from_nanos(Duration::MAX.as_nanos()), Duration::MAX);
        assert_eq!(from_nanos(u128::MAX), Duration::MAX);
    }

    #[test]
    fn boundary_is_in_zero_exclusive_period_inclusive() {
        let start = Instant::now();
        let period = 10 * MS;
        assert_eq!(until_next_boundary(start, start, period), period);
        assert_eq!(until_next_boundary(start, start + 3 * MS, period), 7 * MS);
        assert_eq!(until_next_boundary(start, start + 10 * MS, period), period);
        assert_eq!(until_next_boundary(start, start + 25 * MS, period), 5 * MS);
    }

    #[test]
    fn boundary_edge_cases() {
        let start = Instant::now() + Duration::from_secs(60);
        assert_eq!(
            until_next_boundary(start, start, Duration::ZERO),
            Duration::ZERO
        );
        // `now` before `start` counts as `start`.
        let before = start - Duration::from_secs(1);
        assert_eq!(until_next_boundary(start, before, 10 * MS), 10 * MS);
        assert_eq!(
            until_next_boundary(start, start + MS, Duration::MAX),
            Duration::MAX - MS
        );
    }

    #[test]
    fn grow_is_exact_for_whole_factors_and_saturates() {
        assert_eq!(grow(10 * MS, 2.0), 20 * MS);
        assert_eq!(grow(10 * MS, 0.0), Duration::ZERO);
        assert_eq!(grow(10 * MS, 1.5), 15 * MS);
        assert_eq!(grow(Duration::MAX, 2.0), Duration::MAX);
        assert_eq!(grow(Duration::MAX, 1.5), Duration::MAX);
        assert_eq!(grow(MS, f64::INFINITY), Duration::MAX);
        assert_eq!(grow(MS, 1e300), Duration::MAX);
        assert_eq!(grow(Duration::ZERO, f64::INFINITY), Duration::ZERO);
    }

    #[test]
    fn scale_rounds_down_and_saturates() {
        assert_eq!(scale_millionths(10 * MS, 800_000), 8 * MS);
        assert_eq!(
            scale_millionths(Duration::from_nanos(1), 800_000),
            Duration::ZERO
        );
        assert_eq!(
            scale_millionths(Duration::from_nanos(10), 1_199_999),
            Duration::from_nanos(11)
        );
        assert_eq!(scale_millionths(Duration::MAX, 1_199_999), Duration::MAX);
        assert_eq!(scale_millionths(Duration::MAX, JITTER_MIN_MILLIONTHS), {
            from_nanos(Duration::MAX.as_nanos() * 4 / 5)
        });
    }
}

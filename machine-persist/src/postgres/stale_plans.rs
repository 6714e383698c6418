//! Recovering from prepared statements that a schema change made stale.
//!
//! sqlx prepares every statement once per connection and keeps it. When a migration (run by
//! another process, typically the first node of a rolling upgrade) changes what such a statement
//! returns, say the collation of a returned column, Postgres refuses to run the old statement:
//! "cached plan must not change result type" (SQLSTATE `0A000`, raised by
//! `RevalidateCachedQuery`). It does so on every connection that prepared it, on every execution,
//! until the connection goes away, so without help a running node fails that operation until it
//! restarts.
//!
//! The error is reported as transient, and noticing it marks every pooled connection opened
//! until then as stale: the pool closes such a connection instead of handing it out
//! ([`is_fresh`], the pool's `before_acquire` check), and a retry runs on a connection that
//! prepares its statements against the new schema. The mark is process-wide because the error
//! conversion has no store at hand; a store that did not see the change only reconnects once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::postgres::PgDatabaseError;

/// When a stale statement was last noticed, in microseconds after [`origin`] plus one (0: never).
static NOTICED: AtomicU64 = AtomicU64::new(0);

/// The instant [`NOTICED`] counts from.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn micros_since_origin() -> u64 {
    u64::try_from(origin().elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Whether `error` is Postgres refusing a prepared statement whose result type changed (matched
/// by the server routine that raises it, which unlike the message is not translated).
pub(crate) fn is_stale_plan(error: &PgDatabaseError) -> bool {
    error.code() == "0A000" && error.routine() == Some("RevalidateCachedQuery")
}

/// Marks every connection opened until now as stale.
pub(crate) fn noticed() {
    NOTICED.fetch_max(micros_since_origin().saturating_add(1), Ordering::AcqRel);
}

/// Whether a pooled connection opened `age` ago was opened after the last stale statement was
/// noticed (then it may be handed out; otherwise the pool closes it).
pub(super) fn is_fresh(age: Duration) -> bool {
    opened_after(age, NOTICED.load(Ordering::Acquire), micros_since_origin())
}

/// Whether a connection opened `age` before `now` was opened after `noticed` (both in
/// microseconds after [`origin`], `noticed` plus one, 0 for never).
fn opened_after(age: Duration, noticed: u64, now: u64) -> bool {
    if noticed == 0 {
        return true;
    }
    age < Duration::from_micros(now.saturating_sub(noticed - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_opened_before_a_stale_statement_was_noticed_are_not_handed_out() {
        let ms = Duration::from_millis;
        // Noticed at 1 s (stored plus one); it is 1.02 s now.
        let (noticed, now) = (1_000_001, 1_020_000);
        assert!(opened_after(ms(5), noticed, now), "opened at 1.015 s");
        assert!(!opened_after(ms(40), noticed, now), "opened at 0.98 s");
        assert!(
            !opened_after(ms(20), noticed, now),
            "opened as it was noticed"
        );
        assert!(opened_after(ms(3_600_000), 0, now), "nothing noticed yet");
    }

    #[test]
    fn noticing_marks_what_is_open_now() {
        noticed();
        assert!(!is_fresh(Duration::from_secs(3600)));
    }
}

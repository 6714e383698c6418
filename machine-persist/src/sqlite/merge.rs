//! The merge: moving appended events from `recent_events` into `events`, and appended durable
//! actions from `recent_actions` into `durable_actions`.
//!
//! Appends insert into `recent_events`, keyed by position, so a batch that touches a thousand
//! actors writes a few fresh pages instead of one page per actor of an index ordered by actor.
//! The merge pays that per-actor cost once for many batches: it inserts everything pending into
//! `events` sorted by `(actor_id, version)`, so each actor's last page of `events` is touched once
//! per merge, not once per batch. It runs inside an append's transaction (no extra commit), when
//! the [`MergePolicy`] says so, and when a store is opened.
//!
//! The outbox has the same two levels for the same reason, merged at the same time: every row
//! of `recent_actions` is moved, so the records of a dispatcher find an action in one level or
//! the other, never both.
//!
//! The primary key of `events` is the backstop against duplicate versions. Rows inserted behind
//! the registry's back could duplicate a version; a merge then moves every other row and leaves
//! the duplicates in `recent_events` (and keeps them visible there), so reads of those actors
//! report corrupt data rather than lose or hide a row, and every other actor is unaffected.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::SqliteConnection;

use crate::StoreError;

/// How many narrow batches in a row merge even when other events are waiting: under load, the
/// writer now and then commits a batch of a few stragglers, which must not merge every time;
/// under light load, every batch is narrow, and what heavier load left waiting is merged soon.
const NARROW_STREAK: u32 = 4;

/// When appended events are merged into the indexed journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct MergePolicy {
    /// Merge once this many positions were assigned since the last merge.
    pub(super) pending_events: i64,
    /// A batch whose events belong to at most this many actors is narrow: writing it into
    /// `events` costs about one page per actor, no more than appending it to `recent_events`, so
    /// it goes straight there if nothing else waits to be merged (and merges what waits after
    /// [`NARROW_STREAK`] narrow batches in a row).
    pub(super) narrow_batch_actors: usize,
}

/// One batch, as the merge policy sees it.
#[derive(Clone, Copy, Debug)]
pub(super) struct BatchShape {
    /// Positions waiting to be merged before the batch.
    pub(super) waiting_before: i64,
    /// Positions waiting to be merged after it.
    pub(super) waiting_after: i64,
    /// Distinct actors the batch appended events to.
    pub(super) actors: usize,
}

/// The count of narrow batches in a row, shared by a store's clones.
#[derive(Debug, Default)]
pub(super) struct NarrowStreak(AtomicU32);

/// Where a batch's events go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Route {
    /// Straight into `events`: nothing else waits to be merged.
    Merged,
    /// Into `recent_events`, and then merge everything waiting if `merge`.
    Recent {
        /// Whether the batch merges after appending.
        merge: bool,
    },
}

impl MergePolicy {
    /// Where the batch of `shape` goes, counting it into `streak`.
    pub(super) fn route(&self, shape: BatchShape, streak: &NarrowStreak) -> Route {
        let narrow = shape.actors <= self.narrow_batch_actors;
        let in_a_row = if narrow {
            streak.0.fetch_add(1, Ordering::Relaxed).saturating_add(1)
        } else {
            streak.0.store(0, Ordering::Relaxed);
            0
        };
        if narrow && shape.waiting_before == 0 {
            return Route::Merged;
        }
        Route::Recent {
            merge: shape.waiting_after >= self.pending_events
                || (narrow && in_a_row >= NARROW_STREAK),
        }
    }
}

/// Moves every row of `recent_events` whose `(actor_id, version)` is free into `events`.
const MOVE: &str = "
    INSERT OR FAIL INTO events
        (actor_id, version, position, machine_type, tag, schema_version, codec, payload,
         metadata, recorded_at)
    SELECT actor_id, version, position, machine_type, tag, schema_version, codec, payload,
           metadata, recorded_at
    FROM recent_events WHERE true
    ORDER BY actor_id, version, position
    ON CONFLICT DO NOTHING";

/// After a complete move.
const CLEAR: &str = "DELETE FROM recent_events";
const ADVANCE_WATERMARK: &str = "UPDATE journal_state SET merged_through = last_position";

/// After a move that left duplicates: drop what was moved, point each remaining actor's
/// `recent_from` at its remaining rows, and put the watermark just below them.
const CLEAR_MOVED: &str = "
    DELETE FROM recent_events WHERE EXISTS (
        SELECT 1 FROM events AS e
        WHERE e.actor_id = recent_events.actor_id
          AND e.version = recent_events.version
          AND e.position = recent_events.position)";
const POINT_AT_LEFTOVERS: &str = "
    UPDATE actors SET recent_from = (
        SELECT min(r.position) FROM recent_events AS r WHERE r.actor_id = actors.actor_id)
    WHERE actor_id IN (SELECT actor_id FROM recent_events)";
const WATERMARK_BELOW_LEFTOVERS: &str = "
    UPDATE journal_state SET merged_through = (SELECT min(position) - 1 FROM recent_events)";

/// Moves every row of `recent_actions` whose key is free into `durable_actions`.
const MOVE_ACTIONS: &str = "
    INSERT OR FAIL INTO durable_actions
        (actor_id, version, name, machine_type, codec, payload, status, attempts, claimed_by,
         claimed_until, last_cause, created_at, updated_at)
    SELECT actor_id, version, name, machine_type, codec, payload, status, attempts, claimed_by,
           claimed_until, last_cause, created_at, updated_at
    FROM recent_actions WHERE true
    ORDER BY actor_id, version, name
    ON CONFLICT DO NOTHING";

/// After a move that left rows whose key was taken: drop the rows that were moved (those
/// `durable_actions` now holds as they were).
const CLEAR_MOVED_ACTIONS: &str = "
    DELETE FROM recent_actions WHERE EXISTS (
        SELECT 1 FROM durable_actions AS d
        WHERE d.actor_id = recent_actions.actor_id
          AND d.version = recent_actions.version
          AND d.name = recent_actions.name
          AND d.created_at = recent_actions.created_at
          AND d.payload = recent_actions.payload)";

/// Merges `recent_events` into `events` and `recent_actions` into `durable_actions`, inside the
/// caller's write transaction.
pub(super) async fn merge(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    merge_actions(conn).await?;
    merge_events(conn).await
}

/// Moves the outbox's insertion-ordered level into the keyed one. A row whose key is already
/// taken there (written behind the registry's back) stays where it is, and is reported.
async fn merge_actions(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM recent_actions")
        .fetch_one(&mut *conn)
        .await?;
    if pending == 0 {
        return Ok(());
    }
    let moved = sqlx::query(MOVE_ACTIONS)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if u64::try_from(pending).is_ok_and(|pending| pending == moved) {
        sqlx::query("DELETE FROM recent_actions")
            .execute(&mut *conn)
            .await?;
        return Ok(());
    }
    sqlx::query(CLEAR_MOVED_ACTIONS).execute(&mut *conn).await?;
    tracing::error!(
        left = pending.saturating_sub(i64::try_from(moved).unwrap_or(i64::MAX)),
        "durable actions duplicate keys already merged; they stay in recent_actions"
    );
    Ok(())
}

/// Moves `recent_events` into `events`.
async fn merge_events(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM recent_events")
        .fetch_one(&mut *conn)
        .await?;
    let moved = if pending == 0 {
        0
    } else {
        sqlx::query(MOVE).execute(&mut *conn).await?.rows_affected()
    };
    if u64::try_from(pending).is_ok_and(|pending| pending == moved) {
        if pending > 0 {
            sqlx::query(CLEAR).execute(&mut *conn).await?;
        }
        sqlx::query(ADVANCE_WATERMARK).execute(&mut *conn).await?;
        return Ok(());
    }
    for sql in [CLEAR_MOVED, POINT_AT_LEFTOVERS, WATERMARK_BELOW_LEFTOVERS] {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    tracing::error!(
        left = pending.saturating_sub(i64::try_from(moved).unwrap_or(i64::MAX)),
        "journal rows duplicate versions already merged; they stay in recent_events and reads \
         of their actors report corrupt data until they are removed"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: MergePolicy = MergePolicy {
        pending_events: 1_000,
        narrow_batch_actors: 2,
    };

    fn shape(waiting_before: i64, waiting_after: i64, actors: usize) -> BatchShape {
        BatchShape {
            waiting_before,
            waiting_after,
            actors,
        }
    }

    #[test]
    fn wide_batches_merge_when_enough_is_waiting() {
        let streak = NarrowStreak::default();
        let (wait, merge) = (
            Route::Recent { merge: false },
            Route::Recent { merge: true },
        );
        assert_eq!(POLICY.route(shape(0, 500, 500), &streak), wait);
        assert_eq!(POLICY.route(shape(500, 999, 499), &streak), wait);
        assert_eq!(POLICY.route(shape(999, 1_500, 501), &streak), merge);
    }

    #[test]
    fn narrow_batches_skip_the_recent_level_or_drain_it_in_a_streak() {
        let streak = NarrowStreak::default();
        let (wait, merge) = (
            Route::Recent { merge: false },
            Route::Recent { merge: true },
        );
        assert_eq!(POLICY.route(shape(0, 3, 1), &streak), Route::Merged);
        assert_eq!(POLICY.route(shape(0, 300, 300), &streak), wait);
        // A straggler batch under load leaves the waiting events alone ...
        for _ in 1..NARROW_STREAK {
            assert_eq!(POLICY.route(shape(300, 301, 1), &streak), wait);
        }
        // ... but light load drains them.
        assert_eq!(POLICY.route(shape(300, 301, 1), &streak), merge);
        // A wide batch breaks the streak.
        assert_eq!(POLICY.route(shape(300, 800, 500), &streak), wait);
        assert_eq!(POLICY.route(shape(800, 801, 2), &streak), wait);
    }
}

//! Shared test support: the backend abstraction the conformance suite runs against, and the
//! macros that instantiate the suite for one backend.

#![allow(dead_code)] // each test binary uses part of the support

pub mod conformance;
pub mod failures;
pub mod faulty;
pub mod keys;
pub mod lifecycle;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod stream;

use std::future::Future;

use machine_persist::store::Store;

/// A backend under test: a fresh, empty store and a second, independent handle (own connections)
/// on the same data.
pub trait Backend: Sized + Send + Sync {
    /// The store type.
    type S: Store;

    /// Opens a fresh backend, or `None` if it is unavailable (the test is then skipped).
    fn open() -> impl Future<Output = Option<Self>> + Send;

    /// The main handle.
    fn store(&self) -> &Self::S;

    /// An independent handle on the same data (for races between processes).
    fn other(&self) -> &Self::S;

    /// Releases everything the backend created.
    fn teardown(self) -> impl Future<Output = ()> + Send;
}

/// Damage done to stored rows behind the store's back, in terms every SQL backend can apply.
#[derive(Clone, Copy, Debug)]
pub enum Damage<'a> {
    /// The metadata column of one event holds `value`.
    EventMetadata {
        actor: &'a str,
        version: u64,
        value: &'a str,
    },
    /// The `recorded_at` of one event cannot be read as a time.
    EventTime { actor: &'a str, version: u64 },
    /// The `entered_at` of one snapshot cannot be read as a time.
    SnapshotTime { actor: &'a str, version: u64 },
    /// The registry's head of an actor is `head` (negative is possible).
    RegistryHead { actor: &'a str, head: i64 },
    /// The registry's `last_activity` of an actor cannot be read as a time.
    RegistryActivity { actor: &'a str },
    /// One event is gone.
    DeleteEvent { actor: &'a str, version: u64 },
}

/// A backend whose stored rows can be damaged directly, to test reading bad data.
pub trait Corruptible: Backend {
    /// Applies `damage` with raw SQL.
    fn damage(&self, damage: Damage<'_>) -> impl Future<Output = ()> + Send;
}

/// Instantiates the named conformance checks as tests for `$backend` (from `support::conformance`,
/// or from the module named after `in`: `conformance_tests!(in lifecycle, Backend; ..)`).
#[macro_export]
macro_rules! conformance_tests {
    ($backend:ty; $($name:ident),* $(,)?) => {
        $crate::conformance_tests!(in conformance, $backend; $($name),*);
    };
    (in $module:ident, $backend:ty; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(backend) = <$backend as $crate::support::Backend>::open().await else {
                    return;
                };
                $crate::support::$module::$name(&backend).await;
                $crate::support::Backend::teardown(backend).await;
            }
        )*
    };
}

/// Instantiates every backend-independent conformance check for `$backend`.
#[macro_export]
macro_rules! all_conformance_tests {
    ($backend:ty) => {
        $crate::conformance_tests!($backend;
            append_and_read_with_inclusive_bounds_and_max,
            unknown_actor_reads_nothing_and_has_head_zero,
            empty_batch_succeeds,
            version_conflict_names_expected_and_actual,
            create_refuses_a_known_actor,
            refusal_in_a_batch_does_not_fail_the_others,
            a_fenced_append_without_a_current_lease_is_refused_alone,
            requests_for_one_actor_chain_within_a_batch,
            payload_and_metadata_round_trip_exactly,
            retention_keeps_the_head,
            snapshots_select_latest_at_most_and_overwrite,
            snapshot_retention,
            snapshot_in_append_is_atomic,
            registry_tracks_appends,
            registry_filters_and_pages,
            delete_actor_removes_everything,
            positions_increase_across_actors,
            stream_pages_through_a_long_history,
            independent_handles_racing_never_duplicate_or_gap,
            bulk_reads_match_single_reads,
            a_retried_request_reports_success,
            names_breaking_the_rule_are_refused_alone,
            restore_refuses_inconsistent_data,
            events_without_a_snapshot_fold_from_the_initial_state,
            two_systems_racing_on_one_actor_never_duplicate_or_lose_a_version,
            global_stream_of_an_empty_store_is_empty,
            global_stream_has_every_event_once_in_commit_order,
            global_stream_pages_resume_after_any_bound,
            global_stream_filters_by_machine_type_and_tag,
            global_stream_follows_writers_racing_on_two_handles,
            checkpoints_round_trip_by_name,
            retention_keeps_what_a_projection_has_not_passed,
            durable_actions_commit_with_their_events_and_are_claimed_once,
            command_ids_refuse_repeats_alone_until_they_expire,
            failed_effects_are_recorded_once_and_never_claimed,
        );
    };
}

/// Instantiates every check that damages stored rows for `$backend`.
#[macro_export]
macro_rules! corrupt_conformance_tests {
    ($backend:ty) => {
        $crate::conformance_tests!($backend;
            corrupt_metadata_is_a_typed_error,
            a_damaged_row_fails_its_actor_alone_in_bulk_reads,
            a_damaged_registry_row_is_listed_as_unreadable,
            restore_all_fails_only_the_damaged_actors,
            damaged_heads_and_missing_events_stop_a_restore,
            history_yields_the_entries_before_a_bad_row,
            a_damaged_row_is_an_error_in_its_place_in_the_stream,
        );
    };
}

/// Instantiates every lifecycle check (passivation, timers, options) for `$backend`.
#[macro_export]
macro_rules! lifecycle_conformance_tests {
    ($backend:ty) => {
        $crate::conformance_tests!(in lifecycle, $backend;
            passivated_actors_activate_once_under_concurrent_calls,
            messages_racing_passivation_are_neither_lost_nor_repeated,
            only_passivated_actors_come_back,
            commits_store_when_the_state_timeout_falls_due,
            a_passivated_actor_wakes_when_its_timeout_falls_due,
            leaving_a_state_cancels_its_timer,
            a_timer_due_while_down_fires_on_start,
            a_stale_state_is_discarded_and_reported,
            cleanup_on_terminate_deletes_a_finished_actor,
            periodic_cleanup_deletes_old_actors_not_in_memory,
            the_on_restore_hook_transforms_and_refuses,
            the_before_snapshot_hook_skips_and_replaces,
            restore_on_start_restores_the_selected_actors,
            passivation_snapshots_per_snapshot_on_stop,
            a_timer_that_cannot_activate_its_actor_is_reported,
        );
    };
}

/// Instantiates every persistence-key check (namespaces, renames, invalid keys) for `$backend`.
#[macro_export]
macro_rules! key_conformance_tests {
    ($backend:ty) => {
        $crate::conformance_tests!(in keys, $backend;
            namespaces_with_the_same_ids_do_not_see_each_other,
            a_renamed_actor_keeps_its_data,
            keys_breaking_the_id_rule_are_refused,
            cleanup_deletes_only_its_own_keys,
            a_namespaced_timer_fires_on_its_own_actor,
        );
    };
}

//! Shared test support: the backend abstraction the conformance suite runs against, and the
//! macros that instantiate the suite for one backend.

pub mod conformance;

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

/// A backend whose stored rows can be damaged directly, to test reading bad data.
#[allow(dead_code)] // the in-memory backend cannot be damaged
pub trait Corruptible: Backend {
    /// Overwrites the metadata column of one event with `value` (raw SQL).
    fn corrupt_event_metadata(
        &self,
        actor_id: &str,
        version: u64,
        value: &str,
    ) -> impl Future<Output = ()> + Send;
}

/// Instantiates the named conformance checks as tests for `$backend`.
#[macro_export]
macro_rules! conformance_tests {
    ($backend:ty; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(backend) = <$backend as $crate::support::Backend>::open().await else {
                    return;
                };
                $crate::support::conformance::$name(&backend).await;
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
        );
    };
}

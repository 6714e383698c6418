//! The approval example's two phases, run in one test process on a fresh database: the
//! escalation of the claim whose window closed between the phases, and the approval that
//! activates the other one from storage.

#![cfg(feature = "sqlite")]

#[path = "../examples/approval.rs"]
#[allow(dead_code)] // `main` runs the phases as child processes; the test calls them directly
mod approval;

use machine::persist::store::Catalog;
use machine::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wait_survives_the_restart_and_the_overdue_claim_is_escalated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("approval.db");
    approval::submit(&path).await.unwrap();
    tokio::time::sleep(approval::SHORT_WINDOW + std::time::Duration::from_millis(500)).await;
    approval::approve(&path).await.unwrap();

    let store = SqliteStore::open(&path).await.unwrap();
    let tag = |meta: Option<machine::persist::store::ActorMetadata>| meta.unwrap().state_tag;
    assert_eq!(tag(store.get(&"exp-1".into()).await.unwrap()), "Approved");
    assert_eq!(tag(store.get(&"exp-2".into()).await.unwrap()), "Escalated");
    store.close().await;
}

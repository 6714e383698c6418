//! Network faults between a Postgres store and its server, produced by a TCP proxy in the test
//! (never by touching the shared server): a stall (the server unreachable, the connections
//! open), and a commit whose answer is lost.
//!
//! * a stalled call ends with a transient `Timeout` within the client-side deadline;
//! * a commit whose answer is lost is reported as stored once the writer retries it (appends are
//!   idempotent), and the actor carries on without a conflict;
//! * shutdown during an outage ends within its bound and reports the snapshots it could not
//!   write; the actors restore afterwards from the journal.

#![cfg(feature = "postgres")]

#[macro_use]
mod support;
mod fixture;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fixture::{Account, AccountEvent, Ledger};
use machine_persist::store::{Journal, StoreError};
use machine_persist::writer::NoRetry;
use machine_persist::{PersistConfig, PersistError, PersistentSystem, PostgresStore};
use machine_test_support::postgres;
use machine_test_support::proxy::Proxy;

/// A store reaching the test server through a fresh proxy, with a short deadline.
async fn through_proxy(test: &str) -> Option<(Proxy, PostgresStore, String)> {
    let Some(server) = postgres::server_addr() else {
        postgres::unavailable(test, &"the server address does not resolve");
        return None;
    };
    let proxy = Proxy::start(server).await.unwrap();
    let schema = postgres::fresh_schema("mp_fault");
    let store = support::pg::open_at(test, &postgres::url_via(proxy.addr()), &schema, |options| {
        options
            .operation_timeout(Duration::from_secs(2))
            .statement_timeout(Some(Duration::from_secs(1)))
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(false)
            .max_connections(1)
            .concurrent_batches(1)
    })
    .await?;
    Some((proxy, store, schema))
}

/// The same schema, reached directly.
async fn direct(test: &str, schema: &str) -> PostgresStore {
    support::pg::open_at(test, &postgres::url(), schema, |options| options)
        .await
        .unwrap()
}

/// An append statement's bound arrays take more bytes than this; protocol chatter (a lone
/// `Sync`) takes fewer.
const APPEND_BYTES: usize = 200;

/// Long enough for a commit's notification, sent in the background, to have left.
const NOTIFIED: Duration = Duration::from_millis(200);

fn deposit(amount: u64) -> AccountEvent {
    AccountEvent::Deposit { amount }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_network_ends_a_call_within_the_deadline() {
    let test = "a_stalled_network_ends_a_call_within_the_deadline";
    let Some((proxy, store, schema)) = through_proxy(test).await else {
        return;
    };
    let system = PersistentSystem::builder(store).retry(NoRetry).build();
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let account = accounts.spawn("stalled", Account::new()).await.unwrap();
    assert!(account.call(deposit(1)).await.unwrap().is_accepted());

    proxy.stall();
    let started = Instant::now();
    let stalled = account.call(deposit(2)).await;
    let waited = started.elapsed();
    match &stalled {
        Err(PersistError::Store(error)) => {
            assert!(
                matches!(**error, StoreError::Timeout { .. }),
                "expected the client-side deadline, got {error}"
            );
            assert!(error.is_transient());
        }
        other => panic!("expected a store timeout, got {other:?}"),
    }
    // The stall lasts forever; only the 2 s deadline can have ended the call.
    assert!(waited < Duration::from_secs(20), "waited {waited:?}");
    assert_eq!(account.version().await.unwrap(), 1, "the batch rolled back");

    // Close the stalled connections before forwarding again, so the request held in them never
    // reaches the server (resuming first would let it commit late, behind the caller's back,
    // and the next call would rightly conflict with it).
    proxy.cut();
    proxy.resume();
    let mut recovered = None;
    for _ in 0..20 {
        match account.call(deposit(3)).await {
            Ok(outcome) => {
                recovered = Some(outcome);
                break;
            }
            Err(error) if error.is_transient() => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(error) => panic!("after the stall: {error}"),
        }
    }
    assert!(recovered.is_some_and(|outcome| outcome.is_accepted()));
    let _ = system.shutdown().await;
    support::pg::teardown(direct(test, &schema).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_is_lost_is_reported_as_stored() {
    let test = "a_commit_whose_answer_is_lost_is_reported_as_stored";
    let Some((proxy, store, schema)) = through_proxy(test).await else {
        return;
    };
    let check = direct(test, &schema).await;
    let id = machine_core::ActorId::from("lost-answer");

    // Without retries the caller cannot know: it gets a transient error, yet the event is
    // stored.
    let system = PersistentSystem::builder(store.clone())
        .retry(NoRetry)
        .build();
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let account = accounts.spawn(id.clone(), Account::new()).await.unwrap();
    assert!(account.call(deposit(1)).await.unwrap().is_accepted());
    // The first commit's notification leaves in the background (coalesced for 10 ms): let it go
    // before severing, so that the request cut next is the append's.
    tokio::time::sleep(NOTIFIED).await;
    proxy.sever_next_request(APPEND_BYTES);
    let ambiguous = account.call(deposit(2)).await.unwrap_err();
    assert!(ambiguous.is_transient(), "{ambiguous}");
    // The store's commit-notification connection runs through the proxy too, and its NOTIFY
    // may be the other request the proxy cuts; the append's is always one of them.
    assert!((1..=2).contains(&proxy.severed()), "{}", proxy.severed());
    assert_eq!(
        check.head(&id).await.unwrap(),
        2,
        "the severed commit happened"
    );
    let _ = system.shutdown().await;

    // With the default retries, the retry finds its own request stored and reports success.
    let system = PersistentSystem::new(store);
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let account = accounts.restore(id.clone()).await.unwrap().unwrap();
    assert_eq!(account.version().await.unwrap(), 2);
    assert!(account.call(deposit(3)).await.unwrap().is_accepted());
    tokio::time::sleep(NOTIFIED).await;
    let severed_before = proxy.severed();
    proxy.sever_next_request(APPEND_BYTES);
    let outcome = account.call(deposit(4)).await.unwrap();
    assert!((1..=2).contains(&(proxy.severed() - severed_before)));
    assert_eq!(outcome.into_state().unwrap().balance(), 10);
    assert_eq!(account.version().await.unwrap(), 4);
    // No conflict follows: the actor's version and the store's head agree.
    assert!(account.call(deposit(5)).await.unwrap().is_accepted());
    let events = check.read(&id, 1, u64::MAX, usize::MAX).await.unwrap();
    let versions: Vec<u64> = events.iter().map(|event| event.version).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5], "stored once each");
    let _ = system.shutdown().await;
    support::pg::teardown(check).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_during_an_outage_ends_within_its_bound() {
    let test = "shutdown_during_an_outage_ends_within_its_bound";
    let Some((proxy, store, schema)) = through_proxy(test).await else {
        return;
    };
    let system = PersistentSystem::builder(store)
        .shutdown_timeout(Duration::from_secs(3))
        .build();
    let ledger = Arc::new(Ledger::default());
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::clone(&ledger));
    let mut ids = Vec::new();
    for n in 0..200 {
        let id = format!("outage-{n:03}");
        let account = accounts.spawn(id.clone(), Account::new()).await.unwrap();
        assert!(account.call(deposit(1)).await.unwrap().is_accepted());
        ids.push(id);
    }

    proxy.stall();
    let started = Instant::now();
    let report = system.shutdown().await;
    let waited = started.elapsed();
    // 200 actors, each with a snapshot to save, would take 200 deadlines one by one.
    assert!(waited < Duration::from_secs(15), "waited {waited:?}");
    assert!(!report.is_complete());
    let mut unsaved: Vec<String> = report
        .unsaved_snapshots
        .iter()
        .map(ToString::to_string)
        .collect();
    unsaved.sort();
    assert_eq!(unsaved, ids, "every final snapshot is reported unsaved");

    // The events were journaled before the outage: every actor restores.
    proxy.resume();
    let store = direct(test, &schema).await;
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), ledger);
    let restored = accounts.restore_many(ids.clone()).await;
    assert!(restored.is_complete(), "{:?}", restored.failed);
    for account in &restored.restored {
        assert_eq!(account.state().await.unwrap().balance(), 1);
    }
    let _ = system.shutdown().await;
    support::pg::teardown(store).await;
}

//! Postgres commit wake-ups between store instances: a projection whose poll interval is an hour
//! away sees a commit of another instance (its own pool, no shared in-process signal) at once,
//! hears nothing from another schema, and keeps hearing after its listening connection is
//! killed.
//!
//! The server comes from `MACHINE_TEST_POSTGRES_URL`; without one the tests print a skip line
//! (a failure under `CI=true`).

#![cfg(feature = "postgres")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use fixture::{Account, AccountEvent, Ledger};
use machine_persist::projection::{
    Envelope, Phase, Projection, ProjectionHandle, ProjectionRunner, Subscription,
};
use machine_persist::store::{AppendRequest, Journal, NewEvent};
use machine_persist::{PersistConfig, PersistentSystem, PostgresStore, Repository};
use machine_test_support::postgres;
use sqlx::postgres::PgListener;

mod fixture;
#[macro_use]
mod support;

/// Far longer than any wait below: a projection that sees a commit in time was woken.
const POLL: Duration = Duration::from_secs(3_600);
/// How long a woken projection may take to see a commit.
const WITHIN: Duration = Duration::from_secs(10);

/// The (actor, version) of every delivery.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, u64)>>>);

impl Projection for Seen {
    type Event = AccountEvent;
    type Error = std::convert::Infallible;

    async fn handle(&mut self, event: &Envelope<AccountEvent>) -> Result<(), Self::Error> {
        self.0
            .lock()
            .unwrap()
            .push((event.actor_id.to_string(), event.version));
        Ok(())
    }
}

impl Seen {
    /// Whether `actor` v`version` is delivered within [`WITHIN`].
    async fn delivered(&self, actor: &str, version: u64) -> bool {
        let wanted = (actor.to_owned(), version);
        tokio::time::timeout(WITHIN, async {
            while !self.0.lock().unwrap().contains(&wanted) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .is_ok()
    }
}

/// A second instance on `store`'s schema: its own pool and commit signal.
async fn other_instance(store: &PostgresStore) -> PostgresStore {
    support::pg::open_at("postgres_notify", &postgres::url(), store.schema(), |o| o)
        .await
        .expect("the server answered a moment ago")
}

fn accounts(store: &PostgresStore) -> Repository<Account> {
    PersistentSystem::new(store.clone())
        .repository(PersistConfig::<Account>::new(), Ledger::default())
}

/// Deposits 1 into `actor` (spawning it first if `spawn`).
async fn deposit(accounts: &Repository<Account>, actor: &str, spawn: bool) {
    if spawn {
        accounts.spawn(actor, Account::new()).await.unwrap();
    }
    let outcome = accounts
        .call(actor, AccountEvent::Deposit { amount: 1 })
        .await
        .unwrap();
    assert!(outcome.is_accepted());
}

/// A live projection of accounts on `store` that polls only every [`POLL`].
fn spawn_projection(store: &PostgresStore, seen: &Seen) -> ProjectionHandle {
    let subscription = Subscription::new().machine(&PersistConfig::<Account>::new());
    ProjectionRunner::new(store.clone(), "notified", subscription)
        .poll_interval(POLL)
        .spawn(seen.clone())
}

/// The backend pid of `store`'s commit listener once it is connected (other than `not`).
async fn listener_pid(store: &PostgresStore, not: Option<i32>) -> i32 {
    let found = tokio::time::timeout(WITHIN, async {
        loop {
            let pid: Option<i32> = sqlx::query_scalar(
                "SELECT pid FROM pg_stat_activity
                 WHERE application_name = $1 AND query ILIKE 'LISTEN%'",
            )
            .bind(store.commit_channel())
            .fetch_optional(store.pool())
            .await
            .unwrap();
            match pid {
                Some(pid) if Some(pid) != not => return pid,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await;
    found.expect("the commit listener never connected")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_wakes_on_a_commit_of_another_store_instance() {
    let Some(store) = support::pg::open("postgres_notify", |options| options).await else {
        return;
    };
    let writer = other_instance(&store).await;
    let seen = Seen::default();
    let handle = spawn_projection(&store, &seen);
    listener_pid(&store, None).await;

    let writes = accounts(&writer);
    deposit(&writes, "far-1", true).await;
    assert!(
        seen.delivered("far-1", 1).await,
        "a commit of another instance did not wake the projection"
    );
    deposit(&writes, "far-1", false).await;
    assert!(seen.delivered("far-1", 2).await);

    handle.stop().await.unwrap();
    writer.close().await;
    support::pg::teardown(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_listener_reconnects_and_the_projection_keeps_hearing() {
    let Some(store) = support::pg::open("postgres_notify", |options| options).await else {
        return;
    };
    let writer = other_instance(&store).await;
    let seen = Seen::default();
    let handle = spawn_projection(&store, &seen);
    let first = listener_pid(&store, None).await;
    let writes = accounts(&writer);
    deposit(&writes, "kept-1", true).await;
    assert!(seen.delivered("kept-1", 1).await);

    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(killed);
    // A commit while the listener is away may be missed by the hint, never by the projection:
    // the reconnection wakes it.
    deposit(&writes, "kept-1", false).await;
    let second = listener_pid(&store, Some(first)).await;
    assert_ne!(first, second);
    assert!(seen.delivered("kept-1", 2).await);
    deposit(&writes, "kept-1", false).await;
    assert!(
        seen.delivered("kept-1", 3).await,
        "the reconnected listener did not wake the projection"
    );
    let status = handle.status().await.unwrap();
    assert_ne!(status.phase, Phase::Failed);

    handle.stop().await.unwrap();
    writer.close().await;
    support::pg::teardown(store).await;
}

fn create(actor: &str) -> AppendRequest {
    AppendRequest::new(actor, "M", 0, "S", Utc::now())
        .create()
        .push_event(NewEvent::new("E", 1, "json", "{}"))
}

/// How many notifications `listener` receives within `window`.
async fn received(listener: &mut PgListener, window: Duration) -> usize {
    let mut count = 0;
    let _ = tokio::time::timeout(window, async {
        while listener.recv().await.is_ok() {
            count += 1;
        }
    })
    .await;
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_are_announced_on_their_schema_s_channel_once_per_burst() {
    let Some(store) = support::pg::open("postgres_notify", |options| options).await else {
        return;
    };
    let Some(elsewhere) = support::pg::open("postgres_notify", |options| options).await else {
        return;
    };
    assert_ne!(store.commit_channel(), elsewhere.commit_channel());
    let mut listener = PgListener::connect_with(store.pool()).await.unwrap();
    listener.listen(store.commit_channel()).await.unwrap();

    // Another schema's commits are not heard on this one's channel.
    elsewhere.append(create("elsewhere")).await.unwrap();
    assert_eq!(received(&mut listener, Duration::from_millis(500)).await, 0);

    // A burst of commits of another instance: heard, in far fewer notifications than commits.
    let writer = other_instance(&store).await;
    let started = std::time::Instant::now();
    let commits = 200;
    for n in 0..commits {
        writer.append(create(&format!("burst-{n}"))).await.unwrap();
    }
    let elapsed = started.elapsed();
    let heard = received(&mut listener, Duration::from_millis(500)).await;
    assert!(heard >= 1, "no notification for {commits} commits");
    // At most one per coalescing window of 10 ms, and one more for the tail of the burst.
    let windows = usize::try_from(elapsed.as_millis() / 10).unwrap() + 2;
    assert!(
        heard <= windows.min(commits),
        "{heard} notifications for {commits} commits in {elapsed:?}"
    );

    drop(listener);
    writer.close().await;
    support::pg::teardown(elsewhere).await;
    support::pg::teardown(store).await;
}

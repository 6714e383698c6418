//! Routed calls: a `ClusterRef` reaches an actor's owner from any node, with the same outcomes
//! and typed errors as a call on the owner, and finds the new owner after a hand-off.
//!
//! Each test runs in a fresh schema; without a server they skip (under `CI=true` they fail).

#![cfg(feature = "cluster")]

mod fixture;
mod support;

use std::time::Duration;

use fixture::{Account, AccountError, AccountEvent, Ledger};
use machine_core::Outcome;
use machine_persist::cluster::{Cluster, ClusterConfig, Routed};
use machine_persist::{PersistConfig, PersistError, PostgresStore};

const TTL: Duration = Duration::from_millis(1_200);
const HEARTBEAT: Duration = Duration::from_millis(300);

async fn node(store: &PostgresStore, id: &str) -> Cluster {
    node_with(store, id, |config| config).await
}

async fn node_with(
    store: &PostgresStore,
    id: &str,
    configure: impl FnOnce(ClusterConfig) -> ClusterConfig,
) -> Cluster {
    let reopened = support::pg::open_at(
        "cluster_routing",
        &machine_test_support::postgres::url(),
        store.schema(),
        |options| options,
    )
    .await
    .expect("the server answered a moment ago");
    let config = ClusterConfig::new(id)
        .shards(2)
        .lease_ttl(TTL)
        .heartbeat(HEARTBEAT);
    Cluster::join(reopened, configure(config)).await.unwrap()
}

/// Two nodes holding one shard each.
async fn two_nodes(store: &PostgresStore) -> (Cluster, Cluster) {
    let a = node(store, "a").await;
    let b = node(store, "b").await;
    a.rebalance().await.unwrap();
    b.rebalance().await.unwrap();
    assert_eq!((a.leases().len(), b.leases().len()), (1, 1));
    (a, b)
}

/// The first `count` account ids of the shard `node` holds.
fn owned_by(node: &Cluster, count: usize) -> Vec<String> {
    (0..)
        .map(|n| format!("acc-{n}"))
        .filter(|id| node.owns(id))
        .take(count)
        .collect()
}

type Answer = Result<Outcome<Account, AccountError>, PersistError>;

/// What a caller can compare of an answer: the outcome, or the error's variant.
fn comparable(answer: &Answer) -> Result<&Outcome<Account, AccountError>, String> {
    answer.as_ref().map_err(|error| {
        let text = format!("{error:?}");
        text.split([' ', '(', '{']).next().unwrap_or("").to_owned()
    })
}

async fn run(routed: &Routed<Account>, id: &str) -> Vec<Answer> {
    use AccountEvent::*;
    let handle = routed.get(id);
    let mut answers = Vec::new();
    for event in [
        Deposit { amount: 10 },
        Withdraw { amount: 100 },
        Withdraw { amount: 0 },
        Freeze,
        Deposit { amount: 5 },
        Unfreeze,
        Withdraw { amount: 4 },
        Close,
    ] {
        answers.push(handle.call(event).await);
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_calls_give_the_outcomes_of_local_calls() {
    let Some(store) =
        support::pg::open("remote_calls_give_the_outcomes_of_local_calls", |o| o).await
    else {
        return;
    };
    let (a, b) = two_nodes(&store).await;
    let on_a = a.routed(PersistConfig::<Account>::new(), Ledger::default());
    let on_b = b.routed(PersistConfig::<Account>::new(), Ledger::default());
    let ids = owned_by(&a, 2);
    for id in &ids {
        on_a.repository()
            .spawn(id.as_str(), Account::new())
            .await
            .unwrap();
    }
    // The same calls, on the owner and from the other node.
    let local = run(&on_a, &ids[0]).await;
    let remote = run(&on_b, &ids[1]).await;
    let local: Vec<_> = local.iter().map(comparable).collect();
    let remote: Vec<_> = remote.iter().map(comparable).collect();
    assert_eq!(local, remote);
    assert!(matches!(
        local[1],
        Ok(Outcome::Rejected(AccountError::Insufficient {
            balance: 10,
            asked: 100
        }))
    ));
    assert!(matches!(local[4], Ok(Outcome::Unhandled)));
    // A remote call made the owner's journal move, and no copy runs on the caller.
    assert_eq!(
        on_a.repository()
            .metadata(ids[1].as_str())
            .await
            .unwrap()
            .unwrap()
            .version,
        5
    );
    assert_eq!(on_b.repository().active(), 0);

    // Errors travel typed: an actor nobody stored.
    let missing = owned_by(&a, 3).pop().unwrap();
    let error = on_b
        .get(missing.as_str())
        .call(AccountEvent::Freeze)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, PersistError::NotFound(id) if id == missing.as_str()),
        "{error:?}"
    );
    a.leave().await.unwrap();
    b.leave().await.unwrap();
    support::pg::teardown(store).await;
}

/// An actor is created from any node: the spawn runs on the owner of its shard, and sending it
/// again (or for a stored actor) restores the actor as stored instead of resetting it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_is_spawned_on_its_owner_from_any_node() {
    let Some(store) =
        support::pg::open("an_actor_is_spawned_on_its_owner_from_any_node", |o| o).await
    else {
        return;
    };
    let (a, b) = two_nodes(&store).await;
    let on_a = a.routed(PersistConfig::<Account>::new(), Ledger::default());
    let on_b = b.routed(PersistConfig::<Account>::new(), Ledger::default());
    let [remote, local] = [owned_by(&a, 1), owned_by(&b, 1)].map(|mut ids| ids.remove(0));
    // From node b: one actor of a's shard, one of its own.
    for id in [&remote, &local] {
        let account = on_b
            .spawn(id.as_str(), Account::Open { balance: 7, ops: 0 })
            .await
            .unwrap();
        assert!(account
            .call(AccountEvent::Deposit { amount: 3 })
            .await
            .unwrap()
            .is_accepted());
    }
    assert_eq!(
        on_a.repository().active(),
        1,
        "a runs the actor of its shard"
    );
    assert_eq!(on_b.repository().active(), 1, "b runs only its own");
    // Spawned again, from either node: left as it runs, not reset.
    for (routed, id) in [(&on_b, &remote), (&on_a, &remote), (&on_a, &local)] {
        let again = routed.spawn(id.as_str(), Account::new()).await.unwrap();
        let balance = again.call(AccountEvent::Withdraw { amount: 1 }).await;
        assert!(
            matches!(
                balance,
                Ok(Outcome::Next(Account::Open { balance: 9 | 8, .. }))
            ),
            "{balance:?}"
        );
    }
    assert_eq!(on_a.repository().active(), 1);
    assert_eq!(on_b.repository().active(), 1);
    // Spawns of one new id at once, from both nodes, all succeed and make one actor.
    for round in 0..5 {
        let id = owned_by(&a, 2 + round).pop().unwrap();
        let spawns = (0..8).map(|n| {
            let routed = if n % 2 == 0 { &on_a } else { &on_b };
            routed.spawn(id.as_str(), Account::new())
        });
        for spawned in futures::future::join_all(spawns).await {
            spawned.unwrap();
        }
        let deposit = on_b
            .get(id.as_str())
            .call(AccountEvent::Deposit { amount: 2 })
            .await
            .unwrap();
        assert_eq!(deposit, Outcome::Next(Account::Open { balance: 2, ops: 1 }));
    }
    // A closed account is final: a call from either node hears it stopped at once, rather
    // than waiting out the failover bound as for an actor between owners.
    assert!(on_b
        .get(remote.as_str())
        .call(AccountEvent::Close)
        .await
        .unwrap()
        .is_accepted());
    for routed in [&on_a, &on_b] {
        let started = std::time::Instant::now();
        let closed = routed
            .get(remote.as_str())
            .call(AccountEvent::Deposit { amount: 1 })
            .await;
        assert!(
            matches!(closed, Err(PersistError::Stopped(_))),
            "{closed:?}"
        );
        assert!(started.elapsed() < TTL, "{:?}", started.elapsed());
    }
    a.leave().await.unwrap();
    b.leave().await.unwrap();
    support::pg::teardown(store).await;
}

/// A machine whose error is `Infallible` (it never rejects) is routed too: its outcomes travel
/// without an error type, the same as on the owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_that_never_rejects_is_routed() {
    use fixture::reminder::{Reminder, ReminderEvent};
    let Some(store) = support::pg::open("a_machine_that_never_rejects_is_routed", |o| o).await
    else {
        return;
    };
    let (a, b) = two_nodes(&store).await;
    let on_a = a.routed(PersistConfig::<Reminder>::new(), ());
    let on_b = b.routed(PersistConfig::<Reminder>::new(), ());
    let ids: Vec<String> = (0..)
        .map(|n| format!("r-{n}"))
        .filter(|id| a.owns(id))
        .take(2)
        .collect();
    for id in &ids {
        on_a.repository()
            .spawn(id.as_str(), Reminder::new())
            .await
            .unwrap();
    }
    let events = [
        ReminderEvent::Ring,
        ReminderEvent::Snooze { ms: 600_000 },
        ReminderEvent::Dismiss,
    ];
    let (local, remote) = (on_a.get(ids[0].as_str()), on_b.get(ids[1].as_str()));
    for event in events {
        let here = local.call(event.clone()).await.unwrap();
        let there = remote.call(event).await.unwrap();
        assert_eq!(here, there);
    }
    let last = on_a.repository().metadata(ids[1].as_str()).await.unwrap();
    assert_eq!(
        last.map(|meta| meta.state_tag),
        Some("Dismissed".to_owned())
    );
    assert_eq!(on_b.repository().active(), 0);
    a.leave().await.unwrap();
    b.leave().await.unwrap();
    support::pg::teardown(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_find_the_new_owner_after_a_hand_off() {
    let Some(store) = support::pg::open("calls_find_the_new_owner_after_a_hand_off", |o| o).await
    else {
        return;
    };
    let (a, b) = two_nodes(&store).await;
    let on_a = a.routed(PersistConfig::<Account>::new(), Ledger::default());
    let on_b = b.routed(PersistConfig::<Account>::new(), Ledger::default());
    let id = owned_by(&a, 1).pop().unwrap();
    on_a.repository()
        .spawn(id.as_str(), Account::new())
        .await
        .unwrap();
    let handle = on_b.get(id.as_str());
    handle
        .send(AccountEvent::Deposit { amount: 1 })
        .await
        .unwrap();

    // a leaves: b takes the shard at its next heartbeat; the same handle keeps working.
    a.leave().await.unwrap();
    let outcome = handle
        .call(AccountEvent::Deposit { amount: 2 })
        .await
        .unwrap();
    assert_eq!(outcome.into_state().unwrap().balance(), 3);
    assert!(b.owns(&id));
    assert_eq!(on_b.repository().active(), 1);
    b.leave().await.unwrap();
    support::pg::teardown(store).await;
}

/// A caller that never waits long enough for an answer sends its call again and again until the
/// failover bound; the owner applies it once, since every attempt carries the call's command id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_sent_again_after_lost_answers_is_applied_once() {
    let Some(store) = support::pg::open(
        "a_call_sent_again_after_lost_answers_is_applied_once",
        |o| o,
    )
    .await
    else {
        return;
    };
    let a = node(&store, "a").await;
    // Answers take longer than 1 ms over LISTEN/NOTIFY: b hears nearly none of them in time.
    let b = node_with(&store, "b", |config| {
        config.answer_timeout(Duration::from_millis(1))
    })
    .await;
    a.rebalance().await.unwrap();
    b.rebalance().await.unwrap();
    let on_a = a.routed(PersistConfig::<Account>::new(), Ledger::default());
    let on_b = b.routed(PersistConfig::<Account>::new(), Ledger::default());
    let id = owned_by(&a, 1).pop().unwrap();
    on_a.repository()
        .spawn(id.as_str(), Account::new())
        .await
        .unwrap();
    match on_b
        .get(id.as_str())
        .call(AccountEvent::Deposit { amount: 7 })
        .await
    {
        Ok(outcome) => assert_eq!(outcome.into_state().unwrap().balance(), 7),
        Err(PersistError::Unreachable { .. }) => {}
        Err(other) => panic!("expected the outcome or Unreachable, got {other:?}"),
    }
    // Let the owner serve whatever attempts are still queued, then look at its journal.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored = on_a
        .repository()
        .metadata(id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 1, "the deposit was applied once");
    a.leave().await.unwrap();
    b.leave().await.unwrap();
    support::pg::teardown(store).await;
}

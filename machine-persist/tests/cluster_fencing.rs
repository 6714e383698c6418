//! Shard leases and fencing on Postgres: an append passes only under the current lease of its
//! actor's shard, a node that lost its lease (taken over behind its back, paused past its TTL,
//! dead) never writes again, and the new owner's history is intact.
//!
//! Each test runs in a fresh schema; without a server they skip (under `CI=true` they fail).

#![cfg(feature = "cluster")]

mod fixture;
mod support;

use std::time::Duration;

use chrono::Utc;
use fixture::{Account, AccountEvent, Ledger};
use machine_persist::cluster::{Cluster, ClusterConfig};
use machine_persist::store::{AppendRequest, Fence, Journal, NewEvent};
use machine_persist::{PersistConfig, PersistError, PostgresStore};

const TTL: Duration = Duration::from_millis(1_200);
const HEARTBEAT: Duration = Duration::from_millis(300);

fn config(node: &str, shards: u32) -> ClusterConfig {
    ClusterConfig::new(node)
        .shards(shards)
        .lease_ttl(TTL)
        .heartbeat(HEARTBEAT)
}

async fn reopen(store: &PostgresStore) -> PostgresStore {
    support::pg::open_at(
        "cluster_fencing",
        &machine_test_support::postgres::url(),
        store.schema(),
        |options| options,
    )
    .await
    .expect("the server answered a moment ago")
}

fn deposit(amount: u64) -> AccountEvent {
    AccountEvent::Deposit { amount }
}

/// The amounts of the deposits journaled for `id`, in version order, checking the versions are
/// 1, 2, 3, ... with no gap or repeat.
async fn deposits(store: &PostgresStore, id: &str) -> Vec<u64> {
    let events = store.read(&id.into(), 0, u64::MAX, 100_000).await.unwrap();
    let versions: Vec<u64> = events.iter().map(|event| event.version).collect();
    assert_eq!(versions, (1..=events.len() as u64).collect::<Vec<_>>());
    events
        .iter()
        .map(
            |event| match serde_json::from_slice::<AccountEvent>(&event.payload).unwrap() {
                AccountEvent::Deposit { amount } => amount,
                other => panic!("unexpected event {other:?}"),
            },
        )
        .collect()
}

async fn set_lease(store: &PostgresStore, sql: &str) {
    sqlx::query(sql).execute(store.pool()).await.unwrap();
}

#[tokio::test]
async fn appends_pass_only_under_the_current_lease() {
    let Some(store) = support::pg::open("appends_pass_only_under_the_current_lease", |o| o).await
    else {
        return;
    };
    let request = |expected: u64, fence: Fence| {
        AppendRequest::new("a", "M", expected, "S", Utc::now())
            .with_events(vec![NewEvent::new("E", 1, "json", "{}")])
            .with_fence(fence)
    };
    let first = Fence { shard: 0, epoch: 1 };
    let second = Fence { shard: 0, epoch: 2 };
    set_lease(
        &store,
        "INSERT INTO shard_leases VALUES (0, 'n1', 1, now() + interval '1 hour')",
    )
    .await;
    let stored = request(0, first).create();
    store.append(stored.clone()).await.unwrap();
    let refused = store.append(request(1, second)).await.unwrap_err();
    assert!(
        matches!(&refused, PersistError::Fenced { actor_id, fence } if actor_id == "a" && *fence == second),
        "{refused:?}"
    );

    // Another node takes the shard over: the old epoch writes nothing more.
    set_lease(&store, "UPDATE shard_leases SET node_id = 'n2', epoch = 2").await;
    let stale = store.append(request(1, first)).await.unwrap_err();
    assert!(matches!(stale, PersistError::Fenced { fence, .. } if fence == first));
    // The request stored under the old lease is still reported as stored when retried.
    store.append(stored).await.unwrap();
    store.append(request(1, second)).await.unwrap();

    // An expired lease fences its own epoch too; unfenced writers are not fenced.
    set_lease(
        &store,
        "UPDATE shard_leases SET expires_at = now() - interval '1 second'",
    )
    .await;
    assert!(matches!(
        store.append(request(2, second)).await,
        Err(PersistError::Fenced { .. })
    ));
    assert_eq!(store.head(&"a".into()).await.unwrap(), 2);
    let unfenced = AppendRequest::new("a", "M", 2, "S", Utc::now())
        .with_events(vec![NewEvent::new("E", 1, "json", "{}")]);
    store.append(unfenced).await.unwrap();
    assert_eq!(store.head(&"a".into()).await.unwrap(), 3);
    support::pg::teardown(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_over_actor_is_refused_and_stops() {
    let Some(store) = support::pg::open("a_taken_over_actor_is_refused_and_stops", |o| o).await
    else {
        return;
    };
    let node = Cluster::join(reopen(&store).await, config("n1", 4))
        .await
        .unwrap();
    assert_eq!(node.leases().len(), 4);
    let accounts = node.repository(PersistConfig::<Account>::new(), Ledger::default());
    let account = accounts.spawn("acc-1", Account::new()).await.unwrap();
    account
        .call(deposit(1))
        .await
        .unwrap()
        .into_state()
        .unwrap();
    let other = accounts.spawn("acc-2", Account::new()).await.unwrap();

    // Behind the node's back, another node takes the shard of acc-1 over.
    let shard = node.shard_of("acc-1");
    set_lease(
        &store,
        &format!("UPDATE shard_leases SET node_id = 'n2', epoch = epoch + 1 WHERE shard = {shard}"),
    )
    .await;
    let refused = account.call(deposit(1)).await.unwrap_err();
    assert!(
        matches!(&refused, PersistError::Fenced { actor_id, fence } if actor_id == "acc-1" && fence.shard == shard),
        "{refused:?}"
    );
    for _ in 0..100 {
        if account.is_stopped() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(account.is_stopped(), "a fenced actor stops");
    assert_eq!(store.head(&"acc-1".into()).await.unwrap(), 1);
    // Another shard's actor is untouched.
    if node.shard_of("acc-2") != shard {
        other.call(deposit(5)).await.unwrap().into_state().unwrap();
    }

    // The next heartbeat finds the lease lost: activating the actor here is refused before it
    // reaches the store, and the node no longer claims the shard.
    node.rebalance().await.unwrap();
    assert!(!node.owns("acc-1"));
    let refused = accounts.call("acc-1", deposit(1)).await.unwrap_err();
    assert!(
        matches!(&refused, PersistError::NotOwner { shard: s, .. } if *s == shard),
        "{refused:?}"
    );
    assert_eq!(deposits(&store, "acc-1").await, [1]);
    node.leave().await.unwrap();
    support::pg::teardown(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_share_the_shards_and_hand_them_over() {
    let Some(store) = support::pg::open("nodes_share_the_shards_and_hand_them_over", |o| o).await
    else {
        return;
    };
    let a = Cluster::join(reopen(&store).await, config("a", 8))
        .await
        .unwrap();
    let first: Vec<(u32, u64)> = a.leases();
    assert_eq!(first.len(), 8);
    let b = Cluster::join(reopen(&store).await, config("b", 8))
        .await
        .unwrap();
    // a hands half back at its next round, b takes it at its own.
    a.rebalance().await.unwrap();
    b.rebalance().await.unwrap();
    let (held_a, held_b) = (a.leases(), b.leases());
    assert_eq!(
        (held_a.len(), held_b.len()),
        (4, 4),
        "{held_a:?} {held_b:?}"
    );
    for (shard, epoch) in &held_b {
        assert!(held_a.iter().all(|(other, _)| other != shard));
        let before = first.iter().find(|(s, _)| s == shard).unwrap().1;
        assert!(*epoch > before, "the epoch of shard {shard} grew");
    }

    // b leaves gracefully: a takes everything at once, without waiting for the TTL.
    b.leave().await.unwrap();
    a.rebalance().await.unwrap();
    assert_eq!(a.leases().len(), 8);
    a.leave().await.unwrap();
    support::pg::teardown(store).await;
}

/// Node `n1` runs on a thread of its own with a one-thread runtime, writing deposits of 1;
/// blocking that thread freezes the whole node (no heartbeat, no writes) as SIGSTOP would. One
/// shard, so the woken node finds none to take back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_node_never_writes_after_its_lease_was_taken() {
    let Some(store) = support::pg::open(
        "a_paused_node_never_writes_after_its_lease_was_taken",
        |o| o,
    )
    .await
    else {
        return;
    };
    let old_store = reopen(&store).await;
    let (acks_tx, mut acks) = tokio::sync::mpsc::unbounded_channel::<Result<u64, PersistError>>();
    let (pause_tx, pause) = std::sync::mpsc::channel::<Duration>();
    let old = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let node = Cluster::join(old_store, config("n1", 1)).await.unwrap();
            let accounts = node.repository(PersistConfig::<Account>::new(), Ledger::default());
            accounts.spawn("acc", Account::new()).await.unwrap();
            loop {
                if let Ok(pause) = pause.try_recv() {
                    // Freezes this node: its runtime has no other thread.
                    std::thread::sleep(pause);
                }
                let answer = accounts.call("acc", deposit(1)).await;
                let failed = answer.is_err();
                let answer = answer.map(|outcome| outcome.into_state().unwrap().balance());
                if acks_tx.send(answer).is_err() || failed {
                    break;
                }
                tokio::task::yield_now().await;
            }
            let _ = node.leave().await;
        });
    });
    let mut acked_old = 0;
    while acked_old < 20 {
        acked_old = acks.recv().await.unwrap().unwrap();
    }
    pause_tx.send(TTL * 3).unwrap();
    tokio::time::sleep(TTL + HEARTBEAT * 2).await;

    let new = Cluster::join(reopen(&store).await, config("n2", 1))
        .await
        .unwrap();
    assert_eq!(new.leases().len(), 1, "the paused node's lease expired");
    let accounts = new.repository(PersistConfig::<Account>::new(), Ledger::default());
    for _ in 0..5 {
        accounts
            .call("acc", deposit(1_000))
            .await
            .unwrap()
            .into_state()
            .unwrap();
    }

    // The old node wakes up: its first call fails, typed, and it writes nothing.
    let mut last = None;
    while let Some(answer) = acks.recv().await {
        match answer {
            Ok(balance) => acked_old = balance,
            Err(error) => last = Some(error),
        }
    }
    old.join().unwrap();
    let error = last.expect("the old node's call failed");
    assert!(
        matches!(
            error,
            PersistError::NotOwner { .. } | PersistError::Fenced { .. } | PersistError::Stopped(_)
        ),
        "{error:?}"
    );
    accounts
        .call("acc", deposit(1_000))
        .await
        .unwrap()
        .into_state()
        .unwrap();

    let journal = deposits(&store, "acc").await;
    let old_writes = journal.iter().take_while(|&&amount| amount == 1).count();
    assert!(
        old_writes as u64 >= acked_old,
        "every acknowledged deposit is stored"
    );
    assert_eq!(
        &journal[old_writes..],
        [1_000; 6],
        "nothing of the old node after the takeover"
    );
    new.leave().await.unwrap();
    support::pg::teardown(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_shards_are_taken_over_after_the_ttl() {
    let Some(store) =
        support::pg::open("a_dead_nodes_shards_are_taken_over_after_the_ttl", |o| o).await
    else {
        return;
    };
    let dead_store = reopen(&store).await;
    let epochs = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // Dropping the runtime ends the node's heartbeat as a crash would: no release, no leave.
        runtime.block_on(async move {
            let node = Cluster::join(dead_store, config("dead", 4)).await.unwrap();
            let accounts = node.repository(PersistConfig::<Account>::new(), Ledger::default());
            let account = accounts.spawn("acc", Account::new()).await.unwrap();
            account
                .call(deposit(1))
                .await
                .unwrap()
                .into_state()
                .unwrap();
            node.leases()
        })
    })
    .join()
    .unwrap();

    let survivor = Cluster::join(reopen(&store).await, config("survivor", 4))
        .await
        .unwrap();
    assert!(
        survivor.leases().is_empty(),
        "the dead node's leases are current for one TTL"
    );
    tokio::time::sleep(TTL + HEARTBEAT * 2).await;
    let taken = survivor.leases();
    assert_eq!(taken.len(), 4);
    for ((shard, epoch), (dead_shard, dead_epoch)) in taken.iter().zip(&epochs) {
        assert_eq!(shard, dead_shard);
        assert!(epoch > dead_epoch);
    }
    let accounts = survivor.repository(PersistConfig::<Account>::new(), Ledger::default());
    let balance = accounts
        .call("acc", deposit(2))
        .await
        .unwrap()
        .into_state()
        .unwrap()
        .balance();
    assert_eq!(balance, 3);
    survivor.leave().await.unwrap();
    support::pg::teardown(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_timers_fire_on_the_new_owner() {
    use fixture::reminder::{Reminder, ReminderEvent};
    let Some(store) = support::pg::open("a_dead_nodes_timers_fire_on_the_new_owner", |o| o).await
    else {
        return;
    };
    let dead_store = reopen(&store).await;
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The node dies (its runtime dropped) with the reminder's timeout pending.
        runtime.block_on(async move {
            let node = Cluster::join(dead_store, config("dead", 4)).await.unwrap();
            let reminders = node.repository(PersistConfig::<Reminder>::new(), ());
            let reminder = reminders.spawn("r", Reminder::new()).await.unwrap();
            reminder
                .call(ReminderEvent::Snooze { ms: 1_500 })
                .await
                .unwrap()
                .into_state()
                .unwrap();
        })
    })
    .join()
    .unwrap();

    let survivor = Cluster::join(reopen(&store).await, config("survivor", 4))
        .await
        .unwrap();
    let poll = Duration::from_millis(100);
    let reminders = survivor.repository(PersistConfig::<Reminder>::new().timer_poll(poll), ());
    // Nobody sends the reminder anything: the survivor's timer service fires it once it owns it.
    let deadline = tokio::time::Instant::now() + TTL + Duration::from_secs(10);
    loop {
        let meta = reminders.metadata("r").await.unwrap().unwrap();
        if meta.version == 2 {
            assert_eq!(meta.state_tag, "Idle");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the timer never fired: {meta:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(survivor.owns("r"));
    survivor.leave().await.unwrap();
    support::pg::teardown(store).await;
}

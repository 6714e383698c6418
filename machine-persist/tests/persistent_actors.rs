//! Persistent actors end to end, on every embedded backend: spawn, durable calls, restart and
//! restore, the restore family, snapshots, and effects that run once and never on restore.

mod fixture;

use std::sync::Arc;

use fixture::{Account, AccountError, AccountEvent, Ledger};
use machine_core::{Machine, Outcome, Schedule};
use machine_persist::store::{CatalogQuery, SnapshotStore, Store};
use machine_persist::{
    ActorFilter, MemoryStore, PersistConfig, PersistError, PersistentSystem, SqliteStore,
};

fn deposit(amount: u64) -> AccountEvent {
    AccountEvent::Deposit { amount }
}

fn withdraw(amount: u64) -> AccountEvent {
    AccountEvent::Withdraw { amount }
}

async fn sqlite() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("journal.db"))
        .await
        .unwrap();
    (store, dir)
}

async fn a_restarted_system_continues_where_the_last_one_stopped<S: Store>(store: S) {
    let ledger = Arc::new(Ledger::default());
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::clone(&ledger));
    let account = accounts.spawn("acc-1", Account::new()).await.unwrap();
    assert!(account.call(deposit(100)).await.unwrap().is_accepted());
    assert!(account.call(withdraw(30)).await.unwrap().is_accepted());
    let rejected = account.call(withdraw(1_000)).await.unwrap();
    assert_eq!(
        rejected,
        Outcome::Rejected(AccountError::Insufficient {
            balance: 70,
            asked: 1_000
        })
    );
    assert_eq!(account.version().await.unwrap(), 2);
    system.shutdown().await;
    assert_eq!(ledger.withdrawals(), 1);

    let system = PersistentSystem::new(store);
    let accounts = system.repository(PersistConfig::<Account>::new(), Arc::clone(&ledger));
    let account = accounts.restore("acc-1").await.unwrap().expect("stored");
    let snapshot = account.status().await.unwrap();
    assert_eq!(snapshot.version, 2);
    assert_eq!(
        snapshot.state,
        Account::Open {
            balance: 70,
            ops: 2
        }
    );
    assert_eq!(ledger.withdrawals(), 1, "restore runs no effect");
    assert!(account.call(withdraw(70)).await.unwrap().is_accepted());
    assert_eq!(account.version().await.unwrap(), 3);
    system.shutdown().await;
}

#[tokio::test]
async fn restart_and_restore_on_memory() {
    a_restarted_system_continues_where_the_last_one_stopped(MemoryStore::new()).await;
}

#[tokio::test]
async fn restart_and_restore_on_sqlite() {
    let (store, _dir) = sqlite().await;
    a_restarted_system_continues_where_the_last_one_stopped(store).await;
}

async fn spawn_restores_existing_data_and_the_genesis_survives<S: Store>(store: S) {
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    // Spawned and never sent anything: the genesis snapshot alone brings it back.
    accounts
        .spawn("idle", Account::Open { balance: 5, ops: 0 })
        .await
        .unwrap();
    let busy = accounts.spawn("busy", Account::new()).await.unwrap();
    assert!(busy.call(deposit(9)).await.unwrap().is_accepted());
    let duplicate = accounts.spawn("busy", Account::new()).await;
    assert!(
        matches!(duplicate, Err(PersistError::Spawn(_))),
        "{duplicate:?}"
    );
    system.shutdown().await;

    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let idle = accounts.spawn("idle", Account::new()).await.unwrap();
    assert_eq!(
        idle.state().await.unwrap(),
        Account::Open { balance: 5, ops: 0 }
    );
    let busy = accounts.spawn("busy", Account::new()).await.unwrap();
    assert_eq!(busy.state().await.unwrap().balance(), 9);
    system.shutdown().await;

    let system = PersistentSystem::new(store);
    let strict = system.repository(
        PersistConfig::<Account>::new().restore_on_spawn(false),
        Ledger::default(),
    );
    let refused = strict.spawn("busy", Account::new()).await;
    assert!(
        matches!(refused, Err(PersistError::AlreadyExists(_))),
        "{refused:?}"
    );
    system.shutdown().await;
}

#[tokio::test]
async fn spawn_restores_on_memory() {
    spawn_restores_existing_data_and_the_genesis_survives(MemoryStore::new()).await;
}

#[tokio::test]
async fn spawn_restores_on_sqlite() {
    let (store, _dir) = sqlite().await;
    spawn_restores_existing_data_and_the_genesis_survives(store).await;
}

/// Spawns, activations and restores of one new id at once see one actor: the first to come
/// creates it, the others get it (running, or stored meanwhile), and none fails on the race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawns_and_activations_of_one_new_id_at_once_make_one_actor() {
    let (store, _dir) = sqlite().await;
    let system = PersistentSystem::new(store);
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    for round in 0..10 {
        let id = format!("new-{round}");
        let mut tasks = Vec::new();
        for n in 0..6 {
            let (accounts, id) = (accounts.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                match n % 3 {
                    0 => accounts.spawn(id.as_str(), Account::new()).await.map(Some),
                    1 => accounts.activate(id.as_str()).await,
                    _ => accounts.restore(id.as_str()).await,
                }
            }));
        }
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => {}
                // A restore that comes once the actor runs says so; nothing else may fail.
                Err(PersistError::Spawn(_)) => {}
                Err(error) => panic!("round {round}: {error:?}"),
            }
        }
        assert_eq!(
            accounts.call(id.as_str(), deposit(3)).await.unwrap(),
            Outcome::Next(Account::Open { balance: 3, ops: 1 })
        );
    }
    assert_eq!(accounts.active(), 10);
    system.shutdown().await;
}

#[tokio::test]
async fn the_restore_family_and_the_registry() {
    let (store, _dir) = sqlite().await;
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    for n in 0..10 {
        let account = accounts
            .spawn(format!("acc-{n}"), Account::new())
            .await
            .unwrap();
        assert!(account.call(deposit(n + 1)).await.unwrap().is_accepted());
        if n % 3 == 0 {
            assert!(account
                .call(AccountEvent::Freeze)
                .await
                .unwrap()
                .is_accepted());
        }
    }
    system.shutdown().await;

    let system = PersistentSystem::new(store);
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let listed = system.list_persisted(CatalogQuery::new()).await.unwrap();
    assert!(listed.is_complete());
    assert_eq!(listed.actors.len(), 10);
    let acc3 = listed
        .actors
        .iter()
        .find(|m| m.actor_id == "acc-3")
        .unwrap();
    assert_eq!(
        (
            acc3.machine_type.as_str(),
            acc3.version,
            acc3.state_tag.as_str()
        ),
        ("Account", 2, "Frozen")
    );

    let report = accounts.restore_many(["acc-1", "acc-2", "nobody"]).await;
    assert_eq!(report.restored.len(), 2);
    assert_eq!(report.failed.len(), 1);
    assert!(matches!(&report.failed[0], (id, PersistError::NotFound(_)) if *id == "nobody"));

    let frozen = accounts
        .restore_all(ActorFilter::new().state_in([fixture::AccountTag::Frozen]))
        .await
        .unwrap();
    let mut ids: Vec<String> = frozen.restored.iter().map(|a| a.id().to_string()).collect();
    ids.sort();
    assert_eq!(ids, ["acc-0", "acc-3", "acc-6", "acc-9"]);
    assert!(frozen.is_complete());
    // Already running actors are skipped, the rest come up.
    let rest = accounts.restore_all(ActorFilter::new()).await.unwrap();
    assert_eq!(rest.restored.len(), 4);
    assert_eq!(system.actors().len(), 10);
    assert!(accounts.get("acc-5").is_some());
    system.shutdown().await;
}

#[tokio::test]
async fn snapshots_follow_the_schedule_and_persist_forces_one() {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let config = PersistConfig::<Account>::new()
        .snapshots(Schedule::every_events(3))
        .snapshot_on_stop(false);
    let accounts = system.repository(config, Ledger::default());
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    for _ in 0..7 {
        assert!(account.call(deposit(1)).await.unwrap().is_accepted());
    }
    let id = machine_core::ActorId::from("acc");
    // Snapshots are written off the actor's path: wait until the writer caught up.
    let mut latest = 0;
    for _ in 0..200 {
        latest = store
            .load_latest(&id, None)
            .await
            .unwrap()
            .map_or(0, |s| s.version);
        if latest == 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(latest, 6, "every 3 events: versions 3 and 6");
    assert_eq!(
        store
            .load_latest(&id, Some(5))
            .await
            .unwrap()
            .unwrap()
            .version,
        3
    );
    assert_eq!(account.save_snapshot().await.unwrap(), 7);
    assert_eq!(
        store.load_latest(&id, None).await.unwrap().unwrap().version,
        7
    );
    system.shutdown().await;
}

#[tokio::test]
async fn a_graceful_stop_snapshots_the_latest_state() {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let config = PersistConfig::<Account>::new().snapshots(Schedule::recurs(0));
    let accounts = system.repository(config, Ledger::default());
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    assert!(account.call(deposit(4)).await.unwrap().is_accepted());
    assert!(account.call(deposit(4)).await.unwrap().is_accepted());
    account.stop().await.unwrap();
    let id = machine_core::ActorId::from("acc");
    let latest = store.load_latest(&id, None).await.unwrap().unwrap();
    assert_eq!((latest.version, latest.state_tag.as_str()), (2, "Open"));
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_spaced_schedule_debounces_snapshots() {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let config = PersistConfig::<Account>::new()
        .snapshots(Schedule::spaced(std::time::Duration::from_secs(5)))
        .snapshot_on_stop(false);
    let accounts = system.repository(config, Ledger::default());
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    let id = machine_core::ActorId::from("acc");
    for _ in 0..3 {
        assert!(account.call(deposit(1)).await.unwrap().is_accepted());
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    // Each event re-armed the 5 s timer: nothing written yet beyond the genesis.
    assert_eq!(
        store.load_latest(&id, None).await.unwrap().unwrap().version,
        0
    );
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_eq!(account.version().await.unwrap(), 3);
    for _ in 0..100 {
        if store.load_latest(&id, None).await.unwrap().unwrap().version == 3 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        store.load_latest(&id, None).await.unwrap().unwrap().version,
        3
    );
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_state_timeout_keeps_its_deadline_across_a_restart() {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    assert!(account
        .call(AccountEvent::Freeze)
        .await
        .unwrap()
        .is_accepted());
    system.shutdown().await;

    // The deadline is anchored to when Frozen was entered (wall clock); a restore right away
    // still waits about an hour, not zero and not two.
    let system = PersistentSystem::new(store);
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let account = accounts.restore("acc").await.unwrap().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3500)).await;
    assert_eq!(
        account.state().await.unwrap().tag(),
        fixture::AccountTag::Frozen
    );
    tokio::time::sleep(std::time::Duration::from_secs(200)).await;
    assert_eq!(
        account.state().await.unwrap().tag(),
        fixture::AccountTag::Open
    );
    assert_eq!(account.version().await.unwrap(), 2);
    system.shutdown().await;
}

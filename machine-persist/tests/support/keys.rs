//! Conformance checks of the persistence key: namespaces sharing one store, renames, and keys
//! that break the id rule, on every backend.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use machine_core::ActorId;
use machine_persist::store::{Catalog, CatalogQuery, Journal, SnapshotStore};
use machine_persist::{
    ActorFilter, PersistConfig, PersistError, PersistenceKey, PersistentSystem, Repository,
};

use super::Backend;
use crate::fixture::reminder::{Reminder, ReminderEvent};
use crate::fixture::{Account, AccountEvent, Ledger};

fn deposit(amount: u64) -> AccountEvent {
    AccountEvent::Deposit { amount }
}

fn namespace(prefix: &str) -> PersistConfig<Account> {
    PersistConfig::new().persistence_key(PersistenceKey::prefix(prefix))
}

/// The two namespaces of these checks, each a repository of the same machine type in `system`.
fn tenants(
    system: &PersistentSystem,
    configure: impl Fn(PersistConfig<Account>) -> PersistConfig<Account>,
) -> (Repository<Account>, Repository<Account>) {
    (
        system.repository(configure(namespace("tenant-a/")), Ledger::default()),
        system.repository(configure(namespace("tenant-b/")), Ledger::default()),
    )
}

fn ids(repository_listing: &machine_persist::Listing) -> Vec<&str> {
    repository_listing
        .actors
        .iter()
        .map(|meta| meta.actor_id.as_str())
        .collect()
}

/// Two namespaces in one store use the same ids: each sees its own events, snapshots, registry
/// rows and command ids only, restores its own after a restart, and time-travels its own
/// history.
pub async fn namespaces_with_the_same_ids_do_not_see_each_other<B: Backend>(backend: &B) {
    let system = PersistentSystem::new(backend.store().clone());
    let (a, b) = tenants(&system, |config| config);
    let in_a = a.spawn("acct-1", Account::new()).await.unwrap();
    let in_b = b.spawn("acct-1", Account::new()).await.unwrap();
    assert_eq!(in_a.id(), "acct-1");
    assert_eq!(in_a.key(), "tenant-a/acct-1");
    assert!(in_a.call(deposit(1)).await.unwrap().is_accepted());
    for amount in [2, 3] {
        assert!(in_b.call(deposit(amount)).await.unwrap().is_accepted());
    }
    a.spawn("acct-2", Account::new()).await.unwrap();
    // One command id in both namespaces: each applies it once.
    for _ in 0..2 {
        for repository in [&a, &b] {
            let outcome = repository.call_command("acct-1", "cmd-1", deposit(10));
            assert!(outcome.await.unwrap().is_accepted());
        }
    }
    assert_eq!(in_a.state().await.unwrap().balance(), 11);
    assert_eq!(in_b.state().await.unwrap().balance(), 15);
    in_a.save_snapshot().await.unwrap();

    // The store holds both under their keys.
    let store = backend.store();
    let key_a = ActorId::from("tenant-a/acct-1");
    let key_b = ActorId::from("tenant-b/acct-1");
    assert_eq!(store.read(&key_a, 1, u64::MAX, 100).await.unwrap().len(), 2);
    assert_eq!(store.read(&key_b, 1, u64::MAX, 100).await.unwrap().len(), 3);
    let snapshot = store.load_latest(&key_a, None).await.unwrap().unwrap();
    assert_eq!(snapshot.version, 2);
    assert!(store
        .read(&ActorId::from("acct-1"), 1, u64::MAX, 100)
        .await
        .unwrap()
        .is_empty());
    let raw = store
        .list(&CatalogQuery::new().machine_type("Account"))
        .await
        .unwrap();
    assert_eq!(raw.len(), 3, "the store lists every key");

    // Listings and metadata speak the application's ids, one namespace each.
    let listed = a.list(ActorFilter::new()).await.unwrap();
    assert_eq!(ids(&listed), ["acct-1", "acct-2"]);
    assert_eq!(ids(&b.list(ActorFilter::new()).await.unwrap()), ["acct-1"]);
    let first = a.list(ActorFilter::new().limit(1)).await.unwrap();
    assert_eq!(ids(&first), ["acct-1"]);
    let cursor = first.last_id().unwrap().clone();
    let second = a
        .list(ActorFilter::new().after(cursor).limit(1))
        .await
        .unwrap();
    assert_eq!(ids(&second), ["acct-2"]);
    let meta = a.metadata("acct-1").await.unwrap().unwrap();
    assert_eq!((meta.actor_id.as_str(), meta.version), ("acct-1", 2));
    assert_eq!(b.metadata("acct-1").await.unwrap().unwrap().version, 3);
    assert!(b.metadata("acct-2").await.unwrap().is_none());
    system.shutdown().await;

    // After a restart, each namespace restores its own actors through the mapping.
    let system = PersistentSystem::new(backend.store().clone());
    let (a, b) = tenants(&system, |config| config);
    let report = a.restore_all(ActorFilter::new()).await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    let mut restored: Vec<_> = report
        .restored
        .iter()
        .map(|actor| actor.id().clone())
        .collect();
    restored.sort();
    assert_eq!(restored, ["acct-1", "acct-2"]);
    assert_eq!(
        a.get("acct-1").unwrap().state().await.unwrap().balance(),
        11
    );
    assert!(
        b.get("acct-1").is_none(),
        "the other namespace is not restored"
    );
    let in_b = b.restore("acct-1").await.unwrap().expect("stored");
    assert_eq!(in_b.state().await.unwrap().balance(), 15);
    let many = b.restore_many(["acct-2"]).await;
    assert!(matches!(
        many.failed.as_slice(),
        [(id, PersistError::NotFound(_))] if id == "acct-2"
    ));
    // A repeat of the command after the restart still answers with the first outcome.
    let repeat = b
        .call_command("acct-1", "cmd-1", deposit(10))
        .await
        .unwrap();
    assert_eq!(repeat.into_state().map(|state| state.balance()), Some(15));
    assert_eq!(in_b.state().await.unwrap().balance(), 15);

    // Time travel reads the namespace's own journal.
    assert_eq!(b.state_at("acct-1", 1).await.unwrap().balance(), 2);
    assert_eq!(a.state_at("acct-1", 1).await.unwrap().balance(), 1);
    let history: Vec<u64> = b
        .history("acct-1", 1..=3)
        .map(|entry| entry.unwrap().state.balance())
        .collect()
        .await;
    assert_eq!(history, [2, 5, 15]);
    assert!(matches!(
        a.state_at("acct-1", 3).await,
        Err(PersistError::VersionOutOfRange { head: 2, .. })
    ));
    system.shutdown().await;
}

/// An actor renamed in the application keeps its data: its new id maps to its old key. The
/// listing names it by the new id, pages past rows that are not the mapping's, and hooks see
/// the new id.
pub async fn a_renamed_actor_keeps_its_data<B: Backend>(backend: &B) {
    let system = PersistentSystem::new(backend.store().clone());
    let before = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    for id in ["a-old", "m-foreign", "z-other"] {
        let account = before.spawn(id, Account::new()).await.unwrap();
        assert!(account.call(deposit(7)).await.unwrap().is_accepted());
    }
    system.shutdown().await;

    // "b-new" is "a-old" now; "m-foreign" belongs to nobody here.
    let renamed = PersistenceKey::custom(
        |id| match id.as_str() {
            "b-new" => ActorId::from("a-old"),
            // The old id is retired: it no longer reaches the data.
            "a-old" => ActorId::from("a-old#retired"),
            "m-foreign" => ActorId::from("m-foreign#hidden"),
            _ => id.clone(),
        },
        |key| match key.as_str() {
            "a-old" => Some(ActorId::from("b-new")),
            _ => Some(key.clone()),
        },
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook_seen = Arc::clone(&seen);
    let config = PersistConfig::<Account>::new()
        .persistence_key(renamed)
        .on_restore(move |state, meta| {
            hook_seen.lock().unwrap().push(meta.actor_id.to_string());
            Ok(state)
        });
    let system = PersistentSystem::new(backend.store().clone());
    let after = system.repository(config, Ledger::default());
    let listed = after.list(ActorFilter::new()).await.unwrap();
    assert_eq!(ids(&listed), ["b-new", "z-other"]);
    let first = after.list(ActorFilter::new().limit(1)).await.unwrap();
    assert_eq!(ids(&first), ["b-new"]);
    let next = after
        .list(ActorFilter::new().after("b-new").limit(1))
        .await
        .unwrap();
    assert_eq!(
        ids(&next),
        ["z-other"],
        "reads past a row not of the mapping"
    );
    assert!(after.metadata("a-old").await.unwrap().is_none());

    let account = after.restore("b-new").await.unwrap().expect("its old data");
    assert_eq!(account.id(), "b-new");
    assert_eq!(account.key(), "a-old");
    assert_eq!(account.state().await.unwrap().balance(), 7);
    assert_eq!(*seen.lock().unwrap(), ["b-new"]);
    assert!(account.call(deposit(1)).await.unwrap().is_accepted());
    let journal = backend
        .store()
        .read(&ActorId::from("a-old"), 1, u64::MAX, 10)
        .await
        .unwrap();
    assert_eq!(journal.len(), 2, "appended under the old key");
    assert!(after.restore("a-old").await.unwrap().is_none());
    system.shutdown().await;
}

/// A key that breaks the id rule is a typed error wherever an id is taken, never a panic.
pub async fn keys_breaking_the_id_rule_are_refused<B: Backend>(backend: &B) {
    let system = PersistentSystem::new(backend.store().clone());
    let accounts = system.repository(namespace("tenant-a/"), Ledger::default());
    // The id fits the rule; with the prefix, its key is too long.
    let long = "x".repeat(510);
    let invalid = |result: Result<_, PersistError>| matches!(result, Err(PersistError::InvalidId(invalid)) if invalid.preview.contains("tenant-a/"));
    assert!(invalid(
        accounts
            .spawn(long.as_str(), Account::new())
            .await
            .map(drop)
    ));
    assert!(invalid(accounts.restore(long.as_str()).await.map(drop)));
    assert!(invalid(accounts.metadata(long.as_str()).await.map(drop)));
    assert!(invalid(
        accounts.call(long.as_str(), deposit(1)).await.map(drop)
    ));
    assert!(invalid(accounts.state_at(long.as_str(), 0).await.map(drop)));
    assert!(invalid(accounts.verify(long.as_str()).await.map(drop)));
    let history: Vec<_> = accounts.history(long.as_str(), 1..=1).collect().await;
    assert!(matches!(
        history.as_slice(),
        [Err(PersistError::InvalidId(_))]
    ));
    assert!(accounts.get(long.as_str()).is_none());
    let report = accounts.restore_many([long.as_str(), "acct-1"]).await;
    assert!(matches!(
        report.failed.as_slice(),
        [(bad, PersistError::InvalidId(_)), (missing, PersistError::NotFound(_))]
            if bad.as_str() == long && missing == "acct-1"
    ));
    // The other actors are not affected.
    let fine = accounts.spawn("acct-1", Account::new()).await.unwrap();
    assert!(fine.call(deposit(1)).await.unwrap().is_accepted());

    let empty = PersistConfig::<Account>::new()
        .persistence_key(PersistenceKey::custom(|_| ActorId::from(""), |_| None));
    let broken = system.repository(empty, Ledger::default());
    assert!(matches!(
        broken.spawn("acct-2", Account::new()).await,
        Err(PersistError::InvalidId(_))
    ));
    system.shutdown().await;
}

/// Cleanup deletes only its own keys: the periodic sweep and the cleanup on terminate of one
/// namespace leave another namespace's actors with the same ids alone, and stale states are
/// reported under the application's id.
pub async fn cleanup_deletes_only_its_own_keys<B: Backend>(backend: &B) {
    let reported = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&reported);
    let system = PersistentSystem::new(backend.store().clone());
    let a = system.repository(
        namespace("tenant-a/")
            .max_state_age(Duration::from_millis(300))
            .cleanup_on_terminate(true)
            .on_error(move |id, error| seen.lock().unwrap().push((id.to_string(), error.clone()))),
        Ledger::default(),
    );
    let b = system.repository(namespace("tenant-b/"), Ledger::default());
    for repository in [&a, &b] {
        for id in ["old-1", "old-2", "closing"] {
            let account = repository.spawn(id, Account::new()).await.unwrap();
            assert!(account.call(deposit(1)).await.unwrap().is_accepted());
            if id != "closing" {
                account.stop().await.unwrap();
            }
        }
    }
    // A terminal state deletes its own key only.
    let closing = a.get("closing").unwrap();
    assert!(closing
        .call(AccountEvent::Close)
        .await
        .unwrap()
        .is_accepted());
    for _ in 0..200 {
        if a.metadata("closing").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(a.metadata("closing").await.unwrap().is_none());
    assert!(b.metadata("closing").await.unwrap().is_some());

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(a.sweep().await, 2, "its two stale actors");
    for id in ["old-1", "old-2"] {
        assert!(a.metadata(id).await.unwrap().is_none());
        assert_eq!(b.metadata(id).await.unwrap().unwrap().version, 1, "{id}");
    }
    let store = backend.store();
    assert!(store
        .read(&ActorId::from("tenant-a/old-1"), 1, u64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .read(&ActorId::from("tenant-b/old-1"), 1, u64::MAX, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // A stale state found on restore is reported under the application's id.
    let stale = b.spawn("stale", Account::new()).await.unwrap();
    stale.stop().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let stale_b = PersistentSystem::new(backend.store().clone());
    let reported_b = Arc::new(Mutex::new(Vec::new()));
    let seen_b = Arc::clone(&reported_b);
    let strict = stale_b.repository(
        namespace("tenant-b/")
            .max_state_age(Duration::from_millis(1))
            .on_error(move |id, error| {
                seen_b.lock().unwrap().push((id.to_string(), error.clone()))
            }),
        Ledger::default(),
    );
    assert!(strict.restore("stale").await.unwrap().is_none());
    let reports = reported_b.lock().unwrap().clone();
    assert!(
        matches!(reports.as_slice(), [(id, PersistError::StaleState { .. })] if id == "stale"),
        "{reports:?}"
    );
    assert!(reported.lock().unwrap().is_empty());
    stale_b.shutdown().await;
    system.shutdown().await;
}

fn reminders(system: &PersistentSystem, prefix: &str) -> Repository<Reminder> {
    let config = PersistConfig::new()
        .persistence_key(PersistenceKey::prefix(prefix))
        .timer_poll(Duration::from_millis(50));
    system.repository(config, ())
}

/// A timer of a namespaced actor fires after a restart on that actor, through its own
/// repository; the timer service of another namespace of the same machine type leaves it alone.
pub async fn a_namespaced_timer_fires_on_its_own_actor<B: Backend>(backend: &B) {
    let system = PersistentSystem::new(backend.store().clone());
    let a = reminders(&system, "tenant-a/");
    let b = reminders(&system, "tenant-b/");
    let in_a = a.spawn("rem-1", Reminder::new()).await.unwrap();
    let in_b = b.spawn("rem-1", Reminder::new()).await.unwrap();
    let snooze = |ms| ReminderEvent::Snooze { ms };
    assert!(in_a.call(snooze(300)).await.unwrap().is_accepted());
    assert!(in_b.call(snooze(3_600_000)).await.unwrap().is_accepted());
    system.shutdown().await;

    // Both namespaces' repositories run a timer service; only tenant A's timer is due.
    let system = PersistentSystem::new(backend.store().clone());
    let b = reminders(&system, "tenant-b/");
    let a = reminders(&system, "tenant-a/");
    let mut rung = false;
    for _ in 0..500 {
        if let Some(meta) = a.metadata("rem-1").await.unwrap() {
            if a.state_at("rem-1", meta.version).await.unwrap().rung() == 1 {
                rung = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(rung, "tenant A's reminder rang");
    assert_eq!(a.active(), 1, "activated in its own repository");
    assert_eq!(b.active(), 0, "the other namespace activated nothing");
    let meta_b = b.metadata("rem-1").await.unwrap().unwrap();
    assert_eq!(meta_b.version, 1, "tenant B's reminder still waits");
    assert_eq!(meta_b.state_tag, "Waiting");
    system.shutdown().await;
}

//! Bad stored data — invalid JSON, an unknown variant, a gap — is a typed error naming the actor
//! and the version; it never panics and never affects other actors.

mod fixture;

use fixture::{Account, AccountEvent, Ledger};
use machine_persist::{PersistConfig, PersistError, PersistentSystem, SqliteStore};

async fn corrupt(path: &std::path::Path, sql: &str) {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    conn.execute(sql).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn corrupt_events_fail_only_their_actor_with_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.db");
    let system = PersistentSystem::new(SqliteStore::open(&path).await.unwrap());
    let accounts = system.repository(
        PersistConfig::<Account>::new()
            .snapshots(machine_core::Schedule::recurs(0))
            .snapshot_on_stop(false),
        Ledger::default(),
    );
    for id in ["good", "bad-json", "bad-variant"] {
        let account = accounts.spawn(id, Account::new()).await.unwrap();
        for _ in 0..3 {
            assert!(account
                .call(AccountEvent::Deposit { amount: 1 })
                .await
                .unwrap()
                .is_accepted());
        }
    }
    system.shutdown().await;

    corrupt(
        &path,
        "UPDATE events SET payload = '{not json' WHERE actor_id = 'bad-json' AND version = 2",
    )
    .await;
    corrupt(&path, r#"UPDATE events SET payload = '{"Teleport":{}}' WHERE actor_id = 'bad-variant' AND version = 3"#).await;

    let system = PersistentSystem::new(SqliteStore::open(&path).await.unwrap());
    let accounts = system.repository(PersistConfig::<Account>::new(), Ledger::default());
    let json = accounts.restore("bad-json").await;
    assert!(
        matches!(&json, Err(PersistError::Decode(e)) if e.actor_id == "bad-json" && e.version == 2),
        "{json:?}"
    );
    let variant = accounts.state_at("bad-variant", 3).await;
    assert!(
        matches!(&variant, Err(PersistError::Decode(e)) if e.actor_id == "bad-variant" && e.version == 3),
        "{variant:?}"
    );
    assert_eq!(
        accounts.state_at("bad-variant", 2).await.unwrap().balance(),
        2,
        "earlier versions still read"
    );

    let report = accounts
        .restore_many(["good", "bad-json", "bad-variant"])
        .await;
    assert_eq!(report.restored.len(), 1);
    assert_eq!(report.restored[0].state().await.unwrap().balance(), 3);
    let mut failed: Vec<String> = report.failed.iter().map(|(id, _)| id.to_string()).collect();
    failed.sort();
    assert_eq!(failed, ["bad-json", "bad-variant"]);
    system.shutdown().await;
}

#[tokio::test]
async fn a_bad_snapshot_falls_back_to_replay_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.db");
    let system = PersistentSystem::new(SqliteStore::open(&path).await.unwrap());
    let accounts = system.repository(
        PersistConfig::<Account>::new().snapshots(machine_core::Schedule::every_events(2)),
        Ledger::default(),
    );
    let account = accounts.spawn("acc", Account::new()).await.unwrap();
    for _ in 0..5 {
        assert!(account
            .call(AccountEvent::Deposit { amount: 2 })
            .await
            .unwrap()
            .is_accepted());
    }
    system.shutdown().await;
    corrupt(
        &path,
        "UPDATE snapshots SET payload = 'garbage' WHERE actor_id = 'acc' AND version > 0",
    )
    .await;

    let reported = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&reported);
    let system = PersistentSystem::new(SqliteStore::open(&path).await.unwrap());
    // No snapshot on stop here, so the corrupt snapshots stay the latest for the next check.
    let config = PersistConfig::<Account>::new()
        .snapshot_on_stop(false)
        .on_error(move |id, error| sink.lock().unwrap().push(format!("{id}: {error}")));
    let accounts = system.repository(config, Ledger::default());
    let account = accounts.restore("acc").await.unwrap().unwrap();
    assert_eq!(account.state().await.unwrap().balance(), 10);
    assert!(
        !reported.lock().unwrap().is_empty(),
        "the fallback is reported"
    );
    system.shutdown().await;

    let system = PersistentSystem::new(SqliteStore::open(&path).await.unwrap());
    let strict = system.repository(
        PersistConfig::<Account>::new().replay_on_bad_snapshot(false),
        Ledger::default(),
    );
    assert!(matches!(
        strict.restore("acc").await,
        Err(PersistError::Decode(_))
    ));
    system.shutdown().await;
}

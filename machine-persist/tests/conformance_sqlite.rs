//! The conformance suite against SQLite, on a database file in a temporary directory.

#![cfg(feature = "sqlite")]

#[macro_use]
mod support;
mod fixture;

use machine_persist::store::{Journal, StoreError};
use machine_persist::{SqliteOptions, SqliteStore};
use tempfile::TempDir;

/// A temporary database file opened twice: two stores with their own connections, as two
/// processes would.
struct Sqlite {
    store: SqliteStore,
    other: SqliteStore,
    _dir: TempDir,
}

impl support::Backend for Sqlite {
    type S = SqliteStore;

    async fn open() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let other = SqliteStore::with_options(SqliteOptions::file(&path).readers(1))
            .await
            .unwrap();
        Some(Self {
            store,
            other,
            _dir: dir,
        })
    }

    fn store(&self) -> &SqliteStore {
        &self.store
    }

    fn other(&self) -> &SqliteStore {
        &self.other
    }

    async fn teardown(self) {
        self.store.close().await;
        self.other.close().await;
    }
}

impl support::Corruptible for Sqlite {
    async fn damage(&self, damage: support::Damage<'_>) {
        use support::Damage;
        let (actor, second, statements): (&str, Option<i64>, Vec<String>) = match damage {
            Damage::EventMetadata {
                actor,
                version,
                value,
            } => (actor, Some(version as i64), both_levels(&format!("metadata = '{value}'"))),
            Damage::EventTime { actor, version } => {
                (actor, Some(version as i64), both_levels("recorded_at = 'yesterday'"))
            }
            Damage::SnapshotTime { actor, version } => (
                actor,
                Some(version as i64),
                vec!["UPDATE snapshots SET entered_at = 'never' WHERE actor_id = ?1 AND version = ?2"
                    .into()],
            ),
            Damage::RegistryHead { actor, head } => (
                actor,
                Some(head),
                vec!["UPDATE actors SET head_version = ?2 WHERE actor_id = ?1".into()],
            ),
            Damage::RegistryActivity { actor } => (
                actor,
                None,
                vec!["UPDATE actors SET last_activity = 'soon' WHERE actor_id = ?1"
                    .into()],
            ),
            Damage::DeleteEvent { actor, version } => (
                actor,
                Some(version as i64),
                vec![
                    "DELETE FROM events WHERE actor_id = ?1 AND version = ?2".into(),
                    "DELETE FROM recent_events WHERE actor_id = ?1 AND version = ?2".into(),
                ],
            ),
        };
        for sql in statements {
            let query = sqlx::query(&sql).bind(actor);
            let query = match second {
                Some(second) => query.bind(second),
                None => query,
            };
            query.execute(self.store.write_pool()).await.unwrap();
        }
    }
}

/// An `UPDATE ... SET {set}` of one event, in both levels of the journal.
fn both_levels(set: &str) -> Vec<String> {
    ["events", "recent_events"]
        .iter()
        .map(|table| format!("UPDATE {table} SET {set} WHERE actor_id = ?1 AND version = ?2"))
        .collect()
}

all_conformance_tests!(Sqlite);
lifecycle_conformance_tests!(Sqlite);
key_conformance_tests!(Sqlite);
corrupt_conformance_tests!(Sqlite);

/// Values SQLite's dynamic typing lets through are reported, not panicked on.
#[tokio::test]
async fn wrongly_typed_columns_are_typed_errors() {
    use support::Backend;
    let backend = Sqlite::open().await.unwrap();
    let store = backend.store();
    let a = machine_core::ActorId::from("a");
    let request = machine_persist::store::AppendRequest::new("a", "M", 0, "S", chrono::Utc::now())
        .create()
        .push_event(machine_persist::store::NewEvent::new("E", 1, "json", "{}"));
    store.append(request).await.unwrap();

    for (sql, column) in [
        ("UPDATE events SET metadata = 'not json'", "metadata"),
        (
            "UPDATE events SET metadata = '{}', recorded_at = 'yesterday'",
            "recorded_at",
        ),
        (
            "UPDATE events SET recorded_at = '2024-01-01T00:00:00.000000Z', schema_version = -1",
            "schema_version",
        ),
        // Payloads are bytes, so a blob is a payload; a blob where text belongs is not.
        ("UPDATE events SET schema_version = 1, tag = x'ff'", "tag"),
        ("UPDATE events SET tag = 'E', codec = x'00'", "codec"),
    ] {
        sqlx::query(sql).execute(store.write_pool()).await.unwrap();
        match store.read(&a, 1, 1, 1).await.unwrap_err() {
            StoreError::Corrupt {
                actor_id,
                version,
                column: found,
                ..
            } => {
                assert_eq!((actor_id.as_str(), version, found), ("a", Some(1), column));
            }
            other => panic!("expected corrupt data in {column}, got {other}"),
        }
    }
    sqlx::query("UPDATE events SET codec = 'json', version = -3")
        .execute(store.write_pool())
        .await
        .unwrap();
    assert!(store.read(&a, 0, u64::MAX, 1).await.unwrap().is_empty());
    sqlx::query("UPDATE actors SET head_version = -3")
        .execute(store.write_pool())
        .await
        .unwrap();
    assert!(matches!(
        store.head(&a).await.unwrap_err(),
        StoreError::Corrupt {
            column: "head_version",
            version: None,
            ..
        }
    ));
    backend.teardown().await;
}

/// The store survives being closed and reopened (schema migrations are idempotent).
#[tokio::test]
async fn reopening_keeps_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let request = machine_persist::store::AppendRequest::new("a", "M", 0, "S", chrono::Utc::now())
        .create()
        .push_event(machine_persist::store::NewEvent::new("E", 1, "json", "{}"));
    store.append(request).await.unwrap();
    store.close().await;

    let reopened = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(reopened.head(&"a".into()).await.unwrap(), 1);
    reopened.close().await;
}

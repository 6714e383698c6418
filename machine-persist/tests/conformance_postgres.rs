//! The conformance suite against Postgres. Each test runs in a fresh schema with a random name,
//! dropped at the end.
//!
//! The server comes from `MACHINE_TEST_POSTGRES_URL` (see `machine_test_support::postgres`).

#![cfg(feature = "postgres")]

#[macro_use]
mod support;
mod fixture;

use machine_core::VersionConflict;
use machine_persist::store::Journal;
use machine_persist::{PostgresOptions, PostgresStore};
use machine_test_support::postgres;

/// Two stores (two pools) on one fresh schema.
struct Postgres {
    store: PostgresStore,
    other: PostgresStore,
}

impl support::Backend for Postgres {
    type S = PostgresStore;

    async fn open() -> Option<Self> {
        let test = "conformance_postgres";
        let schema = postgres::fresh_schema("mp_test");
        let configure = |options: PostgresOptions| options.max_connections(4);
        let store = support::pg::open_at(test, &postgres::url(), &schema, configure).await?;
        let other = support::pg::open_at(test, &postgres::url(), &schema, configure)
            .await
            .unwrap();
        Some(Self { store, other })
    }

    fn store(&self) -> &PostgresStore {
        &self.store
    }

    fn other(&self) -> &PostgresStore {
        &self.other
    }

    async fn teardown(self) {
        self.other.close().await;
        support::pg::teardown(self.store).await;
    }
}

impl support::Corruptible for Postgres {
    async fn damage(&self, damage: support::Damage<'_>) {
        use support::Damage;
        let (actor, second, sql) = match damage {
            Damage::EventMetadata {
                actor,
                version,
                value,
            } => (
                actor,
                Some(version as i64),
                format!("UPDATE events SET metadata = '{value}' WHERE actor_id = $1 AND version = $2"),
            ),
            // Postgres keeps `infinity` in a timestamptz, which no chrono value can hold.
            Damage::EventTime { actor, version } => (
                actor,
                Some(version as i64),
                "UPDATE events SET recorded_at = 'infinity' WHERE actor_id = $1 AND version = $2"
                    .into(),
            ),
            Damage::SnapshotTime { actor, version } => (
                actor,
                Some(version as i64),
                "UPDATE snapshots SET entered_at = '-infinity' WHERE actor_id = $1 AND version = $2"
                    .into(),
            ),
            Damage::RegistryHead { actor, head } => (
                actor,
                Some(head),
                "UPDATE actors SET head_version = $2 WHERE actor_id = $1".into(),
            ),
            Damage::RegistryActivity { actor } => (
                actor,
                None,
                "UPDATE actors SET last_activity = 'infinity' WHERE actor_id = $1"
                    .into(),
            ),
            Damage::DeleteEvent { actor, version } => (
                actor,
                Some(version as i64),
                "DELETE FROM events WHERE actor_id = $1 AND version = $2".into(),
            ),
        };
        let query = sqlx::query(&sql).bind(actor);
        let query = match second {
            Some(second) => query.bind(second),
            None => query,
        };
        query.execute(self.store.pool()).await.unwrap();
    }
}

all_conformance_tests!(Postgres);
lifecycle_conformance_tests!(Postgres);
key_conformance_tests!(Postgres);
corrupt_conformance_tests!(Postgres);

/// A row written around the registry (raw SQL, as a foreign writer would) is never overwritten:
/// the affected request is refused with the real head, the rest of its batch commits. The stray
/// row is committed while the batch waits on it, so the batch meets the unique key itself.
#[tokio::test]
async fn stray_rows_refuse_only_the_affected_request() {
    use sqlx::Connection;
    use support::Backend;
    let Some(backend) = Postgres::open().await else {
        return;
    };
    let store = backend.store().clone();
    let request = |id: &str, expected: u64| {
        let mut request =
            machine_persist::store::AppendRequest::new(id, "M", expected, "S", chrono::Utc::now())
                .push_event(machine_persist::store::NewEvent::new("E", 1, "json", "{}"));
        request.expected_version = expected;
        request
    };
    store.append(request("a", 0).create()).await.unwrap();

    let mut foreign = store.pool().acquire().await.unwrap();
    let mut foreign_tx = foreign.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events (actor_id, version, machine_type, tag, schema_version, payload, \
         metadata, recorded_at) VALUES ('a', 2, 'M', 'Stray', 1, '{}', '{}', now())",
    )
    .execute(&mut *foreign_tx)
    .await
    .unwrap();
    let batch = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .append_batch(&[request("b", 0), request("a", 1), request("c", 0)])
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    foreign_tx.commit().await.unwrap();

    let outcome = batch.await.unwrap().unwrap();
    assert_eq!(
        outcome[1],
        Err(machine_persist::store::AppendError::Conflict(
            VersionConflict {
                actor_id: "a".into(),
                expected: 1,
                actual: 2
            }
        ))
    );
    assert!(outcome[0].is_ok() && outcome[2].is_ok());
    assert_eq!(store.head(&"b".into()).await.unwrap(), 1);
    assert_eq!(store.head(&"c".into()).await.unwrap(), 1);
    let stored = store.read(&"a".into(), 0, 10, 10).await.unwrap();
    assert_eq!(stored[1].tag, "Stray");
    drop(foreign);
    backend.teardown().await;
}

#[tokio::test]
async fn invalid_schema_names_are_refused() {
    let error = PostgresOptions::url(&postgres::url())
        .unwrap()
        .schema("x; DROP TABLE events")
        .unwrap_err();
    assert!(matches!(
        error,
        machine_persist::store::StoreError::InvalidName { .. }
    ));
}

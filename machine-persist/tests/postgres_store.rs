//! Postgres specifics beyond the conformance suite: connection options, one transaction per
//! batch, and a journal writer committing several batches at once.
//!
//! The server comes from `MACHINE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). If it is unreachable the tests print a skip line
//! and pass, except with `CI=true`, where that is a failure.

#![cfg(feature = "postgres")]

use std::time::Duration;

use chrono::Utc;
use machine_persist::store::{
    AppendError, AppendRequest, Catalog, Journal, NewEvent, NewSnapshot, SnapshotStore, StoreError,
};
use machine_persist::writer::{JournalWriter, WriterConfig};
use machine_persist::{PersistError, PostgresOptions, PostgresStore};
use sqlx::{Connection, Row};

mod fixture;
#[macro_use]
mod support;

/// A store on a fresh schema, configured by `configure`, or `None` when the server is
/// unreachable (outside CI).
async fn open(configure: impl FnOnce(PostgresOptions) -> PostgresOptions) -> Option<PostgresStore> {
    support::pg::open("postgres_store", configure).await
}

async fn teardown(store: PostgresStore) {
    support::pg::teardown(store).await;
}

fn request(actor: &str, expected: u64, events: usize) -> AppendRequest {
    let request = AppendRequest::new(actor, "M", expected, "S", Utc::now()).with_events(
        (0..events)
            .map(|n| NewEvent::new("E", 1, "json", format!("{{\"n\":{n}}}")))
            .collect(),
    );
    if expected == 0 {
        request.create()
    } else {
        request
    }
}

#[tokio::test]
async fn options_configure_the_pool_and_the_session() {
    let Some(store) = open(|options| {
        options
            .max_connections(3)
            .min_connections(0)
            .test_before_acquire(false)
            .statement_timeout(Some(Duration::from_millis(1500)))
    })
    .await
    else {
        return;
    };
    let pool_options = store.pool().options();
    assert_eq!(pool_options.get_max_connections(), 3);
    assert_eq!(pool_options.get_min_connections(), 0);
    assert!(!pool_options.get_test_before_acquire());
    let row = sqlx::query(
        "SELECT current_schema() AS schema, current_setting('statement_timeout') AS timeout",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("schema"), store.schema());
    assert_eq!(row.get::<String, _>("timeout"), "1500ms");
    teardown(store).await;
}

#[tokio::test]
async fn a_statement_over_the_timeout_fails_with_a_transient_error() {
    // The timeout also bounds the migrations the store runs when it opens: generous enough for
    // those on a loaded machine, far below the statement that must hit it.
    let Some(store) =
        open(|options| options.statement_timeout(Some(Duration::from_millis(500)))).await
    else {
        return;
    };
    let error = sqlx::query("SELECT pg_sleep(5)")
        .execute(store.pool())
        .await
        .map_err(StoreError::from)
        .unwrap_err();
    assert!(error.is_transient(), "{error}");
    // The pool and the store keep working.
    store.append(request("a", 0, 1)).await.unwrap();
    teardown(store).await;
}

/// Every row a batch writes (events, registry rows, snapshots; new and existing actors) carries
/// the id of one transaction.
#[tokio::test]
async fn a_batch_is_one_transaction() {
    let Some(store) = open(|options| options).await else {
        return;
    };
    store.append(request("old", 0, 2)).await.unwrap();
    let batch = [
        request("new", 0, 3),
        request("old", 2, 1),
        request("old", 3, 2).with_snapshot(NewSnapshot::new(5, "S", 1, "json", "{}", Utc::now())),
        request("other", 0, 1),
    ];
    let outcome = store.append_batch(&batch).await.unwrap();
    assert!(outcome.iter().all(Result::is_ok), "{outcome:?}");
    let transactions: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT xmin::text FROM (
             SELECT xmin FROM events WHERE NOT (actor_id = 'old' AND version <= 2)
             UNION ALL SELECT xmin FROM actors
             UNION ALL SELECT xmin FROM snapshots WHERE actor_id = 'old') AS written",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(transactions.len(), 1, "{transactions:?}");
    assert!(store
        .load_latest(&"old".into(), None)
        .await
        .unwrap()
        .is_some_and(|snapshot| snapshot.version == 5));
    teardown(store).await;
}

/// Many appends per actor queued at once, through a writer with several batches in flight and
/// small batches: each actor's appends still apply in queue order, so all of them succeed.
#[tokio::test]
async fn concurrent_batches_keep_each_actors_order() {
    const ACTORS: usize = 12;
    const PER_ACTOR: u64 = 40;
    let Some(store) = open(|options| options.concurrent_batches(4)).await else {
        return;
    };
    let writer = JournalWriter::spawn(store.clone(), WriterConfig::default().max_batch(7));
    // On this single-threaded runtime tasks first run in the order they were spawned, so each
    // append is queued behind the previous one.
    let mut appends = Vec::new();
    for version in 0..PER_ACTOR {
        for actor in 0..ACTORS {
            let writer = writer.clone();
            appends.push(tokio::spawn(async move {
                writer
                    .append(request(&format!("actor-{actor}"), version, 1))
                    .await
            }));
        }
    }
    for append in appends {
        append.await.unwrap().unwrap();
    }
    assert!(writer.stats().batches > PER_ACTOR, "{:?}", writer.stats());
    for actor in 0..ACTORS {
        let id = format!("actor-{actor}").into();
        let versions: Vec<u64> = store
            .read(&id, 1, u64::MAX, usize::MAX)
            .await
            .unwrap()
            .iter()
            .map(|event| event.version)
            .collect();
        assert_eq!(versions, (1..=PER_ACTOR).collect::<Vec<_>>());
    }
    writer.shutdown().await;
    teardown(store).await;
}

/// A request whose data Postgres refuses (a NUL byte in a text column passes the id rule but not
/// the database) fails alone: the hundred requests batched with it commit, directly and through
/// the journal writer.
#[tokio::test]
async fn a_request_the_database_refuses_fails_alone() {
    let Some(store) = open(|options| options).await else {
        return;
    };
    let poisoned = |actor: &str| {
        let mut request = request(actor, 0, 1);
        request.events[0].tag = "E\0vil".into();
        request
    };
    let mut batch: Vec<AppendRequest> =
        (0..100).map(|n| request(&format!("b-{n}"), 0, 2)).collect();
    batch.insert(37, poisoned("poison"));
    let outcome = store.append_batch(&batch).await.unwrap();
    for (index, result) in outcome.iter().enumerate() {
        if index == 37 {
            assert!(
                matches!(result, Err(AppendError::Refused { actor_id, .. }) if actor_id == "poison"),
                "{result:?}"
            );
        } else {
            assert_eq!(result, &Ok(()), "bystander {index}");
        }
    }
    assert_eq!(store.head(&"b-99".into()).await.unwrap(), 2);
    assert!(store.get(&"poison".into()).await.unwrap().is_none());

    let writer = JournalWriter::spawn(store.clone(), WriterConfig::default());
    let mut calls = Vec::new();
    for n in 0..100 {
        let writer = writer.clone();
        calls.push(tokio::spawn(async move {
            writer.append(request(&format!("w-{n}"), 0, 1)).await
        }));
    }
    let refused = writer.append(poisoned("poison-2")).await;
    assert!(
        matches!(refused, Err(PersistError::Refused { .. })),
        "{refused:?}"
    );
    for call in calls {
        call.await.unwrap().unwrap();
    }
    writer.shutdown().await;
    teardown(store).await;
}

/// The text columns that the primary keys of the journal, the outbox and the command records are
/// built from compare as bytes: under a locale collation (the database default, even `C.UTF-8`),
/// every key comparison would go through the locale.
#[tokio::test]
async fn key_columns_compare_as_bytes() {
    let Some(store) = open(|options| options).await else {
        return;
    };
    let keys: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.collation_name::text
         FROM information_schema.table_constraints t
         JOIN information_schema.key_column_usage k
           ON k.constraint_schema = t.constraint_schema AND k.constraint_name = t.constraint_name
         JOIN information_schema.columns c
           ON c.table_schema = k.table_schema AND c.table_name = k.table_name
          AND c.column_name = k.column_name
         WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = current_schema()
           AND c.data_type = 'text'
           AND c.table_name IN ('actors', 'events', 'snapshots', 'durable_actions', 'commands')
         ORDER BY 1, 2",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let columns: Vec<String> = keys
        .iter()
        .map(|(table, column, _)| format!("{table}.{column}"))
        .collect();
    assert_eq!(
        columns,
        [
            "actors.actor_id",
            "commands.actor_id",
            "commands.command_id",
            "durable_actions.actor_id",
            "durable_actions.name",
            "events.actor_id",
            "snapshots.actor_id",
        ]
    );
    for (table, column, collation) in &keys {
        assert_eq!(collation.as_deref(), Some("C"), "{table}.{column}");
    }
    teardown(store).await;
}

/// A migration that changes what a prepared statement returns (here the collation of a
/// returned column, as `20261220000001_outbox_keys_in_byte_order` does) makes Postgres refuse
/// that statement on every connection that prepared it, until the connection is closed. The
/// refusal is transient, and the pool replaces the connections opened before it, so the retry
/// succeeds without a restart.
#[tokio::test]
async fn a_statement_made_stale_by_a_migration_is_prepared_again() {
    let Some(store) = open(|options| options.max_connections(1).min_connections(1)).await else {
        return;
    };
    let actor = machine_core::ActorId::from("a-1");
    store.append(request("a-1", 0, 2)).await.unwrap();
    let known = store.get(&actor).await.unwrap().expect("registered");
    // Another process migrates the schema.
    let mut migration = sqlx::PgConnection::connect(&machine_test_support::postgres::url())
        .await
        .unwrap();
    let alter = format!(
        "ALTER TABLE {}.actors ALTER COLUMN state_tag TYPE text COLLATE \"POSIX\"",
        store.schema()
    );
    sqlx::query(&alter).execute(&mut migration).await.unwrap();
    migration.close().await.unwrap();
    let stale = store.get(&actor).await.unwrap_err();
    assert!(stale.is_transient(), "{stale}");
    for _ in 0..2 {
        assert_eq!(
            store.get(&actor).await.unwrap(),
            Some(known.clone()),
            "the retry ran on a new connection"
        );
    }
    store.append(request("a-1", 2, 1)).await.unwrap();
    teardown(store).await;
}

/// The nodes of a new deployment open one new schema at the same moment: every one of them opens
/// it (creating it races in Postgres itself, and the migrations take a lock).
#[tokio::test]
async fn processes_opening_a_new_schema_at_once_all_open_it() {
    let url = machine_test_support::postgres::url();
    let schema = machine_test_support::postgres::fresh_schema("race");
    let options = match PostgresOptions::url(&url).and_then(|options| options.schema(&schema)) {
        Ok(options) => options,
        Err(error) => panic!("{error}"),
    };
    let mut reachable = match sqlx::PgConnection::connect(&url).await {
        Ok(connection) => connection,
        Err(error) => {
            machine_test_support::postgres::unavailable("postgres_store", &error);
            return;
        }
    };
    for _ in 0..3 {
        let opens = (0..6).map(|_| PostgresStore::with_options(options.clone()));
        let stores = futures::future::join_all(opens).await;
        for store in stores {
            store.unwrap().close().await;
        }
        let drop = format!("DROP SCHEMA {schema} CASCADE");
        sqlx::query(&drop).execute(&mut reachable).await.unwrap();
    }
}
